import { InputError, type ListPage, type ListQuery } from '@scalable-api/core';

/**
 * `list` over shards: the shards one after the other (0, 1, …), each in its own submission
 * order, through each shard's own cursor. A global submission order would need every shard's
 * next page read and merged on every call, with positions no shard's cursor can express; the
 * walk here reads one shard per page, keeps the per-call bound of a single store, and still
 * lists every job once. The cursor is `<shard>.<that shard's cursor>`, base64url.
 *
 * @example
 * const page = await listShards(4, query, (shard, q) => stores[shard].list(q));
 */
export async function listShards(
  count: number,
  query: ListQuery,
  listOne: (shard: number, query: ListQuery) => Promise<ListPage>,
): Promise<ListPage> {
  let shard = 0;
  let inner: string | undefined;
  if (query.cursor !== undefined) ({ shard, inner } = parseCursor(query.cursor, count));
  const page = await listOne(shard, { ...query, cursor: inner });
  if (page.cursor !== undefined) return { jobs: page.jobs, cursor: formatCursor(shard, page.cursor) };
  // This shard is done: the next page starts the next shard (a short or empty page is allowed).
  return shard + 1 < count ? { jobs: page.jobs, cursor: formatCursor(shard + 1, undefined) } : { jobs: page.jobs };
}

function formatCursor(shard: number, inner: string | undefined): string {
  return Buffer.from(`${shard}.${inner ?? ''}`).toString('base64url');
}

function parseCursor(cursor: string, count: number): { shard: number; inner: string | undefined } {
  const text = Buffer.from(cursor, 'base64url').toString();
  const match = /^(\d{1,4})\.(.*)$/s.exec(text);
  const shard = match ? Number(match[1]) : NaN;
  if (!match || shard >= count || Buffer.from(text).toString('base64url') !== cursor) {
    throw new InputError('CURSOR_INVALID', 'The listing cursor is malformed or was not given by this store.');
  }
  return { shard, inner: match[2] === '' ? undefined : match[2] };
}
