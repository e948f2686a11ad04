import { createFsBlobStore, createJobSystem } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import Fastify from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from '../../redis/test/redis-fixture.js';
import { jobsPlugin } from '../src/index.js';
import { listen } from './listen.js';
import { startRedisRelay, type RedisRelay } from './redis-relay.js';
import { testJobs } from './setup.js';
import { readSse } from './sse-client.js';

/**
 * Pub/sub is a hint: a message can be lost while the subscriber connection stays up (a relay
 * drops them here), or with it (Redis cuts a slow subscriber). Every message is lost while the
 * jobs settle; streams and waits must still end, from the records.
 */
await describeWithRedis('event streams and Prefer: wait when the store loses signals', () => {
  const prefix = testPrefix();
  let relay: RedisRelay;
  beforeAll(async () => {
    relay = await startRedisRelay(new URL(redisUrl));
  });
  afterAll(async () => {
    await relay?.cut();
    await deletePrefix(prefix);
  });

  it('end once the job settled although its settled event never arrived', async () => {
    const blobs = await createFsBlobStore();
    // Node a runs every job with a sound connection; node b serves HTTP through the lossy relay
    // and runs only sleep jobs, so it never holds a parent that waits for a lost message itself.
    const storeA = createRedisStore({ url: redisUrl, prefix });
    const a = createJobSystem({ jobs: testJobs(blobs), workers: 2, store: storeA });
    const storeB = createRedisStore({ url: relay.url, prefix });
    const b = createJobSystem({ jobs: [testJobs(blobs)[1]], workers: 1, store: storeB });
    await a.start();
    await b.start();
    const app = Fastify({ logger: false });
    await app.register(jobsPlugin, { system: b, blobs, prefix: '/jobs', limits: { reconcileMs: 200 } });
    const base = await listen(app);
    try {
      const json = (body: unknown, headers: Record<string, string> = {}) => ({
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      const streamed = ((await (await fetch(`${base}/jobs/sleep`, json({ ms: 1_500 }))).json()) as { id: string }).id;
      const waited = ((await (await fetch(`${base}/jobs/sleep`, json({ ms: 1_500 }, { 'idempotency-key': 'w' }))).json()) as { id: string }).id;
      const tree = (await a.submitByName('parent', { width: 2, ms: 1_500 })).id;
      const sse = readSse(base, `/jobs/${streamed}/events`);
      const treeSse = readSse(base, `/jobs/${tree}/events?tree=1`);
      await sse.frame((f) => f.event === 'job.started');
      await treeSse.frame((f) => f.event === 'job.waiting');
      const answer = fetch(`${base}/jobs/sleep`, json({ ms: 1_500 }, { 'idempotency-key': 'w', prefer: 'wait=25' }));

      relay.dropMessages(true);
      const settled = async (id: string) => (await a.get(id))?.status === 'completed';
      await expect.poll(async () => (await settled(streamed)) && (await settled(waited)) && (await settled(tree)), { timeout: 20_000 }).toBe(true);
      relay.dropMessages(false);

      await sse.ended;
      expect(sse.frames.filter((f) => f.event !== undefined).at(-1)).toMatchObject({ event: 'job.completed' });
      await treeSse.ended;
      expect(treeSse.frames.at(-1)!.rawId).toBe('*');
      const response = await answer;
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ id: waited, status: 'completed', output: { sleptMs: 1_500 } });
    } finally {
      await app.close();
      await b.stop({ drain: false, timeoutMs: 1_000 });
      await a.stop({ drain: false, timeoutMs: 1_000 });
      await storeB.close();
      await storeA.close();
      await blobs.close();
    }
  });
});
