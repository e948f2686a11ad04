/**
 * ML inference: MobileNetV2 (nsfwjs's bundled weights as an ONNX graph on onnxruntime-node, one
 * intra-op thread per inference thread) classifying 640×480 JPEGs through the image pipeline's classify job, in one run: `inline` on the event loop,
 * `threads` (one image per call), and threads with batches of 1, 4, 8 and 16 (BENCH_VARIANTS);
 * `idle` is the same server running nothing, the peer for /health.
 *
 *   images/s   IMAGES classifications with CONCURRENCY in flight (closed loop, in-process submit
 *              and result), first to last; bounded by BENCH_DEADLINE_MS per variant.
 *   p99        submit-to-result latency.
 *   /health    a paced GET /health every 20 ms from this driver while the variant runs: p99.
 *   CPU        process CPU (main thread, inference threads, libvips) per image: steadier than
 *              images/s on a shared machine; the ratio to `threads` is batching's gain in work.
 *   main loop  the variant's event-loop utilisation while it runs: how much of the thread that
 *              answers /health the inference path itself takes.
 *   load       the model's load time (inline: on the event loop; threads: the first job on a cold
 *              pool, thread start included) and RSS per thread once every thread holds its model.
 *
 * BENCH_THREADS inference threads (default: cores − 1, the pool's default), BENCH_TASKS_PER_THREAD
 * (2: each thread is handed its next call while one runs, for `threads` and batches alike),
 * BENCH_IMAGES (128), BENCH_CONCURRENCY (32), BENCH_RUNS (1).
 *
 * Fresh process per variant and run (bench/ml-variant.ts), variants interleaved, RUNS runs,
 * medians reported, and the ratio of each to `threads` (one image per call) printed; last, batches
 * of 16 against one at a time at its best (the fastest of `inline`, `threads` and `batch:1`, the
 * median of each), the ratio the batching goal is about, and the most batches of 16 could reach
 * with every core busy at their CPU per image.
 *
 *   node --conditions=source --import tsx bench/ml.ts        (npm run bench -- ml)
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 1);
const VARIANTS = (process.env['BENCH_VARIANTS'] ?? 'idle,inline,threads,batch:1,batch:4,batch:8,batch:16').split(',');
const script = fileURLToPath(new URL('./ml-variant.ts', import.meta.url));

interface Result {
  images: number;
  seconds: number;
  latencies: number[];
  failed: number;
  loadMs: number;
  perThreadMb: number;
  cpuMsPerImage: number;
  mainLoopBusy: number;
  threads: number;
  /** Shares of the run's wall time the inference thread computed, waited for a core, and sat idle. */
  inference?: { run: number; wait: number; idle: number };
  probe: number[];
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function runVariant(variant: string): Promise<Result> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, variant], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const line = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const match = new RegExp(`^${prefix} (.*)$`, 'm').exec(out);
        if (match) resolve(match[1]!);
      };
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        check();
      });
      child.once('exit', (code) => reject(new Error(`${variant} exited with ${code}`)));
      check();
    });
  const port = Number(await line('READY'));
  const result = line('RESULT');
  const probe: number[] = [];
  let done = false;
  void result.finally(() => (done = true)).catch(() => {});
  child.stdin.write('go\n');
  while (!done) {
    const t0 = performance.now();
    // The variant closes its server right after its result: a probe in flight then is not counted.
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (res) => res.arrayBuffer().then(() => true),
      () => false,
    );
    if (ok && !done) probe.push(performance.now() - t0);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { ...(JSON.parse(await result) as Omit<Result, 'probe'>), probe };
}

const threads = process.env['BENCH_THREADS'] ?? String(Math.max(1, os.availableParallelism() - 1));
console.log(
  `ML inference (MobileNetV2 on onnxruntime-node, ${process.env['ORT_INTRA_OP_THREADS'] ?? 1} intra-op thread(s) each), ${os.cpus().length} cores, ` +
    `${threads} inference thread(s) at nice ${process.env['CLASSIFY_NICE'] ?? 10}, ${process.env['BENCH_TASKS_PER_THREAD'] ?? 2} task(s) per thread, ` +
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, runs ${RUNS}`,
);
const pct = (share: number) => `${(share * 100).toFixed(0)}%`;
/** The inference thread's run / wait-for-a-core / idle shares of the run. */
const shares = ({ inference: t }: Result) => (t ? `inference thread ${pct(t.run)} run, ${pct(t.wait)} waiting for a core, ${pct(t.idle)} idle` : '');
const cores = os.availableParallelism();
/**
 * The most a variant could do on this machine with nothing else running, from CPU alone (steady
 * on a shared machine, unlike images/s): every core busy at its CPU per image, or its inference
 * thread — which computes every image's forward pass in turn — never waiting and never idle,
 * whichever is lower (with several inference threads, each does its share: the busiest one's rate times their number).
 */
const ceilingOf = (r: Result, variant: string) =>
  Math.min(
    (cores * 1_000) / r.cpuMsPerImage,
    r.inference && r.inference.run > 0 ? (r.images / r.seconds / r.inference.run) * (variant === 'inline' ? 1 : r.threads) : Infinity,
  );
const results = new Map<string, Result[]>(VARIANTS.map((v) => [v, []]));
for (let run = 0; run < RUNS; run++) {
  for (const variant of VARIANTS) {
    const result = await runVariant(variant);
    results.get(variant)!.push(result);
    console.log(
      `  run ${run + 1} ${variant.padEnd(9)} ${(result.images / result.seconds).toFixed(2)} images/s  p99 ${percentile(result.latencies, 99).toFixed(0)} ms  ` +
        `/health p99 ${percentile(result.probe, 99).toFixed(1)} ms  CPU ${result.cpuMsPerImage.toFixed(1)} ms/image  main loop busy ${(result.mainLoopBusy * 100).toFixed(0)}%  ` +
        `load ${result.loadMs.toFixed(0)} ms  ${result.perThreadMb.toFixed(0)} MB/thread  ${shares(result)}  ceiling ${ceilingOf(result, variant).toFixed(0)} images/s  ` +
        `(${result.images} images, ${result.failed} failed)`,
    );
  }
}
const median = (values: number[]) => percentile(values, 50);
const rate = (list: Result[]) => median(list.map((r) => r.images / r.seconds));
const peer = results.get('threads');
const cpuOf = (list: Result[]) => median(list.map((r) => r.cpuMsPerImage));
console.log(
  `\nload average at the end ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; medians of ${RUNS} run(s)`,
);
console.log(
  '\n| variant | images/s | p99 ms | /health p99 ms | CPU ms/image | main loop busy | model load ms | MB per thread | inference thread run / wait / idle | ceiling images/s | images/s vs threads | CPU/image vs threads |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [variant, list] of results) {
  const health = `${median(list.map((r) => percentile(r.probe, 99))).toFixed(1)} | `;
  const busy = `${(median(list.map((r) => r.mainLoopBusy)) * 100).toFixed(0)}% | `;
  if (variant === 'idle') {
    console.log(`| idle (no inference) | - | - | ${health}- | ${busy}- | - | - | - | - | - |`);
    continue;
  }
  console.log(
    `| ${variant} | ${rate(list).toFixed(2)} | ${median(list.map((r) => percentile(r.latencies, 99))).toFixed(0)} | ${health}` +
      `${cpuOf(list).toFixed(1)} | ${busy}${median(list.map((r) => r.loadMs)).toFixed(0)} | ` +
      `${median(list.map((r) => r.perThreadMb)).toFixed(0)} | ` +
      `${(['run', 'wait', 'idle'] as const).map((k) => pct(median(list.map((r) => r.inference?.[k] ?? NaN)))).join(' / ')} | ` +
      `${median(list.map((r) => ceilingOf(r, variant))).toFixed(0)} | ${peer ? `${(rate(list) / rate(peer)).toFixed(2)}x` : '-'} | ` +
      `${peer ? `${(cpuOf(peer) / cpuOf(list)).toFixed(2)}x` : '-'} |`,
  );
}
// One at a time at its best: the fastest of every configuration that sends one image per call —
// inline included, though it holds the event loop (/health) — is the baseline batching is measured against.
const oneNames = ['inline', 'threads', 'batch:1'].filter((v) => (results.get(v)?.length ?? 0) > 0);
const sixteen = results.get('batch:16');
if (oneNames.length > 0 && sixteen) {
  const bestName = oneNames.reduce((a, b) => (rate(results.get(b)!) > rate(results.get(a)!) ? b : a));
  const best = results.get(bestName)!;
  const ceilingFor = (variant: string) => median(results.get(variant)!.map((r) => ceilingOf(r, variant)));
  console.log(
    `\nbatch:16 vs one at a time at its best (${bestName}, the fastest of ${oneNames.join(', ')}): ${(rate(sixteen) / rate(best)).toFixed(2)}x images/s ` +
      `(${rate(sixteen).toFixed(2)} vs ${rate(best).toFixed(2)}), ${(cpuOf(best) / cpuOf(sixteen)).toFixed(2)}x less CPU per image; ` +
      `ceilings (nothing else running): batch:16 ${ceilingFor('batch:16').toFixed(0)}, ${oneNames.map((v) => `${v} ${ceilingFor(v).toFixed(0)}`).join(', ')} images/s: ` +
      `${(ceilingFor('batch:16') / Math.max(...oneNames.map(ceilingFor))).toFixed(2)}x the best one-at-a-time ceiling`,
  );
}
