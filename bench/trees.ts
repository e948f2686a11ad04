/**
 * Job trees: time and memory of a 10,000-child fan-in and of a depth-10 binary tree (2,047
 * jobs), and the heap cost of one waiting parent. Each case runs in a fresh child process with
 * --expose-gc; the median of several runs is printed.
 *
 *   node --conditions=source --import tsx bench/trees.ts [runs=5]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 5);
const variant = process.env.BENCH_VARIANT;

if (variant) {
  process.stdout.write(JSON.stringify(await runCase(variant)) + '\n');
  process.exit(0);
}

const cases = ['fan-in-10000', 'binary-depth-10', 'waiting-parents-1000'] as const;
console.log(`job trees, median of ${runs} runs (fresh process each), workers: 8, memory store`);
for (const name of cases) {
  const samples: { ms: number; heapBytes: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', '--expose-gc', fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_VARIANT: name },
      encoding: 'utf8',
      timeout: 120_000,
    });
    samples.push(JSON.parse(out.trim().split('\n').pop()!) as { ms: number; heapBytes: number });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ms = median(samples.map((s) => s.ms));
  const heap = median(samples.map((s) => s.heapBytes));
  if (name === 'waiting-parents-1000') {
    console.log(`  ${name.padEnd(22)} heap per waiting parent (with its one queued child): ${(heap / 1000 / 1024).toFixed(2)} KB`);
  } else {
    console.log(`  ${name.padEnd(22)} ${ms.toFixed(0).padStart(6)} ms   peak heap growth ${(heap / 1024 / 1024).toFixed(1)} MB`);
  }
}

async function runCase(name: string): Promise<{ ms: number; heapBytes: number }> {
  const { createJobSystem, defineJob } = await import('@scalable-api/core');
  const gc = (globalThis as { gc?: () => void }).gc!;
  const leaf = defineJob({ name: 'leaf', run: (input: { i: number }) => input.i });
  const fanIn = defineJob({
    name: 'fan-in',
    async run(input: { n: number }, ctx) {
      const values = await Promise.all(Array.from({ length: input.n }, (_, i) => ctx.spawn(leaf, { i })));
      return values.length;
    },
  });
  const binary = defineJob({
    name: 'binary',
    async run(input: { depth: number }, ctx): Promise<number> {
      if (input.depth === 0) return 1;
      const [a, b] = await Promise.all([ctx.spawn(binary, { depth: input.depth - 1 }), ctx.spawn(binary, { depth: input.depth - 1 })]);
      return a + b + 1;
    },
  });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  // One runs at a time and never finishes until released: every other one stays queued.
  const blocked = defineJob({ name: 'blocked', concurrency: 1, run: () => held });
  const waiter = defineJob({ name: 'waiter', run: (_: undefined, ctx) => ctx.spawn(blocked, undefined) });
  const system = createJobSystem({
    jobs: [leaf, fanIn, binary, blocked, waiter],
    workers: 8,
    queue: { limit: 100_000 },
    trees: { maxWaitingParents: 100_000 },
    retention: { count: 100 },
  });
  await system.start();
  gc();
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
  const t = performance.now();
  if (name === 'fan-in-10000') await (await system.submit(fanIn, { n: 10_000 })).result();
  else if (name === 'binary-depth-10') await (await system.submit(binary, { depth: 10 })).result();
  else {
    // 1,000 parents, each waiting for a child that cannot run yet.
    const handles = await Promise.all(Array.from({ length: 1_000 }, () => system.submit(waiter, undefined)));
    while ((await system.stats()).waitingChildren < 1_000) await new Promise((r) => setTimeout(r, 10));
    gc();
    const heapBytes = process.memoryUsage().heapUsed - before;
    clearInterval(sampler);
    release();
    await Promise.all(handles.map((h) => h.result()));
    await system.stop();
    return { ms: performance.now() - t, heapBytes };
  }
  const ms = performance.now() - t;
  clearInterval(sampler);
  await system.stop();
  return { ms, heapBytes: Math.max(peak, process.memoryUsage().heapUsed) - before };
}
