import { describe, expect, it } from 'vitest';
import { createJobSystem, createMemoryStore, defineJob, type JobStore, type JobSystem } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { gate, settle, setup } from './helpers.js';

describe('system.schedule()', () => {
  it('runs a schedule every second exactly once per tick across three nodes', async () => {
    const clock = new SimulatedClock();
    const store = createMemoryStore({ clock });
    const runs: { input: unknown; at: number }[] = [];
    const beat = defineJob({ name: 'beat', run: (input: { n: number }) => void runs.push({ input, at: clock.now() }) });
    const nodes: JobSystem[] = [];
    for (const nodeId of ['a', 'b', 'c']) nodes.push((await setup({ jobs: [beat], workers: 2, clock, store, nodeId })).system as JobSystem);
    // Every node declares the schedule at start, as an app would: one schedule, its ticks kept.
    for (const node of nodes) await node.scheduleByName('beat', 'beat', { n: 1 }, { everyMs: 1_000 });
    const start = clock.now();
    await clock.advance(30_000);
    expect(runs).toHaveLength(30);
    expect(runs.map((r) => r.at)).toEqual(Array.from({ length: 30 }, (_, i) => start + 1_000 * (i + 1)));
    const [listed] = await nodes[0]!.schedules();
    expect(listed).toMatchObject({ key: 'beat', name: 'beat', version: 1, nextAt: start + 31_000, lastAt: start + 30_000 });
  });

  it('fires cron schedules in their time zone', async () => {
    // 2026-03-29 00:30 UTC: Berlin moves to summer time at 01:00 UTC that night.
    const clock = new SimulatedClock(Date.UTC(2026, 2, 29, 0, 30));
    const ran: number[] = [];
    const report = defineJob({ name: 'report', run: () => void ran.push(clock.now()) });
    // Slow polls: two simulated days at the default second would be 170,000 rounds.
    const hour = 3_600_000;
    const { system } = await setup({
      jobs: [report],
      workers: 1,
      clock,
      pollMs: hour,
      reconcileMs: hour,
      sampleMs: hour,
      scheduler: { pollMs: hour },
    });
    const info = await system.schedule('daily', report, undefined, { cron: '0 3 * * *', tz: 'Europe/Berlin' });
    // 03:00 in Berlin on the day clocks go forward is 01:00 UTC.
    expect(info.nextAt).toBe(Date.UTC(2026, 2, 29, 1, 0));
    await clock.advance(2 * 86_400_000);
    expect(ran).toEqual([Date.UTC(2026, 2, 29, 1, 0), Date.UTC(2026, 2, 30, 1, 0)]);
  });

  it("skips ticks every node missed by default, and runs one for them under 'catchUpOne'", async () => {
    // On a minute: the ticks of `everyMs: 60_000` fall on whole minutes.
    const clock = new SimulatedClock(1_700_000_040_000);
    const store = createMemoryStore({ clock });
    const ran: string[] = [];
    const job = defineJob({ name: 'job', run: (input: { key: string }) => void ran.push(input.key) });
    const first = await setup({ jobs: [job], workers: 1, clock, store });
    await first.system.schedule('skip', job, { key: 'skip' }, { everyMs: 60_000 }, { graceMs: 1_000 });
    await first.system.schedule('catch-up', job, { key: 'catch-up' }, { everyMs: 60_000 }, { graceMs: 1_000, missed: 'catchUpOne' });
    await first.system.stop({ drain: false });
    // Every node is down for five ticks.
    await clock.advance(5 * 60_000 + 30_000);
    const second = await setup({ jobs: [job], workers: 1, clock, store });
    await clock.advance(1_000);
    expect(ran).toEqual(['catch-up']);
    await clock.advance(30_000);
    expect(ran.sort()).toEqual(['catch-up', 'catch-up', 'skip']);
    expect((await second.system.schedules()).map((s) => s.nextAt)).toEqual([clock.now() + 60_000 - 1_000, clock.now() + 60_000 - 1_000]);
  });

  it("runs nothing for a tick whose previous run is still going under overlap 'skip'", async () => {
    const clock = new SimulatedClock();
    const slow = gate();
    let started = 0;
    const job = defineJob({
      name: 'slow',
      run: async () => {
        started++;
        await slow.promise;
      },
    });
    const { system } = await setup({ jobs: [job], workers: 4, clock });
    await system.schedule('slow', job, undefined, { everyMs: 1_000 }, { overlap: 'skip' });
    await clock.advance(5_000);
    expect(started).toBe(1);
    slow.open();
    await clock.advance(1_000);
    expect(started).toBe(2);
  });

  it('refuses an unknown job, bad input and bad timing with coded errors, and removes a schedule', async () => {
    const clock = new SimulatedClock();
    const job = defineJob({ name: 'job', run: () => undefined });
    const { system } = await setup({ jobs: [job], workers: 1, clock });
    const code = async (call: Promise<unknown>) => ((await settle(call)) as { error: { code: string } }).error.code;
    expect(await code(system.scheduleByName('k', 'nope', {}, { everyMs: 1_000 }))).toBe('JOB_TYPE_UNKNOWN');
    expect(await code(system.scheduleByName('k', 'job', {}, { everyMs: 5 }))).toBe('INPUT_INVALID');
    expect(await code(system.scheduleByName('k', 'job', {}, { cron: 'not a cron' }))).toBe('INPUT_INVALID');
    expect(await code(system.scheduleByName('k', 'job', {}, { cron: '* * * * *', tz: 'Mars/Olympus' }))).toBe('INPUT_INVALID');
    expect(await code(system.scheduleByName('', 'job', {}, { everyMs: 1_000 }))).toBe('INPUT_INVALID');
    expect(await code(system.scheduleByName('k', 'job', {}, { everyMs: 1_000 }, { missed: 'all' as 'skip' }))).toBe('INPUT_INVALID');
    await system.scheduleByName('k', 'job', {}, { everyMs: 1_000 });
    expect(await system.unschedule('k')).toBe(true);
    expect(await system.unschedule('k')).toBe(false);
    await clock.advance(5_000);
    expect((await system.stats()).completed).toBe(0);
  });

  it('answers NOT_SUPPORTED on a store without schedules or pause', async () => {
    const clock = new SimulatedClock();
    const inner = createMemoryStore({ clock });
    const store = Object.create(inner) as JobStore;
    for (const method of ['upsertSchedule', 'removeSchedule', 'schedules', 'fireSchedules', 'pauseType', 'resumeType', 'pausedTypes']) {
      Object.defineProperty(store, method, { value: undefined });
    }
    const job = defineJob({ name: 'job', run: () => undefined });
    const system = createJobSystem({ jobs: [job], workers: 1, clock, store });
    await system.start();
    await expect(system.schedule('k', job, undefined, { everyMs: 1_000 })).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
    await expect(system.pause('job')).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
    await system.stop({ drain: false });
  });
});

describe('system.pause()', () => {
  it('holds a job type on every node until resumed, its jobs queued and counted', async () => {
    const clock = new SimulatedClock();
    const store = createMemoryStore({ clock });
    const ran: string[] = [];
    const mail = defineJob({ name: 'mail', run: (input: { to: string }) => void ran.push(input.to) });
    const other = defineJob({ name: 'other', run: () => void ran.push('other') });
    const a = await setup({ jobs: [mail, other], workers: 2, clock, store, nodeId: 'a' });
    const b = await setup({ jobs: [mail, other], workers: 2, clock, store, nodeId: 'b' });
    await a.system.pause('mail');
    const handle = await b.system.submit(mail, { to: 'x' });
    await b.system.submit(other, undefined);
    await clock.advance(5_000);
    expect(ran).toEqual(['other']);
    expect(await b.system.paused()).toEqual(['mail']);
    expect((await a.system.stats()).queued).toBe(1);
    await b.system.resume('mail');
    expect(await handle.result()).toBeUndefined();
    expect(ran).toEqual(['other', 'x']);
    await expect(a.system.pause('unknown')).rejects.toMatchObject({ code: 'JOB_TYPE_UNKNOWN' });
  });
});
