// The app a new user writes, installed from the tarballs: type-checked with skipLibCheck false, then run.
import type { AddressInfo } from 'node:net';
import { createClient } from '@scalable-api/client';
import { createJobSystem, defineJob, type JobStore } from '@scalable-api/core';
import { jobsPlugin } from '@scalable-api/http-adapter';
import { createRedisStore } from '@scalable-api/redis';
// Without vitest installed: the clock for tests must not load a test runner.
import { SimulatedClock } from '@scalable-api/core/testing';
import Fastify from 'fastify';
import { z } from 'zod';

export const add = defineJob({
  name: 'add',
  input: z.object({ a: z.number(), b: z.number() }),
  async run({ a, b }) {
    return { sum: a + b };
  },
});

const redisUrl = process.env['REDIS_URL'];
const store: JobStore | undefined = redisUrl ? createRedisStore({ url: redisUrl, prefix: process.env['REDIS_PREFIX'] ?? 'install-test' }) : undefined;
export const jobs = [add] as const;
const system = createJobSystem({ jobs, workers: 2, ...(store ? { store } : {}) });
await system.start();

const handle = await system.submit(add, { a: 1, b: 2 });
const output = await handle.result();
const sum: number = output.sum;
// @ts-expect-error the input type travels from the job definition through the installed types
await system.submit(add, { a: 'one', b: 2 }).catch(() => undefined);

const clock = new SimulatedClock();
let ticked = false;
clock.setTimeout(() => (ticked = true), 1_000);
await clock.advance(1_000);

const app = Fastify({ requestTimeout: 10_000 });
await app.register(jobsPlugin, { system, prefix: '/jobs' });
const response = await app.inject({ method: 'POST', url: '/jobs/add', payload: { a: 2, b: 3 }, headers: { prefer: 'wait=10' } });
const health = await app.inject({ method: 'GET', url: '/health' });

// The typed client against this very server, over a real socket.
await app.listen({ port: 0, host: '127.0.0.1' });
const client = createClient<typeof jobs>({ baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/jobs` });
const job = await client.submit('add', { a: 20, b: 22 });
const fromClient: { sum: number } = await job.result();
const events: string[] = [];
for await (const event of job.events()) events.push(event.type);
// @ts-expect-error the client takes the job's input type from its definition
await client.submit('add', { a: 'one', b: 2 }).catch(() => undefined);

process.stdout.write(
  JSON.stringify({
    sum,
    http: { status: response.statusCode, body: response.json() },
    health: health.statusCode,
    durable: system.store.durable,
    ticked,
    client: { sum: fromClient.sum, last: events.at(-1) },
  }) + '\n',
);
await app.close();
await system.stop();
await store?.close();
