/**
 * Where an image's time goes in the classify job, for batches of 1 to 16 (BENCH_SIZES), on one
 * thread with no job system around it: reading the JPEG from a file blob store (as the job does),
 * sharp's decode and resize of the 640×480 JPEG to 224×224 RGB, building the input tensor, the
 * model's `run` (MobileNetV2 as an ONNX graph on onnxruntime, one intra-op thread) and reading the
 * scores. CPU time (process.cpuUsage: this thread plus libvips' and libuv's threads) beside wall
 * time, because CPU stays meaningful on a shared, loaded machine.
 *
 * Batching can only spread what a call costs once over its images: the summary prints the CPU per
 * image one per call and at the best size, and the split between per-call and per-image work.
 *
 *   node --conditions=source --import tsx bench/ml-profile.ts      (npm run bench -- ml-profile)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createFsBlobStore } from '@scalable-api/core';
import { loadModel } from '@scalable-api/example-image-pipeline/model';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

const SIZES = (process.env['BENCH_SIZES'] ?? '1,2,4,8,16').split(',').map(Number);
const IMAGES = Number(process.env['BENCH_IMAGES'] ?? 64);
const size = 224;

const dir = await mkdtemp(join(tmpdir(), 'bench-ml-profile-'));
const blobs = await createFsBlobStore({ dir });
/** The same noisy 640×480 JPEGs as bench/ml-variant.ts, in a file blob store as the job reads them. */
const ids: string[] = [];
for (let seed = 0; seed < 8; seed++) {
  const pixels = Buffer.alloc(640 * 480 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * (seed + 7) + ((i * 2654435761) >>> 24)) & 255;
  const jpeg = await sharp(pixels, { raw: { width: 640, height: 480, channels: 3 } })
    .jpeg()
    .toBuffer();
  ids.push((await blobs.put(Readable.from([jpeg]), { contentType: 'image/jpeg', maxBytes: jpeg.length })).id);
}

function tmpdir(): string {
  return os.tmpdir();
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

async function read(id: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of blobs.open(id)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const { session, loadMs } = await loadModel();
console.log(
  `classify profile: ${os.cpus().length} cores, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, onnxruntime-node ${ort.env.versions.common}, model load ${loadMs.toFixed(0)} ms, ${IMAGES} images per size`,
);

const stages = ['read blob', 'decode+resize', 'tensor', 'run', 'read scores'] as const;
type Stages = Record<(typeof stages)[number], Stage>;

async function profile(n: number): Promise<Stages> {
  const warm = new ort.Tensor('uint8', new Uint8Array(n * size * size * 3), [n, size, size, 3]);
  await session.run({ image: warm });
  const totals = Object.fromEntries(stages.map((s) => [s, { wallMs: 0, cpuMs: 0 }])) as Stages;
  const add = (stage: (typeof stages)[number], s: Stage) => {
    totals[stage].wallMs += s.wallMs / IMAGES;
    totals[stage].cpuMs += s.cpuMs / IMAGES;
  };
  for (let first = 0; first < IMAGES; first += n) {
    const batch = Array.from({ length: n }, (_, i) => ids[(first + i) % ids.length]!);
    const [jpegs, reading] = await timed(() => Promise.all(batch.map(read)));
    add('read blob', reading);
    const [decoded, decode] = await timed(() =>
      Promise.all(jpegs.map((jpeg) => sharp(jpeg, { failOn: 'error' }).removeAlpha().resize(size, size, { fit: 'fill' }).raw().toBuffer())),
    );
    add('decode+resize', decode);
    const [input, tensor] = await timed(() => {
      const bytes = n === 1 ? decoded[0]! : Buffer.concat(decoded);
      return new ort.Tensor('uint8', new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), [n, size, size, 3]);
    });
    add('tensor', tensor);
    const [output, pass] = await timed(() => session.run({ image: input }));
    add('run', pass);
    const [, scores] = await timed(() => Array.from(output[session.outputNames[0]!]!.data as Float32Array));
    add('read scores', scores);
  }
  return totals;
}

const cell = (s: Stage) => `${s.wallMs.toFixed(2)} / ${s.cpuMs.toFixed(2)}`;
const cpuTotal = (s: Stages) => stages.reduce((sum, stage) => sum + s[stage].cpuMs, 0);
const wallTotal = (s: Stages) => stages.reduce((sum, stage) => sum + s[stage].wallMs, 0);
const results = new Map<number, Stages>();
for (const n of SIZES) results.set(n, await profile(n));
const get = (n: number) => results.get(n)!;
console.log(`\n## ms per image, wall / CPU\n`);
console.log(`| stage | ${SIZES.map((n) => `batch ${n}`).join(' | ')} |`);
console.log(`|---|${SIZES.map(() => '---:').join('|')}|`);
for (const stage of stages) console.log(`| ${stage} | ${SIZES.map((n) => cell(get(n)[stage])).join(' | ')} |`);
console.log(`| **total** | ${SIZES.map((n) => `${wallTotal(get(n)).toFixed(1)} / ${cpuTotal(get(n)).toFixed(1)}`).join(' | ')} |`);
const one = get(SIZES[0]!);
const bestSize = SIZES.reduce((a, b) => (cpuTotal(get(b)) < cpuTotal(get(a)) ? b : a));
const best = get(bestSize);
console.log(
  `\nCPU per image ${cpuTotal(one).toFixed(1)} ms one per call, ${cpuTotal(best).toFixed(1)} ms at batch ${bestSize}: batching gains ` +
    `${(cpuTotal(one) / cpuTotal(best)).toFixed(2)}x here (run ${one.run.cpuMs.toFixed(1)} → ${best.run.cpuMs.toFixed(1)} ms, ` +
    `decode+resize ${one['decode+resize'].cpuMs.toFixed(1)} → ${best['decode+resize'].cpuMs.toFixed(1)} ms); the job system's own per-call cost comes on top (bench/ml.ts)`,
);
await blobs.close();
await rm(dir, { recursive: true, force: true });
