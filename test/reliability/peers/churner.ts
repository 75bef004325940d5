/**
 * A churner process: keeps a rolling set of instances of `name`. Every `periodMs` it starts a
 * new instance, then gracefully stops the oldest once more than `keep` run, so peers join and
 * leave continuously while at least `keep` instances always serve. Prints `joined`, `leaving` and
 * `left` lines; `{cmd:'stop'}` stops every instance and exits.
 */
import type { Sidecar } from '@sidecar/core';
import { emit, errorInfo, onCommand, readConfig, reportCrashes, sleep } from './lib/io.js';
import { type PeerBase, startServer } from './lib/serve.js';

interface ChurnerConfig extends PeerBase {
  name: string;
  /** Instances kept running. @default 2 */
  keep?: number;
  /** Interval between two joins (and leaves), in ms. @default 700 */
  periodMs?: number;
}

reportCrashes();
const config = readConfig<ChurnerConfig>();
const running: Sidecar[] = [];
let stopping = false;

async function join(): Promise<void> {
  const app = await startServer(config, config.name);
  running.push(app);
  emit({ t: 'joined', instanceId: app.instanceId });
}

/** A graceful leave: deregister, let in-flight requests finish (drain), then close. */
async function leave(app: Sidecar): Promise<void> {
  emit({ t: 'leaving', instanceId: app.instanceId });
  await app.stop({ drain: DRAIN_MS });
  emit({ t: 'left', instanceId: app.instanceId });
}

const DRAIN_MS = 2000;
const leaving = new Set<Promise<void>>();

for (let i = 0; i < (config.keep ?? 2); i++) await join();
emit({ t: 'ready', pid: process.pid, instances: running.map((a) => ({ instanceId: a.instanceId })) });

onCommand(async (command) => {
  if (command.cmd !== 'stop' || stopping) return;
  stopping = true;
  await Promise.all([...running.splice(0).map((app) => leave(app)), ...leaving]);
  emit({ t: 'stopped' });
  process.exit(0);
});

while (!stopping) {
  await sleep(config.periodMs ?? 700);
  if (stopping) break;
  try {
    await join();
    if (running.length > (config.keep ?? 2)) {
      // Not awaited: the churn goes on while the leaving instance drains.
      const done = leave(running.shift() as Sidecar).catch((err: unknown) =>
        emit({ t: 'churn-error', error: errorInfo(err) }),
      );
      leaving.add(done);
      void done.finally(() => leaving.delete(done));
    }
  } catch (err) {
    emit({ t: 'churn-error', error: errorInfo(err) });
  }
}
