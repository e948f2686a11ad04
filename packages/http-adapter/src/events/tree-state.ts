import { isTerminal, type JobEvent, type JobStatus, type TreeNode } from '@scalable-api/core';
import { formatCursor, type CursorNode } from './tree-cursor.js';

/** One job of a streamed tree: what the reader has of it. */
export interface StreamNode {
  id: string;
  parent: StreamNode | undefined;
  /** In spawn order (the store's `children` order), which the cursor's positions follow. */
  children: StreamNode[];
  /** The last seq delivered. */
  seq: number;
  /** Its settled event was delivered: nothing more can come for it. */
  done: boolean;
  status: JobStatus;
  /** Its own numeric progress in [0, 1], if it reported one. */
  progress: number | undefined;
}

/** What to do with a live event. */
export type Accepted = 'write' | 'skip' | 'gap';

/**
 * The reader's view of a tree: every job with the last seq delivered, in the store's tree order,
 * at most `maxNodes` jobs. Events of jobs under the stream's root are accepted in seq order; a
 * seq gap or a job whose parent is unknown is a lost message, answered by a catch-up from the
 * store (`merge`).
 */
export class TreeState {
  readonly nodes = new Map<string, StreamNode>();
  readonly root: StreamNode;
  /** Jobs left out past `maxNodes`. */
  truncated = false;

  /**
   * @param wholeTree the stream's root is its tree's root, so every event the hub hands over
   *   (they share its `rootId`) belongs under it
   */
  constructor(
    tree: TreeNode,
    cursor: CursorNode | undefined,
    private readonly maxNodes: number,
    private readonly wholeTree: boolean,
  ) {
    this.root = this.add(tree, undefined);
    this.merge(tree);
    if (cursor) this.apply(cursor);
  }

  /** Adds the jobs of `tree` (a fresh read of the store) it did not know, in the store's order. */
  merge(tree: TreeNode): void {
    const stack: Array<[TreeNode, StreamNode]> = [[tree, this.root]];
    while (stack.length > 0) {
      const [from, node] = stack.pop()!;
      const known = new Set(node.children);
      const ordered: StreamNode[] = [];
      for (const child of from.children) {
        let mine = this.nodes.get(child.id);
        if (!mine) {
          if (this.nodes.size >= this.maxNodes) {
            this.truncated = true;
            continue;
          }
          mine = this.add(child, node);
        }
        known.delete(mine);
        ordered.push(mine);
        stack.push([child, mine]);
      }
      // Heard of live but not in this read (it came after): kept, after the ones the store listed.
      node.children = [...ordered, ...known];
    }
  }

  accept(event: JobEvent): Accepted {
    let node = this.nodes.get(event.id);
    if (!node) {
      const parent = event.parentId === undefined ? undefined : this.nodes.get(event.parentId);
      // Another part of the same tree (the stream follows a subtree), or a parent we have not
      // heard of yet: the catch-up reads the tree again.
      if (!parent) return this.wholeTree ? 'gap' : 'skip';
      if (event.seq !== 1) return 'gap';
      if (this.nodes.size >= this.maxNodes) {
        this.truncated = true;
        return 'skip';
      }
      node = this.node(event.id, parent, event.status);
      parent.children.push(node);
      this.nodes.set(node.id, node);
    }
    if (node.done || event.seq <= node.seq) return 'skip';
    if (event.seq > node.seq + 1) return 'gap';
    node.seq = event.seq;
    node.status = event.status;
    if (event.type === 'job.progress' && typeof event.progress === 'number' && event.progress >= 0 && event.progress <= 1)
      node.progress = event.progress;
    if (isTerminal(event.status)) node.done = true;
    return 'write';
  }

  /** The reader's position, for `id:` and `Last-Event-ID`. */
  cursor(): string {
    return formatCursor(this.root);
  }

  /** Every job of the tree settled and delivered. */
  complete(): boolean {
    for (const node of this.nodes.values()) if (!node.done) return false;
    return true;
  }

  /**
   * The root's aggregated progress, as `GET /:id/tree` computes it: a settled job counts 1, a
   * parent the mean of its children, a leaf its own numeric progress.
   */
  progress(): { progress: number; jobs: number; settled: number } {
    const value = new Map<StreamNode, number>();
    const stack: Array<[StreamNode, boolean]> = [[this.root, false]];
    let settled = 0;
    while (stack.length > 0) {
      const [node, expanded] = stack.pop()!;
      if (!expanded) {
        stack.push([node, true]);
        for (const child of node.children) stack.push([child, false]);
        continue;
      }
      let v: number;
      if (isTerminal(node.status)) {
        v = 1;
        settled++;
      } else if (node.children.length > 0) v = node.children.reduce((sum, child) => sum + value.get(child)!, 0) / node.children.length;
      else v = node.progress ?? 0;
      value.set(node, v);
    }
    return { progress: value.get(this.root)!, jobs: this.nodes.size, settled };
  }

  private apply(cursor: CursorNode): void {
    const stack: Array<[StreamNode, CursorNode]> = [[this.root, cursor]];
    while (stack.length > 0) {
      const [node, mark] = stack.pop()!;
      if (mark.done) {
        this.markDone(node);
        continue;
      }
      node.seq = mark.seq;
      mark.children.forEach((child, i) => {
        const mine = node.children[i];
        if (mine) stack.push([mine, child]);
      });
    }
  }

  private markDone(from: StreamNode): void {
    const stack = [from];
    while (stack.length > 0) {
      const node = stack.pop()!;
      node.done = true;
      node.seq = Number.MAX_SAFE_INTEGER;
      stack.push(...node.children);
    }
  }

  private add(tree: TreeNode, parent: StreamNode | undefined): StreamNode {
    const node = this.node(tree.id, parent, tree.status);
    if (typeof tree.progress === 'number' && tree.progress >= 0 && tree.progress <= 1) node.progress = tree.progress;
    this.nodes.set(node.id, node);
    return node;
  }

  private node(id: string, parent: StreamNode | undefined, status: JobStatus): StreamNode {
    return { id, parent, children: [], seq: 0, done: false, status, progress: undefined };
  }
}
