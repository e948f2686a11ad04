import { createFsBlobStore, createJobSystem, defineJob, type JobSystem } from '@scalable-api/core';
import { jobsPlugin, problemFrameworkErrors } from '@scalable-api/http-adapter';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';

/**
 * The example behind docs/mounting.md: an existing fastify app with its own routes, hooks and
 * error handler, and the jobs plugin mounted next to them under /api/jobs. A test runs it, so the
 * guide cannot drift from the code.
 */
export const resize = defineJob({
  name: 'resize',
  input: z.object({ url: z.url(), width: z.number().int().min(16).max(4096) }),
  async run({ url, width }) {
    return { url, width };
  },
});

export async function buildApp(options: { apiKey: string }): Promise<{ app: FastifyInstance; system: JobSystem }> {
  const app = Fastify({
    logger: false,
    // Node leaves these off: without them a slow client can hold a socket forever.
    requestTimeout: 30_000,
    connectionTimeout: 35_000,
    // URL errors are answered before any plugin runs; this makes them problems too.
    frameworkErrors: problemFrameworkErrors,
  });

  // What the app already had: its own routes, hooks and error format. The plugin's routes are
  // encapsulated, so none of this changes how they answer, and they change none of it.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-app', 'shop');
  });
  app.setErrorHandler((error, _request, reply) => reply.code(500).send({ shopError: (error as Error).message }));
  app.get('/products', async () => [{ id: 1, name: 'mug' }]);

  const system = createJobSystem({ jobs: [resize], workers: 16, queue: { limit: 5_000 } });
  await system.start();
  await app.register(jobsPlugin, {
    system,
    prefix: '/api/jobs',
    blobs: await createFsBlobStore(),
    auth: { keys: [{ key: options.apiKey, tenant: 'shop' }] },
    limits: { jsonBodyBytes: 64 * 1024, rate: { max: 100, timeWindowMs: 2_000 } },
    ops: { prefix: '/internal' },
  });

  // Graceful: stop taking jobs, let accepted ones finish, then close (which ends event streams).
  app.addHook('preClose', async () => {
    app.jobs.drain();
    await system.stop({ drain: true, timeoutMs: 10_000 });
  });
  app.addHook('onClose', async () => {
    await app.jobs.blobs.close();
  });
  return { app, system };
}
