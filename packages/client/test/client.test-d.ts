import type { JobView as ServerJobView, TreeView as ServerTreeView } from '../../http-adapter/src/job-view.js';
import type { ProblemCode as ServerProblemCode, Problem as ServerProblem } from '@scalable-api/http-adapter';
import { describe, expectTypeOf, it } from 'vitest';
import { createClient, type JobHandle, type JobViewBase, type ProblemCode, type Problem, type TreeView } from '../src/index.js';
import type { jobs } from './server-jobs.js';

const client = createClient<typeof jobs>({ baseUrl: 'http://127.0.0.1:3000/jobs' });

describe('createClient<typeof jobs>', () => {
  it('takes each job’s input type and gives its output type', async () => {
    const job = await client.submit('add', { a: 1, b: 2 });
    expectTypeOf(job).toEqualTypeOf<JobHandle<{ sum: number }>>();
    expectTypeOf(await job.result()).toEqualTypeOf<{ sum: number }>();
    expectTypeOf(await (await client.submit('sleep', { ms: 5 })).result()).toEqualTypeOf<{ sleptMs: number }>();
    const waited = await client.wait('fanout', { width: 2, ms: 0 }, { seconds: 5 });
    if (waited.outcome?.status === 'completed') expectTypeOf(waited.outcome.output).toEqualTypeOf<{ slept: number }>();

    // @ts-expect-error a name the server does not have
    await client.submit('nope', {});
    // @ts-expect-error the wrong type for a field
    await client.submit('add', { a: 'one', b: 2 });
    // @ts-expect-error a missing field
    await client.submit('sleep', {});
    // @ts-expect-error the input is required for a job with a schema
    await client.submit('add');
  });

  it('types a resumed parent’s event apart from a start, with its attempt', async () => {
    for await (const event of client.events('some-id', { tree: true })) {
      if (event.type === 'job.resumed') {
        expectTypeOf(event.attempt).toEqualTypeOf<number>();
        expectTypeOf(event.status).toEqualTypeOf<'running'>();
      }
    }
  });

  it('lets a job without input be submitted without one', async () => {
    await client.submit('fail');
    await client.submit('fail', undefined, { idempotencyKey: 'k' });
  });

  it('uploads only to jobs whose input is a blob', async () => {
    const job = await client.upload('measure', new Uint8Array(3), { contentType: 'image/png' });
    expectTypeOf(await job.result()).toEqualTypeOf<{ bytes: number; contentType: string; sha256: string }>();
    // @ts-expect-error add takes JSON, not an upload
    await client.upload('add', new Uint8Array(3));
  });

  it('types get() by name: narrowing on name types output', async () => {
    const view = await client.get('some-id');
    if (view.name === 'add') expectTypeOf(view.output).toEqualTypeOf<{ sum: number } | undefined>();
    expectTypeOf(view.name).toEqualTypeOf<'add' | 'sleep' | 'steps' | 'fail' | 'fanout' | 'measure'>();
    expectTypeOf(client.handle('steps', 'some-id').result()).toEqualTypeOf<Promise<{ steps: number }>>();
  });

  it('takes an object of jobs as well as an array', async () => {
    const byName = createClient<{ add: (typeof jobs)[0]; sleep: (typeof jobs)[1] }>({ baseUrl: 'http://127.0.0.1:3000/jobs' });
    expectTypeOf(await (await byName.submit('add', { a: 1, b: 1 })).result()).toEqualTypeOf<{ sum: number }>();
    // @ts-expect-error not in this object
    await byName.submit('steps', { n: 1, ms: 1 });
  });
});

describe('the wire types', () => {
  it('are the server’s: problem codes, problem documents, job views', () => {
    expectTypeOf<ProblemCode>().toEqualTypeOf<ServerProblemCode>();
    expectTypeOf<Problem>().toEqualTypeOf<ServerProblem>();
    expectTypeOf<JobViewBase>().toEqualTypeOf<ServerJobView>();
    expectTypeOf<Omit<TreeView, 'children'>>().toEqualTypeOf<Omit<ServerTreeView, 'children'>>();
  });

  it('types a listing by the job it is filtered on', async () => {
    const page = await client.list({ name: 'add', status: 'completed' });
    expectTypeOf(page.jobs[0]!.output).toEqualTypeOf<{ sum: number } | undefined>();
    expectTypeOf(page.cursor).toEqualTypeOf<string | undefined>();
    for await (const job of client.listAll({ limit: 100 })) {
      if (job.name === 'sleep') expectTypeOf(job.output).toEqualTypeOf<{ sleptMs: number } | undefined>();
    }
    // @ts-expect-error a name the server does not have
    await client.list({ name: 'nope' });
    // @ts-expect-error not a status
    await client.list({ status: 'done' });
  });
});
