import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv, createUploadService, type UploadService } from '../src/upload-app.js';
import { startS3Server, type S3Server } from '@scalable-api/test-support/s3-server';

let s3: S3Server;
let service: UploadService;
let base: string;

beforeAll(async () => {
  s3 = await startS3Server('payloads');
  process.env['AWS_ACCESS_KEY_ID'] = 'S3RVER';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'S3RVER';
  const config = configFromEnv({ WORKERS: '3', S3_BUCKET: s3.bucket, S3_ENDPOINT: s3.endpoint, S3_PREFIX: 'e2e/', LOG: 'off' });
  service = await createUploadService(config);
  await service.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(service.app.server.address() as { port: number }).port}`;
}, 30_000);

afterAll(async () => {
  await service?.shutdown(5_000);
  await s3?.close();
});

function batch(count: number, distinct: number): { payloads: Record<string, unknown>[] } {
  return { payloads: Array.from({ length: count }, (_, i) => ({ event: 'click', user: `u${i % distinct}`, at: 1_700_000_000 + (i % distinct) })) };
}

async function post(body: unknown, wait = true): Promise<Response> {
  return fetch(`${base}/uploads/upload-batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(wait ? { prefer: 'wait=30' } : {}) },
    body: JSON.stringify(body),
  });
}

async function read(key: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of service.blobs.open(key)) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

describe('examples/s3-upload over HTTP', () => {
  it('sizes its worker pool from WORKERS', async () => {
    expect((await service.system.stats()).workers).toBe(3);
  });

  it('uploads every payload of a request to S3 and answers with their keys; equal payloads are stored once', async () => {
    const body = batch(120, 40);
    const res = await post(body);
    const job = (await res.json()) as { status: string; output: { count: number; keys: string[] } };
    expect(job).toMatchObject({ status: 'completed', output: { count: 120 } });
    expect(new Set(job.output.keys).size).toBe(120);
    for (const i of [0, 41, 119]) expect(await read(job.output.keys[i]!)).toEqual(body.payloads[i]);
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const objects = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'e2e/objects/' }));
    client.destroy();
    expect(objects.KeyCount).toBe(40);
  });

  it('refuses a request over the payload bound with 422 before any upload', async () => {
    const res = await post(batch(501, 1));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { code: string }).code).toBe('INPUT_INVALID');
  });

  it('rides out an S3 outage mid-batch: failed uploads retry and the batch completes', async () => {
    const before = (await service.system.stats()).completed;
    const res = await post({ payloads: batch(200, 200).payloads.map((p) => ({ ...p, outage: true })) }, false);
    const { id } = (await res.json()) as { id: string };
    // Wait until uploads are under way, then take S3 down for a moment.
    await expect.poll(async () => (await service.system.stats()).completed > before, { timeout: 10_000, interval: 5 }).toBe(true);
    await s3.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await s3.restart();
    const output = (await service.system.handle(id).result()) as { count: number };
    expect(output.count).toBe(200);
    const tree = await service.system.tree(id);
    const retried = (tree?.children ?? []).filter((child) => child.attempt > 1);
    expect(retried.length).toBeGreaterThan(0);
  });
});
