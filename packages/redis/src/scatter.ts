/** What `scatter` found: the answers in the caller's order, and how many parts failed. */
export interface Scattered<R> {
  out: R[];
  parts: number;
  failed: number;
  /** The last failure, for a caller that rethrows it. */
  failure: unknown;
}

/**
 * Sends each shard its part of a batch, all parts at once, and puts the answers back in the
 * order of `items`. A part that fails gets `failed(error)` for each of its items (which may
 * rethrow, failing the whole call), so one shard's outage is one part's answer, not the batch's.
 *
 * @example
 * const { out, failed } = await scatter(settlements, (s) => router.shardOf(s.id), send, () => 'stale');
 */
export async function scatter<T, R>(
  items: readonly T[],
  shardOf: (item: T) => number,
  send: (shard: number, part: readonly T[]) => Promise<R[]>,
  failed: (error: unknown) => R,
): Promise<Scattered<R>> {
  // The common batch (one tick's submits, one claim's settlements) is on one shard: sent as it
  // is, without grouping, copying or putting answers back in order.
  const sole = soleShard(items, shardOf);
  if (sole !== undefined) {
    try {
      return { out: await send(sole, items), parts: 1, failed: 0, failure: undefined };
    } catch (error) {
      return { out: new Array<R>(items.length).fill(failed(error)), parts: 1, failed: 1, failure: error };
    }
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < items.length; i++) {
    const shard = shardOf(items[i]!);
    const indexes = groups.get(shard);
    if (indexes) indexes.push(i);
    else groups.set(shard, [i]);
  }
  const result: Scattered<R> = { out: new Array<R>(items.length), parts: groups.size, failed: 0, failure: undefined };
  await Promise.all(
    [...groups].map(async ([shard, indexes]) => {
      try {
        const answers = await send(
          shard,
          indexes.map((i) => items[i]!),
        );
        indexes.forEach((i, k) => (result.out[i] = answers[k]!));
      } catch (error) {
        result.failed++;
        result.failure = error;
        const answer = failed(error);
        for (const i of indexes) result.out[i] = answer;
      }
    }),
  );
  return result;
}

/** The one shard every item of a non-empty batch is on, or `undefined` when they are on several (or none). */
export function soleShard<T>(items: readonly T[], shardOf: (item: T) => number): number | undefined {
  if (items.length === 0) return undefined;
  const first = shardOf(items[0]!);
  for (let i = 1; i < items.length; i++) if (shardOf(items[i]!) !== first) return undefined;
  return first;
}
