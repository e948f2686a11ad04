import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsBlobStore, createJobSystem, defineJob, NonRetryableError, type BlobStore, type JobSystemOptions } from '@scalable-api/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { jobsPlugin, problemFrameworkErrors, type JobsPluginOptions } from '../src/index.js';

/** The fixtures every adapter test runs against: real jobs on a real job system. */
export function testJobs(blobs: BlobStore) {
  const echo = defineJob({ name: 'echo', input: z.record(z.string(), z.unknown()), run: (input) => input });
  const sleep = defineJob({
    name: 'sleep',
    input: z.object({ ms: z.number().int().min(0).max(60_000) }),
    async run({ ms }, ctx) {
      await delay(ms, ctx.signal);
      return { sleptMs: ms };
    },
  });
  /** Reports progress `n` times, `ms` apart: the event stream tests read these. */
  const steps = defineJob({
    name: 'steps',
    input: z.object({ n: z.number().int().min(1).max(100), ms: z.number().int().min(0).max(10_000) }),
    async run({ n, ms }, ctx) {
      for (let i = 1; i <= n; i++) {
        await delay(ms, ctx.signal);
        ctx.progress(i / n);
      }
      return { steps: n };
    },
  });
  /** Publishes `n` progress events of `size` characters as fast as it can: a reader that stalls falls behind. */
  const chatty = defineJob({
    name: 'chatty',
    input: z.object({ n: z.number().int().min(1).max(10_000), size: z.number().int().min(1).max(100_000) }),
    async run({ n, size }, ctx) {
      const payload = 'x'.repeat(size);
      for (let i = 1; i <= n; i++) {
        ctx.progress({ i, payload });
        await new Promise((resolve) => setImmediate(resolve));
      }
      return { n };
    },
  });
  const fail = defineJob({
    name: 'fail',
    run: (): never => {
      throw new NonRetryableError('this job always fails');
    },
  });
  const parent = defineJob({
    name: 'parent',
    input: z.object({ width: z.number().int().min(1).max(20), ms: z.number().int().min(0).max(60_000) }),
    async run({ width, ms }, ctx) {
      const children = await Promise.all(Array.from({ length: width }, (_, i) => ctx.spawn(sleep, { ms }, { key: `c${i}` })));
      return { children: children.length };
    },
  });
  /** Runs past its timeout: ends with JOB_TIMEOUT. */
  const slow = defineJob({
    name: 'slow',
    timeoutMs: 50,
    async run(_input: unknown, ctx) {
      await delay(60_000, ctx.signal);
    },
  });
  /** A parent whose child fails under 'fail-parent': ends with CHILD_FAILED. */
  const brood = defineJob({
    name: 'brood',
    async run(_input: unknown, ctx) {
      await ctx.spawn(fail, undefined);
    },
  });
  /** Reads back its blob and hashes it: proves the upload arrived whole. */
  const digest = defineJob({
    name: 'digest',
    accepts: ['application/octet-stream', 'image/*'],
    input: z.object({ blob: z.object({ id: z.string(), size: z.number(), contentType: z.string(), sha256: z.string() }) }),
    async run({ blob }) {
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of blobs.open(blob.id)) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      return { bytes, sha256: hash.digest('hex') };
    },
  });
  return [echo, sleep, steps, chatty, fail, slow, brood, parent, digest] as const;
}

export interface SetupOptions {
  plugin?: Omit<JobsPluginOptions, 'system' | 'blobs'>;
  system?: Partial<Omit<JobSystemOptions, 'jobs'>>;
  /** Leave the system unstarted (NOT_STARTED tests). */
  start?: boolean;
}

export interface Setup {
  app: FastifyInstance;
  system: ReturnType<typeof createJobSystem>;
  blobs: BlobStore;
  blobDir: string;
  /** Files anywhere under the blob directory (finished blobs, partial uploads), whatever its layout. */
  blobFiles(): Promise<string[]>;
  close(): Promise<void>;
}

export async function setup(options: SetupOptions = {}): Promise<Setup> {
  const blobDir = await mkdtemp(join(tmpdir(), 'http-adapter-test-'));
  const blobs = await createFsBlobStore({ dir: blobDir });
  const system = createJobSystem({ workers: 4, ...options.system, jobs: testJobs(blobs) });
  if (options.start !== false) await system.start();
  const app = Fastify({ logger: false, onProtoPoisoning: 'error', onConstructorPoisoning: 'error', frameworkErrors: problemFrameworkErrors });
  await app.register(jobsPlugin, { prefix: '/jobs', ...options.plugin, system, blobs });
  await app.ready();
  return {
    app,
    system,
    blobs,
    blobDir,
    blobFiles: () => filesUnder(blobDir),
    async close() {
      await app.close();
      await system.stop({ drain: false, timeoutMs: 1_000 });
      await rm(blobDir, { recursive: true, force: true });
    },
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** POST a JSON body through inject(). */
export function post(app: FastifyInstance, url: string, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });
}
