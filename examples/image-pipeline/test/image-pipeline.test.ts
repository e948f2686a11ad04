import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { createImagePipeline, type ImagePipeline } from '../src/index.js';
import { startS3Server } from '@scalable-api/test-support/s3-server';

let s3: Awaited<ReturnType<typeof startS3Server>>;
let pipeline: ImagePipeline;
let base: string;

beforeAll(async () => {
  s3 = await startS3Server('images');
  // Credentials come from the environment, as in production; worker threads inherit it.
  process.env['AWS_ACCESS_KEY_ID'] = 'S3RVER';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'S3RVER';
  pipeline = await createImagePipeline({
    workers: 8,
    queueLimit: 100,
    threads: 2,
    isolation: 'thread',
    s3: { kind: 's3', bucket: s3.bucket, prefix: 'e2e/', endpoint: s3.endpoint, compatible: true },
    widths: [64, 256, 1024],
    maxPixels: 10_000_000,
    maxUploadBytes: 2 * 1_048_576,
    logger: false,
  });
  await pipeline.app.listen({ port: 0, host: '127.0.0.1' });
  const address = pipeline.app.server.address() as { port: number };
  base = `http://127.0.0.1:${address.port}`;
}, 60_000);

afterAll(async () => {
  await pipeline?.shutdown(5_000);
  await s3?.close();
});

/** A real image, encoded by libvips: a gradient so the encoders have something to compress. */
async function image(format: 'png' | 'jpeg', width: number, height: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i += 3) {
    const x = (i / 3) % width;
    pixels[i] = (x * 255) / width;
    pixels[i + 1] = 128;
    pixels[i + 2] = 255 - pixels[i]!;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .toFormat(format)
    .toBuffer();
}

async function post(body: Buffer, contentType: string, wait = true): Promise<Response> {
  return fetch(`${base}/images/image`, { method: 'POST', headers: { 'content-type': contentType, ...(wait ? { prefer: 'wait=30' } : {}) }, body });
}

async function readBlob(id: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of pipeline.blobs.open(id)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface Sized {
  width: number;
  height: number;
  key: string;
}

describe('examples/image-pipeline over HTTP', () => {
  it('probes a PNG, resizes it in parallel children on worker threads, stores each in S3, and streams progress over SSE', async () => {
    const res = await post(await image('png', 640, 400), 'image/png', false);
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const events = await fetch(`${base}/images/${id}/events`, { signal: AbortSignal.timeout(30_000) });
    expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
    const progress: unknown[] = [];
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of events.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      if (/event: job\.(completed|failed)/.test(text)) break;
    }
    for (const match of text.matchAll(/event: job\.progress\ndata: (.+)\n/g))
      progress.push((JSON.parse(match[1]!) as { progress: unknown }).progress);
    expect(text).toMatch(/event: job\.completed/);
    expect(progress).toContainEqual({ step: 'resize', done: 2, total: 2 });

    const job = (await (await fetch(`${base}/images/${id}`)).json()) as {
      status: string;
      output: {
        format: string;
        width: number;
        height: number;
        sizes: Sized[];
        keys: string[];
        moderation: { flagged: boolean; scores: Record<string, number> };
      };
    };
    expect(job).toMatchObject({ status: 'completed', output: { format: 'png', width: 640, height: 400 } });
    expect(job.output.sizes.map((s) => [s.width, s.height])).toEqual([
      [64, 40],
      [256, 160],
    ]);
    for (const size of job.output.sizes) {
      const meta = await sharp(await readBlob(size.key)).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', size.width, size.height]);
    }
    expect(job.output.keys).toEqual(job.output.sizes.map((s) => s.key));
    // The moderation model's verdict comes with the thumbnails (a drawn gradient is not explicit).
    expect(job.output.moderation).toMatchObject({ flagged: false, top: expect.any(String) });
    expect(Object.values(job.output.moderation.scores).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    const tree = (await (await fetch(`${base}/images/${id}/tree`)).json()) as { children?: unknown[] };
    expect(JSON.stringify(tree)).toMatch(/image\.probe/);
  });

  it('resizes a JPEG to every width smaller than it', async () => {
    const res = await post(await image('jpeg', 1200, 800), 'image/jpeg');
    const body = (await res.json()) as { status: string; output: { sizes: Sized[] } };
    expect(body.status).toBe('completed');
    expect(body.output.sizes.map((s) => s.width)).toEqual([64, 256, 1024]);
    expect((await sharp(await readBlob(body.output.sizes[2]!.key)).metadata()).format).toBe('jpeg');
  });

  it.each([
    ['a file that is not an image', () => Buffer.from('GIF89a, or rather not an image at all'), 'image/png', 'IMAGE_UNSUPPORTED'],
    ['PNG bytes sent as image/jpeg', () => image('png', 100, 100), 'image/jpeg', 'IMAGE_TYPE_MISMATCH'],
    [
      'a PNG signature without its IHDR chunk',
      () => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]),
      'image/png',
      'IMAGE_CORRUPT',
    ],
    [
      'an image over the pixel bound (a decompression bomb: few bytes, many pixels)',
      () =>
        sharp({ create: { width: 5_000, height: 3_000, channels: 3, background: '#000' } })
          .png()
          .toBuffer(),
      'image/png',
      'IMAGE_TOO_LARGE',
    ],
  ] as const)('fails the job with a reason for %s, never crashing', async (_name, make, contentType, reason) => {
    const body = await make();
    const res = await post(body, contentType);
    expect(res.status).toBeLessThan(300);
    const job = (await res.json()) as { status: string; error: { code: string; message: string } };
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('JOB_FAILED');
    expect(job.error.message.startsWith(`${reason}: `)).toBe(true);
  });

  it('fails a truncated image in the classify step (the header was fine) with CHILD_FAILED naming the cause', async () => {
    const whole = await image('png', 400, 300);
    const res = await post(whole.subarray(0, Math.floor(whole.length / 2)), 'image/png');
    const job = (await res.json()) as { status: string; error: { code: string; message: string } };
    expect(job).toMatchObject({ status: 'failed', error: { code: 'CHILD_FAILED' } });
    expect(job.error.message).toMatch(/\(image\.classify\) failed: IMAGE_CORRUPT: /);
  });

  it('answers 413 to a body over the upload limit', async () => {
    const res = await post(Buffer.alloc(3 * 1_048_576, 1), 'image/png');
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('stays healthy after the bad inputs: no thread or worker was restarted', async () => {
    const stats = await pipeline.system.stats();
    expect(stats.health).toBe('healthy');
    expect(stats.restarts).toBe(0);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });
});
