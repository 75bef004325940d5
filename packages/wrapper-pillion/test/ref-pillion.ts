import { createRequire } from 'node:module';
import type { Duplex, Transform } from 'node:stream';

interface Burro {
  Encoder: new () => Transform;
  Framer: new () => Transform;
  Unframer: new () => Transform;
  Decoder: new () => Transform;
}
const burro = createRequire(import.meta.url)('burro') as Burro;

type Fn = (...args: unknown[]) => void;
type Message = Record<string, unknown>;

function refId(): string {
  let digits = '';
  for (let i = 0; i < 8; i++) digits += String(Math.floor(Math.random() * 10));
  return `${Date.now()}_${digits}`;
}

/**
 * A small independent implementation of the PILLION-PROTOCOL.md table, over the real burro
 * streams, standing in for the original JavaScript peer. It records every message both ways.
 */
export class RefPillion {
  readonly methods = new Map<string, { fn: Fn; temporary: boolean }>();
  readonly remote = new Set<string>();
  readonly received: Message[] = [];
  readonly sent: Message[] = [];
  readonly #encoder = new burro.Encoder();

  constructor(socket: Duplex) {
    this.#encoder.pipe(new burro.Framer()).pipe(socket);
    socket
      .pipe(new burro.Unframer())
      .pipe(new burro.Decoder())
      .on('data', (m: Message) => this.#handle(m));
  }

  send(message: Message): void {
    this.sent.push(message);
    this.#encoder.write(message);
  }

  provide(name: string, fn: Fn): void {
    this.methods.set(name, { fn, temporary: false });
    this.send({ type: 'methodAdded', name });
  }

  unprovide(name: string): void {
    this.methods.delete(name);
    this.send({ type: 'methodRemoved', name });
  }

  callRemote(method: string, ...params: unknown[]): Message {
    const functions: number[] = [];
    const wire = params.map((p, i) => {
      if (typeof p !== 'function') return p;
      const name = `x_${refId()}`;
      this.methods.set(name, { fn: p as Fn, temporary: true });
      functions.push(i);
      return { name };
    });
    const message = { type: 'call', id: refId(), method, params: wire, functions };
    this.send(message);
    return message;
  }

  #handle(m: Message): void {
    this.received.push(m);
    if (m.type === 'methodAdded') this.remote.add(m.name as string);
    else if (m.type === 'methodRemoved') this.remote.delete(m.name as string);
    else if (m.type === 'call') {
      const entry = this.methods.get(m.method as string);
      if (!entry) {
        this.send({ type: 'error', inResponseTo: m.id, error: `method \`${String(m.method)}' not found` });
        return;
      }
      if (entry.temporary) this.methods.delete(m.method as string);
      const params = [...(m.params as unknown[])];
      for (const k of m.functions as number[]) {
        const name = (params[k] as { name: string }).name;
        params[k] = (...args: unknown[]) => this.callRemote(name, ...args);
      }
      entry.fn(...params);
    }
  }
}
