import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createRedisStore, type RedisStore } from '@scalable-api/redis';

/**
 * A redis-server under `valgrind --tool=callgrind`, for benches that count its instructions
 * (redis-callgrind.ts, redis-floor.ts): exact however busy the machine is. Read from dumps
 * (`callgrind_control -d`, which also zeroes the counts).
 *
 * BENCH_PORT a port of one's own on a shared machine; BENCH_REDIS_SERVER another binary (a build
 * with symbols, so that `callgrind_annotate` names Lua's own functions: the Debian one is stripped;
 * `apt-get source redis` and `make REDIS_CFLAGS=-g` build one); BENCH_KEEP=1 keeps the dumps for
 * `callgrind_annotate` (`--inclusive=yes`, `--tree=caller`); BENCH_HZ the server's cron rate (10;
 * 1 keeps the time-driven cron from landing in whichever phase a dump catches); BENCH_REDIS_ARGS
 * more server settings, as in bench-redis.ts; BENCH_VALGRIND_ARGS more callgrind options
 * (`--cache-sim=yes` counts cache misses; `callgrind_annotate --show=Ir,DLmr,DLmw`).
 */
export interface Traced {
  url: string;
  /** Instructions since the last call (or the start). */
  instructions(): number;
  stop(): Promise<void>;
}

export async function traced(): Promise<Traced> {
  const dir = mkdtempSync(join(tmpdir(), 'sa-callgrind-'));
  // BENCH_PORT: a port of one's own on a shared machine (else a random one from 7100).
  const port = Number(process.env['BENCH_PORT'] ?? 7_100 + Math.floor(Math.random() * 900));
  const child: ChildProcess = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      ...(process.env['BENCH_VALGRIND_ARGS'] ?? '').split(' ').filter((a) => a !== ''),
      `--callgrind-out-file=${dir}/cg.%p`,
      process.env['BENCH_REDIS_SERVER'] ?? 'redis-server',
      '--port',
      String(port),
      '--hz',
      process.env['BENCH_HZ'] ?? '10',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...(process.env['BENCH_REDIS_ARGS'] ?? '').split(' ').filter((a) => a !== ''),
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (error) {
      if (i > 300) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      probe.disconnect();
    }
  }
  const control = (flag: string) => execFileSync('callgrind_control', [flag, String(child.pid)], { stdio: 'ignore' });
  control('-z');
  let dumps = 0;
  return {
    url,
    instructions() {
      control('-d');
      dumps++;
      const text = readFileSync(
        join(
          dir,
          readdirSync(dir).find((f) => f.endsWith(`.${dumps}`))!,
        ),
        'utf8',
      );
      return Number(/^(?:totals|summary):\s+(\d+)/m.exec(text)![1]);
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      // BENCH_KEEP=1: the dumps stay, for callgrind_annotate (one file per dump: cg.<pid>.<n>).
      if (process.env['BENCH_KEEP'] === '1') console.log(`callgrind dumps kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A traced server with a store on it (prefix `cg`, `retain` finished roots kept, its signals
 * subscribed as a node's are) for the length of `run`; both closed after.
 */
export async function withTracedStore<T>(retain: number, run: (redis: Traced, store: RedisStore) => Promise<T>): Promise<T> {
  const redis = await traced();
  const store = createRedisStore({ url: redis.url, prefix: 'cg', retention: { count: retain } });
  try {
    store.subscribe(() => {});
    return await run(redis, store);
  } finally {
    await store.close();
    await redis.stop();
  }
}
