import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createJobSystem, defineJob } from '@scalable-api/core';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { jobsPlugin } from '../src/index.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/observability.md', import.meta.url)), 'utf8');

describe('docs/observability.md', () => {
  it('names every metric that /metrics exposes, and no other', async () => {
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
      expect([...documented].sort()).toEqual([...exposed].sort());
    } finally {
      await app.close();
      await system.stop({ drain: false, timeoutMs: 0 });
    }
  });
});
