/**
 * Images: how many images per second go through the image pipeline (probe, three resize
 * children with sharp, each result stored in S3) with resizing in worker threads (2 and 4) versus
 * inline on the event loop, and how the HTTP intake fares meanwhile. BENCH_VARIANTS picks
 * (default `inline,thread:2,thread:4`).
 *
 *   images/s    IMAGES JPEGs of 1600x1200 (generated once with sharp), CONCURRENCY in flight
 *               (closed loop: a new POST when one completes), from the first POST to the last
 *               completion. Completion is polled with GET /images/:id every 50 ms.
 *   intake      latency of each `POST /images/image` until its 202 (the body streamed to S3, the
 *               job enqueued): p50 and p99.
 *   probe       a paced `GET /health` every 20 ms while the images run: p99 (event-loop stalls
 *               show here first).
 *
 * Fresh server process per variant and run (bench/images-server.ts), 4 images of warm-up
 * discarded, RUNS runs with the variants interleaved, medians reported. The S3 server (s3rver)
 * runs in this driver process on loopback.
 *
 *   node --conditions=source --import tsx bench/images.ts
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { startS3Server } from '@scalable-api/test-support/s3-server';
import sharp from 'sharp';
import { startBenchServer, stopBenchServer, type BenchServer } from './bench-server.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const IMAGES = Number(process.env['BENCH_IMAGES'] ?? 40);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 8);
const serverScript = fileURLToPath(new URL('./images-server.ts', import.meta.url));

interface Run {
  imagesPerSecond: number;
  intake: number[];
  probe: number[];
  failed: number;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function median(values: number[]): number {
  return percentile(values, 50);
}

async function photo(seed: number): Promise<Buffer> {
  const width = 1600;
  const height = 1200;
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0, p = 0; p < width * height; p++, i += 3) {
    const x = p % width;
    const y = (p / width) | 0;
    pixels[i] = (x * 7 + seed * 13) & 255;
    pixels[i + 1] = (y * 5 + ((x * y) >> 8)) & 255;
    pixels[i + 2] = ((x ^ y) + seed) & 255;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

function startServer(variant: string, env: Record<string, string>): Promise<BenchServer> {
  return startBenchServer(serverScript, variant, env, { startMs: 60_000 });
}

/** Posts one image and waits for its job to settle; returns the 202 latency and the outcome. */
async function one(base: string, body: Buffer): Promise<{ intakeMs: number; ok: boolean }> {
  const t0 = performance.now();
  const res = await fetch(`${base}/images/image`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body });
  const intakeMs = performance.now() - t0;
  if (res.status !== 202) return { intakeMs, ok: false };
  const { id } = (await res.json()) as { id: string };
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const job = (await (await fetch(`${base}/images/${id}`)).json()) as { status: string };
    if (job.status === 'completed') return { intakeMs, ok: true };
    if (job.status === 'failed' || job.status === 'cancelled') return { intakeMs, ok: false };
  }
  return { intakeMs, ok: false };
}

async function drive(base: string, images: Buffer[], count: number): Promise<{ seconds: number; intake: number[]; failed: number }> {
  const intake: number[] = [];
  let next = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
      while (next < count) {
        const body = images[next++ % images.length]!;
        const outcome = await one(base, body);
        intake.push(outcome.intakeMs);
        if (!outcome.ok) failed++;
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, intake, failed };
}

async function run(variant: string, env: Record<string, string>, images: Buffer[]): Promise<Run> {
  const server = await startServer(variant, env);
  const { base } = server;
  try {
    await drive(base, images, 4);
    const probe: number[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const t0 = performance.now();
        await fetch(`${base}/health`).then((r) => r.arrayBuffer());
        probe.push(performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const result = await drive(base, images, IMAGES);
    probing = false;
    await prober;
    return { imagesPerSecond: IMAGES / result.seconds, intake: result.intake, probe, failed: result.failed };
  } finally {
    await stopBenchServer(server, 15_000);
  }
}

const s3 = await startS3Server('bench');
const env = {
  S3_BUCKET: s3.bucket,
  S3_ENDPOINT: s3.endpoint,
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  WORKERS: '8',
};
const images = await Promise.all([1, 2, 3, 4].map(photo));
console.log(
  `images: ${IMAGES} JPEGs of 1600x1200 (${Math.round(images[0]!.length / 1024)} KB), ${CONCURRENCY} in flight, widths 64/256/1024, ` +
    `workers 8, ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), ` +
    `UV_THREADPOOL_SIZE ${process.env['UV_THREADPOOL_SIZE'] ?? 4}, sharp.concurrency ${sharp.concurrency()}`,
);
const variants = (process.env['BENCH_VARIANTS'] ?? 'inline,thread:2,thread:4').split(',');
const runs: Record<string, Run[]> = Object.fromEntries(variants.map((v) => [v, []]));
for (let i = 0; i < RUNS; i++) {
  for (const variant of variants) {
    const result = await run(variant, env, images);
    runs[variant]!.push(result);
    console.log(
      `  run ${i + 1} ${variant.padEnd(8)} ${result.imagesPerSecond.toFixed(2)} images/s  intake p50 ${percentile(result.intake, 50).toFixed(0)} ms p99 ${percentile(result.intake, 99).toFixed(0)} ms  ` +
        `probe p99 ${percentile(result.probe, 99).toFixed(1)} ms (${result.probe.length} probes)  failed ${result.failed}`,
    );
  }
}
console.log('\n| variant | images/s (median) | intake p50 ms | intake p99 ms | /health p99 ms | runs (images/s) |');
console.log('|---|---:|---:|---:|---:|---|');
for (const [variant, list] of Object.entries(runs)) {
  console.log(
    `| ${variant} | ${median(list.map((r) => r.imagesPerSecond)).toFixed(2)} | ${median(list.map((r) => percentile(r.intake, 50))).toFixed(0)} | ` +
      `${median(list.map((r) => percentile(r.intake, 99))).toFixed(0)} | ${median(list.map((r) => percentile(r.probe, 99))).toFixed(1)} | ` +
      `${list.map((r) => r.imagesPerSecond.toFixed(2)).join(', ')} |`,
  );
}
const inline = runs['inline'];
if (inline) {
  const base = median(inline.map((r) => r.imagesPerSecond));
  for (const [variant, list] of Object.entries(runs)) {
    if (variant !== 'inline') console.log(`${variant} / inline images/s = ${(median(list.map((r) => r.imagesPerSecond)) / base).toFixed(2)}`);
  }
}
await s3.close();
