import { createFsBlobStore, createJobSystem } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from '../../redis/test/redis-fixture.js';
import { jobsPlugin } from '../src/index.js';
import { startRedisRelay } from './redis-relay.js';
import { post, setup, testJobs, type Setup } from './setup.js';

/** What a problem document must never show a caller: store internals, scopes, control characters. */
const internals = /redis|max retries|maxRetriesPerRequest|user_script|f_[0-9a-f]{8,}|lua|script|\u0000/i;

let t: Setup | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('problem details', () => {
  it('name an idempotency conflict without the key as stored (no tenant scope, no NUL)', async () => {
    t = await setup({ plugin: { auth: { keys: [{ key: 'tenant-key-0123456789abcdef', tenant: 'acme-private-tenant' }] } } });
    const headers = { 'x-api-key': 'tenant-key-0123456789abcdef', 'idempotency-key': 'order-7' };
    const first = await post(t.app, '/jobs/echo', { n: 1 }, headers);
    const conflict = await post(t.app, '/jobs/echo', { n: 2 }, headers);
    expect(conflict.statusCode).toBe(422);
    const problem = conflict.json<{ code: string; detail: string }>();
    expect(problem.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(problem.detail).toContain(first.json<{ id: string }>().id);
    expect(conflict.body).not.toMatch(internals);
    expect(conflict.body).not.toContain('acme-private-tenant');
  });
});

await describeWithRedis('problem details from a Redis-backed node', () => {
  it('say the store is unavailable without the Redis client error, which goes to the log', async () => {
    const prefix = testPrefix();
    const relay = await startRedisRelay(new URL(redisUrl));
    const client = new Redis(relay.url, { maxRetriesPerRequest: 1, retryStrategy: (times) => Math.min(times * 20, 100) });
    client.on('error', () => {});
    const blobs = await createFsBlobStore();
    const system = createJobSystem({ jobs: testJobs(blobs), workers: 1, store: createRedisStore({ client, prefix }) });
    await system.start();
    const logged: string[] = [];
    const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => void logged.push(line) } } });
    await app.register(jobsPlugin, { system, blobs, prefix: '/jobs' });
    try {
      expect((await post(app, '/jobs/echo', { a: 1 })).statusCode).toBe(202);
      await relay.cut();
      const refused = await post(app, '/jobs/echo', { a: 2 }, { 'idempotency-key': 'k1' });
      expect(refused.statusCode).toBe(503);
      expect(refused.json()).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(refused.body).not.toMatch(internals);
      // The cause is not lost: the log has it.
      expect(logged.join('\n')).toMatch(/max retries|maxRetriesPerRequest|Connection is closed|ECONNREFUSED/i);
    } finally {
      await app.close();
      await system.stop({ drain: false, timeoutMs: 0 }).catch(() => {});
      client.disconnect();
      await blobs.close();
      await deletePrefix(prefix);
    }
  });
});
