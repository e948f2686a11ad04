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
    expect(await h.call('cancel', 'q', REASON)).toBe('cancelled');
    expect(await h.job('q')).toMatchObject({ s: 'cancelled', e: REASON });
    expect(await h.client.zcard(h.key('q:m'))).toBe(0);
    expect(await h.call('cancel', 'r', REASON)).toBe('cancelling');
    expect(await h.job('r')).toMatchObject({ s: 'running', cr: REASON });
    expect(await h.call('cancel', 'q', REASON)).toBe('settled');
    expect(await h.call('cancel', 'x', REASON)).toBe('not_found');
  });
});
