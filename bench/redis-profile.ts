/**
 * Where Redis spends its time per job: the store's enqueue → claim → settle loop (batches of
 * BATCH, as bench/redis-scale-store.ts runs it) and the quickstart over HTTP (autocannon, a fixed
 * number of requests), each against a fresh redis-server of its own. Per job:
 *
 *   total      `INFO cpu` (user + sys) of the server
 *   FCALL      the time inside the library's functions (`INFO commandstats`), split by function
 *              (a second pass with `SLOWLOG` at threshold 0, which logs every call with its time)
 *   commands   the Redis commands the functions run, each with its calls and µs per job; what is
 *              left of FCALL is Lua itself (argument handling, tables, string building)
 *   outside    total − FCALL: reading requests and writing replies, pub/sub delivery, the event
 *              loop
 *
 *   node --conditions=source --import tsx bench/redis-profile.ts [store|http ...]
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { newJobId } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import { startBenchRedis, type BenchRedis } from './bench-redis.js';

const JOBS = Number(process.env['BENCH_STORE_JOBS'] ?? 20_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 50);
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 40_000);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const parts = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['store', 'http'];

type Stats = Map<string, { calls: number; usec: number }>;

interface Profile {
  jobs: number;
  cpuUs: number;
  stats: Stats;
  /** Per function: calls and µs (from SLOWLOG). */
  functions: Map<string, { calls: number; usec: number }>;
}

async function storeLoop(redis: BenchRedis, jobs: number): Promise<number> {
  const store = createRedisStore({ url: redis.url, prefix: 'bench' });
  try {
    store.subscribe(() => {});
    await store.counts();
    let done = 0;
    while (done < jobs) {
      const ids = Array.from({ length: BATCH }, () => newJobId());
      await store.enqueue(
        ids.map((id) => ({ id, name: 'echo', input: { hello: 'world' }, priority: 0 })),
        { limit: 1_000_000 },
      );
      await new Promise((resolve) => setImmediate(resolve));
      const { jobs: claimed } = await store.claim({ owner: 'bench', max: BATCH, leaseMs: 60_000 });
      await store.settle(claimed.map((j) => ({ ...j, outcome: 'completed' as const, output: { hello: 'world' } })));
      done += claimed.length;
    }
    return done;
  } finally {
    await store.close();
  }
}

async function httpLoop(redis: BenchRedis, requests: number): Promise<number> {
  const script = fileURLToPath(new URL('./redis-scale-server.ts', import.meta.url));
  // (--cpu-prof is refused in NODE_OPTIONS: it goes on the command line.)
  const profile = process.env['PROFILE_NODE'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['PROFILE_NODE']}`] : [];
  const child = spawn(process.execPath, [...profile, '--conditions=source', '--import', 'tsx', script, 'ours'], {
    env: { ...process.env, REDIS_URL: redis.url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const m = /READY (\d+)/.exec(chunk);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  const stats = async () => (await (await fetch(`${base}/bench-stats`)).json()) as { accepted: number; completed: number };
  try {
    await autocannon({
      url: `${base}/jobs/echo`,
      method: 'POST',
      connections: 100,
      amount: requests,
      headers: { 'content-type': 'application/json' },
      body: '{"hello":"world"}',
    });
    for (let i = 0; i < 6_000; i++) {
      const s = await stats();
      if (s.completed >= s.accepted) return s.completed;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('jobs did not drain');
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

async function profile(loop: (redis: BenchRedis) => Promise<number>, withSlowlog: boolean): Promise<Profile> {
  const redis = await startBenchRedis();
  const admin = new Redis(redis.url);
  try {
    if (withSlowlog) await admin.config('SET', 'slowlog-log-slower-than', '0', 'slowlog-max-len', '1000000');
    await redis.flush();
    await admin.slowlog('RESET');
    const cpu0 = await redis.cpuUs();
    const jobs = await loop(redis);
    const cpuUs = (await redis.cpuUs()) - cpu0;
    const stats = await redis.commandStats();
    const functions = new Map<string, { calls: number; usec: number }>();
    if (withSlowlog) {
      const log = (await admin.slowlog('GET', '-1')) as [number, number, number, string[]][];
      for (const [, , usec, args] of log) {
        if (String(args[0]).toLowerCase() !== 'fcall') continue;
        const fn = String(args[1]).replace(/^scalable_api_[0-9a-f]+_/, '');
        const f = functions.get(fn) ?? { calls: 0, usec: 0 };
        functions.set(fn, { calls: f.calls + 1, usec: f.usec + usec });
      }
    }
    return { jobs, cpuUs, stats, functions };
  } finally {
    admin.disconnect();
    await redis.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function report(title: string, runs: Profile[], split: Profile): void {
  const per = (pick: (p: Profile) => number) => median(runs.map((p) => pick(p) / p.jobs));
  const total = per((p) => p.cpuUs);
  const fcall = per((p) => p.stats.get('fcall')?.usec ?? 0);
  console.log(`\n${title}: median of ${runs.length} runs, ${runs[0]!.jobs.toLocaleString('en')} jobs each`);
  console.log(`  total Redis CPU      ${total.toFixed(1)} µs/job`);
  console.log(`  outside functions    ${(total - fcall).toFixed(1)} µs/job  (requests, replies, pub/sub delivery, event loop)`);
  console.log(`  inside FCALL         ${fcall.toFixed(1)} µs/job  (${per((p) => p.stats.get('fcall')?.calls ?? 0).toFixed(3)} calls/job)`);
  const sumSplit = [...split.functions.values()].reduce((a, f) => a + f.usec, 0);
  for (const [fn, f] of [...split.functions].sort((a, b) => b[1].usec - a[1].usec)) {
    console.log(
      `    ${fn.padEnd(10)} ${((fcall * f.usec) / sumSplit).toFixed(1).padStart(5)} µs/job  ${(f.calls / split.jobs).toFixed(3)} calls/job  ${(f.usec / f.calls).toFixed(0)} µs/call`,
    );
  }
  let inner = 0;
  const rows: [string, number, number][] = [];
  for (const name of new Set(runs.flatMap((p) => [...p.stats.keys()]))) {
    if (['fcall', 'info', 'config', 'slowlog', 'function', 'flushall', 'ping', 'client', 'subscribe', 'ssubscribe', 'hello'].includes(name)) continue;
    const usec = per((p) => p.stats.get(name)?.usec ?? 0);
    inner += usec;
    rows.push([name, per((p) => p.stats.get(name)?.calls ?? 0), usec]);
  }
  for (const [name, calls, usec] of rows.sort((a, b) => b[2] - a[2])) {
    if (usec >= 0.05) console.log(`      ${name.padEnd(16)} ${usec.toFixed(2).padStart(6)} µs/job  ${calls.toFixed(3)} calls/job`);
  }
  console.log(`    Lua itself   ${(fcall - inner).toFixed(1)} µs/job  (FCALL minus the commands it ran)`);
}

console.log(`redis-profile: ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}, load ${os.loadavg()[0]!.toFixed(1)}`);
for (const part of parts) {
  const loop = part === 'store' ? (r: BenchRedis) => storeLoop(r, JOBS) : (r: BenchRedis) => httpLoop(r, REQUESTS);
  const runs: Profile[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await profile(loop, false));
  const split = await profile(loop, true);
  report(part === 'store' ? `store loop (batches of ${BATCH})` : `HTTP (quickstart, 100 connections, ${REQUESTS} requests)`, runs, split);
}
