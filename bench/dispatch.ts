/**
 * In-process dispatch: N no-op jobs through the actor system (supervisor, dispatcher, workers,
 * memory store) versus p-queue and fastq at the same concurrency, in this same process run.
 *
 *   scalable-api          N jobs already queued in the store, timed from start() to the last
 *                         completion: the dispatch path alone (and the memory per queued job)
 *   scalable-api submit   N `system.submit()` calls in a loop, timed from the first to the last
 *                         completion: what p-queue's and fastq's figures are (add → done)
 * Each variant runs in a fresh child process (so one's heap and JIT state do not colour the
 * next); each is repeated and the median is printed, with the ratios.
 *
 *   node --conditions=source --import tsx bench/dispatch.ts [jobs=1000000] [concurrency=64] [runs=3]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NewJob } from '@scalable-api/core';

const [jobs = 1_000_000, concurrency = 64, runs = 3] = process.argv
  .slice(2)
  .filter((a) => /^\d+$/.test(a))
  .map(Number);
const variant = process.env.BENCH_VARIANT;

if (variant) {
  const cpuBefore = process.cpuUsage();
  const result = await runVariant(variant, jobs, concurrency);
  const cpu = process.cpuUsage(cpuBefore);
  // CPU time is steadier than wall time on a busy machine; both are reported.
  Object.assign(result, { cpuSeconds: (cpu.user + cpu.system) / 1e6 });
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

const variants = ['scalable-api', 'scalable-api submit', 'p-queue', 'fastq'] as const;
const samples = new Map<string, number[]>(variants.map((v) => [v, []]));
const memory: number[] = [];
for (let run = 0; run < runs; run++) {
  for (const v of variants) {
    const out = execFileSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', '--expose-gc', fileURLToPath(import.meta.url), String(jobs), String(concurrency)],
      {
        env: { ...process.env, BENCH_VARIANT: v },
        encoding: 'utf8',
        timeout: 300_000,
      },
    );
    const parsed = JSON.parse(out.trim().split('\n').pop()!) as { jobsPerSecond: number; bytesPerQueuedJob?: number };
    samples.get(v)!.push(parsed.jobsPerSecond);
    if (parsed.bytesPerQueuedJob !== undefined) memory.push(parsed.bytesPerQueuedJob);
    console.error(`run ${run + 1}/${runs} ${v}: ${Math.round(parsed.jobsPerSecond).toLocaleString('en')} jobs/s`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ours = median(samples.get('scalable-api')!);
const oursSubmit = median(samples.get('scalable-api submit')!);
console.log(`\ndispatch: ${jobs.toLocaleString('en')} no-op jobs, concurrency ${concurrency}, median of ${runs} runs`);
for (const v of variants) {
  const m = median(samples.get(v)!);
  const ratios = v.startsWith('scalable-api') ? '' : `   queued / ${v} = ${(ours / m).toFixed(2)}   submit / ${v} = ${(oursSubmit / m).toFixed(2)}`;
  console.log(`  ${v.padEnd(20)} ${Math.round(m).toLocaleString('en').padStart(10)} jobs/s${ratios}`);
}
console.log(`  memory per queued job (heap delta over ${jobs.toLocaleString('en')} queued): ${Math.round(median(memory))} bytes`);

async function runVariant(name: string, n: number, c: number): Promise<{ jobsPerSecond: number; bytesPerQueuedJob?: number }> {
  const input = { ok: true };
  if (name === 'p-queue') {
    const { default: PQueue } = await import('p-queue');
    const queue = new PQueue({ concurrency: c });
    const noop = async () => input;
    const t = performance.now();
    for (let i = 0; i < n; i++) void queue.add(noop);
    await queue.onIdle();
    return { jobsPerSecond: n / ((performance.now() - t) / 1000) };
  }
  if (name === 'fastq') {
    const { default: fastq } = await import('fastq');
    let done = 0;
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    const queue = fastq.promise(async (x: typeof input) => x, c);
    const t = performance.now();
    for (let i = 0; i < n; i++) void queue.push(input).then(() => ++done === n && finish());
    await finished;
    return { jobsPerSecond: n / ((performance.now() - t) / 1000) };
  }
  const { createJobSystem, defineJob } = await import('@scalable-api/core');
  // The no-op job, and a promise that settles once it has run n times.
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const noop = defineJob({
    name: 'noop',
    async run(x: { ok: boolean }) {
      if (++done === n) finish();
      return x;
    },
  });
  if (name === 'scalable-api submit') {
    const system = createJobSystem({ jobs: [noop], workers: c, queue: { limit: n }, retention: { count: 1_000 } });
    await system.start();
    const t = performance.now();
    for (let i = 0; i < n; i++) void system.submit(noop, input);
    await finished;
    const jobsPerSecond = n / ((performance.now() - t) / 1000);
    await system.stop({ drain: false });
    return { jobsPerSecond };
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  // Memory per queued job: fill the store before the system starts (a system that is not started
  // refuses submits), then start it and time the run.
  const { createMemoryStore } = await import('@scalable-api/core');
  const store = createMemoryStore({ retention: { count: 1_000 } });
  const system = createJobSystem({ jobs: [noop], workers: c, queue: { limit: n }, store });
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const batch: NewJob[] = [];
  // Flat strings, as the system's own ids are (encoded in one step from random bytes): `padEnd`
  // alone makes a rope, whose first hashing walks its parts — a cost no real id has.
  for (let i = 0; i < n; i++) batch.push({ id: Buffer.from(`j${i}`.padEnd(22, '-')).toString('latin1'), name: 'noop', input, priority: 0 });
  await store.enqueue(batch, { limit: n });
  batch.length = 0;
  gc?.();
  const bytesPerQueuedJob = (process.memoryUsage().heapUsed - before) / n;
  // Run those queued jobs through the actors: this is the dispatch figure.
  const t = performance.now();
  await system.start();
  await finished;
  const jobsPerSecond = n / ((performance.now() - t) / 1000);
  await system.stop({ drain: false });
  return { jobsPerSecond, bytesPerQueuedJob };
}
