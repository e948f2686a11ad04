/**
 * One variant of the ML benchmark in its own process (bench/ml.ts drives it): the image
 * pipeline's classify job (MobileNetV2 on onnxruntime-node) `inline`, in `threads` one image per call, or
 * in threads with batches of `batch:<n>`; `idle` runs nothing (the /health peer). It serves `GET /health` on loopback for the driver's
 * probe, prints `READY <port>`, waits for `go` on stdin, then runs IMAGES classifications with
 * CONCURRENCY in flight (closed loop) and prints one `RESULT <json>` line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createFsBlobStore, createJobSystem, type BlobRef } from '@scalable-api/core';
import { classifyJob } from '@scalable-api/example-image-pipeline';
import { loadModel } from '@scalable-api/example-image-pipeline/model';
import Fastify from 'fastify';
import sharp from 'sharp';
import { busiestThread, threadTimes } from './ml-thread-times.js';

const variant = process.argv[2] ?? 'batch:8';
const IMAGES = Number(process.env['BENCH_IMAGES'] ?? 128);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 32);
// The pool's own default: a core left to the event loop that answers requests.
const THREADS = Number(process.env['BENCH_THREADS'] ?? Math.max(1, availableParallelism() - 1));
const DEADLINE_MS = Number(process.env['BENCH_DEADLINE_MS'] ?? 120_000);
// Tasks a thread holds at once: with 2 the next call's blob read and decode overlap this one's inference.
const TASKS_PER_THREAD = Number(process.env['BENCH_TASKS_PER_THREAD'] ?? 2);

const dir = await mkdtemp(join(tmpdir(), 'bench-ml-'));
const blobs = await createFsBlobStore({ dir });
const location = { kind: 'fs' as const, dir };

/** Eight distinct noisy 640×480 JPEGs: the decode and the resize to 224×224 are part of the work. */
const images: BlobRef[] = [];
for (let seed = 0; seed < 8; seed++) {
  const pixels = Buffer.alloc(640 * 480 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * (seed + 7) + ((i * 2654435761) >>> 24)) & 255;
  const jpeg = await sharp(pixels, { raw: { width: 640, height: 480, channels: 3 } })
    .jpeg()
    .toBuffer();
  images.push(await blobs.put(Readable.from([jpeg]), { contentType: 'image/jpeg', maxBytes: jpeg.length }));
}

const isolation = variant === 'inline' ? 'inline' : 'thread';
const batch = variant.startsWith('batch:') ? { max: Number(variant.slice(6)), waitMs: 10 } : false;
const classify = classifyJob({ name: 'classify', blobs, location, isolation, batch });
const system = createJobSystem({
  jobs: [classify],
  workers: 64,
  queue: { limit: 10_000 },
  threads: { max: THREADS, tasksPerThread: TASKS_PER_THREAD },
});
await system.start();
const app = Fastify({ logger: false });
app.get('/health', () => ({ status: 'ok' }));
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`READY ${(app.server.address() as { port: number }).port}\n`);
await new Promise((resolve) => process.stdin.once('data', resolve));

if (variant === 'idle') {
  // The peer for /health: the same process and server with no inference at all, so the probe's
  // p99 on this machine at this load is known without the model.
  const idleMs = Number(process.env['BENCH_IDLE_MS'] ?? 5_000);
  const cpuBefore = process.cpuUsage();
  const eluBefore = performance.eventLoopUtilization();
  await new Promise((resolve) => setTimeout(resolve, idleMs));
  const cpu = process.cpuUsage(cpuBefore);
  const mainLoopBusy = performance.eventLoopUtilization(eluBefore).utilization;
  process.stdout.write(
    `RESULT ${JSON.stringify({ images: 0, seconds: idleMs / 1_000, latencies: [], failed: 0, loadMs: 0, perThreadMb: 0, cpuMsPerImage: 0, idleCpuMs: (cpu.user + cpu.system) / 1_000, mainLoopBusy, threads: 0 })}\n`,
  );
  await system.stop({ drain: false, timeoutMs: 1_000 });
  await app.close();
  await blobs.close();
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
}

const classifyOne = async (i: number) =>
  (await system.submit(classify, { blob: images[i % images.length]!, maxPixels: 10_000_000, location })).result();

// Model load: on this thread for inline (the pure load), else the first job on a cold pool
// (thread start, module import, backend and model load, one image).
const rssBefore = process.memoryUsage().rss;
const loadStarted = performance.now();
let loadMs: number;
if (isolation === 'inline') loadMs = (await loadModel()).loadMs;
else {
  await classifyOne(0);
  loadMs = performance.now() - loadStarted;
}
// Warm every thread (each loads its own model; a batch takes up to batch.max jobs to one thread),
// then measure the memory the models took.
await Promise.all(Array.from({ length: THREADS * TASKS_PER_THREAD * Math.max(8, batch ? batch.max : 1) }, (_, i) => classifyOne(i)));
const perThreadMb = (process.memoryUsage().rss - rssBefore) / 1_048_576 / (isolation === 'inline' ? 1 : THREADS);

const latencies: number[] = [];
let next = 0;
let failed = 0;
// CPU of the whole process (main thread, inference threads, libvips) per image, and how busy the
// main thread's event loop was: what inference leaves of the core that answers requests.
const cpuBefore = process.cpuUsage();
const eluBefore = performance.eventLoopUtilization();
const timesBefore = threadTimes();
const started = performance.now();
const deadline = started + DEADLINE_MS;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < IMAGES && performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      try {
        await classifyOne(i);
        latencies.push(performance.now() - t0);
      } catch {
        failed++;
      }
    }
  }),
);
const seconds = (performance.now() - started) / 1_000;
// The inference thread: the main thread inline, else the busiest other thread (the classify
// thread computes onnxruntime's run itself; sharp's decodes spread over libuv's threads).
const inference = busiestThread(timesBefore, threadTimes(), seconds * 1_000, isolation === 'inline');
const cpu = process.cpuUsage(cpuBefore);
const cpuMsPerImage = (cpu.user + cpu.system) / 1_000 / Math.max(1, latencies.length);
const mainLoopBusy = performance.eventLoopUtilization(eluBefore).utilization;
process.stdout.write(
  `RESULT ${JSON.stringify({ images: latencies.length, seconds, latencies, failed, loadMs, perThreadMb, cpuMsPerImage, mainLoopBusy, threads: THREADS, inference })}\n`,
);
await system.stop({ drain: false, timeoutMs: 1_000 });
await app.close();
await blobs.close();
await rm(dir, { recursive: true, force: true });
process.exit(0);
