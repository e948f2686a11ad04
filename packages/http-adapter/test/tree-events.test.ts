import { afterEach, describe, expect, it } from 'vitest';
import { listen } from './listen.js';
import { post, setup, type Setup } from './setup.js';
import { readSse, type SseFrame } from './sse-client.js';

let t: Setup | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

interface Event {
  id: string;
  seq: number;
  type: string;
  parentId?: string;
}

const jobEvents = (frames: SseFrame[]) => frames.filter((f) => f.event?.startsWith('job.')).map((f) => f.data as Event);

/** Every job's seqs run 1..n without a gap or a repeat, ending with its settled event. */
function expectComplete(events: Event[], jobs: number) {
  const byJob = new Map<string, Event[]>();
  for (const event of events) byJob.set(event.id, [...(byJob.get(event.id) ?? []), event]);
  expect(byJob.size).toBe(jobs);
  for (const [, list] of byJob) {
    expect(list.map((e) => e.seq)).toEqual(list.map((_, i) => i + 1));
    expect(['job.completed', 'job.failed', 'job.cancelled']).toContain(list.at(-1)!.type);
  }
}

describe('GET {prefix}/:id/events?tree=1', () => {
  it('streams every event of the tree, children spawned later included, with the aggregated progress, and ends when all settled', async () => {
    t = await setup();
    const base = await listen(t.app);
    const { id } = (await post(t.app, '/jobs/parent', { width: 3, ms: 100 })).json<{ id: string }>();
    const sse = readSse(base, `/jobs/${id}/events?tree=1`);
    expect(await sse.status).toBe(200);
    await sse.ended;
    expect(sse.aborted).toBe(false);
    const events = jobEvents(sse.frames);
    expectComplete(events, 4);
    expect(events.filter((e) => e.parentId === id)).toHaveLength(3 * 3);
    const progress = sse.frames
      .filter((f) => f.event === 'tree.progress')
      .map((f) => f.data as { id: string; progress: number; jobs: number; settled: number });
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toEqual({ id, progress: 1, jobs: 4, settled: 4 });
    // Every frame carries the cursor; the last one says the reader has the whole tree.
    expect(sse.frames.filter((f) => f.event !== undefined).every((f) => f.rawId !== undefined)).toBe(true);
    expect(sse.frames.at(-1)!.rawId).toBe('*');
  });

  it('resumes across the tree from the cursor of any frame: nothing lost, nothing repeated; then 204', async () => {
    t = await setup();
    const base = await listen(t.app);
    const { id } = (await post(t.app, '/jobs/parent', { width: 4, ms: 300 })).json<{ id: string }>();
    const first = readSse(base, `/jobs/${id}/events?tree=1`);
    const seen = await first.events(6);
    first.close();
    const cursor = seen.at(-1)!.rawId!;
    const before = jobEvents(seen);
    const resumed = readSse(base, `/jobs/${id}/events?tree=1`, { 'last-event-id': cursor });
    expect(await resumed.status).toBe(200);
    await resumed.ended;
    const after = jobEvents(resumed.frames);
    const key = (e: Event) => `${e.id}:${e.seq}`;
    expect(after.map(key).filter((k) => before.map(key).includes(k))).toEqual([]);
    expectComplete([...before, ...after], 5);
    const done = await fetch(`${base}/jobs/${id}/events?tree=1`, { headers: { 'last-event-id': resumed.frames.at(-1)!.rawId! } });
    expect(done.status).toBe(204);
  });

  it('follows a subtree when asked for a child, and refuses a malformed cursor with 400', async () => {
    t = await setup();
    const base = await listen(t.app);
    const { id } = (await post(t.app, '/jobs/parent', { width: 2, ms: 50 })).json<{ id: string }>();
    await t.system.handle(id).result();
    const child = (await t.system.tree(id))!.children[0]!.id;
    const sse = readSse(base, `/jobs/${child}/events?tree=1`);
    await sse.ended;
    expectComplete(jobEvents(sse.frames), 1);
    const bad = await fetch(`${base}/jobs/${id}/events?tree=1`, { headers: { 'last-event-id': '2((' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('MALFORMED_REQUEST');
  });
});
