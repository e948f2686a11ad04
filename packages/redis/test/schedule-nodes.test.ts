import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { startNodeProcess, type NodeProcess } from '@scalable-api/test-support/node-process';
import { nextTick, scheduleTickKey } from '@scalable-api/core';
import { createRedisStore, type RedisStore } from '../src/index.js';
import { cleanUpNodes, describeWithRedis, redisUrl, testPrefix } from './redis-fixture.js';

const fixture = fileURLToPath(new URL('./fixtures/schedule-node.ts', import.meta.url));

interface Node extends NodeProcess {
  /** The jobs it ran, one entry per run. */
  beats: string[];
}

function startNode(id: string, prefix: string): Node {
  const beats: string[] = [];
  const env = { NODE_ID: id, REDIS_PREFIX: prefix, REDIS_URL: redisUrl, EVERY_MS: '1000' };
  const node = startNodeProcess(id, fixture, env, (line) => {
    if (line.startsWith('BEAT ')) beats.push(line.slice(5));
  });
  return { ...node, beats };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await describeWithRedis('schedules across processes', () => {
  let nodes: Node[] = [];
  let store: RedisStore | undefined;
  let prefix = '';

  cleanUpNodes(() => ({ nodes, store, prefix }));

  // Real time on purpose (real processes, real timers): 30 ticks take 30 s.
  it('runs a schedule every second for 30 s on three nodes: exactly 30 runs, one per tick, none twice', async () => {
    prefix = testPrefix();
    store = createRedisStore({ url: redisUrl, prefix });
    // The schedule exists before the nodes, first ticking once they are all up: each node then
    // declares the same definition at start (as an app would) and the store keeps it as it is.
    const first = nextTick({ everyMs: 1_000 }, Date.now() + 8_000);
    await store.upsertSchedule({
      key: 'beat',
      name: 'beat',
      input: {},
      every: { everyMs: 1_000 },
      policy: { missed: 'skip', overlap: 'allow', graceMs: 10_000 },
      nextAt: first,
    });
    nodes = ['node-1', 'node-2', 'node-3'].map((id) => startNode(id, prefix));
    await Promise.all(nodes.map((n) => n.ready));
    expect(Date.now()).toBeLessThan(first);
    expect(await store.schedules({ limit: 10 })).toMatchObject([{ key: 'beat', version: 1, nextAt: first }]);
    await sleep(first + 29_000 + 500 - Date.now());
    // Half a second after the 30th tick and half a second before the 31st.
    expect(await store.removeSchedule('beat')).toBe(true);
    const ids = async () => nodes.flatMap((n) => n.beats);
    const deadline = Date.now() + 10_000;
    while ((await ids()).length < 30 && Date.now() < deadline) await sleep(50);
    await sleep(1_500);

    const ran = await ids();
    expect(ran).toHaveLength(30);
    expect(new Set(ran).size).toBe(30);
    const records = await store.getMany(ran);
    const ticks = records.map((r) => r!.idempotencyKey).sort();
    expect(ticks).toEqual(Array.from({ length: 30 }, (_, i) => scheduleTickKey('beat', first + i * 1_000)).sort());
    expect(records.every((r) => r!.meta?.['schedule'] === 'beat' && r!.status === 'completed')).toBe(true);
    // Every node took part in the race; how the ticks spread is up to timing, so only printed.
    console.log(`ticks run per node: ${nodes.map((n) => n.beats.length).join(', ')}`);
  }, 60_000);
});
