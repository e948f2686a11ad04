import { createJobSystem, defineJob } from '@scalable-api/core';
import { afterEach, describe, expect, it } from 'vitest';
import { SubmitCoalescer } from '../src/submit-coalescer.js';

const echo = defineJob({ name: 'echo', run: (input: unknown) => input });
let system: ReturnType<typeof createJobSystem> | undefined;
afterEach(async () => {
  await system?.stop({ drain: false });
});

describe('SubmitCoalescer', () => {
  it('starts the submits of one turn together in the check phase, each with its own outcome', async () => {
    system = createJobSystem({ jobs: [echo], workers: 2 });
    await system.start();
    const submits = new SubmitCoalescer(system);
    const calls = [submits.submit('echo', 1, {}), submits.submit('nope', 2, {}), submits.submit('echo', 3, {})];
    await Promise.resolve();
    expect((await system.stats()).submitted).toBe(0);
    const [first, unknown, third] = await Promise.allSettled(calls);
    expect(first).toMatchObject({ status: 'fulfilled', value: { created: true } });
    expect(unknown).toMatchObject({ status: 'rejected', reason: { code: 'JOB_TYPE_UNKNOWN' } });
    expect(third).toMatchObject({ status: 'fulfilled' });
    expect((await system.stats()).submitted).toBe(2);
    await expect(calls[0]!.then((handle) => handle.result())).resolves.toBe(1);
  });
});
