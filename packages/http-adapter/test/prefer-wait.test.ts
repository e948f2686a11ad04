import { queryObjects } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from './listen.js';
import { post, setup, type Setup } from './setup.js';

let t: Setup | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Live promises in this process, after a full GC (which `queryObjects` runs first). */
const livePromises = () => queryObjects(Promise, { format: 'count' });

/** `n` requests that wait 1 s on jobs that run far longer, all answered 202. */
async function waitOnce(app: FastifyInstance, n: number): Promise<void> {
  const answers = await Promise.all(Array.from({ length: n }, () => post(app, '/jobs/sleep', { ms: 60_000 }, { prefer: 'wait=1' })));
  for (const answer of answers) expect(answer.statusCode).toBe(202);
}

/** `n` clients that ask to wait 30 s, then hang up once `accepted()` says their jobs are in. */
async function giveUp(base: string, n: number, accepted: () => Promise<unknown>): Promise<void> {
  const controller = new AbortController();
  const waits = Array.from({ length: n }, () =>
    fetch(`${base}/jobs/sleep`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'wait=30' },
      body: '{"ms":60000}',
      signal: controller.signal,
    }).then(
      () => undefined,
      () => undefined,
    ),
  );
  await accepted();
  controller.abort();
  await Promise.all(waits);
}

describe('POST {prefix}/:name with Prefer: wait', () => {
  it('keeps nothing once a wait ends: 2,000 requests on long jobs leave no waiter behind', async () => {
    t = await setup({ system: { workers: 1 } });
    const first = await post(t.app, '/jobs/sleep', { ms: 60_000 });
    expect(first.statusCode).toBe(202);
    const before = livePromises();
    for (let round = 0; round < 4; round++) await waitOnce(t.app, 500);
    // Each wait held a few promises and closures while it ran; none may outlive it (the jobs go on).
    // Before the fix every wait left its promises behind until its job settled: 8,500 here. A few
    // hundred stay reachable from the last round's requests, whatever the number of rounds.
    expect(livePromises() - before).toBeLessThan(1_000);
    expect((await t.system.get(first.json<{ id: string }>().id))?.status).toBe('running');
  });

  it('ends the wait when the client goes away, before its N seconds', async () => {
    t = await setup({ system: { workers: 1 } });
    const base = await listen(t.app);
    await post(t.app, '/jobs/sleep', { ms: 60_000 });
    const before = livePromises();
    // Liveness bounds, not speed: 200 sockets on a loaded 2-core machine can take seconds to connect.
    await giveUp(base, 200, () => expect.poll(() => t!.system.stats().then((s) => s.queued), { timeout: 20_000 }).toBe(200));
    // The server hears the sockets close on its next turns; give it a moment, below the waits' 30 s.
    await expect.poll(() => livePromises() - before, { timeout: 10_000, interval: 200 }).toBeLessThan(50);
  }, 45_000);
});
