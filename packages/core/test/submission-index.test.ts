import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SubmissionIndex } from '../src/store/submission-index.js';

interface Item {
  seq: number;
}

/** Walks the whole index a page at a time, as `list` does, collecting every seq seen. */
function walkAll(index: SubmissionIndex<Item>, after: number, pageSize: number, maxSlots: number): number[] {
  const seen: number[] = [];
  let cursor: number | undefined = after;
  for (let pages = 0; cursor !== undefined; pages++) {
    if (pages > 100_000) throw new Error('the walk did not end');
    let taken = 0;
    cursor = index.walk(cursor, maxSlots, (item) => {
      seen.push(item.seq);
      return ++taken < pageSize;
    });
  }
  return seen;
}

describe('SubmissionIndex', () => {
  it('walks exactly the items present, in order, from any point, whatever was removed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5_000 }),
        fc.array(fc.nat(5_000), { maxLength: 4_000 }),
        fc.integer({ min: -1, max: 5_000 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 3_000 }),
        (count, removals, after, pageSize, maxSlots) => {
          const index = new SubmissionIndex<Item>();
          const items = Array.from({ length: count }, (_, seq) => ({ seq }));
          for (const item of items) index.add(item);
          const present = new Set(items.map((i) => i.seq));
          for (const seq of removals) {
            if (seq < count) index.remove(items[seq]!);
            present.delete(seq);
          }
          const expected = [...present].filter((seq) => seq > after).sort((a, b) => a - b);
          expect(walkAll(index, after, pageSize, maxSlots)).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('starts a walk early enough for every item past a boundary', () => {
    const index = new SubmissionIndex<Item & { at: number }>();
    for (let seq = 0; seq < 3_000; seq++) index.add({ seq, at: Math.floor(seq / 10) });
    const after = index.startAfter((item) => item.at < 150);
    expect(after).toBeLessThan(1_500);
    expect(after).toBeGreaterThanOrEqual(1_024 - 1);
    expect(index.startAfter(() => false)).toBe(-1);
  });
});
