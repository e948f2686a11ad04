import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { createFsBlobStore, createJobSystem, type BlobRef, type BlobStore, type JobSystem } from '@scalable-api/core';
import { imagePipelineJobs, type ModerationOptions } from '../src/index.js';
import { classNames } from '../src/classify-image.js';

// Real images (drawn here with sharp), the real model in real worker threads, the real clock.
let dir: string;
let blobs: BlobStore;
const systems: JobSystem[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'classify-test-'));
  blobs = await createFsBlobStore({ dir });
});
afterEach(async () => {
  for (const system of systems.splice(0)) await system.stop({ drain: false, timeoutMs: 0 });
});
afterAll(async () => {
  await blobs?.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(moderation: ModerationOptions = {}) {
  const jobs = imagePipelineJobs({
    blobs,
    location: { kind: 'fs', dir },
    widths: [64],
    moderation: { batch: { max: 4, waitMs: 100 }, ...moderation },
  });
  const system = createJobSystem({ jobs, workers: 16, threads: { max: 1 } });
  systems.push(system as unknown as JobSystem);
  await system.start();
  const [parent, , , classify] = jobs;
  const submit = (blob: BlobRef) => system.submit(classify, { blob, maxPixels: 10_000_000, location: { kind: 'fs', dir } });
  return { system, parent, submit };
}

/** Drawn images: a gradient, a disc on a flat ground, stripes; PNG or JPEG. */
async function draw(kind: 'gradient' | 'disc' | 'stripes', format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const width = 320;
  const height = 240;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const inDisc = (x - 160) ** 2 + (y - 120) ** 2 < 80 ** 2;
      const value = kind === 'gradient' ? (x * 255) / width : kind === 'disc' ? (inDisc ? 230 : 30) : (Math.floor(x / 20) % 2) * 255;
      pixels[i] = value;
      pixels[i + 1] = kind === 'disc' && inDisc ? 120 : value / 2;
      pixels[i + 2] = 255 - value;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .toFormat(format)
    .toBuffer();
}

function put(bytes: Buffer, contentType = 'image/png'): Promise<BlobRef> {
  return blobs.put(Readable.from([bytes]), { contentType, maxBytes: bytes.length });
}

// Not a speed bound: each system loads the model in its thread, slow on a busy 2-core machine.
describe('examples/image-pipeline classify (MobileNetV2 in worker threads, batched)', { timeout: 180_000 }, () => {
  it('gives class probabilities that sum to 1, and the same scores for the same image in any batch', async () => {
    const { system, submit } = await start();
    const drawn = await Promise.all([draw('gradient'), draw('disc', 'jpeg'), draw('stripes')]);
    const images = await Promise.all(drawn.map((bytes, i) => put(bytes, i === 1 ? 'image/jpeg' : 'image/png')));
    // First a batch of three different images, then the first image alone, then four copies of it.
    const first = await Promise.all((await Promise.all(images.map(submit))).map((h) => h.result()));
    const alone = await (await submit(images[0]!)).result();
    const copies = await Promise.all((await Promise.all([0, 1, 2, 3].map(() => submit(images[0]!)))).map((h) => h.result()));
    for (const scores of [...first, alone, ...copies]) {
      expect(Object.keys(scores).sort()).toEqual([...classNames].sort());
      expect(Object.values(scores).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
    for (const scores of [alone, ...copies]) for (const name of classNames) expect(scores[name]).toBeCloseTo(first[0]![name], 5);
    expect((await system.stats()).restarts).toBe(0);
  });

  it('fails only the corrupt image of a batch; the others complete on their first attempt', async () => {
    const { system, submit } = await start();
    const good = await put(await draw('gradient'));
    const whole = await draw('disc');
    const corrupt = await put(whole.subarray(0, Math.floor(whole.length / 2)));
    const handles = await Promise.all([good, corrupt, good, good].map(submit));
    const outcomes = await Promise.allSettled(handles.map((h) => h.result()));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(outcomes[1]).toMatchObject({ reason: { code: 'JOB_FAILED', message: expect.stringMatching(/^IMAGE_CORRUPT: /) } });
    const records = await Promise.all(handles.map((h) => system.get(h.id)));
    // Had the corrupt image failed the whole batch, the good ones would have needed a second attempt.
    expect(records.map((r) => r?.attempt)).toEqual([1, 1, 1, 1]);
  });

  it('replaces a thread that crashes mid-batch and retries the jobs of its batch', async () => {
    const poison = await put(await draw('stripes'));
    process.env['IMAGE_PIPELINE_CRASH_ON_BLOB'] = poison.id;
    try {
      const { system, submit } = await start();
      const good = await put(await draw('gradient'));
      const handles = await Promise.all([good, poison, good].map(submit));
      const results = await Promise.all(handles.map((h) => h.result()));
      for (const scores of results) expect(Object.values(scores).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect((await Promise.all(handles.map((h) => system.get(h.id)))).map((r) => r?.attempt)).toEqual([2, 2, 2]);
      expect((await system.stats()).restarts).toBeGreaterThanOrEqual(1);
    } finally {
      delete process.env['IMAGE_PIPELINE_CRASH_ON_BLOB'];
    }
  });

  it('cancels one job of a batch; the others of the batch complete', async () => {
    const { system, submit } = await start();
    const image = await put(await draw('disc'));
    // The one thread is busy with a first batch while the second forms and waits for it.
    const busy = await Promise.all([0, 1, 2, 3].map(() => submit(image)));
    const batch = await Promise.all([0, 1, 2, 3].map(() => submit(image)));
    expect(await system.cancel(batch[2]!.id)).toMatch(/^cancel/);
    const outcomes = await Promise.allSettled([...busy, ...batch].map((h) => h.result()));
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as { code: string }).code))).toEqual([
      ...['ok', 'ok', 'ok', 'ok'],
      ...['ok', 'ok', 'JOB_CANCELLED', 'ok'],
    ]);
  });

  it('the parent returns the verdict with the thumbnails, or refuses a flagged upload before any thumbnail', async () => {
    const image = await put(await draw('gradient'));
    const flagging = await start({ policy: 'flag', threshold: 0 });
    const flagged = await (await flagging.system.submit(flagging.parent, { blob: image })).result();
    expect(flagged.sizes.map((s) => s.width)).toEqual([64]);
    expect(flagged.moderation).toMatchObject({ flagged: true, top: expect.any(String) });
    const strict = await start({ policy: 'refuse', threshold: 0 });
    const refused = await Promise.allSettled([(await strict.system.submit(strict.parent, { blob: image })).result()]);
    expect(refused[0]).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/^IMAGE_REFUSED: /) } });
    const lenient = await start({ policy: 'refuse', threshold: 0.999 });
    const passed = await (await lenient.system.submit(lenient.parent, { blob: image })).result();
    expect(passed.moderation).toMatchObject({ flagged: false });
  });
});
