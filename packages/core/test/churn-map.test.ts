import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChurnMap } from '../src/churn-map.js';

describe('ChurnMap', () => {
  it('behaves as a Map for any sequence of sets and deletes, across compactions', () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant('set' as const), key: fc.integer({ min: 0, max: 3_000 }), value: fc.integer() }),
      fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 3_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 6_000 }), (ops) => {
        const churn = new ChurnMap<number, { v: number }>();
        const map = new Map<number, { v: number }>();
        for (const step of ops) {
          if (step.op === 'set') {
            const value = { v: step.value };
            churn.set(step.key, value);
            map.set(step.key, value);
          } else {
            expect(churn.delete(step.key)).toBe(map.delete(step.key));
          }
        }
        expect(churn.size).toBe(map.size);
        expect(new Set(churn.values())).toEqual(new Set(map.values()));
        for (let key = 0; key <= 3_000; key += 97) {
          expect(churn.get(key)).toBe(map.get(key));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('keeps working across the rebuild that drops removed entries', () => {
    const churn = new ChurnMap<string, number>();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 2_000; i++) churn.set(`k${round}-${i}`, i);
      for (let i = 0; i < 1_990; i++) expect(churn.delete(`k${round}-${i}`)).toBe(true);
      expect(churn.size).toBe(10 * (round + 1));
    }
    expect([...churn.values()].length).toBe(50);
    expect(churn.get('k4-1999')).toBe(1_999);
    expect(churn.get('k4-0')).toBeUndefined();
  });
});
