import { describe, expect, it } from 'vitest';
import { ShardHints } from '../src/shard-hints.js';

const allLive = () => true;

/** Claims `max` from whichever shards `plan` names, each holding `backlog[shard]` jobs; returns who gave how many. */
function claim(hints: ShardHints, backlog: number[], max: number, now: number): number[] {
  const taken = backlog.map(() => 0);
  for (const shard of hints.plan(now, allLive)) {
    const asked = max - taken.reduce((a, b) => a + b, 0);
    if (asked <= 0) break;
    const generation = hints.generation(shard);
    const got = Math.min(asked, backlog[shard]!);
    backlog[shard]! -= got;
    taken[shard] = got;
    hints.claimed(shard, generation, asked, got, undefined, now);
  }
  return taken;
}

describe('ShardHints', () => {
  it('looks everywhere at first, then only where work was signalled', () => {
    const hints = new ShardHints(4, 500);
    expect(hints.plan(0, allLive).sort()).toEqual([0, 1, 2, 3]);
    for (let shard = 0; shard < 4; shard++) hints.claimed(shard, hints.generation(shard), 10, 0, undefined, 0);
    hints.work(2);
    expect(hints.plan(1, allLive)).toEqual([2]);
  });

  it('starves no shard: with every shard busy, each comes first in turn', () => {
    const hints = new ShardHints(3, 500);
    const backlog = [10_000, 10_000, 10_000];
    const served = [0, 0, 0];
    for (let round = 0; round < 300; round++) {
      const taken = claim(hints, backlog, 4, round);
      taken.forEach((n, shard) => (served[shard]! += n));
    }
    expect(served).toEqual([400, 400, 400]);
  });

  it('serves a shard with a little work beside one with a flood, within one rotation', () => {
    const hints = new ShardHints(2, 500);
    const backlog = [1_000_000, 0];
    claim(hints, backlog, 8, 0);
    backlog[1] = 3;
    hints.work(1);
    const first = claim(hints, backlog, 8, 1);
    const second = claim(hints, backlog, 8, 2);
    expect(first[1]! + second[1]!).toBe(3);
  });

  it('keeps a shard hinted when it signalled while a claim on it was in flight', () => {
    const hints = new ShardHints(1, 500);
    const generation = hints.generation(0);
    hints.work(0);
    hints.claimed(0, generation, 10, 2, undefined, 0);
    expect(hints.plan(0, allLive)).toEqual([0]);
    hints.claimed(0, hints.generation(0), 10, 2, undefined, 0);
    // Not hinted, not stale, but nothing else to look at: still the one shard.
    expect(hints.plan(1, allLive)).toEqual([0]);
  });

  it('looks again at a shard nobody looked at for probeMs, and at one whose delayed job fell due', () => {
    const hints = new ShardHints(3, 500);
    for (let shard = 0; shard < 3; shard++) hints.claimed(shard, hints.generation(shard), 10, 0, shard === 1 ? 300 : undefined, 0);
    hints.work(0);
    expect(hints.plan(100, allLive)).toEqual([0]);
    hints.claimed(0, hints.generation(0), 10, 0, undefined, 100);
    hints.work(0);
    expect(hints.plan(300, allLive).sort()).toEqual([0, 1]);
    expect(hints.plan(500, allLive).sort()).toEqual([0, 1, 2]);
    expect(hints.nextRunAt(allLive)).toBe(300);
    expect(hints.nextRunAt((shard) => shard !== 1)).toBeUndefined();
  });

  it('leaves out shards that are not live', () => {
    const hints = new ShardHints(3, 500);
    expect(hints.plan(0, (shard) => shard !== 1).sort()).toEqual([0, 2]);
    expect(hints.plan(0, () => false)).toEqual([]);
  });
});
