'use strict';
/*
 * A process that runs the pillion 0.0.7 stand-in (./pillion-0.0.7) over burro 0.4.13 from npm
 * on a real TCP socket, as an old app would. Every observation is one JSON line on stdout.
 *
 *   node original-peer.cjs server        listens on 127.0.0.1, provides the suite, and calls the
 *                                        client's clientHello once the client announces it
 *   node original-peer.cjs client PORT   connects, runs the caller script against the suite, prints
 *                                        {"event":"result",...} and exits
 */
const net = require('node:net');
const burro = require('burro');
const Pillion = require('./pillion-0.0.7');

const print = (event, fields) => process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
const UTF8_TEXT = 'héllo wörld ✓ 日本語 🚀';

/** The methods both implementations provide in these tests (the same on our side). */
function provideSuite(peer, report) {
  peer.provide('echo', (...args) => args.pop()(...args));
  peer.provide('twice', (x, cb) => {
    cb(x);
    cb(x);
  });
  peer.provide('reverse', (text, cb) => cb([...text].reverse().join(''), (thx) => report('thanks', { thx })));
  peer.provide('first', (cb, x) => cb(x * 2));
  peer.provide('two', (x, ok, fail) => (x ? ok(x) : fail(`no ${x}`)));
  peer.provide('nulls', (a, b, cb) => cb(a === null, b, null, undefined));
  peer.provide('obj', (o, cb) => cb({ got: o, text: UTF8_TEXT }));
  peer.provide('size', (s, cb) => cb(Buffer.byteLength(s)));
  peer.provide('big', (n, cb) => cb('é'.repeat(n / 2)));
  peer.provide('temp', () => {});
  peer._removeMethod('temp');
}

function serve() {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const peer = new Pillion(burro.wrap(socket));
    peer.on('error', (e) => print('error', { message: e.error ?? String(e), inResponseTo: e.inResponseTo }));
    peer.on('methodAdded', (name) => {
      print('methodAdded', { name });
      if (name === 'clientHello') {
        peer.callRemote('clientHello', 'from the original', (reply) => print('clientReply', { reply }));
      }
    });
    peer.on('methodRemoved', (name) => print('methodRemoved', { name }));
    peer.push({ type: 'fromTheFuture', payload: [1, 2, 3] });
    provideSuite(peer, print);
  });
  server.listen(0, '127.0.0.1', () => print('listening', { port: server.address().port }));
}

function call(peer, method, ...args) {
  return new Promise((resolve) => peer.callRemote(method, ...args, (...values) => resolve(values)));
}

async function client(port) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const peer = new Pillion(burro.wrap(socket));
  const result = { added: [], removed: [], errors: [] };
  peer.on('methodAdded', (name) => result.added.push(name));
  peer.on('methodRemoved', (name) => result.removed.push(name));
  peer.on('error', (e) => result.errors.push(e.error ?? String(e)));
  peer.push({ type: 'fromTheFuture', payload: 'ignore me' });
  peer.provide('clientHello', (text, cb) => cb(`hello back, ${text}`));

  result.once = await call(peer, 'echo', 'a', 1);
  const [reversed, kthx] = await call(peer, 'reverse', 'hello');
  result.kthx = reversed;
  kthx('bye');
  result.first = await new Promise((resolve) => peer.callRemote('first', (v) => resolve(v), 21));
  result.twoOk = await new Promise((resolve) => peer.callRemote('two', 5, resolve, resolve));
  result.twoFail = await new Promise((resolve) => peer.callRemote('two', 0, () => resolve('wrong'), resolve));
  result.nulls = await call(peer, 'nulls', null, undefined);
  result.obj = (await call(peer, 'obj', { a: [1, { b: 'ü' }], n: null }))[0];
  const concurrent = await Promise.all(Array.from({ length: 300 }, (_, i) => call(peer, 'echo', i)));
  result.concurrentOk = concurrent.every(([v], i) => v === i);
  result.argBytes = [
    (await call(peer, 'size', 'x'.repeat(512 * 1024)))[0],
    (await call(peer, 'size', 'é'.repeat(1024 * 1024)))[0],
  ];
  result.replyBytes = [
    Buffer.byteLength((await call(peer, 'big', 512 * 1024))[0]),
    Buffer.byteLength((await call(peer, 'big', 2 * 1024 * 1024))[0]),
  ];
  const bound = peer.bindRemote('echo', 'bound');
  result.bound = await new Promise((resolve) => bound((...v) => resolve(v)));
  result.applied = await new Promise((resolve) =>
    peer.applyRemote('echo', ['applied', (...v) => resolve(v)]),
  );
  // A callback called twice runs once (the original removes it after the first call and answers
  // the second with "not found"). A missing method is answered with an error, which the original
  // emits as 'error' and, its pipe being unpiped by that event, stops reading: so these come last.
  let twiceCount = 0;
  peer.callRemote('twice', 7, () => twiceCount++);
  const errored = new Promise((resolve) => peer.once('error', resolve));
  peer.callRemote('nope', () => {});
  await errored;
  result.twiceCount = twiceCount;
  print('result', result);
  socket.end();
}

if (process.argv[2] === 'server') serve();
else
  client(Number(process.argv[3])).catch((e) => {
    print('failed', { message: String(e?.stack ?? e) });
    process.exit(1);
  });
