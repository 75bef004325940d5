/*
 * A stand-in for the original pillion 0.0.7 (which is not on the npm registry), written for the
 * tests from the protocol page (PILLION-PROTOCOL.md), not from the original's code, and sharing
 * nothing with @sidecar/wrapper-pillion. It has the original's API and behaviour, flaws
 * included: an object-mode Duplex that speaks pillion messages (as objects: put burro under it
 * for frames), callbacks as one-shot temporary methods that are never cleaned up, an `error`
 * message emitted as an 'error' event, no result message, no limits. One deliberate difference:
 * after answering a call to a missing method it keeps reading (the original stalls there).
 */
const { Duplex } = require('node:stream');

/** `<ms since epoch>_<8 random digits>`, as the protocol page describes ids. */
function makeId() {
  let digits = '';
  while (digits.length < 8) digits += String(Math.floor(Math.random() * 10));
  return `${Date.now()}_${digits}`;
}

function isStream(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    ['read', 'write', 'pipe', 'unpipe'].every((key) => typeof value[key] === 'function')
  );
}

class Pillion extends Duplex {
  /**
   * new Pillion(backend) or new Pillion(methods, backend): `methods` are provided at once; the
   * backend (an object stream, e.g. burro.wrap(socket)) is piped both ways.
   */
  constructor(methods, backend) {
    super({ objectMode: true });
    if (isStream(methods)) {
      backend = methods;
      methods = undefined;
    }
    /** name -> { fn, once }: provided methods and the callbacks handed to the peer. */
    this.table = new Map();
    for (const name of Object.keys(methods || {})) this.provide(name, methods[name]);
    if (backend) this.pipe(backend).pipe(this);
  }

  _read() {}

  _write(message, _encoding, done) {
    this.#receive(message);
    done();
  }

  #receive(message) {
    if (message === null || typeof message !== 'object') return;
    switch (message.type) {
      case 'call': {
        const entry = this.table.get(message.method);
        if (!entry) {
          this.push({
            type: 'error',
            inResponseTo: message.id,
            error: `method \`${message.method}' not found`,
          });
          return;
        }
        if (entry.once) this.table.delete(message.method);
        const args = Array.from(message.params);
        for (const index of message.functions || []) {
          const name = args[index].name;
          args[index] = (...values) => this.callRemote(name, ...values);
        }
        entry.fn(...args);
        return;
      }
      case 'error':
        this.emit('error', message);
        return;
      case 'methodAdded':
      case 'methodRemoved':
        this.emit(message.type, message.name);
        return;
      default:
      // anything else is ignored
    }
  }

  /** Provides `name`: announced with methodAdded. */
  provide(name, fn) {
    this.table.set(name, { fn, once: false });
    this.push({ type: 'methodAdded', name });
  }

  /** Withdraws a provided method: announced with methodRemoved (callbacks are never announced). */
  _removeMethod(name) {
    const entry = this.table.get(name);
    if (!entry) return;
    this.table.delete(name);
    if (!entry.once) this.push({ type: 'methodRemoved', name });
  }

  /** Calls `method` with `params`; functions become one-shot callbacks. Returns the message sent. */
  applyRemote(method, params) {
    const functions = [];
    const wire = params.map((param, index) => {
      if (typeof param !== 'function') return param;
      const name = `x_${makeId()}`;
      this.table.set(name, { fn: param, once: true });
      functions.push(index);
      return { name };
    });
    const message = { type: 'call', id: makeId(), method, params: wire, functions };
    this.push(message);
    return message;
  }

  callRemote(method, ...params) {
    return this.applyRemote(method, params);
  }

  bindRemote(method, ...bound) {
    return (...more) => this.callRemote(method, ...bound, ...more);
  }
}

module.exports = Pillion;
