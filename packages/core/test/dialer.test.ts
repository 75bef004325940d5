import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import {
  allowNetworks,
  createSidecar,
  DialError,
  type DialOptions,
  DialPolicyError,
  duplexPair,
  type Endpoint,
  encodeHello,
  HelloRefusedError,
  type IncomingConnection,
  InvalidConfigError,
  inNetwork,
  type Listener,
  type ListenOptions,
  MAX_ENDPOINTS_PER_INSTANCE,
  MemoryTransport,
  openRegistry,
  PeerUnreachableError,
  parseNetwork,
  provide,
  type Sidecar,
  type SidecarConfig,
  type SidecarError,
  summarizeAttempts,
  TRANSPORT,
  type Transport,
  type TransportPlugin,
  undialableReason,
} from '@sidecar/core';
import { readAll } from '@sidecar/core/testing';
import { afterEach, describe, expect, it } from 'vitest';

/** How the recording transport answers a dial to a host (every other host goes to the memory transport). */
type Behaviour = 'unreachable' | 'refused' | 'silent';

/**
 * A caller-side transport that records every endpoint it is asked to dial, fails some hosts the
 * way a kernel would (ENETUNREACH at once, ECONNREFUSED at once, or a SYN never answered), and
 * hands the rest to the in-memory transport. Nothing leaves the process.
 */
class RecordingTransport implements Transport {
  readonly dialed: Endpoint[] = [];
  readonly #memory = new MemoryTransport();
  constructor(
    readonly name: string,
    readonly behaviour: Record<string, Behaviour> = {},
  ) {}

  listen(onConnection: (c: IncomingConnection) => void, options: ListenOptions): Promise<Listener> {
    return this.#memory.listen(onConnection, options);
  }

  async dial(endpoint: Endpoint, options: DialOptions): Promise<Duplex> {
    this.dialed.push(endpoint);
    const how = this.behaviour[endpoint.host];
    if (how === 'silent') {
      return new Promise((_, reject) =>
        options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true }),
      );
    }
    if (how) {
      const code = how === 'unreachable' ? 'ENETUNREACH' : 'ECONNREFUSED';
      const cause = Object.assign(new Error(`connect ${code} ${endpoint.host}:${endpoint.port}`), { code });
      throw new DialError(
        `cannot connect to ${endpoint.host}:${endpoint.port} (${this.name}): ${cause.message}`,
        {
          cause,
        },
      );
    }
    return this.#memory.dial({ ...endpoint, transport: 'memory' }, options);
  }
}

function plugin(transport: Transport): TransportPlugin {
  return {
    kind: 'transport',
    name: transport.name,
    register(container) {
      provide(container, TRANSPORT, { useValue: transport });
    },
  };
}

const running: Sidecar[] = [];
let store = '';

async function started(name: string, extra: Partial<SidecarConfig> = {}): Promise<Sidecar> {
  const app = createSidecar({
    name,
    registry: `memory:${store}`,
    transports: ['memory'],
    connectTimeout: 1500,
    ...extra,
  });
  running.push(app);
  await app.start();
  return app;
}

/** An echo server whose record advertises `endpoints` (its real memory port is `memory:PORT`). */
async function server(endpoints: (port: number) => Endpoint[], extra: Partial<SidecarConfig> = {}) {
  const app = await started('server', extra);
  const warnings: SidecarError[] = [];
  app.on('warning', (e) => warnings.push(e));
  app.on('stream', (stream) => stream.pipe(stream));
  const port = app.record.endpoints[0]?.port as number;
  await app.updateRecord({ endpoints: endpoints(port) });
  return { app, port, warnings };
}

async function roundTrip(caller: Sidecar, text: string): Promise<string> {
  const stream = await caller.connect('server');
  stream.end(text);
  return (await readAll(stream)).toString();
}

describe('the dialer: several endpoints per record', () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
    store = randomBytes(4).toString('hex');
  });
  store = randomBytes(4).toString('hex');

  it('moves past an unreachable address at once and never dials unspecified, broadcast or multicast', async () => {
    await server((port) =>
      ['10.255.0.1', '0.0.0.0', '::', '255.255.255.255', '224.0.0.7', 'ff02::1', 'memory'].map((host) => ({
        transport: 'memory',
        host,
        port,
      })),
    );
    const rec = new RecordingTransport('memory', { '10.255.0.1': 'unreachable' });
    const caller = await started('caller', { register: false, transports: [plugin(rec)] });
    expect(await roundTrip(caller, 'past the dead address')).toBe('past the dead address');
    expect(rec.dialed.map((e) => e.host)).toEqual(['10.255.0.1', 'memory']);
  });

  it('falls back to the next transport both sides speak', async () => {
    await server((port) => [
      { transport: 'alpha', host: '10.255.0.2', port },
      { transport: 'memory', host: 'memory', port },
    ]);
    const alpha = new RecordingTransport('alpha', { '10.255.0.2': 'refused' });
    const memory = new RecordingTransport('memory');
    const caller = await started('caller', { register: false, transports: [plugin(alpha), plugin(memory)] });
    expect(await roundTrip(caller, 'second transport')).toBe('second transport');
    expect(alpha.dialed.map((e) => e.host)).toEqual(['10.255.0.2']);
    expect(memory.dialed.map((e) => e.host)).toEqual(['memory']);
  });

  it('races the next endpoint when the first stays silent, without waiting for the dial timeout', async () => {
    await server((port) => [
      { transport: 'memory', host: '10.255.0.3', port },
      { transport: 'memory', host: 'memory', port },
    ]);
    const rec = new RecordingTransport('memory', { '10.255.0.3': 'silent' });
    // A dial timeout longer than the whole connect: only the staggered race can succeed.
    const caller = await started('caller', {
      register: false,
      transports: [plugin(rec)],
      dialTimeout: 60_000,
      connectTimeout: 30_000,
      endpointStagger: 50,
    });
    expect(await roundTrip(caller, 'raced')).toBe('raced');
    expect(rec.dialed.map((e) => e.host)).toEqual(['10.255.0.3', 'memory']);
  });

  it('says which addresses were tried and why, and dials a dead instance once per connect', async () => {
    await server((port) => [
      { transport: 'memory', host: '10.255.0.4', port },
      { transport: 'memory', host: '10.255.0.5', port },
    ]);
    const rec = new RecordingTransport('memory', { '10.255.0.4': 'unreachable', '10.255.0.5': 'refused' });
    const caller = await started('caller', {
      register: false,
      transports: [plugin(rec)],
      connectTimeout: 800,
    });
    const err = (await caller.connect('server').catch((e: unknown) => e)) as PeerUnreachableError;
    expect(err).toBeInstanceOf(PeerUnreachableError);
    expect(err.message).toContain('10.255.0.4:');
    expect(err.message).toContain('ENETUNREACH');
    expect(err.message).toContain('advertiseHost');
    expect(err.message).toContain('10.255.0.5:');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message.split('\n')).toHaveLength(1);
    // Each address once, although the connect kept looking for a new instance until its timeout.
    expect(rec.dialed.map((e) => e.host)).toEqual(['10.255.0.4', '10.255.0.5']);
    expect(err.retryable).toBe(true);
  });

  it('dials at most MAX_ENDPOINTS_PER_INSTANCE endpoints of one record (a hostile row is no port scanner)', async () => {
    await server((port) =>
      Array.from({ length: 200 }, (_, i) => ({
        transport: 'memory',
        host: `10.254.${i >> 8}.${i & 255}`,
        port,
      })),
    );
    const rec = new RecordingTransport(
      'memory',
      Object.fromEntries(
        Array.from({ length: 200 }, (_, i) => [`10.254.${i >> 8}.${i & 255}`, 'refused' as const]),
      ),
    );
    const caller = await started('caller', {
      register: false,
      transports: [plugin(rec)],
      connectTimeout: 300,
    });
    await expect(caller.connect('server')).rejects.toBeInstanceOf(PeerUnreachableError);
    expect(rec.dialed).toHaveLength(MAX_ENDPOINTS_PER_INSTANCE);
  });

  it('summarises repeated causes once, with a count', () => {
    const errors = [new Error('timed out at A'), new Error('timed out at A'), new Error('reset at B')];
    expect(summarizeAttempts(errors)).toBe('3 attempts: timed out at A (x2); reset at B');
  });
});

describe('the dial policy', () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
    store = randomBytes(4).toString('hex');
  });

  it('skips the endpoints the policy refuses', async () => {
    await server((port) => [
      { transport: 'memory', host: '192.168.77.1', port },
      { transport: 'memory', host: 'memory', port },
    ]);
    const rec = new RecordingTransport('memory');
    const caller = await started('caller', {
      register: false,
      transports: [plugin(rec)],
      dialPolicy: (e) => e.host === 'memory',
    });
    expect(await roundTrip(caller, 'allowed')).toBe('allowed');
    expect(rec.dialed.map((e) => e.host)).toEqual(['memory']);
  });

  it('fails at once, not retryable, when the policy leaves nothing to dial', async () => {
    await server((port) => [
      { transport: 'memory', host: '169.254.169.254', port },
      { transport: 'memory', host: '0.0.0.0', port },
    ]);
    const rec = new RecordingTransport('memory');
    const caller = await started('caller', {
      register: false,
      transports: [plugin(rec)],
      connectTimeout: 600_000,
      dialPolicy: allowNetworks('10.0.0.0/8', 'fd00::/8'),
    });
    const err = (await caller.connect('server').catch((e: unknown) => e)) as PeerUnreachableError;
    expect(err).toBeInstanceOf(PeerUnreachableError);
    expect(err.retryable).toBe(false);
    expect(err.attempts.every((a) => a instanceof DialPolicyError)).toBe(true);
    expect(err.message).toContain('169.254.169.254');
    expect(err.message).toContain('unspecified');
    expect(rec.dialed).toEqual([]);
  });

  it('rejects a dialPolicy that is not a function', () => {
    expect(() =>
      createSidecar({ name: 'x', registry: 'memory:x', dialPolicy: 'none' as unknown as () => boolean }),
    ).toThrow(InvalidConfigError);
  });

  it('knows unspecified, broadcast and multicast addresses, in IPv4, IPv6 and mapped form', () => {
    for (const host of [
      '0.0.0.0',
      '0.1.2.3',
      '::',
      '255.255.255.255',
      '239.1.1.1',
      'ff05::2',
      '::ffff:224.0.0.1',
    ])
      expect(undialableReason(host), host).toBeDefined();
    for (const host of ['10.0.0.1', '127.0.0.1', '::1', 'fe80::1', '::ffff:10.1.2.3', 'billing.local'])
      expect(undialableReason(host), host).toBeUndefined();
    expect(inNetwork('10.1.2.3', parseNetwork('10.0.0.0/8'))).toBe(true);
    expect(inNetwork('11.1.2.3', parseNetwork('10.0.0.0/8'))).toBe(false);
    expect(inNetwork('fd12::5', parseNetwork('fd00::/8'))).toBe(true);
    expect(inNetwork('::ffff:10.0.0.9', parseNetwork('10.0.0.0/24'))).toBe(true);
    expect(inNetwork('host.example', parseNetwork('10.0.0.0/8'))).toBe(false);
    expect(() => parseNetwork('10.0.0.0/33')).toThrow(InvalidConfigError);
    expect(() => parseNetwork('not-a-net')).toThrow(InvalidConfigError);
  });
});

describe('refusals a retry cannot cure', () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
    store = randomBytes(4).toString('hex');
  });

  it('fails at once on a wrong namespace, says what to fix, and the far side warns once', async () => {
    // The callee lives in namespace "other"; a record in "default" points at it (a shared
    // registry mix-up): its hello refusal names both namespaces.
    const callee = await started('server', { namespace: 'other' });
    const warnings: SidecarError[] = [];
    callee.on('warning', (e) => warnings.push(e));
    const registry = await openRegistry(`memory:${store}`);
    await registry.register({ ...callee.record, namespace: 'default' }, 60_000);
    await registry.stop();
    const caller = await started('caller', { register: false, connectTimeout: 600_000 });
    const err = (await caller.connect('server').catch((e: unknown) => e)) as PeerUnreachableError;
    expect(err).toBeInstanceOf(PeerUnreachableError);
    expect(err.retryable).toBe(false);
    expect(err.attempts).toHaveLength(1);
    expect(err.attempts[0]).toBeInstanceOf(HelloRefusedError);
    expect(err.message).toContain('namespace "other"');
    expect(err.message).toContain('give both sides the same namespace');
    expect(warnings.filter((w) => w instanceof HelloRefusedError)).toHaveLength(1);
  });
});

describe('a hostile far side', () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
    store = randomBytes(4).toString('hex');
  });

  it("keeps a refusal's text to one printable, bounded line", async () => {
    await server((port) => [{ transport: 'memory', host: 'liar', port }]);
    const liar: Transport = {
      name: 'memory',
      listen: (onConnection, options) => new MemoryTransport().listen(onConnection, options),
      async dial() {
        const [local, remote] = duplexPair();
        const message = `line one\nline two\u001b[2J\u001b]0;owned\u0007${'x'.repeat(5000)}`;
        remote.on('error', () => {});
        remote.resume();
        remote.end(encodeHello({ type: 'refuse', reason: 'wrong-peer', message }));
        return local;
      },
    };
    const caller = await started('caller', {
      register: false,
      transports: [plugin(liar)],
      connectTimeout: 300,
    });
    const err = (await caller.connect('server').catch((e: unknown) => e)) as PeerUnreachableError;
    expect(err).toBeInstanceOf(PeerUnreachableError);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(err.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(err.message).toContain('line one line two');
    expect(err.message.length).toBeLessThan(1000);
  });
});

describe('one AbortSignal shared by many operations', () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
    store = randomBytes(4).toString('hex');
  });

  it('50 concurrent connects, lookups and waits on one signal print no MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const srv = await server((port) => [{ transport: 'memory', host: 'memory', port }]);
      srv.app.on('stream', () => {});
      const caller = await started('caller', { register: false, connectTimeout: 300 });
      const { signal } = new AbortController();
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 50; i++) {
        ops.push(caller.connect('server', { signal }).then((s) => s.destroy()));
        ops.push(caller.connect('nobody-here', { signal }).catch(() => {}));
        ops.push(caller.peers('*', { signal }));
      }
      await Promise.all(ops);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
