import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobSystem, createMemoryStore, defineJob, releaseBlobsOnDrop, type BlobStore } from '@scalable-api/core';
import { createS3BlobStore } from '@scalable-api/core/s3';
import { runBlobStoreConformance } from '@scalable-api/core/testing/conformance';
import { startS3Server, type S3Server } from '@scalable-api/test-support/s3-server';

let server: S3Server;
let client: S3Client;
let stores = 0;
const prefixes = new WeakMap<BlobStore, string>();

beforeAll(async () => {
  server = await startS3Server();
  client = new S3Client(server.clientConfig);
}, 30_000);
afterAll(async () => {
  client?.destroy();
  await server?.close();
});

/** A store under a prefix of its own, so tests sharing the bucket do not see each other's keys. */
async function s3Store(extra: { partSize?: number; endpoint?: string } = {}): Promise<BlobStore> {
  const prefix = `t${++stores}/`;
  const store = await createS3BlobStore({
    bucket: server.bucket,
    prefix,
    clientConfig: { ...server.clientConfig, ...(extra.endpoint ? { endpoint: extra.endpoint } : {}) },
    ...(extra.partSize ? { partSize: extra.partSize } : {}),
  });
  prefixes.set(store, prefix);
  return store;
}

async function keys(prefix: string): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((c) => c.Key!);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

runBlobStoreConformance('createS3BlobStore (s3rver)', () => s3Store(), {
  objectCount: async (store) => (await keys(`${prefixes.get(store)!}objects/`)).length,
});

describe('createS3BlobStore', () => {
  it('streams a body larger than one part as a multipart upload and leaves only the object and its reference', async () => {
    const store = await s3Store({ partSize: 5 * 1_048_576 });
    const body = randomBytes(12 * 1_048_576);
    const ref = await store.put(Readable.from([body.subarray(0, 4_000_000), body.subarray(4_000_000)]), {
      contentType: 'image/png',
      maxBytes: 20 * 1_048_576,
    });
    expect(ref.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect((await readAll(store.open(ref.id))).equals(body)).toBe(true);
    const prefix = prefixes.get(store)!;
    expect((await keys(prefix)).sort()).toEqual([`${prefix}objects/${ref.sha256}`, `${prefix}refs/${ref.sha256}/${ref.id.slice(43)}`]);
    await store.close();
  });

  it('is readable from another process', async () => {
    const store = await s3Store();
    const body = randomBytes(200_000);
    const ref = await store.put(Readable.from([body]), { contentType: 'application/octet-stream', maxBytes: 1_000_000 });
    const child = fileURLToPath(new URL('./fixtures/s3-read-child.ts', import.meta.url));
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', child, server.endpoint, server.bucket, prefixes.get(store)!, ref.id],
      { cwd: root, timeout: 30_000 },
    );
    const read = JSON.parse(stdout) as { pid: number; size: number; sha256: string };
    expect(read.pid).not.toBe(process.pid);
    expect(read).toMatchObject({ size: body.length, sha256: ref.sha256 });
    await store.close();
  });

  it('removes a job payload when the job store drops the job after its retention', async () => {
    const blobs = await s3Store();
    const prefix = prefixes.get(blobs)!;
    const store = createMemoryStore({ retention: { count: 1 } });
    const stop = releaseBlobsOnDrop(store, blobs);
    const job = defineJob({ name: 'size', run: (input: { blob: { size: number } }) => input.blob.size });
    const system = createJobSystem({ jobs: [job], workers: 1, store });
    await system.start();
    try {
      const first = await blobs.put(Readable.from([Buffer.from('first payload')]), { contentType: 'text/plain', maxBytes: 100 });
      await (await system.submit(job, { blob: first }, { meta: { blob: first.id } })).result();
      expect(await keys(`${prefix}objects/`)).toHaveLength(1);
      const second = await blobs.put(Readable.from([Buffer.from('second payload')]), { contentType: 'text/plain', maxBytes: 100 });
      await (await system.submit(job, { blob: second }, { meta: { blob: second.id } })).result();
      // Retention keeps one finished job: the first is dropped, and its payload with it.
      await expect.poll(() => keys(`${prefix}objects/`), { timeout: 10_000 }).toEqual([`${prefix}objects/${second.sha256}`]);
      await expect(readAll(blobs.open(first.id))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      stop();
      await system.stop();
      await store.close();
      await blobs.close();
    }
  });

  it('retries a part whose connection breaks mid-upload', async () => {
    // A TCP relay in front of s3rver that cuts the first connection once 1 MiB of request bytes
    // passed through it: a real broken socket mid-upload, not a mocked error.
    let cut = 0;
    const sockets = new Set<Socket>();
    const relay: Server = createServer((inbound) => {
      const outbound = connect(server.port, '127.0.0.1');
      sockets.add(inbound).add(outbound);
      let sent = 0;
      inbound.on('data', (chunk: Buffer) => {
        sent += chunk.length;
        if (cut === 0 && sent > 1_048_576) {
          cut++;
          inbound.destroy();
          outbound.destroy();
          return;
        }
        outbound.write(chunk);
      });
      outbound.on('data', (chunk: Buffer) => inbound.write(chunk));
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const { port } = relay.address() as { port: number };
    const store = await s3Store({ partSize: 5 * 1_048_576, endpoint: `http://127.0.0.1:${port}` });
    try {
      const body = randomBytes(11 * 1_048_576);
      const ref = await store.put(Readable.from([body]), { contentType: 'application/octet-stream', maxBytes: 20 * 1_048_576 });
      expect(cut).toBe(1);
      expect((await readAll(store.open(ref.id))).equals(body)).toBe(true);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => relay.close(resolve));
    }
  });
});
