import { expect, it } from 'vitest';
import { describeWithRedis } from '../redis-fixture.js';
import { T0, useFunctionHarness } from './function-harness.js';

await describeWithRedis('functions renew, set_waiting and progress', () => {
  const harness = useFunctionHarness();

  it('renew extends held leases and answers 0 for a lease not held', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a'));
    await h.call('claim', 'node-1', 1, 1_000, -1, 0);
    h.now = T0 + 500;
    expect(await h.call('renew', 1_000, 'a', 1, 'a', 2, 'nope', 1)).toEqual([1, 0, 0]);
    // The expiry is only the score: renewing writes nothing to the job's hash.
    expect(await h.job('a')).not.toHaveProperty('la');
    expect(await h.client.zscore(h.key('leases'), 'a')).toBe(String(T0 + 1_500));
  });

  it('renew answers the reason of a cancel requested for a held job', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a'), ...h.newJob('b'));
    await h.call('claim', 'node-1', 2, 1_000, -1, 0);
    const reason = '{"code":"JOB_CANCELLED","message":"stop"}';
    expect(await h.call('cancel', 'a', reason)).toEqual(['cancelling', 0]);
    expect(await h.call('renew', 1_000, 'a', 1, 'b', 1)).toEqual([reason, 1]);
  });

  it('set_waiting moves a held job between running and waitingChildren', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a'));
    await h.call('claim', 'node-1', 1, 1_000, -1, 0);
    expect(await h.call('set_waiting', 'a', 1, '1')).toBe(1);
    expect(await h.job('a')).toMatchObject({ s: 'waitingChildren' });
    expect(await h.counts()).toMatchObject({ running: '0', waitingChildren: '1' });
    expect(await h.call('set_waiting', 'a', 2, '0')).toBe(0);
  });

  it('progress records the value of a held job', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a'));
    await h.call('claim', 'node-1', 1, 1_000, -1, 0);
    expect(await h.call('progress', 'a', 1, '{"pct":50}')).toBe(1);
    expect(await h.job('a')).toMatchObject({ pg: '{"pct":50}' });
    expect(await h.call('progress', 'a', 9, '1')).toBe(0);
  });
});
