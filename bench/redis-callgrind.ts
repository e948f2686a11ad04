/**
 * Redis' cost per job and per call in instructions, exact however busy the machine is:
 * redis-server runs under `valgrind --tool=callgrind`, and the counts are read from dumps taken
 * around each phase (`callgrind_control -z` / `-d`).
 *
 *   per job    the store's enqueue → claim → settle loop (2,000 jobs after a warm-up that fills
 *              retention, RETAIN finished roots, so each job also leaves) in batches of 5, 20, 50
 *              and 250: what a call costs whatever it carries shows as the difference
 *   per call   200 calls each of a PING, a function that does nothing, and enqueue, claim and
 *              settle with nothing to do (an empty batch; a claim of an empty queue)
 *
 *   node --conditions=source --import tsx bench/redis-callgrind.ts     (needs valgrind)
 *
 * BENCH_PHASES=1 also splits the per-job figure by function (a dump after every call);
 * BENCH_NAMES=13 claims by a list of that many names, 'echo' and empty others, as a node that runs
 * many job types does (the quickstart registers 13; unset, a claim takes every name the store knows);
 * BENCH_CHILDREN=50 also measures a parent's children settling in one call, per child (their
 * events are `e` lines with the outputs: BENCH_INPUT_BYTES=213 makes those long);
 * BENCH_PORT, BENCH_REDIS_SERVER, BENCH_KEEP and BENCH_HZ as in callgrind-redis.ts.
 */
import { Redis } from 'ioredis';
import { newJobId } from '@scalable-api/core';
import { functionLibrary } from '../packages/redis/src/function-library.js';
import { benchInput, benchOutput } from './bench-input.js';
import { traced, withTracedStore } from './callgrind-redis.js';
import { storeLoop } from './store-loop.js';

const JOBS = Number(process.env['BENCH_JOBS'] ?? 2_000);
const RETAIN = Number(process.env['BENCH_RETAIN'] ?? 1_000);
const BATCHES = (process.env['BENCH_BATCHES'] ?? '5,20,50,250').split(',').map(Number);
const CALLS = 200;
const PHASES = process.env['BENCH_PHASES'] === '1';
const CHILDREN = Number(process.env['BENCH_CHILDREN'] ?? 0);

/**
 * Per child: 20 parents (after 5 unmeasured), each with `children` children claimed together and
 * settled completed in one call with benchOutput — the settle alone, whose events are one `e`
 * line per child (they have a parent) carrying its output.
 */
async function perChild(children: number): Promise<number> {
  return withTracedStore(RETAIN, async (redis, store) => {
    let measured = 0;
    let done = 0;
    for (let round = 0; round < 25; round++) {
      const root = newJobId();
      await store.enqueue([{ id: root, name: 'parent', input: {}, priority: 0 }], { limit: 1_000_000 });
      await store.claim({ owner: 'bench', max: 1, leaseMs: 60_000, names: ['parent'] });
      const kids = Array.from({ length: children }, () => ({ id: newJobId(), name: 'echo', input: benchInput, priority: 0, parentId: root }));
      await store.enqueue(kids, { limit: 1_000_000 });
      const { jobs } = await store.claim({ owner: 'bench', max: children, leaseMs: 60_000, names: ['echo'] });
      redis.instructions();
      await store.settle(jobs.map((j) => ({ ...j, outcome: 'completed' as const, output: benchOutput })));
      const n = redis.instructions();
      if (round >= 5) {
        measured += n;
        done += jobs.length;
      }
    }
    return measured / done;
  });
}

/** Per job: all, then (with BENCH_PHASES=1, a dump after every call) enqueue, claim and settle. */
async function perJob(batch: number): Promise<number[]> {
  return withTracedStore(RETAIN, async (redis, store) => {
    const phases = [0, 0, 0];
    const phase = (i: number) => {
      if (PHASES) phases[i]! += redis.instructions();
    };
    await storeLoop(store, RETAIN + 2 * batch, batch, phase);
    redis.instructions();
    phases.fill(0);
    const done = await storeLoop(store, JOBS, batch, phase);
    const total = PHASES ? phases[0]! + phases[1]! + phases[2]! : redis.instructions();
    return [total, ...phases].map((n) => n / done);
  });
}

async function perCall(): Promise<[string, number][]> {
  const redis = await traced();
  const client = new Redis(redis.url);
  try {
    const extra = "lib.register('noop', function() return 1 end)\n";
    await client.function('LOAD', functionLibrary.source + extra);
    const common = () => [String(Date.now()), '100', '1000', '3600000', '3'];
    const call = (fn: string, ...args: string[]) => client.fcall(`${functionLibrary.name}_${fn}`, 1, '{cg}:', ...common(), ...args);
    await call('enqueue', '1000', '0', 'P', 'other', '0', '1', 'x', '{}');
    const cases: [string, () => Promise<unknown>][] = [
      ['PING', () => client.ping()],
      ['FCALL of a function that does nothing', () => call('noop')],
      ['enqueue of an empty batch', () => call('enqueue', '1000', '0')],
      ['claim of an empty queue', () => call('claim', 'node', '50', '60000', '1', 'echo', '0')],
      ['settle of an empty batch', () => call('settle')],
    ];
    const out: [string, number][] = [];
    for (const [name, run] of cases) {
      for (let i = 0; i < 20; i++) await run();
      redis.instructions();
      for (let i = 0; i < CALLS; i++) await run();
      out.push([name, redis.instructions() / CALLS]);
    }
    return out;
  } finally {
    client.disconnect();
    await redis.stop();
  }
}

const k = (n: number) => `${Math.round(n / 1_000).toLocaleString('en')}k`;
console.log(`redis-server instructions (callgrind), ${JOBS.toLocaleString('en')} jobs, retention ${RETAIN.toLocaleString('en')}`);
for (const batch of BATCHES) {
  const [all, ...phases] = await perJob(batch);
  const split = PHASES ? `   (enqueue ${k(phases[0]!)}, claim ${k(phases[1]!)}, settle ${k(phases[2]!)})` : '';
  console.log(`  per job, batches of ${String(batch).padStart(3)}   ${k(all!).padStart(6)}${split}`);
}
for (const [name, n] of await perCall()) console.log(`  per call: ${name.padEnd(40)} ${k(n).padStart(6)}`);
if (CHILDREN > 0) console.log(`  per child, ${CHILDREN} children of a parent settled in one call: ${k(await perChild(CHILDREN)).padStart(6)}`);
