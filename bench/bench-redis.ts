import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisAnswers } from '@scalable-api/test-support/redis-admin';

/** A `redis-server` of a benchmark's own, on a spare loopback port: the shared one is polluted by others' traffic. */
export interface BenchRedis {
  url: string;
  /** `used_cpu_user + used_cpu_sys` of the server, in µs. */
  cpuUs(): Promise<number>;
  /** `INFO commandstats`: calls and µs spent per command since the start (or the last flush). */
  commandStats(): Promise<Map<string, { calls: number; usec: number }>>;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

let nextPort = 21_000 + Math.floor(Math.random() * 6_000);

// BENCH_REDIS_ARGS: more redis-server settings for every server a bench starts, e.g.
// '--hash-max-listpack-value 256' (jobs whose input or output passes 64 bytes keep a listpack hash).
const extraSettings = (process.env['BENCH_REDIS_ARGS'] ?? '').split(' ').filter((s) => s !== '');

export async function startBenchRedis(settings: string[] = ['--save', '', '--appendonly', 'no']): Promise<BenchRedis> {
  settings = [...settings, ...extraSettings];
  let port = nextPort++;
  while (await answers(port)) port = nextPort++;
  const dir = mkdtempSync(join(tmpdir(), 'sa-bench-redis-'));
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...settings], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !(await answers(port)); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  const admin = new Redis(port, '127.0.0.1');
  return {
    url: `redis://127.0.0.1:${port}`,
    async cpuUs() {
      const info = await admin.info('cpu');
      return (Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1])) * 1e6;
    },
    async commandStats() {
      const stats = new Map<string, { calls: number; usec: number }>();
      for (const m of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
        stats.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
      }
      return stats;
    },
    async flush() {
      await admin.flushall();
      await admin.function('FLUSH');
      await admin.config('RESETSTAT');
    },
    async stop() {
      admin.disconnect();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function answers(port: number): Promise<boolean> {
  return redisAnswers(new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 }));
}
