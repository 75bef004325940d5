// A client in the original's style (sidecar + burro + pillion 0.0.7): greets my-server-app by name.
const sidecar = require('sidecar');
const burro = require('burro');
const pillion = require('pillion');

const who = process.argv[2] || 'bob';
const rpc = new sidecar('greet-client');
rpc.addStreamWrapper((socket) => burro.wrap(socket));
rpc.addStreamWrapper((socket) => new pillion(socket));

const server = rpc.to('my-server-app');
server.on('methodAdded', (name) => console.log(`my-server-app provides ${name}`));
server.callRemote('greet', who, (text) => {
  console.log(text);
  rpc.stop().then(() => process.exit(0));
});
