import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createJobSystem, defineJob } from '@scalable-api/core';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { jobsPlugin } from '../src/index.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/observability.md', import.meta.url)), 'utf8');

describe('docs/observability.md', () => {
  it('names every metric of the plugin that /metrics exposes, and no other, and only process metrics that exist', async () => {
    const system = createJobSystem({ jobs: [defineJob({ name: 'echo', run: () => 1 })], workers: 1 });
    await system.start();
    const app = Fastify({ logger: false });
    await app.register(jobsPlugin, { system });
    try {
      await app.inject({ method: 'POST', url: '/jobs/echo', payload: {} });
      await app.inject({ method: 'POST', url: '/jobs/nope', payload: {} });
      const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      const exposed = new Set([...body.matchAll(/^# TYPE (\w+) /gm)].map((m) => m[1]!));
      const documented = new Set([...doc.matchAll(/`(scalable_api_\w+)/g)].map((m) => m[1]!));
      expect([...documented].sort()).toEqual([...exposed].filter((name) => name.startsWith('scalable_api_')).sort());
      // prom-client's process metrics are served too; the page names the ones it points to.
      for (const name of doc.matchAll(/`((?:process|nodejs)_\w+)`/g)) expect(exposed.has(name[1]!), name[1]).toBe(true);
    } finally {
      await app.close();
      await system.stop({ drain: false, timeoutMs: 0 });
    }
  });
});
