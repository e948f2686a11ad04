import { afterEach, describe, expect, it } from 'vitest';
import { isProblem } from '../src/index.js';
import { apiKey, collect, setup, type Setup } from './setup.js';

let s: Setup;
afterEach(async () => {
  await s?.close();
});

const otherKey = 'client-test-key-b-0123456789';
const auth = {
  keys: [
    { key: apiKey, tenant: 'a' },
    { key: otherKey, tenant: 'b' },
  ],
};

describe('client.list', () => {
  it('pages through the jobs in submission order with the cursor, and listAll reads every page', async () => {
    s = await setup({ system: { workers: 0 } });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await s.client.submit('add', { a: i, b: 0 })).id);
    const first = await s.client.list({ limit: 3 });
    expect(first.jobs.map((j) => j.id)).toEqual(ids.slice(0, 3));
    expect(first.cursor).toBeDefined();
    const second = await s.client.list({ limit: 3, cursor: first.cursor! });
    expect(second.jobs.map((j) => j.id)).toEqual(ids.slice(3, 6));
    expect((await collect(s.client.listAll({ limit: 2 }))).map((j) => j.id)).toEqual(ids);
    // Leaving the loop early asks for no further page.
    const before = s.requests.length;
    for await (const job of s.client.listAll({ limit: 2 })) if (job.id === ids[0]) break;
    expect(s.requests.length - before).toBe(1);
  });

  it('filters by status, name and creation time', async () => {
    s = await setup();
    const added = await s.client.submit('add', { a: 1, b: 2 });
    await added.result();
    const failed = await s.client.submit('fail');
    await failed.result().catch(() => {});
    const byName = await s.client.list({ name: 'add' });
    expect(byName.jobs.map((j) => [j.id, j.output])).toEqual([[added.id, { sum: 3 }]]);
    expect((await s.client.list({ status: 'failed' })).jobs.map((j) => j.id)).toEqual([failed.id]);
    expect((await s.client.list({ since: new Date(Date.now() + 60_000) })).jobs).toEqual([]);
    expect((await s.client.list({ since: new Date(Date.now() - 60_000).toISOString() })).jobs).toHaveLength(2);
  });

  it("lists only the API key's tenant's jobs", async () => {
    s = await setup({ plugin: { auth }, client: { apiKey } });
    const mine = await s.client.submit('add', { a: 1, b: 1 });
    const theirs = await fetch(`${s.baseUrl}/add`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': otherKey },
      body: JSON.stringify({ a: 2, b: 2 }),
    });
    expect(theirs.status).toBe(202);
    expect((await collect(s.client.listAll())).map((j) => j.id)).toEqual([mine.id]);
  });

  it('throws CURSOR_INVALID as a typed problem for a cursor the server did not give', async () => {
    s = await setup();
    const error = await s.client.list({ cursor: 'not-a-cursor' }).catch((e: unknown) => e);
    expect(isProblem(error, 'CURSOR_INVALID')).toBe(true);
  });
});
