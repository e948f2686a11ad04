import { expect, it } from 'vitest';
import { functionLibrary } from '../../src/function-library.js';
import { describeWithRedis } from '../redis-fixture.js';
import { useFunctionHarness, type FunctionHarness } from './function-harness.js';

/** The listing index is made for a store once it is listed (lua/listing.lua, lua/list-build.lua). */
await describeWithRedis('the listing index, made on the first listing', () => {
  const harness = useFunctionHarness();

  const listed = async (h: FunctionHarness) => {
    // A read-only function: no clock, no configuration.
    const args = ['', '1000', '100', '', '', '', '', '4', 's', 'n', 'ca', 'm'];
    const [ids, , , built] = (await h.client.fcall(`${functionLibrary.name}_list`, 1, h.base, ...args)) as [string[], unknown, string, number];
    return { ids, built };
  };
  const indexKeys = async (h: FunctionHarness) => Object.keys(await h.snapshot()).filter((key) => /:(l:\d+|listing|lbuild)$/.test(key));
  const drop = async (h: FunctionHarness, id: string) => {
    await h.call('cancel', id, '{"code":"JOB_CANCELLED","message":"stop"}');
    await h.call('cascade');
  };

  it('costs a store nobody lists no index: creations and drops leave none', async () => {
    const h = await harness({ retentionCount: 0 });
    await h.call('enqueue', 100, '0', ...['a', 'b', 'c'].flatMap((id) => h.newJob(id)));
    await drop(h, 'b');
    expect(await h.job('b')).toEqual({});
    expect(await indexKeys(h)).toEqual([]);
    expect((await h.counts())['lx']).toBeUndefined();
    expect(await listed(h)).toEqual({ ids: [], built: 0 });
  });

  it('places the jobs created before it was turned on in creation order, around those created and dropped meanwhile', async () => {
    const h = await harness({ retentionCount: 0 });
    await h.call('enqueue', 100, '0', ...['a', 'b', 'c', 'd', 'e'].flatMap((id) => h.newJob(id)));
    await h.call('enqueue', 100, '0', ...h.newJob('f'));
    expect(await h.call('list_build', 1_000, 2)).toBe(0);
    // On: a job created now is in the index at once, the older ones once the build placed them.
    await h.call('enqueue', 100, '0', ...h.newJob('g'));
    expect(await listed(h)).toEqual({ ids: ['g'], built: 0 });
    for (let n = 0; (await h.counts())['lb'] !== 'place'; n++) {
      expect(n).toBeLessThan(10_000);
      expect(await h.call('list_build', 1_000, 2)).toBe(0);
    }
    // Dropped before it was placed: left out. Then the two newest go in front of g.
    await drop(h, 'c');
    expect(await h.call('list_build', 1_000, 2)).toBe(0);
    expect(await listed(h)).toEqual({ ids: ['e', 'f', 'g'], built: 0 });
    // Dropped after it was placed: taken out as from any index.
    await drop(h, 'f');
    let steps = 0;
    while ((await h.call('list_build', 1_000, 2)) !== 1) expect(++steps).toBeLessThan(5);
    expect(await listed(h)).toEqual({ ids: ['a', 'b', 'd', 'e', 'g'], built: 1 });
    const counts = await h.counts();
    expect([counts['lx'], counts['lb'], counts['l0']]).toEqual(['1', undefined, undefined]);
    expect((await indexKeys(h)).map((key) => key.slice(h.base.length))).toEqual(['l:0', 'listing']);
    // Complete: a further step does nothing.
    const before = await h.snapshot();
    expect(await h.call('list_build', 1_000, 2)).toBe(1);
    expect(await h.snapshot()).toEqual(before);
  });

  it('writes nothing when a bucket it would place into has the wrong type', async () => {
    const h = await harness();
    await h.call('enqueue', 100, '0', ...['a', 'b'].flatMap((id) => h.newJob(id)));
    while ((await h.counts())['lb'] !== 'place') await h.call('list_build', 1_000, 10);
    await h.client.set(h.key('l:0'), 'not a list');
    const before = await h.snapshot();
    await expect(h.call('list_build', 1_000, 10)).rejects.toThrow(/WRONGTYPE/);
    expect(await h.snapshot()).toEqual(before);
  });
});
