import type { AddressInfo } from 'node:net';
import { createJobSystem, type JobSystemOptions } from '@scalable-api/core';
import { jobsPlugin, problemFrameworkErrors, type JobsPluginOptions } from '@scalable-api/http-adapter';
import Fastify, { type FastifyInstance } from 'fastify';
import { createClient, type Client, type ClientOptions } from '../src/index.js';
import { jobs } from './server-jobs.js';

export const apiKey = 'client-test-key-0123456789';

export interface Setup {
  app: FastifyInstance;
  system: ReturnType<typeof createJobSystem<typeof jobs>>;
  /** The job routes' base URL on a real socket. */
  baseUrl: string;
  client: Client<typeof jobs>;
  /** Every request the server saw: method, path, status (0 for a hijacked event stream), and the headers the tests look at. */
  requests: { method: string; url: string; status: number; lastEventId: string | undefined; prefer: string | undefined }[];
  close(): Promise<void>;
}

export interface SetupOptions {
  plugin?: Omit<JobsPluginOptions, 'system'>;
  system?: Partial<Omit<JobSystemOptions, 'jobs'>>;
  client?: Partial<ClientOptions>;
}

/** The real plugin on a real socket (127.0.0.1, a free port) and a client typed from its jobs. */
export async function setup(options: SetupOptions = {}): Promise<Setup> {
  const system = createJobSystem({ workers: 4, ...options.system, jobs });
  await system.start();
  // forceCloseConnections: fetch's pool may hold a connection it opened and never used (seen after
  // an aborted stream), which close() would otherwise wait out.
  const app = Fastify({ logger: false, frameworkErrors: problemFrameworkErrors, forceCloseConnections: true });
  const requests: Setup['requests'] = [];
  // Recorded on arrival: event streams hijack their replies, which then skip onResponse.
  const entries = new WeakMap<object, Setup['requests'][number]>();
  app.addHook('onRequest', (request, _reply, done) => {
    const header = (name: string) => {
      const value = request.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const entry = { method: request.method, url: request.url, status: 0, lastEventId: header('last-event-id'), prefer: header('prefer') };
    requests.push(entry);
    entries.set(request, entry);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const entry = entries.get(request);
    if (entry) entry.status = reply.statusCode;
    done();
  });
  await app.register(jobsPlugin, { prefix: '/jobs', ...options.plugin, system });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/jobs`;
  const client = createClient<typeof jobs>({ baseUrl, ...options.client });
  return {
    app,
    system,
    baseUrl,
    client,
    requests,
    async close() {
      await app.close();
      await system.stop({ drain: false, timeoutMs: 1_000 });
    },
  };
}

/** Collects an async iterable into an array. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
