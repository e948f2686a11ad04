import type { JobEvent } from '@scalable-api/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type StreamEvent } from '../src/index.js';
import type { jobs } from './server-jobs.js';
import { collect, setup, type Setup } from './setup.js';
import { startTcpRelay, type TcpRelay } from './tcp-relay.js';

let s: Setup;
let relay: TcpRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
  await s?.close();
});

const jobEvents = (events: StreamEvent[]) => events.filter((event): event is JobEvent => event.type !== 'tree.progress');

describe('client.events', () => {
  it('yields every event of the job in order and ends once it settled', async () => {
    s = await setup();
    const job = await s.client.submit('steps', { n: 5, ms: 5 });
    const events = jobEvents(await collect(job.events()));
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((event) => event.type)).toEqual(['job.queued', 'job.started', ...Array<string>(5).fill('job.progress'), 'job.completed']);
    expect(events.at(-1)).toMatchObject({ status: 'completed', output: { steps: 5 } });
  });

  it('resumes by itself with Last-Event-ID after the connection drops, without a gap or a repeat', async () => {
    s = await setup();
    relay = await startTcpRelay(s.baseUrl);
    const client = createClient<typeof jobs>({ baseUrl: `${relay.origin}/jobs` });
    const job = await client.submit('steps', { n: 40, ms: 100 });
    const seen: JobEvent[] = [];
    let cuts = 0;
    for await (const event of client.events(job.id)) {
      if (event.type === 'tree.progress') continue;
      seen.push(event);
      // Twice mid-stream, the network path drops.
      if (event.type === 'job.progress' && (seen.length === 8 || seen.length === 20)) {
        cuts++;
        relay.cutAll();
      }
    }
    expect(cuts).toBe(2);
    expect(seen.map((event) => event.seq)).toEqual(seen.map((_, i) => i + 1));
    expect(seen.at(-1)).toMatchObject({ type: 'job.completed', output: { steps: 40 } });
    const resumed = s.requests.filter((r) => r.url.endsWith('/events') && r.lastEventId !== undefined);
    expect(resumed.length).toBeGreaterThanOrEqual(2);
  });

  it('ends at once when the server answers 204 (the reader has everything)', async () => {
    s = await setup();
    const job = await s.client.submit('add', { a: 1, b: 1 });
    const first = job.events();
    const all = await collect(first);
    expect(first.lastEventId).toBe(String((all.at(-1) as JobEvent).seq));
    const again = job.events({ lastEventId: first.lastEventId! });
    expect(await collect(again)).toEqual([]);
    expect(s.requests.filter((r) => r.url.endsWith('/events')).at(-1)).toMatchObject({ status: 204, lastEventId: first.lastEventId });
  });

  it('follows a whole tree with ?tree=1: every job’s events and the aggregated progress, resumable', async () => {
    s = await setup();
    relay = await startTcpRelay(s.baseUrl);
    const client = createClient<typeof jobs>({ baseUrl: `${relay.origin}/jobs` });
    const job = await client.submit('fanout', { width: 5, ms: 200 });
    const stream = client.events(job.id, { tree: true });
    const events: StreamEvent[] = [];
    let cut = false;
    for await (const event of stream) {
      events.push(event);
      if (!cut && event.type === 'job.started' && event.id !== job.id) {
        cut = true;
        relay.cutAll();
      }
    }
    expect(cut).toBe(true);
    const settled = jobEvents(events).filter((event) => event.type === 'job.completed');
    expect(new Set(settled.map((event) => event.id)).size).toBe(6);
    // No event twice, whatever the reconnection.
    const keys = jobEvents(events).map((event) => `${event.id}/${event.seq}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(events.filter((event) => event.type === 'tree.progress').at(-1)).toMatchObject({ id: job.id, progress: 1, jobs: 6, settled: 6 });
    expect(stream.lastEventId).toBe('*');
    expect(s.requests.filter((r) => r.url.includes('/events?tree=1')).at(-1)?.lastEventId).toMatch(/^\d/);
  });

  it('stops when its signal is aborted', async () => {
    s = await setup();
    const job = await s.client.submit('steps', { n: 100, ms: 50 });
    const controller = new AbortController();
    const seen: StreamEvent[] = [];
    const error = await (async () => {
      for await (const event of s.client.events(job.id, { signal: controller.signal })) {
        seen.push(event);
        if (seen.length === 3) controller.abort(new Error('enough'));
      }
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'enough' });
    expect(seen).toHaveLength(3);
    await job.cancel();
  });
});

describe('client.tree and client.cancel', () => {
  it('reads the tree, and a cancel reaches the subtree; result() then rejects with JOB_CANCELLED', async () => {
    s = await setup();
    const job = await s.client.submit('fanout', { width: 3, ms: 10_000 });
    let tree = await job.tree();
    for (let i = 0; i < 100 && tree.children.length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      tree = await job.tree();
    }
    expect(tree).toMatchObject({ id: job.id, name: 'fanout', onFailure: 'fail-parent' });
    expect(tree.children.map((child) => child.name)).toEqual(['sleep', 'sleep', 'sleep']);
    const answer = await job.cancel();
    expect(answer).toMatchObject({ id: job.id });
    expect(['cancelled', 'cancelling']).toContain(answer.outcome);
    await expect(job.result()).rejects.toMatchObject({ name: 'JobFailedError', code: 'JOB_CANCELLED', status: 'cancelled' });
    const after = await job.tree();
    expect(after.children.map((child) => child.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });
});
