import type { JobRecord, JobStore } from '../store/job-store.js';
import type { TreeNode } from '../system/job-system.js';

/**
 * Reads a job and its descendants into a tree, breadth first, stopping at `maxNodes` so a huge
 * tree cannot make one request unbounded. Progress aggregates upward: a settled node counts 1,
 * a running leaf its own numeric progress, a parent the mean of its children.
 */
export async function readTree(store: JobStore, id: string, maxNodes: number): Promise<TreeNode | undefined> {
  const root = await store.get(id);
  if (!root) return undefined;
  const rootNode = toNode(root);
  let budget = maxNodes - 1;
  let frontier: TreeNode[] = [rootNode];
  while (frontier.length > 0 && budget > 0) {
    const next: TreeNode[] = [];
    const withChildren = frontier.filter((node) => childCounts.get(node)! > 0);
    const lists = await Promise.all(withChildren.map((node) => store.children(node.id)));
    withChildren.forEach((node, i) => {
      for (const record of lists[i]!) {
        if (budget <= 0) break;
        const child = toNode(record);
        node.children.push(child);
        next.push(child);
        budget--;
      }
    });
    frontier = next;
  }
  aggregate(rootNode);
  return rootNode;
}

const childCounts = new WeakMap<TreeNode, number>();

function toNode(record: JobRecord): TreeNode {
  const node: TreeNode = {
    id: record.id,
    name: record.name,
    status: record.status,
    attempt: record.attempt,
    progress: record.progress,
    aggregateProgress: 0,
    output: record.output,
    error: record.error,
    onFailure: record.onFailure,
    children: [],
  };
  childCounts.set(node, record.childCount);
  return node;
}

function aggregate(node: TreeNode): number {
  const settled = node.status === 'completed' || node.status === 'failed' || node.status === 'cancelled';
  let value: number;
  if (settled) value = 1;
  else if (node.children.length > 0) value = node.children.reduce((sum, child) => sum + aggregate(child), 0) / node.children.length;
  else value = typeof node.progress === 'number' && node.progress >= 0 && node.progress <= 1 ? node.progress : 0;
  if (settled) for (const child of node.children) aggregate(child);
  node.aggregateProgress = value;
  return value;
}
