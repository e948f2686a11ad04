import type { JobStatus } from '@scalable-api/core';
import { jsonOf, type HttpTransport } from './http-transport.js';
import type { JobName, JobSet, JobView } from './job-types.js';

/** The filters of `GET {prefix}`; every one is optional. */
export interface ListOptions<N extends string = string> {
  status?: JobStatus;
  /** Only jobs of this type; the listed jobs are then typed as that job's views. */
  name?: N;
  /** Only jobs created at or after this time. */
  since?: Date | string;
  /** The previous page's `cursor`. */
  cursor?: string;
  /** At most this many jobs in a page (1–1,000; the server's default is 50). */
  limit?: number;
  signal?: AbortSignal;
}

/** A page of a listing: pass `cursor` back for the next; none means the walk is done. */
export interface ListPage<View> {
  jobs: View[];
  cursor?: string;
}

/** The views of the jobs called N (all of them when N is every name). */
export type ViewOf<Jobs extends JobSet, N extends JobName<Jobs>> = Extract<JobView<Jobs>, { name: N }>;

/** `GET {prefix}?status=&name=&since=&cursor=&limit=`: one page. */
export async function listPage<Jobs extends JobSet, N extends JobName<Jobs>>(
  transport: HttpTransport,
  options: ListOptions<N> = {},
): Promise<ListPage<ViewOf<Jobs, N>>> {
  const { status, name, since, cursor, limit, signal } = options;
  const query = { status, name, since: since instanceof Date ? since.toISOString() : since, cursor, limit };
  return jsonOf<ListPage<ViewOf<Jobs, N>>>(await transport.send({ method: 'GET', path: '', query, signal, idempotent: true }));
}

/**
 * Every job of a listing, page after page as the loop reads on (a page is fetched only when the
 * one before is used up); leaving the loop early fetches nothing more.
 */
export async function* listEvery<Jobs extends JobSet, N extends JobName<Jobs>>(
  transport: HttpTransport,
  options: Omit<ListOptions<N>, 'cursor'> = {},
): AsyncGenerator<ViewOf<Jobs, N>, void, undefined> {
  let cursor: string | undefined;
  do {
    const page: ListPage<ViewOf<Jobs, N>> = await listPage<Jobs, N>(transport, { ...options, ...(cursor !== undefined ? { cursor } : {}) });
    yield* page.jobs;
    cursor = page.cursor;
  } while (cursor !== undefined);
}
