import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { describeWithRedis, redisUrl, testPrefix } from '../../redis/test/redis-fixture.js';
import { post, setup, type Setup } from './setup.js';

const keyA = 'tenant-a-key-0123456789';
const keyB = 'tenant-b-key-0123456789';
const auth = {
  keys: [
    { key: keyA, tenant: 'a' },
    { key: keyB, tenant: 'b' },
  ],
};

let nodes: Setup[] = [];
let redis: Redis | undefined;
let nameSpace = '';
afterEach(async () => {
  for (const node of nodes) await node.close();
  nodes = [];
  if (redis?.status === 'ready') await redis.del(`${nameSpace}t:a`, `${nameSpace}t:b`);
  redis?.disconnect();
  redis = undefined;
});

await describeWithRedis('limits.rate with a Redis store (per-tenant quotas across nodes)', () => {
  it('refuses the noisy tenant with 429 + Retry-After on every node, and only that tenant', async () => {
    redis = new Redis(redisUrl);
    nameSpace = `${testPrefix()}:quota:`;
    // Two nodes, one Redis for the counts: the quota is the tenant's, not each node's.
    const rate = { max: 3, timeWindowMs: 60_000, redis, nameSpace };
    nodes = [await setup({ plugin: { auth, limits: { rate } } }), await setup({ plugin: { auth, limits: { rate } } })];
    const [one, two] = nodes as [Setup, Setup];
    const a = (node: Setup) => post(node.app, '/jobs/echo', {}, { 'x-api-key': keyA });
    const statuses = [(await a(one)).statusCode, (await a(two)).statusCode, (await a(one)).statusCode];
    expect(statuses).toEqual([202, 202, 202]);
    for (const node of [two, one]) {
      const limited = await a(node);
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['content-type']).toContain('application/problem+json');
      expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    }
    // The quiet tenant is untouched on either node, and reads count against a tenant too.
    for (const node of [one, two]) expect((await post(node.app, '/jobs/echo', {}, { 'x-api-key': keyB })).statusCode).toBe(202);
    expect((await one.app.inject({ method: 'GET', url: '/jobs/nope', headers: { 'x-api-key': keyA } })).statusCode).toBe(429);
    expect(Number(await redis.get(`${nameSpace}t:a`))).toBeGreaterThan(3);
    expect(await redis.get(`${nameSpace}t:b`)).toBe('2');
    // Health and readiness stay outside the quota.
    expect((await one.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('lets requests through when the quota store fails (skipOnError), rather than refusing every tenant', async () => {
    // A Redis that does not answer (nothing listens on port 1): every count fails for real.
    redis = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    redis.on('error', () => {});
    nameSpace = `${testPrefix()}:quota:`;
    nodes = [await setup({ plugin: { auth, limits: { rate: { max: 1, timeWindowMs: 60_000, redis, nameSpace } } } })];
    for (let i = 0; i < 3; i++) expect((await post(nodes[0]!.app, '/jobs/echo', {}, { 'x-api-key': keyA })).statusCode).toBe(202);
  });
});
