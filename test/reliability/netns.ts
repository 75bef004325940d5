import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { type PeerProcess, spawnPeer } from './proc.js';

const run = promisify(execFile);

/** Every namespace, veth and bridge of a lab starts with this, followed by the owning process id. */
export const LAB_PREFIX = 'srl';
/** The private test subnets labs use: 10.199.N.0/24, the first one no other live lab holds. */
export const LAB_SUBNET_BASE = '10.199';
/** Host i (0-based) gets `.${FIRST_HOST_OCTET + i}`; the bridge gets `.1`. */
export const FIRST_HOST_OCTET = 11;

const NAME_PATTERN = new RegExp(`^${LAB_PREFIX}(\\d+)(h|v|br)(\\d*)$`);

/** Thrown when `ip netns` cannot be used here: the netns scenarios then fail, they never skip. */
export class NetnsUnavailableError extends Error {
  override name = 'NetnsUnavailableError';
  constructor(detail: string) {
    super(
      `ip netns is unavailable or not permitted here (${detail.trim()}). The reliability netns ` +
        'scenarios need Linux network namespaces: run them as root with iproute2 installed ' +
        '(apt-get install -y iproute2), as CI does. They fail rather than skip.',
    );
  }
}

/** One simulated host: a network namespace with a veth pair to the lab bridge. */
export interface Host {
  /** Index in the lab, 0-based. */
  readonly index: number;
  /** The namespace name (`ip netns exec NAME ...`). */
  readonly ns: string;
  /** The root-namespace end of the veth pair (a bridge port); the namespace end is `eth0`. */
  readonly veth: string;
  /** The host's current IPv4 address (changed by setAddress / swapAddresses). */
  address: string;
}

async function ip(...args: string[]): Promise<string> {
  const { stdout } = await run('ip', args);
  return stdout;
}

/**
 * Adds a bridge with a fixed MAC address. A bridge without one takes the lowest MAC of its ports,
 * so adding a host could change it, leaving the hosts' neighbour entries for the bridge's address
 * stale for seconds (a caller added before another host then could not reach the lab's Redis).
 */
async function addBridge(name: string): Promise<void> {
  await ip('link', 'add', name, 'type', 'bridge');
  const mac = ['02', ...[...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
  await ip('link', 'set', name, 'address', mac);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Names of this machine's lab namespaces and links, with the pid of the run that made them. */
function labObjects(): { namespaces: string[]; links: string[]; owner: (name: string) => number } {
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => NAME_PATTERN.test(n));
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => (l.split(': ')[1] ?? '').split('@')[0] ?? '')
    .filter((n) => NAME_PATTERN.test(n));
  return { namespaces, links, owner: (name) => Number(NAME_PATTERN.exec(name)?.[1]) };
}

/** Kills the processes still running inside a namespace (started by a lab run), then deletes it. */
function deleteNamespace(ns: string): void {
  const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {}
  }
  execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
}

/**
 * Deletes the namespaces, veths and bridges of lab runs whose process is gone (a crashed run),
 * or of `pid` when given (this run's own cleanup). Synchronous, so it also works in 'exit'.
 */
export function cleanupLabs(pid?: number): void {
  const { namespaces, owner } = labObjects();
  const mine = (name: string) => (pid === undefined ? !alive(owner(name)) : owner(name) === pid);
  for (const ns of namespaces.filter(mine)) {
    try {
      deleteNamespace(ns);
    } catch {}
  }
  for (const link of labObjects().links.filter(mine)) {
    try {
      execFileSync('ip', ['link', 'delete', link], { stdio: 'ignore' });
    } catch {}
  }
}

/** A free 10.199.N.0/24: one that no root-namespace address (another live lab's bridge) is in. */
function freeSubnet(): string {
  const used = execFileSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' });
  for (let n = 0; n < 256; n++) {
    const subnet = `${LAB_SUBNET_BASE}.${n}`;
    if (!used.includes(` ${subnet}.`)) return subnet;
  }
  throw new Error(`no free /24 left in ${LAB_SUBNET_BASE}.0.0/16`);
}

/**
 * What every lab shares: the peer processes it started inside its namespaces, and a `destroy()`
 * that kills them and deletes everything the run made.
 */
abstract class Lab {
  readonly #peers = new Set<PeerProcess>();
  #destroyed = false;

  /** Runs a peer script inside namespace `ns` (`ip netns exec`), with `env` added. */
  protected spawnIn(
    ns: string,
    script: string,
    config: object,
    label: string,
    env: Record<string, string>,
  ): PeerProcess {
    const peer = spawnPeer(script, config, { label, prefix: ['ip', 'netns', 'exec', ns], env });
    this.#peers.add(peer);
    return peer;
  }

  /** Stops every peer this lab started, then deletes its namespaces, veths and bridges. Idempotent. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await Promise.all([...this.#peers].map((p) => p.kill('SIGKILL')));
    cleanupLabs(process.pid);
  }
}

/**
 * A lab of simulated hosts: N network namespaces, each with a veth pair to one bridge in the root
 * namespace, on a private subnet that exists only there (no route, no forwarding: nothing leaves
 * it). Every name carries this process's pid, so `destroy()` and the cleanup of crashed runs
 * find exactly what a run made.
 *
 * @example
 * ```ts
 * const lab = await NetnsLab.create(3);
 * const peer = lab.spawn(lab.hosts[0], 'test/reliability/peers/server.ts', { ... });
 * await lab.setAddress(lab.hosts[0], lab.address(50));
 * await lab.destroy();
 * ```
 */
export class NetnsLab extends Lab {
  readonly hosts: Host[] = [];
  readonly bridge: string;
  readonly subnet: string;

  private constructor(subnet: string) {
    super();
    this.subnet = subnet;
    this.bridge = `${LAB_PREFIX}${process.pid}br`;
  }

  /** The bridge's address in the root namespace (Redis/Postgres of a lab listen here). */
  get bridgeAddress(): string {
    return this.address(1);
  }

  /** The address `${subnet}.${octet}`. */
  address(octet: number): string {
    return `${this.subnet}.${octet}`;
  }

  /** Creates a lab of `count` hosts. Throws NetnsUnavailableError where `ip netns` cannot be used. */
  static async create(count: number): Promise<NetnsLab> {
    try {
      execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' });
    } catch (err) {
      throw new NetnsUnavailableError(String((err as { stderr?: Buffer }).stderr ?? err));
    }
    cleanupLabs();
    const lab = new NetnsLab(freeSubnet());
    process.once('exit', () => cleanupLabs(process.pid));
    try {
      await lab.#build(count);
    } catch (err) {
      await lab.destroy();
      const detail = String((err as { stderr?: string }).stderr ?? (err as Error).message);
      if (/Operation not permitted|Permission denied|not supported/i.test(detail))
        throw new NetnsUnavailableError(detail);
      throw err;
    }
    return lab;
  }

  async #build(count: number): Promise<void> {
    await addBridge(this.bridge);
    await ip('addr', 'add', `${this.bridgeAddress}/24`, 'dev', this.bridge);
    await ip('link', 'set', this.bridge, 'up');
    for (let index = 0; index < count; index++) {
      const host: Host = {
        index,
        ns: `${LAB_PREFIX}${process.pid}h${index}`,
        veth: `${LAB_PREFIX}${process.pid}v${index}`,
        address: this.address(FIRST_HOST_OCTET + index),
      };
      await ip('netns', 'add', host.ns);
      this.hosts.push(host);
      await ip('link', 'add', host.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns);
      await ip('link', 'set', host.veth, 'master', this.bridge);
      await ip('link', 'set', host.veth, 'up');
      await ip('-n', host.ns, 'link', 'set', 'lo', 'up');
      await ip('-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      await ip('-n', host.ns, 'link', 'set', 'eth0', 'up');
    }
  }

  /** Gives `host` a new address (the old one disappears at once, as after a DHCP change). */
  async setAddress(host: Host, address: string): Promise<void> {
    await ip('-n', host.ns, 'addr', 'del', `${host.address}/24`, 'dev', 'eth0');
    await ip('-n', host.ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    host.address = address;
    await this.#flushNeighbours();
  }

  /** Swaps two hosts' addresses (both old addresses are removed before either is reused). */
  async swapAddresses(a: Host, b: Host): Promise<void> {
    const [addressA, addressB] = [a.address, b.address];
    await ip('-n', a.ns, 'addr', 'del', `${addressA}/24`, 'dev', 'eth0');
    await ip('-n', b.ns, 'addr', 'del', `${addressB}/24`, 'dev', 'eth0');
    await ip('-n', a.ns, 'addr', 'add', `${addressB}/24`, 'dev', 'eth0');
    await ip('-n', b.ns, 'addr', 'add', `${addressA}/24`, 'dev', 'eth0');
    [a.address, b.address] = [addressB, addressA];
    await this.#flushNeighbours();
  }

  /** Cuts the host off: its bridge port goes down (the host sees no carrier, like a pulled cable). */
  async linkDown(host: Host): Promise<void> {
    await ip('link', 'set', host.veth, 'down');
  }

  /** Plugs the host back in. */
  async linkUp(host: Host): Promise<void> {
    await ip('link', 'set', host.veth, 'up');
    await this.#flushNeighbours();
  }

  /**
   * Forgets every ARP entry in the lab, as the gratuitous ARP of a DHCP client would update them;
   * without it a moved address stays mapped to the old host's MAC for many seconds.
   */
  async #flushNeighbours(): Promise<void> {
    await ip('neigh', 'flush', 'dev', this.bridge).catch(() => '');
    await Promise.all(this.hosts.map((h) => ip('-n', h.ns, 'neigh', 'flush', 'all').catch(() => '')));
  }

  /**
   * Runs a TypeScript peer script inside `host` (`ip netns exec NS node --import tsx ...`) with
   * SIDECAR_HOST set to the host's address and `config` in SIDECAR_PEER_CONFIG.
   */
  spawn(host: Host, script: string, config: object, label = `${script}@${host.ns}`): PeerProcess {
    return this.spawnIn(host.ns, script, config, label, { SIDECAR_HOST: host.address });
  }
}

/** One of the two LANs of a TwoLanLab. */
export type Lan = 'a' | 'b';

/** A host of a TwoLanLab: a namespace with one interface per LAN it is on (`eth0`, `eth1`, ...). */
export interface LanHost {
  readonly index: number;
  readonly ns: string;
  /** The LANs in interface order: `['b', 'a']` means eth0 is on LAN b, eth1 on LAN a. */
  readonly lans: readonly Lan[];
  /** Its address on each LAN it is on. */
  readonly addresses: Partial<Record<Lan, string>>;
}

/** Host indexes of a TwoLanLab start here, so its names never meet a NetnsLab's in one run. */
const FIRST_LAN_HOST_INDEX = 20;

/**
 * Two LANs, each a bridge with a private /24 in the root namespace, and hosts on one or both. No
 * forwarding between them (nothing leaves either): a host on one LAN cannot reach the other's
 * subnet (ENETUNREACH), except the root namespace's address on LAN a, which single-homed hosts of
 * LAN b reach through their own bridge (the registry listens there, as on a shared server).
 *
 * @example
 * ```ts
 * const lab = await TwoLanLab.create();
 * const both = await lab.addHost(['b', 'a']);   // eth0 on LAN b, eth1 on LAN a
 * const onB = await lab.addHost(['b']);
 * lab.spawn(both, SCRIPTS.server, { ... });
 * await lab.destroy();
 * ```
 */
export class TwoLanLab extends Lab {
  readonly hosts: LanHost[] = [];
  readonly subnets: Record<Lan, string>;
  readonly bridges: Record<Lan, string>;

  private constructor(subnets: Record<Lan, string>) {
    super();
    this.subnets = subnets;
    this.bridges = { a: `${LAB_PREFIX}${process.pid}br1`, b: `${LAB_PREFIX}${process.pid}br2` };
  }

  /** The root namespace's address on a LAN (a lab's registry listens on LAN a's). */
  bridgeAddress(lan: Lan): string {
    return `${this.subnets[lan]}.1`;
  }

  /** Creates the two bridges. Throws NetnsUnavailableError where `ip netns` cannot be used. */
  static async create(): Promise<TwoLanLab> {
    try {
      execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' });
    } catch (err) {
      throw new NetnsUnavailableError(String((err as { stderr?: Buffer }).stderr ?? err));
    }
    cleanupLabs();
    process.once('exit', () => cleanupLabs(process.pid));
    const a = freeSubnet();
    const bridgeA = `${LAB_PREFIX}${process.pid}br1`;
    try {
      await addBridge(bridgeA);
      await ip('addr', 'add', `${a}.1/24`, 'dev', bridgeA);
      await ip('link', 'set', bridgeA, 'up');
      const lab = new TwoLanLab({ a, b: freeSubnet() });
      await addBridge(lab.bridges.b);
      await ip('addr', 'add', `${lab.bridgeAddress('b')}/24`, 'dev', lab.bridges.b);
      await ip('link', 'set', lab.bridges.b, 'up');
      return lab;
    } catch (err) {
      cleanupLabs(process.pid);
      const detail = String((err as { stderr?: string }).stderr ?? (err as Error).message);
      if (/Operation not permitted|Permission denied|not supported/i.test(detail))
        throw new NetnsUnavailableError(detail);
      throw err;
    }
  }

  /** Adds a host on `lans`, in that interface order; its address on each LAN ends in the same octet. */
  async addHost(lans: readonly Lan[]): Promise<LanHost> {
    const index = FIRST_LAN_HOST_INDEX + this.hosts.length;
    const octet = FIRST_HOST_OCTET + this.hosts.length;
    const ns = `${LAB_PREFIX}${process.pid}h${index}`;
    const addresses: Partial<Record<Lan, string>> = {};
    await ip('netns', 'add', ns);
    const host: LanHost = { index, ns, lans: [...lans], addresses };
    this.hosts.push(host);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    for (const [i, lan] of lans.entries()) {
      const veth = `${LAB_PREFIX}${process.pid}v${index}${i}`;
      const address = `${this.subnets[lan]}.${octet}`;
      await ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', `eth${i}`, 'netns', ns);
      await ip('link', 'set', veth, 'master', this.bridges[lan]);
      await ip('link', 'set', veth, 'up');
      await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', `eth${i}`);
      await ip('-n', ns, 'link', 'set', `eth${i}`, 'up');
      addresses[lan] = address;
    }
    // A host on LAN b only reaches the registry (the root namespace's LAN a address) via its bridge.
    if (!lans.includes('a')) {
      await ip('-n', ns, 'route', 'add', `${this.bridgeAddress('a')}/32`, 'via', this.bridgeAddress('b'));
    }
    return host;
  }

  /**
   * Runs a peer script inside `host` with SIDECAR_HOST unset, so the transport advertises the
   * host's own addresses (the behaviour under test), not one pinned by the environment.
   */
  spawn(host: LanHost, script: string, config: object, label = `${script}@${host.ns}`): PeerProcess {
    return this.spawnIn(host.ns, script, config, label, { SIDECAR_HOST: '' });
  }
}
