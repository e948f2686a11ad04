import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { post, setup, type Setup } from './setup.js';
import { listen as listenOn } from './listen.js';

let t: Setup;
let base: string;
afterEach(async () => {
  await t?.close();
});

async function listen(options?: Parameters<typeof setup>[0]) {
  t = await setup(options);
  base = await listenOn(t.app);
}

/**
 * Streams `total` bytes of a repeating pattern with back-pressure, so the client never holds
 * more than one chunk. `abortAfter` destroys the socket after that many bytes.
 */
function upload(path: string, total: number, options: { contentType?: string; abortAfter?: number; headers?: Record<string, string> } = {}) {
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
  const hash = createHash('sha256');
  const req = httpRequest(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/octet-stream', 'content-length': String(total), ...options.headers },
  });
  const response = new Promise<{ status: number; body: string } | undefined>((resolve) => {
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve(undefined));
  });
  const sent = (async () => {
    let written = 0;
    while (written < total) {
      if (options.abortAfter !== undefined && written >= options.abortAfter) {
        req.destroy();
        return;
      }
      const piece = chunk.subarray(0, Math.min(chunk.length, total - written));
      hash.update(piece);
      written += piece.length;
      if (!req.write(piece)) await new Promise((resolve) => req.once('drain', resolve));
    }
    req.end();
  })();
  return { response, sent, sha256: () => hash.digest('hex') };
}

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);

/**
 * A full GC on demand, so samples measure live memory rather than garbage not yet collected
 * (received chunks are garbage at once, but the collector may let them pile up for a while).
 */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('binary bodies', () => {
  it('streams a 50 MB upload to the blob store with bounded memory and hands the job a reference', async () => {
    await listen({ plugin: { limits: { blobBytes: 64 * 1024 * 1024 } } });
    const total = 50 * 1024 * 1024;
    const gc = collector();
    gc();
    const before = process.memoryUsage();
    let peakHeap = before.heapUsed;
    let peakBuffers = before.arrayBuffers;
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      gc();
      const now = process.memoryUsage();
      peakHeap = Math.max(peakHeap, now.heapUsed);
      peakBuffers = Math.max(peakBuffers, now.arrayBuffers);
      peakRss = Math.max(peakRss, now.rss);
    }, 100);
    const run = upload('/jobs/digest', total);
    await run.sent;
    const res = await run.response;
    clearInterval(sampler);
    expect(res?.status).toBe(202);
    const { id } = JSON.parse(res!.body);
    const heapGrowth = peakHeap - before.heapUsed;
    const bufferGrowth = peakBuffers - before.arrayBuffers;
    const rssGrowth = peakRss - before.rss;
    // Buffering the body whole would keep 50 MB of Buffers (arrayBuffers) alive at once. The bound
    // is half of that, not tighter: freed Buffer memory is returned lazily after a GC, so a sample
    // can count a few MB of chunks that are already garbage. RSS also counts allocator slack and
    // socket buffers, so it only has to stay below the body size.
    expect(heapGrowth).toBeLessThan(total / 2);
    expect(bufferGrowth).toBeLessThan(total / 2);
    expect(rssGrowth).toBeLessThan(total);
    const job = await t.system.get(id);
    expect(job?.input).toEqual({ blob: { id: expect.any(String), size: total, contentType: 'application/octet-stream', sha256: run.sha256() } });
    await expect(t.system.handle(id).result()).resolves.toEqual({ bytes: total, sha256: (job!.input as { blob: { sha256: string } }).blob.sha256 });
    console.info(`50 MB upload: heap +${mb(heapGrowth)} MB, buffers +${mb(bufferGrowth)} MB, rss +${mb(rssGrowth)} MB (peaks over the start)`);
  }, 120_000);

  it('leaves no job and no temp file when the client disconnects mid-upload', async () => {
    await listen();
    const run = upload('/jobs/digest', 20 * 1024 * 1024, { abortAfter: 4 * 1024 * 1024, headers: { 'idempotency-key': 'abandoned' } });
    await run.sent;
    await run.response;
    await expect.poll(() => t.blobFiles(), { timeout: 20_000 }).toEqual([]);
    expect((await t.system.stats()).submitted).toBe(0);
    expect(await t.system.store.counts()).toMatchObject({ queued: 0, running: 0, completed: 0, failed: 0 });
    // The abandoned key is free again: a retry is accepted.
    const retry = upload('/jobs/digest', 1024, { headers: { 'idempotency-key': 'abandoned' } });
    await retry.sent;
    expect((await retry.response)?.status).toBe(202);
  });

  it('answers 413 before reading a body whose Content-Length is over the limit', async () => {
    await listen({ plugin: { limits: { blobBytes: 1024 * 1024 } } });
    const run = upload('/jobs/digest', 8 * 1024 * 1024);
    const res = await run.response;
    // The server answers and closes without reading; the client may see the 413 or a reset.
    if (res) {
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body).code).toBe('PAYLOAD_TOO_LARGE');
    }
    expect(await t.blobFiles()).toEqual([]);
    expect((await t.system.stats()).submitted).toBe(0);
  });

  it('removes the blob once its job leaves retention', async () => {
    await listen({ system: { retention: { count: 1 } } });
    const run = upload('/jobs/digest', 4096, { contentType: 'image/png' });
    await run.sent;
    const { id } = JSON.parse((await run.response)!.body);
    await t.system.handle(id).result();
    expect((await t.blobFiles()).length).toBeGreaterThan(0);
    // A second finished root pushes the first out of a retention of one.
    const next = (await post(t.app, '/jobs/echo', {})).json().id;
    await t.system.handle(next).result();
    await post(t.app, '/jobs/echo', {});
    await expect.poll(() => t.blobFiles(), { timeout: 20_000 }).toEqual([]);
  });

  it('answers 415 for a binary body to a job that takes JSON only, before storing any of it', async () => {
    await listen();
    const res = await t.app.inject({ method: 'POST', url: '/jobs/echo', headers: { 'content-type': 'image/jpeg' }, payload: Buffer.alloc(10) });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
    // Over a real socket, with a body larger than any buffer: refused and closed, nothing stored.
    const run = upload('/jobs/sleep', 8 * 1024 * 1024, { contentType: 'application/octet-stream' });
    const answer = await run.response;
    // The server answers and closes without reading; the client may see the 415 or a reset.
    if (answer) expect(answer.status).toBe(415);
    expect(await t.blobFiles()).toEqual([]);
    expect((await t.system.stats()).submitted).toBe(0);
  });

  it("answers 415 for a media type outside the job's accepts", async () => {
    await listen();
    const res = await t.app.inject({ method: 'POST', url: '/jobs/digest', headers: { 'content-type': 'text/csv' }, payload: 'a,b' });
    expect(res.statusCode).toBe(415);
    expect(res.json().detail).toContain('application/octet-stream, image/*');
  });
});
