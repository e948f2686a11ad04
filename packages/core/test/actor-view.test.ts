import { describe, expect, it } from 'vitest';
import { actorsView, defineJob } from '@scalable-api/core';
import { gate, setup } from './helpers.js';

describe('actorsView', () => {
  it('shows which worker runs which job, then the worker idle again when it ends', async () => {
    const open = gate();
    const hold = defineJob({ name: 'hold', run: () => open.promise });
    const { system } = await setup({ jobs: [hold], workers: 3 });
    const handle = await system.submit(hold, undefined);
    await expect.poll(() => actorsView(system)?.workers.filter((w) => w.state === 'running').length).toBe(1);
    const view = actorsView(system)!;
    expect(view.supervisor).toMatchObject({ state: 'healthy', restarts: 0, recentRestarts: 0 });
    expect(view.dispatcher).toMatchObject({ state: 'dispatching', idle: 2 });
    expect(view.workers.map((w) => w.id)).toEqual(['worker-0', 'worker-1', 'worker-2']);
    expect(view.workers.find((w) => w.state === 'running')!.job).toEqual({ id: handle.id, name: 'hold' });
    open.open();
    await handle.result();
    await expect.poll(() => actorsView(system)?.workers.every((w) => w.state === 'idle' && w.job === undefined)).toBe(true);
    expect(actorsView(system)!.workers.reduce((n, w) => n + w.jobsRun, 0)).toBe(1);
  });

  it('is undefined once the system stopped', async () => {
    const { system } = await setup({ jobs: [], workers: 1 });
    expect(actorsView(system)).toBeDefined();
    await system.stop();
    expect(actorsView(system)).toBeUndefined();
  });
});
