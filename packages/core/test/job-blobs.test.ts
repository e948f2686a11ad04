import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { createFsBlobStore, defineJob, type BlobRef } from '@scalable-api/core';
import { settle, setup } from './helpers.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('ctx.blobs', () => {
  it('gives a job the system blob store, so it reads a payload by reference', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'job-blobs-'));
    dirs.push(dir);
    const blobs = await createFsBlobStore({ dir });
    const shout = defineJob({
      name: 'shout',
      run: async (input: { blob: BlobRef }, ctx) => (await text(ctx.blobs.open(input.blob.id))).toUpperCase(),
    });
    const { system } = await setup({ jobs: [shout], workers: 1, blobs });
    const ref = await blobs.put(Readable.from([Buffer.from('hello blobs')]), { contentType: 'text/plain', maxBytes: 1_000 });
    expect(await (await system.submit(shout, { blob: ref })).result()).toBe('HELLO BLOBS');
  });

  it('fails the job with a clear message when no blob store is configured', async () => {
    const reader = defineJob({ name: 'reader', run: (_: undefined, ctx) => ctx.blobs.open('x') });
    const { system } = await setup({ jobs: [reader], workers: 1 });
    const outcome = await settle((await system.submit(reader, undefined)).result());
    expect(outcome.ok ? null : outcome.error.message).toMatch(/no blob store/);
  });
});
