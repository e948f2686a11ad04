import { describe, expect, it } from 'vitest';
import { createMemoryStore, type JobRecord, type ListQuery } from '@scalable-api/core';
import { listShards } from '../src/sharded-list.js';

/** Three memory stores stand for three shards: listShards only needs each shard's own `list`. */
async function shards(perShard: number[]) {
  const stores = perShard.map(() => createMemoryStore());
  const ids: string[][] = [];
  for (const [shard, count] of perShard.entries()) {
    const jobs = Array.from({ length: count }, (_, i) => ({ id: `s${shard}-${i}`, name: i % 2 ? 'a' : 'b', input: {}, priority: 0 }));
    await stores[shard]!.enqueue(jobs, { limit: 1_000 });
    ids.push(jobs.map((j) => j.id));
  }
  const list = (query: ListQuery) => listShards(stores.length, query, (shard, q) => stores[shard]!.list(q));
  return { list, ids };
}

async function walk(list: (query: ListQuery) => Promise<{ jobs: JobRecord[]; cursor?: string | undefined }>, query: Omit<ListQuery, 'cursor'>) {
  const out: string[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 100; n++) {
    const page = await list({ ...query, cursor });
    expect(page.jobs.length).toBeLessThanOrEqual(query.limit);
    out.push(...page.jobs.map((j) => j.id));
    if (page.cursor === undefined) return out;
    cursor = page.cursor;
  }
  throw new Error('the walk did not end');
}

describe('listShards', () => {
  it('walks every job of every shard once, shard after shard, each in its own order', async () => {
    const { list, ids } = await shards([7, 0, 12]);
    expect(await walk(list, { limit: 5 })).toEqual(ids.flat());
    expect(await walk(list, { limit: 5, name: 'a' })).toEqual(ids.flat().filter((id) => Number(id.split('-')[1]) % 2 === 1));
  });

  it('refuses a cursor it did not give', async () => {
    const { list } = await shards([1, 1]);
    for (const cursor of ['not a cursor', Buffer.from('7.x').toString('base64url'), Buffer.from('x.y').toString('base64url')]) {
      await expect(list({ limit: 10, cursor })).rejects.toMatchObject({ code: 'CURSOR_INVALID' });
    }
  });
});
