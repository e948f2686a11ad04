import { describe, expect, it } from 'vitest';
import { maxListLimit, type JobRecord, type JobStore, type ListPage, type ListQuery } from '../../store/job-store.js';
import { LIMIT, newJob, type ConformanceSetup } from './store-fixture.js';

/** Listing: filters, tenant scope, pages that each job appears in once, and the bound on a page. */
export function describeList(setup: ConformanceSetup): void {
  describe('list', () => {
    it('walks every job once, in submission order, a page at a time', async ({ skip }) => {
      const { store, add, needs } = await setup();
      needs(skip, 'list');
      const ids = await add(...Array.from({ length: 25 }, () => newJob()));
      const pages: ListPage[] = [];
      const all = await walk(store, { limit: 10 }, pages);
      expect(all.map((r) => r.id)).toEqual(ids);
      expect(pages.every((p) => p.jobs.length <= 10)).toBe(true);
      expect(pages.at(-1)!.cursor).toBeUndefined();
      expect(all[0]).toEqual(await store.get(ids[0]!));
    });

    it('filters by status, name, creation time and tenant, together', async ({ skip }) => {
      const { store, clock, add, claim, needs } = await setup();
      needs(skip, 'list');
      const [oldA] = await add(newJob({ name: 'a', meta: { tenant: 't1' } }));
      await clock.advance(1_000);
      const since = clock.now();
      const [a1, , a2, b1, a3] = await add(
        newJob({ name: 'a', meta: { tenant: 't1' } }),
        newJob({ name: 'a', meta: { tenant: 't2' } }),
        newJob({ name: 'a', meta: { tenant: 't1' } }),
        newJob({ name: 'b', meta: { tenant: 't1' } }),
        newJob({ name: 'a' }),
      );
      const running = (await claim('node-a', { max: 1 })).jobs[0]!.id;
      expect(running).toBe(oldA);
      const ids = async (query: Omit<ListQuery, 'limit'>) => (await walk(store, { ...query, limit: 100 })).map((r) => r.id);
      expect(await ids({ tenant: 't1' })).toEqual([oldA, a1, a2, b1]);
      expect(await ids({ tenant: 't1', name: 'a', since })).toEqual([a1, a2]);
      expect(await ids({ status: 'running' })).toEqual([oldA]);
      expect(await ids({ status: 'queued', tenant: 't1' })).toEqual([a1, a2, b1]);
      expect(await ids({ name: 'a', since })).toContain(a3);
      expect(await ids({ tenant: 'nobody' })).toEqual([]);
    });

    it('holds at most maxListLimit jobs in a page, and refuses a cursor it did not give', async ({ skip }) => {
      const { store, needs } = await setup();
      needs(skip, 'list');
      const jobs = Array.from({ length: maxListLimit + 5 }, () => newJob());
      for (let i = 0; i < jobs.length; i += 500) await store.enqueue(jobs.slice(i, i + 500), { limit: LIMIT * 10 });
      const first = await store.list({ limit: maxListLimit * 10 });
      expect(first.jobs.length).toBeLessThanOrEqual(maxListLimit);
      expect(first.cursor).toBeDefined();
      expect((await walk(store, { limit: maxListLimit * 10 })).length).toBe(maxListLimit + 5);
      await expect(store.list({ limit: 10, cursor: 'not a cursor' })).rejects.toMatchObject({ code: 'CURSOR_INVALID' });
    });

    it('no longer lists a job dropped by retention', async ({ skip }) => {
      const { store, clock, add, claimOne, needs } = await setup({ retention: { count: 1 } });
      needs(skip, 'list');
      const [first] = await add(newJob({ name: 'root' }));
      await store.settle([{ ...(await claimOne('node-a')), outcome: 'completed', output: null }]);
      expect((await walk(store, { limit: 10 })).map((r) => r.id)).toEqual([first]);
      await clock.advance(1);
      const [second] = await add(newJob({ name: 'root' }));
      await store.settle([{ ...(await claimOne('node-a')), outcome: 'completed', output: null }]);
      expect(await store.get(first!)).toBeUndefined();
      expect((await walk(store, { limit: 10 })).map((r) => r.id)).toEqual([second]);
    });
  });
}

/** Every page of a listing, bounded: a walk that does not end is a failure, not a hang. */
async function walk(store: JobStore, query: ListQuery, pages: ListPage[] = []): Promise<JobRecord[]> {
  const out: JobRecord[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 1_000; n++) {
    const page = await store.list({ ...query, cursor });
    pages.push(page);
    out.push(...page.jobs);
    if (page.cursor === undefined) return out;
    cursor = page.cursor;
  }
  throw new Error('the listing did not end within 1,000 pages');
}
