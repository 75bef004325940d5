import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupLabs, LAB_PREFIX, NetnsLab } from './netns.js';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const labNames = () => `${ip('netns', 'list')}\n${ip('-o', 'link', 'show')}`;

describe('the netns harness', () => {
  let lab: NetnsLab | undefined;
  afterAll(async () => {
    await lab?.destroy();
  });

  it('removes what a crashed run left behind, builds isolated hosts, and deletes them all', async () => {
    // A leftover of a run whose process is gone (no pid can be 4194305 or more on Linux).
    const stale = `${LAB_PREFIX}4194399h0`;
    ip('netns', 'add', stale);
    cleanupLabs();
    expect(ip('netns', 'list')).not.toContain(stale);

    lab = await NetnsLab.create(2);
    const [a, b] = lab.hosts;
    if (!a || !b) throw new Error('no hosts');
    // Each host has only its lab subnet: no default route, so nothing can leave the lab.
    const routes = ip('-n', a.ns, 'route', 'show');
    expect(routes).not.toContain('default');
    expect(routes.trim().split('\n')).toEqual([expect.stringContaining(`${lab.subnet}.0/24 dev eth0`)]);
    expect(ip('-n', a.ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0')).toContain(`${a.address}/24`);

    await lab.swapAddresses(a, b);
    expect(ip('-n', a.ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0')).toContain(`${lab.address(12)}/24`);
    await lab.setAddress(a, lab.address(99));
    expect(a.address).toBe(lab.address(99));
    await lab.linkDown(b);
    expect(ip('-o', 'link', 'show', b.veth)).toContain('state DOWN');
    await lab.linkUp(b);

    await lab.destroy();
    expect(labNames()).not.toContain(`${LAB_PREFIX}${process.pid}`);
  });
});
