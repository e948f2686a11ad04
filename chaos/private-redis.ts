import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { sleep, type Proc, type ProcessGroup } from './process-group.js';

export interface PrivateRedis {
  port: number;
  /** Whether the server runs under the real-time scheduler (see `PrivateRedisOptions`). */
  realtime: boolean;
  url: string;
  dir: string;
  /** SIGKILL: what a crash of the Redis process looks like; the data directory stays. */
  crash(): Promise<void>;
  /** Starts the server again on the same port and directory (so it replays its AOF). */
  restart(): Promise<void>;
  /** INFO memory's used_memory, in bytes. */
  usedMemory(): Promise<number>;
  /** What the server wrote on stdout since its last (re)start: its log. */
  log(): readonly string[];
  /** A new connection for the harness's own commands (CLIENT KILL, SLOWLOG, CONFIG); the caller disconnects it. */
  admin(): Redis;
  stop(): Promise<void>;
}

let nextPort = 17_500 + Math.floor(Math.random() * 1_500);

export interface PrivateRedisOptions {
  /**
   * Runs the server under the real-time scheduler (`chrt --fifo 1`), so that it never waits for
   * a CPU behind the machine's other processes: what its slow log then shows is the time its
   * calls take, not the time it sat runnable on a busy machine (at load 10-15 on 2 cores, single
   * HSETs inside a function took 50-135 ms, at `nice -20` as well). The kernel's real-time
   * throttle leaves other processes at least 5% of each CPU (and so stops a server that was busy
   * for a whole second for 50 ms: a call under way then shows 50 ms longer); the server uses one
   * CPU at most. Falls back to the ordinary scheduler where `chrt` is refused; `realtime` on the
   * result says which.
   */
  realtime?: boolean;
}

/**
 * A `redis-server` of the suite's own on a spare loopback port: the shared one on 6379 must never
 * be crashed, and persistence settings are per scenario. `settings` are redis-server arguments
 * (`--appendonly yes --appendfsync always`, ...).
 */
export async function startPrivateRedis(group: ProcessGroup, settings: string[] = [], options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error('redis-server is not installed: the chaos suite needs it');
  const port = nextPort++;
  const dir = mkdtempSync(join(tmpdir(), 'sa-chaos-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--maxmemory-policy', 'noeviction', ...settings];
  const realtime = options.realtime === true && spawnSync('chrt', ['--fifo', '1', 'true']).status === 0;
  let proc: Proc | undefined;
  const launch = async () => {
    // chrt execs the server: the process (and its PID) is the server's.
    proc = realtime
      ? group.start(`redis-${port}`, 'chrt', ['--fifo', '1', 'redis-server', ...args])
      : group.start(`redis-${port}`, 'redis-server', args);
    await waitForPing(port);
  };
  await launch();
  const admin = () => {
    const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    return client;
  };
  return {
    port,
    realtime,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async crash() {
      proc?.child.kill('SIGKILL');
      await proc?.exited;
    },
    restart: launch,
    admin,
    log: () => proc?.lines ?? [],
    async usedMemory() {
      const client = admin();
      try {
        await client.connect();
        const info = await client.info('memory');
        return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
      } finally {
        client.disconnect();
      }
    },
    async stop() {
      proc?.child.kill('SIGKILL');
      await Promise.race([proc?.exited, sleep(3_000)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPing(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
    client.on('error', () => {});
    try {
      await client.connect();
      // While an AOF is being loaded Redis answers LOADING; it is up once PING works.
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    await sleep(50);
  }
  throw new Error(`redis-server on port ${port} did not answer within 10 s`);
}
