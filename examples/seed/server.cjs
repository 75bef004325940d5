/*
 * The original sidecar program, as its README showed it, run as is with `npm i sidecar burro`
 * and pillion 0.0.7 (here a stand-in written from the protocol page, since pillion is not on
 * npm). (This file is left out of biome: the program stays as it was written.) It registers "my-server-app" in the default registry (embedded SQLite, or
 * SIDECAR_REGISTRY) and provides greet() to every peer that connects. It starts by itself.
 *
 *   node examples/seed/server.cjs
 *   node examples/seed/client.cjs bob        # the original API, in another process
 *   node examples/seed/client-promise.cjs    # our pillion with promises, same server
 */
const sidecar = require('sidecar');
const burro = require('burro');
const pillion = require('pillion');

const rpc = new sidecar('my-server-app');
rpc.addStreamWrapper(socket => burro.wrap(socket));     // length-prefixed JSON frames
rpc.addStreamWrapper(socket => new pillion(socket));    // RPC with callbacks
rpc.to('*').provide('greet', (name, cb) => cb('hi there, ' + name));

// Not in the seed: say when it is up, so a test knows when to start the client.
rpc.on('started', () => console.log('my-server-app is up'));
