import type { BlobStore, JobSystem } from '@scalable-api/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import jobsPluginDefault, { jobsPlugin, problemStatuses, type JobsPluginOptions, type ProblemCode } from '../src/index.js';

/**
 * Type-level checks, enforced by `tsc -p packages/http-adapter/test` (the runtime part is
 * trivial): the decorators are typed through fastify's interfaces, the options reject misuse.
 */
describe('jobsPlugin types', () => {
  it('types app.jobs and request.tenant', () => {
    expectTypeOf<FastifyInstance['jobs']['system']>().toEqualTypeOf<JobSystem>();
    expectTypeOf<FastifyInstance['jobs']['blobs']>().toEqualTypeOf<BlobStore>();
    expectTypeOf<FastifyInstance['jobs']['drain']>().toEqualTypeOf<() => void>();
    expectTypeOf<FastifyInstance['jobs']['draining']>().toEqualTypeOf<boolean>();
    expectTypeOf<FastifyRequest['tenant']>().toEqualTypeOf<string | undefined>();
  });

  it('exports the plugin by name and as default', () => {
    expectTypeOf(jobsPluginDefault).toEqualTypeOf(jobsPlugin);
  });

  it('requires a system and rejects unknown limits', () => {
    // @ts-expect-error: system is required
    const missing: JobsPluginOptions = { prefix: '/jobs' };
    // @ts-expect-error: no such limit
    const unknown: JobsPluginOptions['limits'] = { bodyBytes: 1 };
    void missing;
    void unknown;
  });

  it('gives every problem code a numeric status', () => {
    expectTypeOf(problemStatuses).toMatchTypeOf<Record<ProblemCode, number>>();
  });
});
