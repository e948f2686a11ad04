import { expect, it } from 'vitest';
import { describeWithRedis } from '../redis-fixture.js';
import { claimed, T0, useFunctionHarness } from './function-harness.js';

// claim's trailing arguments: no lost claims, then the flow entries (claim.lua's header).
const flow = (...entries: (string | number)[][]) => [0, entries.length, ...entries.flat()];
const claim = (max: number, ...rest: (string | number)[]) => ['node-1', max, 60_000, -1, 0, ...rest];

await describeWithRedis('function claim: flow control (flow.lua, fair.lua)', () => {
  const harness = useFunctionHarness();

  it('queues a keyed job in its key’s list and the key in the name’s turns, the plain queue first', async () => {
    const h = await harness();
    await h.call(
      'enqueue',
      10,
      '0',
      ...h.newJob('p1'),
      ...h.newJob('a1', { key: 'a' }),
      ...h.newJob('a2', { key: 'a' }),
      ...h.newJob('b1', { key: 'b' }),
    );
    expect(await h.client.lrange(h.key('g:n'), 0, -1)).toEqual(['', 'a', 'b']);
    expect(await h.client.lrange(h.key('q:n\x1fa'), 0, -1)).toEqual(['2:a1', '3:a2']);
    expect(await h.job('a1')).toMatchObject({ gk: 'a' });
    const [jobs] = claimed(await h.call('claim', ...claim(3)));
    expect(jobs.map((j) => j[0])).toEqual(['p1', 'a1', 'b1']);
    // Each served its turn and went to the back; a key found without jobs leaves on its next turn.
    expect(await h.client.lrange(h.key('g:n'), 0, -1)).toEqual(['', 'a', 'b']);
    const [rest] = claimed(await h.call('claim', ...claim(3)));
    expect(rest.map((j) => j[0])).toEqual(['a2']);
    expect(await h.client.exists(h.key('g:n'), h.key('q:n\x1fa'), h.key('q:n\x1fb'), h.key('q:n'))).toBe(0);
  });

  it('keeps a rate limit’s bucket as tat:until, the name’s in fl, a key’s in a string that expires', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('x1', { name: 'x' }), ...h.newJob('x2', { name: 'x' }), ...h.newJob('y1', { name: 'y', key: 'k' }));
    // x: 1 per 1,000 ms for the name; y: 1 per 1,000 ms per key.
    const [jobs, next] = claimed(await h.call('claim', ...claim(10, ...flow(['x', 1, 1_000, 0, '', 0], ['y', 1, 1_000, 1, '', 0]))));
    expect(jobs.map((j) => j[0]).sort()).toEqual(['x1', 'y1']);
    expect(next).toBe(String(T0 + 1_000));
    expect(await h.client.hget(h.key('fl'), 'x')).toBe(`${T0 + 1_000}:0`);
    expect(await h.client.get(h.key('fl:y\x1fk'))).toBe(`${T0 + 1_000}:0`);
    const ttl = await h.client.pttl(h.key('fl:y\x1fk'));
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(61_000);
  });

  it('counts a key’s running jobs under a concurrency limit and frees the place when one settles', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a1', { key: 'a' }), ...h.newJob('a2', { key: 'a' }));
    const [jobs] = claimed(await h.call('claim', ...claim(10, ...flow(['n', '', '', 0, 1, 0]))));
    expect(jobs.map((j) => j[0])).toEqual(['a1']);
    expect(await h.client.hgetall(h.key('run:n'))).toEqual({ a: '1' });
    expect(await h.job('a1')).toMatchObject({ gc: 'a', k: '1' });
    const token = String(jobs[0]![1]);
    await h.call('settle', 'a1', token, 'completed', '', '');
    expect(await h.client.exists(h.key('run:n'))).toBe(0);
    expect((await h.job('a1')).gc).toBeUndefined();
    const [next] = claimed(await h.call('claim', ...claim(10, ...flow(['n', '', '', 0, 1, 0]))));
    expect(next.map((j) => j[0])).toEqual(['a2']);
  });

  it('records a push-back from a released settlement: the name’s, or the key’s', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a1', { key: 'a' }), ...h.newJob('p1', { name: 'p' }));
    const [jobs] = claimed(await h.call('claim', ...claim(10)));
    const token = (id: string) => String(jobs.find((j) => j[0] === id)![1]);
    await h.call('settle', 'a1', token('a1'), 'released', 'a', T0 + 5_000, 'p1', token('p1'), 'released', '', T0 + 7_000);
    expect(await h.client.get(h.key('fl:n\x1fa'))).toBe(`0:${T0 + 5_000}`);
    expect(await h.client.hget(h.key('fl'), 'p')).toBe(`0:${T0 + 7_000}`);
    expect(await h.job('a1')).toMatchObject({ s: 'queued' });
    expect((await h.job('a1')).a ?? '0').toBe('0');
  });

  it('refuses malformed flow entries and push-backs before any write', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a1', { key: 'a' }));
    const before = await h.snapshot();
    await expect(h.call('claim', ...claim(10, ...flow(['n', 0, 1_000, 0, '', 0])))).rejects.toThrow(/bad arguments: entry 1: a flow entry/);
    await expect(h.call('claim', ...claim(10, ...flow(['n', '', '', 0, 'x', 0])))).rejects.toThrow(/a concurrency per key/);
    await expect(h.call('claim', ...claim(10, 0, 1, 'n', '', '', 0, '', 1, 'a', 'heavy'))).rejects.toThrow(/a weight/);
    await expect(h.call('claim', ...claim(10, ...flow(['n', '', '', 0, '', 0]), 'extra'))).rejects.toThrow(/nothing after the flow entries/);
    await expect(h.call('settle', 'a1', '1', 'released', '', 'soon')).rejects.toThrow(/push-back/);
    expect(await h.snapshot()).toEqual(before);
  });
});
