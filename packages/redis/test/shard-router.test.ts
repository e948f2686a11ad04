import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { ShardRouter, shardPrefix } from '../src/index.js';

describe('ShardRouter', () => {
  it('reads the shard back from every id it makes', () => {
    const router = new ShardRouter(12);
    for (let shard = 0; shard < 12; shard++) {
      const id = router.idIn(shard);
      expect(id).toMatch(/^\d+\.[A-Za-z0-9_-]{22}$/);
      expect(router.shardOf(id)).toBe(shard);
    }
  });

  it('maps any other id and any idempotency key to the same shard on every node', () => {
    const a = new ShardRouter(5);
    const b = new ShardRouter(5);
    for (const text of ['order-7', 'job-1-abc', '7.x', '03.x', '.x', 'x.', '', 'ünïcode', '{tag}rest']) {
      expect(a.shardOf(text)).toBe(b.shardOf(text));
      expect(a.shardOfKey(text)).toBe(b.shardOfKey(text));
      expect(a.shardOf(text)).toBeGreaterThanOrEqual(0);
      expect(a.shardOf(text)).toBeLessThan(5);
    }
    // "7.x" names no shard of five, "03.x" is not how ids are written: both are hashed.
    expect(a.shardOf('7.x')).toBe(calculateSlot('7.x') % 5);
    expect(a.shardOf('03.x')).toBe(calculateSlot('03.x') % 5);
  });

  it('places a child in its parent’s shard and a keyed job by its key', () => {
    const router = new ShardRouter(8);
    const parent = router.idIn(6);
    expect(router.placed({ parentId: parent, idempotencyKey: 'k' })).toBe(6);
    expect(router.placed({ idempotencyKey: 'k' })).toBe(router.shardOfKey('k'));
    expect(router.placed({})).toBeUndefined();
  });

  it('spreads idempotency keys evenly', () => {
    const router = new ShardRouter(4);
    const per = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) per[router.shardOfKey(`key-${i}`)]!++;
    for (const n of per) expect(Math.abs(n - 10_000)).toBeLessThan(500);
  });

  it('refuses a shard count it cannot route', () => {
    for (const count of [0, -1, 1.5, 1_025, Number.NaN]) expect(() => new ShardRouter(count)).toThrow(RangeError);
  });
});

describe('shardPrefix', () => {
  it('puts shard i of N in the i-th of N equal slot ranges, the same on every call', () => {
    for (const count of [1, 2, 3, 6, 16]) {
      for (let shard = 0; shard < count; shard++) {
        const prefix = shardPrefix('jobs', shard, count);
        expect(prefix).toBe(shardPrefix('jobs', shard, count));
        expect(prefix.startsWith(`jobs:${shard}`)).toBe(true);
        const slot = calculateSlot(prefix);
        expect(slot).toBeGreaterThanOrEqual(Math.floor((shard * 16_384) / count));
        expect(slot).toBeLessThan(Math.floor(((shard + 1) * 16_384) / count));
      }
    }
  });
});
