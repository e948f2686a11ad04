import { afterEach, describe, expect, it } from 'vitest';
import { configFromEnv, createQuickstart, type Quickstart } from '../../../examples/quickstart/src/quickstart-app.js';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from '../../redis/test/redis-fixture.js';

let nodes: Quickstart[] = [];
let prefix: string | undefined;
afterEach(async () => {
  await Promise.all(nodes.map((node) => node.shutdown(1_000)));
  nodes = [];
  if (prefix) await deletePrefix(prefix);
  prefix = undefined;
});

describe('the quickstart ROLE', () => {
  it('reads api, worker or all from ROLE (default all) and refuses anything else', () => {
    expect(configFromEnv({}).role).toBe('all');
    expect(configFromEnv({ ROLE: 'api' }).role).toBe('api');
    expect(configFromEnv({ ROLE: 'worker' }).role).toBe('worker');
    expect(() => configFromEnv({ ROLE: 'web' })).toThrow(/ROLE must be one of api, worker, all/);
  });

  it('needs REDIS_URL for an api or a worker node', async () => {
    await expect(createQuickstart({ role: 'api', workers: 1, queueLimit: 10, logger: false })).rejects.toThrow(/ROLE=api needs REDIS_URL/);
    await expect(createQuickstart({ role: 'worker', workers: 1, queueLimit: 10, logger: false })).rejects.toThrow(/ROLE=worker needs REDIS_URL/);
  });
});

await describeWithRedis('two tiers on one Redis: an api node and a worker node', () => {
  async function node(role: 'api' | 'worker') {
    prefix ??= testPrefix();
    const started = await createQuickstart({ role, redisUrl, redisPrefix: prefix, workers: 4, queueLimit: 1_000, logger: false, dashboard: false });
    nodes.push(started);
    return started;
  }

  it('accepts on the api node, runs on the worker node, and the job is visible on both', async () => {
    const api = await node('api');
    expect((await api.system.stats()).workers).toBe(0);
    // With no worker node yet, an accepted job waits in the store: the api node never runs it.
    const early = await api.app.inject({
      method: 'POST',
      url: '/jobs/echo',
      headers: { 'content-type': 'application/json', prefer: 'wait=1' },
      payload: { a: 1 },
    });
    expect(early.statusCode).toBe(202);
    expect((await api.app.inject({ method: 'GET', url: `/jobs/${early.json().id}` })).json()).toMatchObject({ status: 'queued' });

    const worker = await node('worker');
    await expect(api.system.handle(early.json().id).result()).resolves.toEqual({ a: 1 });
    const accepted = await api.app.inject({
      method: 'POST',
      url: '/jobs/fanout',
      headers: { 'content-type': 'application/json', prefer: 'wait=20' },
      payload: { depth: 2, width: 3 },
    });
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json()).toMatchObject({ status: 'completed', output: { leaves: 9 }, durable: true });
    const id = accepted.json().id as string;

    // The api node answers for a job it never ran; the worker node sees the same record.
    const viaApi = await api.app.inject({ method: 'GET', url: `/jobs/${id}` });
    expect(viaApi.json()).toMatchObject({ id, status: 'completed' });
    expect(await worker.system.get(id)).toMatchObject({ id, status: 'completed' });
    expect((await api.system.tree(id))?.children).toHaveLength(3);
  });

  it('serves no HTTP on the worker node', async () => {
    const worker = await node('worker');
    expect(worker.app.hasRoute({ method: 'POST', url: '/jobs/echo' })).toBe(false);
    expect(worker.app.hasRoute({ method: 'GET', url: '/health' })).toBe(false);
  });
});
