import { expect, it } from 'vitest';
import { describeWithRedis } from '../redis-fixture.js';
import { useFunctionHarness } from './function-harness.js';

const REASON = '{"code":"JOB_CANCELLED","message":"stop"}';

await describeWithRedis('function cancel', () => {
  const harness = useFunctionHarness();

  it('ends a queued job at once and marks a running one for its owner', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('r'), ...h.newJob('q', { name: 'm' }));
    await h.call('claim', 'node-1', 1, 1_000, 1, 'n', 0);
    expect(await h.call('cancel', 'q', REASON)).toEqual(['cancelled', 0]);
    expect(await h.job('q')).toMatchObject({ s: 'cancelled', e: REASON });
    expect(await h.call('cancel', 'r', REASON)).toEqual(['cancelling', 0]);
    expect(await h.job('r')).toMatchObject({ s: 'running', cr: REASON });
    expect(await h.call('cancel', 'q', REASON)).toEqual(['settled', 0]);
    expect(await h.call('cancel', 'x', REASON)).toEqual(['not_found', 0]);
  });
});
