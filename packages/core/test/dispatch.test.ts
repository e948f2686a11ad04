import { describe, expect, it } from 'vitest';
import { defineJob } from '@scalable-api/core';
import { gate, setup, sleep } from './helpers.js';

describe('dispatcher', () => {
  it('runs no more jobs at once than there are workers, and never two on one worker', async () => {
    let running = 0;
    let peak = 0;
    const seenWorkers = new Set<string>();
    const work = defineJob({
      name: 'work',
      async run(input: { ms: number }, ctx) {
        running++;
        peak = Math.max(peak, running);
        await sleep(clock, input.ms, ctx.signal);
        running--;
        seenWorkers.add(ctx.id);
        return input.ms;
      },
    });
    const { system, clock } = await setup({ jobs: [work], workers: 3 });
    const handles = await Promise.all(Array.from({ length: 20 }, (_, i) => system.submit(work, { ms: 10 + (i % 4) })));
    await clock.advance(50);
    const stats = await system.stats();
    expect(stats.running).toBeLessThanOrEqual(3);
    await clock.advance(1_000);
    await Promise.all(handles.map((h) => h.result()));
    expect(peak).toBe(3);
    expect((await system.stats()).completed).toBe(20);
  });

  it('hands a job only to a worker that reported idle', async () => {
    const hold = gate();
    const slow = defineJob({ name: 'slow', run: () => hold.promise });
    const { system, clock } = await setup({ jobs: [slow], workers: 2 });
    await system.submit(slow, undefined);
    await system.submit(slow, undefined);
    const third = await system.submit(slow, undefined);
    await clock.tick();
    expect(await system.get(third.id)).toMatchObject({ status: 'queued' });
    expect((await system.stats()).idleWorkers).toBe(0);
    hold.open();
    await third.result();
    expect((await system.get(third.id))?.status).toBe('completed');
  });

  it('respects a per-job-type concurrency limit while other jobs use the free workers', async () => {
    let limitedRunning = 0;
    let limitedPeak = 0;
    const limited = defineJob({
      name: 'limited',
      concurrency: 2,
      async run(_: undefined, ctx) {
        limitedRunning++;
        limitedPeak = Math.max(limitedPeak, limitedRunning);
        await sleep(clock, 10, ctx.signal);
        limitedRunning--;
      },
    });
    const free = defineJob({ name: 'free', run: async (_: undefined, ctx): Promise<void> => sleep(clock, 10, ctx.signal) });
    const { system, clock } = await setup({ jobs: [limited, free], workers: 6 });
    const handles = [
      ...(await Promise.all(Array.from({ length: 8 }, () => system.submit(limited, undefined)))),
      ...(await Promise.all(Array.from({ length: 4 }, () => system.submit(free, undefined)))),
    ];
    await clock.advance(1);
    expect((await system.stats()).running).toBe(6);
    await clock.advance(200);
    await Promise.all(handles.map((h) => h.result()));
    expect(limitedPeak).toBe(2);
  });

  it('runs higher priorities first and equal priorities in submission order', async () => {
    const order: string[] = [];
    const hold = gate();
    const blocker = defineJob({ name: 'blocker', run: () => hold.promise });
    const record = defineJob({ name: 'record', run: (input: { tag: string }) => void order.push(input.tag) });
    const { system } = await setup({ jobs: [blocker, record], workers: 1 });
    await system.submit(blocker, undefined);
    await system.submit(record, { tag: 'low-1' }, { priority: 0 });
    await system.submit(record, { tag: 'high' }, { priority: 5 });
    await system.submit(record, { tag: 'low-2' }, { priority: 0 });
    const last = await system.submit(record, { tag: 'mid' }, { priority: 1 });
    hold.open();
    await last.result();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['high', 'mid', 'low-1', 'low-2']);
  });

  it('does not start a delayed job before its time', async () => {
    const ran: number[] = [];
    const job = defineJob({ name: 'delayed', run: () => void ran.push(clock.now()) });
    const { system, clock } = await setup({ jobs: [job], workers: 1 });
    const start = clock.now();
    const handle = await system.submit(job, undefined, { delayMs: 5_000 });
    expect(handle.status).toBe('delayed');
    await clock.advance(4_999);
    expect(ran).toEqual([]);
    await clock.advance(1);
    await handle.result();
    expect(ran).toEqual([start + 5_000]);
  });
});
