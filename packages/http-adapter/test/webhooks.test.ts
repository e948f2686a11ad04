import { randomBytes } from 'node:crypto';
import { createMemoryStore, deliveryJobId, webhookJobName, type JobStore, type WebhookOptions, type WebhookPayload } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import Fastify, { type FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from '../../redis/test/redis-fixture.js';
import { post, setup, type Setup } from './setup.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;

/** What a receiver does with each request, in order; past the list it answers 204. */
type Answer = number | 'hang' | { status: number; bytes: number };

interface Receiver {
  url: string;
  received: { headers: Record<string, string>; body: string }[];
}

const opened: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of opened.splice(0).reverse()) await close();
});

/** A real fastify server on loopback that keeps each request's raw body (signatures are over the bytes). */
async function receiver(answers: Answer[] = []): Promise<Receiver> {
  const app: FastifyInstance = Fastify({ logger: false, forceCloseConnections: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  const received: Receiver['received'] = [];
  app.post('/hook', async (request, reply) => {
    received.push({ headers: request.headers as Record<string, string>, body: request.body as string });
    const answer = answers[received.length - 1] ?? 204;
    if (answer === 'hang') return new Promise(() => {});
    if (typeof answer === 'object') return reply.code(answer.status).send('x'.repeat(answer.bytes));
    return reply.code(answer).send(answer >= 300 ? 'not now' : undefined);
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  opened.push(() => app.close());
  return { url: `${address}/hook`, received };
}

const loopback = (extra: Partial<WebhookOptions> = {}): WebhookOptions => ({
  secret,
  allow: ['127.0.0.1'],
  allowRanges: ['loopback'],
  attempts: 4,
  backoff: { type: 'fixed', delayMs: 20 },
  timeoutMs: 2_000,
  ...extra,
});

async function start(webhooks: WebhookOptions, store?: JobStore): Promise<Setup> {
  const t = await setup({ system: { webhooks, ...(store ? { store } : {}) }, plugin: { dashboard: true } });
  opened.push(() => t.close());
  return t;
}

function verified(received: Receiver['received'][number]): WebhookPayload {
  return new Webhook(secret).verify(received.body, received.headers) as WebhookPayload;
}

function deliverySuite(name: string, newStore: () => { store: JobStore; cleanup: () => Promise<void> }) {
  it(`signs with Standard Webhooks and redelivers with the same webhook-id after two failures (${name})`, async () => {
    const hook = await receiver([500, 503]);
    const made = newStore();
    opened.push(made.cleanup);
    const { system } = await start(loopback(), made.store);
    const job = await system.submitByName('echo', { n: 7 }, { webhook: { url: hook.url }, tenant: 'acme' });
    expect(await job.result()).toEqual({ n: 7 });
    const delivery = system.handle(deliveryJobId(job.id));
    expect(await delivery.result()).toEqual({ webhookId: deliveryJobId(job.id), status: 204 });

    expect(hook.received).toHaveLength(3);
    expect(new Set(hook.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([deliveryJobId(job.id)]));
    const finishedAt = (await system.get(job.id))!.finishedAt!;
    for (const request of hook.received) {
      expect(request.headers['content-type']).toBe('application/json');
      expect(verified(request)).toEqual({
        type: 'job.completed',
        timestamp: new Date(finishedAt).toISOString(),
        data: { id: job.id, name: 'echo', status: 'completed', finishedAt, output: { n: 7 } },
      });
    }
    // The signature is over the id, the time and these exact bytes: another secret or body fails.
    const [first] = hook.received;
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(first!.body, first!.headers)).toThrow();
    expect(() => new Webhook(secret).verify(first!.body.replace('7', '8'), first!.headers)).toThrow();

    // A job like any: its record, its tenant, the listing.
    expect(await system.get(deliveryJobId(job.id))).toMatchObject({
      name: webhookJobName,
      status: 'completed',
      attempt: 3,
      meta: { tenant: 'acme' },
      input: { url: hook.url, jobId: job.id, status: 'completed' },
    });
    const listed = await system.list({ name: webhookJobName, limit: 10 });
    expect(listed.jobs.map((j) => j.id)).toEqual([deliveryJobId(job.id)]);
  });
}

describe('webhooks', () => {
  deliverySuite('memory store', () => ({ store: createMemoryStore(), cleanup: async () => {} }));

  it('delivers failed and cancelled outcomes with their error', async () => {
    const hook = await receiver();
    const { system } = await start(loopback());
    const failed = await system.submitByName('fail', undefined, { webhook: { url: hook.url } });
    const cancelled = await system.submitByName('sleep', { ms: 60_000 }, { webhook: { url: hook.url } });
    await expect(failed.result()).rejects.toMatchObject({ code: 'JOB_FAILED' });
    await system.cancel(cancelled.id);
    await system.handle(deliveryJobId(failed.id)).result();
    await system.handle(deliveryJobId(cancelled.id)).result();
    const payloads = hook.received.map(verified);
    expect(payloads.find((p) => p.data.id === failed.id)).toMatchObject({
      type: 'job.failed',
      data: { status: 'failed', error: { code: 'JOB_FAILED', message: 'this job always fails' } },
    });
    // A declared tree: its root's webhook, once the whole tree settled; none for the children.
    const echo = system.jobs.get('echo')!;
    const tree = await system.submitTree(
      { job: echo, input: { root: 1 }, children: [{ job: echo, input: { leaf: 1 } }] },
      { webhook: { url: hook.url } },
    );
    await tree.result();
    await system.handle(deliveryJobId(tree.id)).result();
    const [leaf] = (await system.tree(tree.id))!.children;
    expect(leaf!.status).toBe('completed');
    expect(await system.get(deliveryJobId(leaf!.id))).toBeUndefined();
    expect(hook.received.map(verified).find((p) => p.data.id === tree.id)).toMatchObject({ type: 'job.completed', data: { output: { root: 1 } } });
    expect(payloads.find((p) => p.data.id === cancelled.id)).toMatchObject({
      type: 'job.cancelled',
      data: { status: 'cancelled', error: { code: 'JOB_CANCELLED' } },
    });
  });

  it('refuses destinations outside the allowlist, internal addresses unless allowed, long URLs and non-http schemes at submit', async () => {
    const { system } = await start(
      loopback({ allow: ['127.0.0.1', 'hooks.example.com', 'https://api.example.net/cb/'], allowRanges: [], maxUrlLength: 100 }),
    );
    const refused = (url: string) => expect(system.submitByName('echo', {}, { webhook: { url } })).rejects.toMatchObject({ code: 'WEBHOOK_REFUSED' });
    await refused('https://evil.example.org/x');
    await refused('https://api.example.net/other');
    await refused('https://api.example.net.evil.org/cb/');
    await refused('http://127.0.0.1:9/hook'); // allowed host, loopback range not allowed
    await refused('http://[::ffff:127.0.0.1]/hook');
    await refused(`https://hooks.example.com/${'x'.repeat(100)}`);
    await refused('ftp://hooks.example.com/x');
    await refused('https://user:pw@hooks.example.com/x');
    await refused('not a url');
    // In the allowlist and a name: accepted now, judged by its addresses at delivery.
    await expect(system.submitByName('echo', {}, { webhook: { url: 'https://hooks.example.com/x' } })).resolves.toBeDefined();
    await expect(system.submitByName('echo', {}, { webhook: { url: 'https://api.example.net/cb/7' } })).resolves.toBeDefined();
    await expect(system.submitByName(webhookJobName, {})).rejects.toMatchObject({ code: 'JOB_TYPE_UNKNOWN' });

    const plain = await setup();
    opened.push(() => plain.close());
    await expect(plain.system.submitByName('echo', {}, { webhook: { url: 'https://hooks.example.com/x' } })).rejects.toMatchObject({
      code: 'WEBHOOK_REFUSED',
    });
  });

  it('refuses at delivery a name that resolves to a refused address, without retrying (DNS rebinding)', async () => {
    const hook = await receiver();
    // `localhost` passes the submit check (a name in the allowlist) and resolves to loopback.
    const { system } = await start(loopback({ allow: ['localhost'], allowRanges: [] }));
    const job = await system.submitByName('echo', {}, { webhook: { url: hook.url.replace('127.0.0.1', 'localhost') } });
    await job.result();
    await expect(system.handle(deliveryJobId(job.id)).result()).rejects.toMatchObject({ code: 'JOB_FAILED' });
    const record = await system.get(deliveryJobId(job.id));
    expect(record).toMatchObject({ status: 'failed', attempt: 1 });
    expect(record!.error!.message).toMatch(/loopback address/);
    expect(hook.received).toHaveLength(0);
  });

  it('bounds each try (timeout, response bytes read) and the number of tries', async () => {
    const hook = await receiver(['hang', { status: 500, bytes: 100_000 }, 500, 500]);
    const { system } = await start(loopback({ attempts: 3, timeoutMs: 300, maxResponseBytes: 64 }));
    const job = await system.submitByName('echo', {}, { webhook: { url: hook.url } });
    await job.result();
    await expect(system.handle(deliveryJobId(job.id)).result()).rejects.toMatchObject({ code: 'JOB_FAILED' });
    expect(hook.received).toHaveLength(3);
    const retries = (await system.store.events(deliveryJobId(job.id), 0)).filter((e) => e.type === 'job.retrying');
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatchObject({ error: { message: expect.stringMatching(/abort|timeout/i) } });
    expect(retries[1]).toMatchObject({ error: { message: `The receiver answered 500: ${'x'.repeat(64)}` } });
  });

  it('takes Webhook-Url on the submit and batch routes, states it in the OpenAPI document, refuses with 400 WEBHOOK_REFUSED', async () => {
    const hook = await receiver();
    const { app, system } = await start(loopback());
    const one = await post(app, '/jobs/echo', { a: 1 }, { 'webhook-url': hook.url });
    expect(one.statusCode).toBe(202);
    const batch = await post(app, '/jobs/echo/batch', [{ input: { b: 1 } }, { input: { b: 2 } }], { 'webhook-url': hook.url });
    expect(batch.statusCode).toBe(202);
    const ids = [one.json().id, ...batch.json().items.map((item: { id: string }) => item.id)];
    for (const id of ids) await system.handle(deliveryJobId(id)).result();
    expect(hook.received.map((r) => verified(r).data.id).sort()).toEqual([...ids].sort());

    // The dashboard shows the deliveries like any job: in its listing (filtered by name) and in detail.
    const listed = (await app.inject({ method: 'GET', url: `/jobs/dashboard/api/list?name=${webhookJobName}` })).json();
    expect(listed.jobs.map((j: { id: string }) => j.id).sort()).toEqual(ids.map(deliveryJobId).sort());
    expect(listed.jobs[0]).toMatchObject({ name: webhookJobName, status: 'completed', attempt: 1 });
    const detail = await app.inject({ method: 'GET', url: `/jobs/dashboard/api/jobs/${deliveryJobId(ids[0])}` });
    expect(detail.statusCode).toBe(200);
    expect(detail.json().job).toMatchObject({ id: deliveryJobId(ids[0]), name: webhookJobName, status: 'completed' });
    const api = await app.inject({ method: 'GET', url: `/jobs/${deliveryJobId(ids[0])}` });
    expect(api.json()).toMatchObject({ id: deliveryJobId(ids[0]), name: webhookJobName, status: 'completed', output: { status: 204 } });
    const overview = (await app.inject({ method: 'GET', url: '/jobs/dashboard/api/overview' })).json();
    expect(JSON.stringify(overview)).toContain(webhookJobName);

    const refused = await post(app, '/jobs/echo', { a: 1 }, { 'webhook-url': 'https://elsewhere.example.com/' });
    expect(refused.statusCode).toBe(400);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json()).toMatchObject({ code: 'WEBHOOK_REFUSED', status: 400 });
    const atomic = await post(app, '/jobs/echo/batch?atomic=true', [{ input: {} }], { 'webhook-url': 'ftp://127.0.0.1/' });
    expect(atomic.json()).toMatchObject({ code: 'WEBHOOK_REFUSED', status: 400 });
    expect((await app.inject({ method: 'POST', url: `/jobs/${webhookJobName}`, payload: {} })).json()).toMatchObject({ code: 'JOB_TYPE_UNKNOWN' });

    const doc = (await app.inject({ method: 'GET', url: '/jobs/openapi.json' })).json();
    for (const path of ['/jobs/echo', '/jobs/echo/batch']) {
      expect(doc.paths[path].post.parameters).toContainEqual(
        expect.objectContaining({ name: 'webhook-url', in: 'header', schema: expect.objectContaining({ type: 'string' }) }),
      );
    }
    expect(doc.paths).not.toHaveProperty(`/jobs/${webhookJobName}`);
  });
});

await describeWithRedis('webhooks on Redis', () => {
  deliverySuite('Redis store', () => {
    const prefix = testPrefix();
    const store = createRedisStore({ url: redisUrl, prefix });
    return { store, cleanup: () => deletePrefix(prefix) };
  });
});
