import type { NewJob } from '../store/job-store.js';
import type { TreeSpec } from '../system/job-system.js';

/**
 * Flattens a declared tree into one enqueue batch, parents before their children (the store
 * links a child to a parent it has already seen in the batch). Every node with children starts
 * in `waitingChildren` and is queued by the store when the last of them settles.
 */
export async function flattenTree(
  spec: TreeSpec,
  prepare: (spec: TreeSpec) => Promise<{ id: string; input: unknown; priority: number }>,
  maxNodes: number,
): Promise<NewJob[]> {
  const out: NewJob[] = [];
  const visit = async (node: TreeSpec, parent: NewJob | undefined): Promise<void> => {
    if (out.length >= maxNodes) throw new RangeError(`A declared tree may have at most ${maxNodes} nodes.`);
    const { id, input, priority } = await prepare(node);
    const children = node.children ?? [];
    const job: NewJob = {
      id,
      name: node.job.name,
      input,
      priority,
      parentId: parent?.id,
      rootId: parent ? parent.rootId : id,
      onFailure: node.onFailure,
      awaitChildren: children.length > 0 ? children.length : undefined,
    };
    out.push(job);
    for (const child of children) await visit(child, job);
  };
  await visit(spec, undefined);
  return out;
}
