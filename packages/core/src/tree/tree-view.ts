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
  /** Every node, breadth first: a node's children come after it. */
  const order: TreeNode[] = [rootNode];
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
        order.push(child);
        budget--;
      }
    });
    frontier = next;
  }
  // Children before parents, without recursion: a chain can be as deep as `maxNodes`.
  for (let i = order.length - 1; i >= 0; i--) aggregate(order[i]!);
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

/** A node's progress from its children's, which are already aggregated. */
function aggregate(node: TreeNode): void {
  const settled = node.status === 'completed' || node.status === 'failed' || node.status === 'cancelled';
  if (settled) node.aggregateProgress = 1;
  else if (node.children.length > 0)
    node.aggregateProgress = node.children.reduce((sum, child) => sum + child.aggregateProgress, 0) / node.children.length;
  else node.aggregateProgress = typeof node.progress === 'number' && node.progress >= 0 && node.progress <= 1 ? node.progress : 0;
}
