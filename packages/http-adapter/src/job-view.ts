import type { JobInfo, TreeNode } from '@scalable-api/core';

/**
 * A job as the API shows it: status, progress, attempts, timestamps (ISO 8601), result or error
 * and a summary of its children. `meta` (tenant, blob reference) and the input stay private.
 */
export interface JobView {
  id: string;
  name: string;
  status: JobInfo['status'];
  progress: unknown;
  attempt: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  runAt: string | null;
  output?: unknown;
  error?: { code: string; message: string; cause?: { name: string; message: string }; details?: Record<string, unknown> };
  parentId: string | null;
  rootId: string;
  children: { total: number; pending: number };
}

export function jobView(record: JobInfo): JobView {
  const view: JobView = {
    id: record.id,
    name: record.name,
    status: record.status,
    progress: record.progress ?? null,
    attempt: record.attempt,
    createdAt: iso(record.createdAt)!,
    startedAt: iso(record.startedAt),
    finishedAt: iso(record.finishedAt),
    runAt: iso(record.runAt),
    parentId: record.parentId ?? null,
    rootId: record.rootId,
    children: { total: record.childCount, pending: record.pendingChildren },
  };
  if (record.status === 'completed') view.output = record.output ?? null;
  if (record.error) view.error = record.error;
  return view;
}

export interface TreeView {
  id: string;
  name: string;
  status: TreeNode['status'];
  attempt: number;
  progress: unknown;
  aggregateProgress: number;
  output?: unknown;
  error?: TreeNode['error'];
  onFailure: TreeNode['onFailure'];
  children: TreeView[];
}

/** Iterative rather than recursive: a deep tree must not overflow the stack of the HTTP thread. */
export function treeView(root: TreeNode): TreeView {
  const toView = (node: TreeNode): TreeView => {
    const view: TreeView = {
      id: node.id,
      name: node.name,
      status: node.status,
      attempt: node.attempt,
      progress: node.progress ?? null,
      aggregateProgress: node.aggregateProgress,
      onFailure: node.onFailure,
      children: [],
    };
    if (node.status === 'completed') view.output = node.output ?? null;
    if (node.error) view.error = node.error;
    return view;
  };
  const out = toView(root);
  const stack: Array<[TreeNode, TreeView]> = [[root, out]];
  while (stack.length > 0) {
    const [node, view] = stack.pop()!;
    for (const child of node.children) {
      const childView = toView(child);
      view.children.push(childView);
      stack.push([child, childView]);
    }
  }
  return out;
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
