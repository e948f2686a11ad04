import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import type { JobEvent, StoreSignal } from '@scalable-api/core';
import { createRedisStore, type RedisStore } from '../src/index.js';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from './redis-fixture.js';

/**
 * A call's signals go out as one message, except a long line of completions, which goes out as
 * messages of at most 8 KB each (commit.lua: Lua hashes every string it makes, and past its 8 KB
 * buffer table.concat joins, and hashes, again). Every event still arrives, once, in order.
 */
await describeWithRedis('signals of a call past 8 KB', () => {
  let prefix: string;
  let store: RedisStore | undefined;
  let raw: Redis | undefined;
  afterEach(async () => {
    await store?.close();
    raw?.disconnect();
    await deletePrefix(prefix);
  });

  /** The store, what it delivers, and every raw message on its channel. */
  async function open(retention?: number) {
    prefix = testPrefix();
    store = createRedisStore({ url: redisUrl, prefix, ...(retention === undefined ? {} : { retention: { count: retention } }) });
    const seen: StoreSignal[] = [];
    store.subscribe((signal) => seen.push(signal));
    raw = new Redis(redisUrl);
    const messages: string[] = [];
    raw.on('smessage', (_channel: string, message: string) => messages.push(message));
    await raw.ssubscribe(`{${prefix}}:signals`);
    await store.counts(); // the store's subscription is live once any call returns
    return { store, seen, messages };
  }

  async function runAll(s: RedisStore, outputs: unknown[]): Promise<string[]> {
    const ids = outputs.map((_, i) => `job-${String(i).padStart(3, '0')}`);
    await s.enqueue(
      ids.map((id) => ({ id, name: 'n', input: { id }, priority: 0 })),
      { limit: 1_000 },
    );
    const { jobs } = await s.claim({ owner: 'node-1', max: ids.length, leaseMs: 60_000 });
    expect(jobs.map((j) => j.id).sort()).toEqual(ids);
    const byId = new Map(ids.map((id, i) => [id, outputs[i]]));
    await s.settle(jobs.map((j) => ({ id: j.id, token: j.token, outcome: 'completed' as const, output: byId.get(j.id) })));
    return jobs.map((j) => j.id);
  }

  const completed = (seen: StoreSignal[]) =>
    seen.flatMap((s) => (s.type === 'job.event' && s.event.type === 'job.completed' ? [s.event as JobEvent & { output: unknown }] : []));

  it('sends 60 completions of 300-byte outputs in messages of at most 8 KB, each event once and in order', async () => {
    const { store: s, seen, messages } = await open();
    const outputs = Array.from({ length: 60 }, (_, i) => ({ i, pad: 'x'.repeat(280) }));
    const order = await runAll(s, outputs);
    await expect.poll(() => completed(seen).length).toBe(60);
    expect(completed(seen).map((e) => e.id)).toEqual(order);
    for (const event of completed(seen)) expect(event.output).toEqual(outputs[Number(event.id.slice(4))]);
    const completions = messages.filter((m) => m.includes('\nG\tc\t'));
    expect(completions.length).toBeGreaterThan(1);
    for (const m of completions) expect(Buffer.byteLength(m)).toBeLessThanOrEqual(8_000);
    // Each message is the call's time, then its lines.
    expect(new Set(completions.map((m) => m.split('\n')[0])).size).toBe(1);
  });

  it('sends an output longer than a message on its own, with the shorter ones around it', async () => {
    const { store: s, seen } = await open();
    const outputs = Array.from({ length: 20 }, (_, i) => ({ i, pad: 'y'.repeat(i === 7 ? 20_000 : 500) }));
    const order = await runAll(s, outputs);
    await expect.poll(() => completed(seen).length).toBe(20);
    expect(completed(seen).map((e) => e.id)).toEqual(order);
    for (const event of completed(seen)) expect(event.output).toEqual(outputs[Number(event.id.slice(4))]);
  });

  it("cuts a call's long event lines (children with outputs) into messages of about 8 KB, each event once and in order", async () => {
    const { store: s, seen, messages } = await open();
    const root = 'root';
    await s.enqueue([{ id: root, name: 'parent', input: {}, priority: 0 }], { limit: 1_000 });
    await s.claim({ owner: 'node-1', max: 1, leaseMs: 60_000, names: ['parent'] });
    const ids = Array.from({ length: 60 }, (_, i) => `child-${String(i).padStart(3, '0')}`);
    await s.enqueue(
      ids.map((id) => ({ id, name: 'n', input: {}, priority: 0, parentId: root })),
      { limit: 1_000 },
    );
    const { jobs } = await s.claim({ owner: 'node-1', max: 60, leaseMs: 60_000, names: ['n'] });
    expect(jobs).toHaveLength(60);
    const outputOf = (id: string) => ({ id, pad: 'c'.repeat(300) });
    await s.settle(jobs.map((j) => ({ id: j.id, token: j.token, outcome: 'completed' as const, output: outputOf(j.id) })));
    await expect.poll(() => completed(seen).length).toBe(60);
    expect(completed(seen).map((e) => e.id)).toEqual(jobs.map((j) => j.id));
    for (const event of completed(seen)) {
      expect(event.output).toEqual(outputOf(event.id));
      expect(event.parentId).toBe(root);
    }
    const completions = messages.filter((m) => m.includes('\ne\tc\t'));
    expect(completions.length).toBeGreaterThan(1);
    // At most the buffer's 8,000 bytes and one line past them (a line here is ~440 bytes).
    for (const m of completions) expect(Buffer.byteLength(m)).toBeLessThanOrEqual(8_500);
  });

  it('keeps each job completed before it leaves retention when both happen in one call', async () => {
    const { store: s, seen } = await open(0);
    const outputs = Array.from({ length: 40 }, (_, i) => ({ i, pad: 'z'.repeat(400) }));
    await runAll(s, outputs);
    await expect.poll(() => seen.filter((x) => x.type === 'job.dropped').length).toBe(40);
    const at = (type: string, id: string) =>
      seen.findIndex((x) =>
        x.type === 'job.dropped' ? type === 'dropped' && x.id === id : x.type === 'job.event' && x.event.type === type && x.event.id === id,
      );
    for (const event of completed(seen)) expect(at('job.completed', event.id)).toBeLessThan(at('dropped', event.id));
  });
});
