/**
 * Where an image's time goes in the classify job, for batches of 1 and 16 (BENCH_SIZES), on one
 * thread with no job system around it: sharp's decode and resize of a 640×480 JPEG to 224×224
 * RGB, building the input tensor, the model's forward pass (and, per kernel type, tf.profile's
 * kernel times) and reading the scores back. CPU time (process.cpuUsage: this thread plus
 * libvips' threads) beside wall time, because CPU stays meaningful on a shared, loaded machine.
 *
 * Both forward passes: `layers` (the Layers API's predict, as nsfwjs runs the model) and `fused`
 * (fuseLayersModel: batch norms folded into the convolutions, what the job runs). Batching can
 * only spread a call's fixed cost over its images; the summary prints that cost beside the
 * per-image compute, and so the most batching can gain on this CPU.
 *
 *   node --conditions=source --import tsx bench/ml-profile.ts      (npm run bench -- ml-profile)
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { loadModel, type Forward } from '@scalable-api/example-image-pipeline/model';
import sharp from 'sharp';

const SIZES = (process.env['BENCH_SIZES'] ?? '1,2,4,8,16').split(',').map(Number);
const IMAGES = Number(process.env['BENCH_IMAGES'] ?? 32);
const size = 224;

/** The same noisy 640×480 JPEGs as bench/ml-variant.ts. */
const jpegs: Buffer[] = [];
for (let seed = 0; seed < 8; seed++) {
  const pixels = Buffer.alloc(640 * 480 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * (seed + 7) + ((i * 2654435761) >>> 24)) & 255;
  jpegs.push(
    await sharp(pixels, { raw: { width: 640, height: 480, channels: 3 } })
      .jpeg()
      .toBuffer(),
  );
}

interface Stage {
  wallMs: number;
  cpuMs: number;
}
async function timed<T>(work: () => T | Promise<T>): Promise<[T, Stage]> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await work();
  const used = process.cpuUsage(cpu);
  return [value, { wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1_000 }];
}

const { net, forward, loadMs } = await loadModel();
console.log(
  `classify profile: ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}, backend ${tf.getBackend()}, ` +
    `SIMD ${String(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))}, wasm threads ${String(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'))}, ` +
    `model load ${loadMs.toFixed(0)} ms, ${IMAGES} images per size`,
);
const model = net.model as tf.LayersModel;
/** The Layers API's own predict (nsfwjs's way), and the folded, fused ops the job runs. */
const executors: Record<string, Forward> = { layers: (x) => model.predict(x) as tf.Tensor, fused: forward };

const stages = ['decode+resize', 'tensor', 'forward', 'read scores'] as const;
type Stages = Record<(typeof stages)[number], Stage>;

async function profile(run: Forward, n: number): Promise<{ stages: Stages; kernels: Map<string, number>; calls: number }> {
  const warm = tf.tidy(() => run(tf.zeros([n, size, size, 3])));
  await warm.data();
  warm.dispose();
  const totals = Object.fromEntries(stages.map((s) => [s, { wallMs: 0, cpuMs: 0 }])) as Stages;
  const add = (stage: (typeof stages)[number], s: Stage) => {
    totals[stage].wallMs += s.wallMs / IMAGES;
    totals[stage].cpuMs += s.cpuMs / IMAGES;
  };
  for (let first = 0; first < IMAGES; first += n) {
    const batch = Array.from({ length: n }, (_, i) => jpegs[(first + i) % jpegs.length]!);
    const [decoded, decode] = await timed(() =>
      Promise.all(batch.map((jpeg) => sharp(jpeg).removeAlpha().resize(size, size, { fit: 'fill' }).raw().toBuffer())),
    );
    add('decode+resize', decode);
    const [input, tensor] = await timed(() => {
      const bytes = Buffer.concat(decoded);
      return tf.tidy(() =>
        tf
          .tensor4d(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), [n, size, size, 3], 'int32')
          .toFloat()
          .div<tf.Tensor4D>(255),
      );
    });
    add('tensor', tensor);
    const [output, pass] = await timed(() => run(input));
    add('forward', pass);
    const [, read] = await timed(() => output.data());
    add('read scores', read);
    input.dispose();
    output.dispose();
  }
  // One profiled call: kernel time by op type, per image (wall time inside each kernel).
  const zeros = tf.zeros<tf.Rank.R4>([n, size, size, 3]);
  const info = await tf.profile(() => run(zeros));
  zeros.dispose();
  const kernels = new Map<string, number>();
  for (const k of info.kernels) kernels.set(k.name, (kernels.get(k.name) ?? 0) + (k.kernelTimeMs as number) / n);
  return { stages: totals, kernels, calls: info.kernels.length };
}

const cell = (s: Stage) => `${s.wallMs.toFixed(1)} / ${s.cpuMs.toFixed(1)}`;
const cpuTotal = (s: Stages) => stages.reduce((sum, stage) => sum + s[stage].cpuMs, 0);
const wallTotal = (s: Stages) => stages.reduce((sum, stage) => sum + s[stage].wallMs, 0);
const summary: string[] = [];
for (const [name, run] of Object.entries(executors)) {
  const results = new Map<number, Awaited<ReturnType<typeof profile>>>();
  for (const n of SIZES) results.set(n, await profile(run, n));
  const get = (n: number) => results.get(n)!;
  console.log(`\n## ${name}: ms per image, wall / CPU\n`);
  console.log(`| stage | ${SIZES.map((n) => `batch ${n}`).join(' | ')} |`);
  console.log(`|---|${SIZES.map(() => '---:').join('|')}|`);
  for (const stage of stages) console.log(`| ${stage} | ${SIZES.map((n) => cell(get(n).stages[stage])).join(' | ')} |`);
  console.log(`| **total** | ${SIZES.map((n) => `${wallTotal(get(n).stages).toFixed(1)} / ${cpuTotal(get(n).stages).toFixed(1)}`).join(' | ')} |`);
  console.log(`\n${name}: kernel ms per image by op (tf.profile)\n`);
  const ops = [...get(SIZES[0]!).kernels.entries()].sort((a, b) => b[1] - a[1]);
  console.log(`| op | ${SIZES.map((n) => `batch ${n}`).join(' | ')} |`);
  console.log(`|---|${SIZES.map(() => '---:').join('|')}|`);
  for (const [op] of ops) console.log(`| ${op} | ${SIZES.map((n) => (get(n).kernels.get(op) ?? 0).toFixed(2)).join(' | ')} |`);
  console.log(`| kernels per call | ${SIZES.map((n) => get(n).calls).join(' | ')} |`);
  // Batching only spreads what a call costs once (JS per kernel, operator setup, the call's
  // fixed work) over its images: fixed ≈ forward(1) − per-image forward of the best batch.
  const one = get(SIZES[0]!).stages;
  const best = Math.min(...SIZES.map((n) => cpuTotal(get(n).stages)));
  const bestForward = Math.min(...SIZES.map((n) => get(n).stages.forward.cpuMs));
  summary.push(
    `${name}: CPU per image ${cpuTotal(one).toFixed(1)} ms one per call, ${best.toFixed(1)} ms at the best batch size ` +
      `(forward ${one.forward.cpuMs.toFixed(1)} → ${bestForward.toFixed(1)}): batching gains ${(cpuTotal(one) / best).toFixed(2)}x; ` +
      `per-call cost ≈ ${(one.forward.cpuMs - bestForward).toFixed(1)} ms, per-image compute ≈ ${bestForward.toFixed(1)} ms`,
  );
}
console.log(`\n${summary.join('\n')}`);
