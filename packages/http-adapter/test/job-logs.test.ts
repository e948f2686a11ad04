import { Writable } from 'node:stream';
import { createJobSystem, defineJob } from '@scalable-api/core';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { jobsPlugin } from '../src/index.js';

/** Collects pino's JSON lines. */
function sink(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
}

describe('job logs through fastify’s pino logger', () => {
  it('binds job id, name, attempt, parent and root ids to lifecycle lines and to ctx.log', async () => {
    const { stream, lines } = sink();
    const app = Fastify({ logger: { level: 'debug', stream } });
    const leaf = defineJob({
      name: 'leaf',
      run: (_: undefined, ctx) => {
        ctx.log.info({ step: 'resize' }, 'leaf working');
        return 1;
      },
    });
    const root = defineJob({ name: 'root', run: async (_: undefined, ctx) => ctx.spawn(leaf, undefined) });
    const system = createJobSystem({ jobs: [leaf, root], workers: 2, logger: app.log });
    await system.start();
    await app.register(jobsPlugin, { system });
    try {
      const response = await app.inject({ method: 'POST', url: '/jobs/root', headers: { prefer: 'wait=5' }, payload: {} });
      const { id } = response.json<{ id: string }>();
      await expect.poll(() => lines.filter((l) => l['msg'] === 'job completed').length).toBe(2);
      const leafLines = lines.filter((l) => l['job'] === 'leaf');
      expect(leafLines.map((l) => [l['level'], l['msg']])).toEqual([
        [20, 'job attempt started'],
        [30, 'leaf working'],
        [20, 'job completed'],
      ]);
      for (const line of leafLines) expect(line).toMatchObject({ jobId: expect.any(String), attempt: 1, parentId: id, rootId: id });
      expect(leafLines[1]).toMatchObject({ step: 'resize' });
    } finally {
      await app.close();
      await system.stop({ drain: false, timeoutMs: 0 });
    }
  });

  it('writes no per-job lines at the default info level when jobs succeed', async () => {
    const { stream, lines } = sink();
    const app = Fastify({ logger: { level: 'info', stream } });
    const system = createJobSystem({ jobs: [defineJob({ name: 'echo', run: () => 1 })], workers: 1, logger: app.log });
    await system.start();
    await app.register(jobsPlugin, { system });
    try {
      await app.inject({ method: 'POST', url: '/jobs/echo', headers: { prefer: 'wait=5' }, payload: {} });
      expect(lines.filter((l) => l['jobId'] !== undefined)).toEqual([]);
    } finally {
      await app.close();
      await system.stop({ drain: false, timeoutMs: 0 });
    }
  });
});
