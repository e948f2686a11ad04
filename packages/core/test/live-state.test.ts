import { describe, expect, it } from 'vitest';
import { createJobSystem, defineJob, type Health } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';

describe('system.live', () => {
  it('holds health, counters, rates and the actors view, and tells subscribers when they change', async () => {
    const clock = new SimulatedClock();
    const echo = defineJob({ name: 'echo', run: (n: number) => n });
    const system = createJobSystem({ jobs: [echo], workers: 2, clock });
    const healths: Health[] = [];
    system.live.select((s) => s.health).subscribe((health) => healths.push(health));
    expect(system.live.get().context.health).toBe('idle');
    await system.start();
    await Promise.all([1, 2, 3].map(async (n) => (await system.submit(echo, n)).result()));
    // Counters reach the store within 100 ms; nothing runs per job for it.
    await clock.advance(100);
    const live = system.live.get().context;
    expect(live.counters).toMatchObject({ submitted: 3, completed: 3, failed: 0, rejected: 0 });
    expect(live.workers).toBe(2);
    await clock.advance(1_000);
    expect(system.live.get().context.view?.workers).toHaveLength(2);
    expect(system.live.get().context.rates.completed).toBeCloseTo(0.3);
    await system.stop();
    expect(healths).toEqual(['healthy', 'stopping', 'stopped']);
    expect(system.live.get().context.view).toBeUndefined();
  });

  it('offers no way to change it from outside', () => {
    const system = createJobSystem({ jobs: [], workers: 0 });
    expect('send' in system.live).toBe(false);
    expect('trigger' in system.live).toBe(false);
    expect(Object.isFrozen(system.live)).toBe(true);
  });
});
