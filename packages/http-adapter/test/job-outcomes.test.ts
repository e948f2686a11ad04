import { afterEach, describe, expect, it } from 'vitest';
import { post, setup, type Setup } from './setup.js';

let t: Setup;
afterEach(async () => {
  await t?.close();
});

/**
 * The job-outcome codes reach clients inside a job's representation, its events and the answer of
 * `Prefer: wait`, never as the status of the request that asked.
 */
describe('job outcomes through the API', () => {
  it('shows JOB_TIMEOUT for a job that ran past its timeoutMs', async () => {
    t = await setup();
    const res = await post(t.app, '/jobs/slow', {}, { prefer: 'wait=20' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'failed', error: { code: 'JOB_TIMEOUT' } });
    const job = (await t.app.inject({ method: 'GET', url: `/jobs/${res.json().id}` })).json();
    expect(job).toMatchObject({ status: 'failed', error: { code: 'JOB_TIMEOUT' } });
  });

  it('shows CHILD_FAILED for a parent whose child failed', async () => {
    t = await setup();
    const res = await post(t.app, '/jobs/brood', {}, { prefer: 'wait=20' });
    expect(res.json()).toMatchObject({ status: 'failed', error: { code: 'CHILD_FAILED' } });
  });

  it('shows JOB_CANCELLED in the job and in the answer of a waiting request', async () => {
    t = await setup();
    const started = new Promise<string>((resolve) => {
      const off = t.system.store.subscribe((signal) => {
        if (signal.type === 'job.event' && signal.event.type === 'job.started') {
          off();
          resolve(signal.event.id);
        }
      });
    });
    const waiting = post(t.app, '/jobs/sleep', { ms: 60_000 }, { prefer: 'wait=20' });
    const id = await started;
    expect((await t.app.inject({ method: 'DELETE', url: `/jobs/${id}` })).statusCode).toBe(202);
    const answer = await waiting;
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ id, status: 'cancelled', error: { code: 'JOB_CANCELLED' } });
    expect((await t.app.inject({ method: 'GET', url: `/jobs/${id}` })).json()).toMatchObject({
      status: 'cancelled',
      error: { code: 'JOB_CANCELLED' },
    });
  });
});
