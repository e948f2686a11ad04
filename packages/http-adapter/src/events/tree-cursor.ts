import { HttpProblemError } from '../problem.js';

/**
 * Where a reader of a tree stream is: for every job of the tree, the last seq it has. Each job
 * numbers its own events, so a tree has no single sequence; the cursor is the vector of per-job
 * seqs, shaped like the tree so it needs no job ids:
 *
 *     node  := '*' | seq [ '(' item { ',' item } ')' ]
 *     item  := node [ '~' count ]
 *
 * `*` is a subtree the reader has whole (every job in it settled, its last event delivered);
 * `seq(…)` a job delivered up to `seq` with its children in spawn order, a child left out at the
 * end having nothing delivered; `~n` repeats an item n times. Settled subtrees fold to `*` and
 * runs of equal siblings to `x~n`, so the cursor stays small (its size follows the jobs still
 * running, not the size of the tree): a finished 2,000-job tree is `*`, a fan-out with 40 done,
 * 3 running and 200 queued children `2(*~40,3,3,4,1~200)`.
 *
 * @example
 * formatCursor({ seq: 2, children: [{ done: true }, { seq: 3, children: [] }] }); // '2(*,3)'
 */
export type CursorNode = { done: true } | { done: false; seq: number; children: CursorNode[] };

/** The longest cursor read: HTTP servers cap header lines near 8 KB anyway. */
const maxCursorLength = 8_192;

const doneNode: CursorNode = { done: true };

/** The node for a job and what its children encode to (post-order: children first). */
export interface CursorSource {
  done: boolean;
  seq: number;
  children: readonly CursorSource[];
}

/** Encodes a tree of delivery marks; iterative, so a deep tree cannot overflow the stack. */
export function formatCursor(root: CursorSource): string {
  const text = new Map<CursorSource, string>();
  const stack: Array<[CursorSource, boolean]> = [[root, false]];
  while (stack.length > 0) {
    const [node, expanded] = stack.pop()!;
    if (!expanded) {
      stack.push([node, true]);
      for (const child of node.children) stack.push([child, false]);
      continue;
    }
    const kids = node.children.map((child) => text.get(child)!);
    for (const child of node.children) text.delete(child);
    if (node.done && kids.every((kid) => kid === '*')) {
      text.set(node, '*');
      continue;
    }
    while (kids.length > 0 && kids[kids.length - 1] === '0') kids.pop();
    text.set(node, kids.length === 0 ? String(node.seq) : `${node.seq}(${runs(kids)})`);
  }
  return text.get(root)!;
}

function runs(items: string[]): string {
  const out: string[] = [];
  for (let i = 0; i < items.length;) {
    let j = i + 1;
    while (j < items.length && items[j] === items[i]) j++;
    out.push(j - i > 1 ? `${items[i]}~${j - i}` : items[i]!);
    i = j;
  }
  return out.join(',');
}

/**
 * Reads a cursor; `undefined` for none. At most `maxNodes` nodes once runs are expanded; anything
 * malformed is a 400, never a guess.
 */
export function parseCursor(header: string | string[] | undefined, maxNodes: number): CursorNode | undefined {
  if (header === undefined || header === '') return undefined;
  const text = typeof header === 'string' ? header.trim() : '';
  const bad = () => new HttpProblemError('MALFORMED_REQUEST', 'Last-Event-ID is not a cursor of this tree stream.');
  if (text.length === 0 || text.length > maxCursorLength) throw bad();
  // Lists being filled, innermost last; the outermost holds the root.
  const lists: CursorNode[][] = [[]];
  let nodes = 0;
  let i = 0;
  const number = (): number => {
    const start = i;
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    if (i === start || i - start > 15) throw bad();
    return Number(text.slice(start, i));
  };
  let expectItem = true;
  let repeated = false;
  while (i < text.length) {
    const list = lists[lists.length - 1]!;
    const c = text[i]!;
    if (expectItem) {
      if (c === '*') {
        i++;
        list.push(doneNode);
      } else {
        list.push({ done: false, seq: number(), children: [] });
      }
      if (++nodes > maxNodes) throw bad();
      expectItem = false;
      repeated = false;
      continue;
    }
    i++;
    if (c === '~') {
      const count = number();
      if (repeated || count < 2 || nodes + count - 1 > maxNodes) throw bad();
      repeated = true;
      const last = list[list.length - 1]!;
      for (let n = 1; n < count; n++) list.push(last);
      nodes += count - 1;
    } else if (c === '(') {
      const last = list[list.length - 1]!;
      if (repeated || last.done || last.children.length > 0 || lists.length > maxNodes) throw bad();
      lists.push(last.children);
      expectItem = true;
    } else if (c === ',') {
      if (lists.length === 1) throw bad();
      expectItem = true;
    } else if (c === ')') {
      if (lists.length === 1) throw bad();
      lists.pop();
      repeated = false;
    } else throw bad();
  }
  if (expectItem || lists.length !== 1 || lists[0]!.length !== 1) throw bad();
  return lists[0]![0];
}
