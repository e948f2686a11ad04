import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCursor, parseCursor, type CursorNode, type CursorSource } from '../src/events/tree-cursor.js';

const leaf = (seq: number, done = false): CursorSource => ({ seq, done, children: [] });

describe('formatCursor', () => {
  it('folds settled subtrees to * and runs of equal siblings to x~n, and drops trailing children with nothing', () => {
    expect(formatCursor({ seq: 4, done: true, children: [leaf(3, true), leaf(3, true)] })).toBe('*');
    const fanout: CursorSource = {
      seq: 2,
      done: false,
      children: [
        ...Array.from({ length: 40 }, () => leaf(3, true)),
        leaf(3),
        leaf(3),
        leaf(4),
        ...Array.from({ length: 200 }, () => leaf(1)),
        leaf(0),
        leaf(0),
      ],
    };
    expect(formatCursor(fanout)).toBe('2(*~40,3~2,4,1~200)');
    expect(formatCursor({ seq: 5, done: true, children: [leaf(2)] })).toBe('5(2)');
    expect(formatCursor(leaf(0))).toBe('0');
  });

  it('encodes a 100,000-deep chain without overflowing the stack', () => {
    let node: CursorSource = leaf(3, true);
    for (let i = 0; i < 100_000; i++) node = { seq: 2, done: false, children: [node] };
    expect(formatCursor(node).length).toBeGreaterThan(100_000);
  });
});

describe('parseCursor', () => {
  it('reads what formatCursor writes', () => {
    const mark = { seq: fc.nat(50), done: fc.boolean() };
    const shape: fc.Arbitrary<CursorSource> = fc.letrec<{ node: CursorSource }>((tie) => ({
      node: fc.oneof(
        { maxDepth: 5 },
        fc.record({ ...mark, children: fc.constant([]) }),
        fc.record({ ...mark, children: fc.array(tie('node'), { maxLength: 6 }) }),
      ),
    })).node;
    fc.assert(
      fc.property(shape, (tree) => {
        const text = formatCursor(tree);
        const parsed = parseCursor(text, 1_000_000);
        expect(formatCursor(toSource(parsed!))).toBe(text);
      }),
    );
  });

  it('expands runs, and refuses anything malformed or over the node bound with a 400 problem', () => {
    expect(parseCursor('2(*~2,3)', 10)).toEqual({
      done: false,
      seq: 2,
      children: [{ done: true }, { done: true }, { done: false, seq: 3, children: [] }],
    });
    expect(parseCursor(undefined, 10)).toBeUndefined();
    for (const bad of ['(', '2(', '2()', '2(1,)', '2(1))', '*(1)', 'x', '1~1', '2(1~3(1))', '1,2', '-1', '2(1~20)', 'a'.repeat(9_000)]) {
      expect(() => parseCursor(bad, 10), bad).toThrow(expect.objectContaining({ code: 'MALFORMED_REQUEST' }));
    }
  });
});

function toSource(node: CursorNode): CursorSource {
  return node.done ? { seq: 0, done: true, children: [] } : { seq: node.seq, done: false, children: node.children.map(toSource) };
}
