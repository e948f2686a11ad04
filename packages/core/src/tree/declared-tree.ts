import type { NewJob } from '../store/job-store.js';
import type { TreeSpec } from '../system/job-system.js';

/**
 * Flattens a declared tree into one enqueue batch, parents before their children (the store
 * links a child to a parent it has already seen in the batch). Every node with children starts
 * in `waitingChildren` and is queued by the store when the last of them settles.
 *
 * Iterative, depth first with an explicit stack, in declaration order: a declared tree may be as
 * deep as `maxNodes`, and nothing here may recurse once per level.
 */
export async function flattenTree(
  spec: TreeSpec,
  prepare: (spec: TreeSpec, parentId: string | undefined) => Promise<{ id: string; input: unknown; priority: number }>,
  maxNodes: number,
): Promise<NewJob[]> {
  const out: NewJob[] = [];
  const stack: { node: TreeSpec; parent: NewJob | undefined }[] = [{ node: spec, parent: undefined }];
  while (stack.length > 0) {
    const { node, parent } = stack.pop()!;
    if (out.length >= maxNodes) throw new RangeError(`A declared tree may have at most ${maxNodes} nodes.`);
    const { id, input, priority } = await prepare(node, parent?.id);
    const children = node.children ?? [];
    const job: NewJob = {
      id,
      name: node.job.name,
      input,
      priority,
      parentId: parent?.id,
      rootId: parent ? parent.rootId! : id,
      onFailure: node.onFailure,
      awaitChildren: children.length > 0 ? children.length : undefined,
    };
    out.push(job);
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i]!, parent: job });
  }
  return out;
}
