import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startNodeProcess, stopNodeProcess, until, type NodeProcess } from '@scalable-api/test-support/node-process';
import type { NewJob } from '@scalable-api/core';
import { createRedisStore, type ShardedRedisStore } from '../src/index.js';
import { testPrefix } from './redis-fixture.js';
import { describeWithServers, startShardServers, type ShardServer } from './shard-servers.js';
import { deleteShardedPrefix } from './sharded-fixture.js';

const fixture = fileURLToPath(new URL('./fixtures/sharded-node.ts', import.meta.url));
const quickstart = fileURLToPath(new URL('../../../examples/quickstart/src/server.ts', import.meta.url));

interface Node extends NodeProcess {
  /** `<id> <attempt>` of every attempt it started. */
  started: string[];
}

function startNode(id: string, urls: string[], prefix: string, env: Record<string, string> = {}): Node {
  const started: string[] = [];
  const vars = { NODE_ID: id, REDIS_URLS: urls.join(','), REDIS_PREFIX: prefix, WORKERS: '16', ...env };
  const node = startNodeProcess(id, fixture, vars, (line) => {
    if (line.startsWith('START ')) started.push(line.slice(6));
  });
  return { ...node, started };
}

describeWithServers('a sharded job system: three node processes over three redis-server shards', () => {
  let servers: ShardServer[] = [];
  let nodes: Node[] = [];
  let store: ShardedRedisStore | undefined;
  let prefix = '';
  const urls = () => servers.map((s) => s.url);

  beforeAll(async () => {
    // AOF on: a crashed server keeps every write it acknowledged (written before the reply).
    servers = await startShardServers(3, ['--appendonly', 'yes', '--appendfsync', 'everysec']);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });
  afterEach(async () => {
    for (const node of nodes) await stopNodeProcess(node, 0);
    nodes = [];
    await store?.close();
    store = undefined;
    await deleteShardedPrefix(prefix, urls());
  });

  async function system(count: number, env: Record<string, string> = {}) {
    prefix = testPrefix();
    store = createRedisStore({ shards: urls(), prefix, sweepMs: 0 });
    nodes = Array.from({ length: count }, (_, i) => startNode(`node-${i + 1}`, urls(), prefix, env));
    await Promise.all(nodes.map((n) => n.ready));
    return store;
  }

  /** Enqueues `count` jobs in batches of 100 (each batch one tick, so one shard), as an HTTP front does; returns the acknowledged ids. */
  async function submit(client: ShardedRedisStore, count: number, ms: number): Promise<string[]> {
    const acked: string[] = [];
    for (let offset = 0; offset < count; offset += 100) {
      const batch: NewJob[] = Array.from({ length: Math.min(100, count - offset) }, () => ({
        id: client.newId({}),
        name: 'work',
        input: { ms },
        priority: 0,
      }));
      const outcomes = await client.enqueue(batch, { limit: 1_000_000 }).catch(() => []);
      outcomes.forEach((o, i) => o.ok && acked.push(batch[i]!.id));
      await new Promise((resolve) => setImmediate(resolve));
    }
    return acked;
  }

  async function completed(client: ShardedRedisStore, ids: string[]): Promise<string[]> {
    const done: string[] = [];
    for (let i = 0; i < ids.length; i += 1_000) {
      const slice = ids.slice(i, i + 1_000);
      const records = await client.getMany(slice);
      records.forEach((r, k) => r?.status === 'completed' && done.push(slice[k]!));
    }
    return done;
  }

  it('runs 6,000 jobs on three nodes, each once, each shard server doing about a third of the work', async () => {
    const client = await system(3);
    const before = await Promise.all(servers.map((s) => s.commandCalls()));
    const ids = await submit(client, 6_000, 0);
    expect(ids).toHaveLength(6_000);
    await until(async () => (await completed(client, ids)).length === ids.length, 'every job to complete', 60_000);
    const after = await Promise.all(servers.map((s) => s.commandCalls()));
    const calls = after.map((n, i) => n - before[i]!);
    const total = calls.reduce((a, b) => a + b, 0);
    const shares = calls.map((n) => n / total);
    console.info(
      `6,000 jobs: started ${nodes.map((n) => n.started.length).join(' / ')} per node; Redis commands per server ${calls.join(' / ')} (${shares.map((s) => `${(s * 100).toFixed(1)}%`).join(' / ')})`,
    );
    const starts = nodes.flatMap((n) => n.started.map((line) => line.split(' ')[0]!));
    // No node died: no job ran twice.
    expect(starts).toHaveLength(6_000);
    expect(new Set(starts).size).toBe(6_000);
    for (const node of nodes) expect(node.started.length).toBeGreaterThan(0);
    for (const share of shares) {
      expect(share).toBeGreaterThan(0.23);
      expect(share).toBeLessThan(0.43);
    }
  }, 90_000);

  it('completes every acknowledged job after kill -9 of a node and of one shard’s Redis; the other shards keep completing meanwhile', async () => {
    const client = await system(3, { LEASE_MS: '1000' });
    const first = await submit(client, 1_500, 20);
    await until(() => nodes.reduce((n, node) => n + node.started.length, 0) > 300, 'work to be under way', 30_000);
    nodes[0]!.child.kill('SIGKILL');
    await servers[2]!.crash();
    const crashedAt = Date.now();
    // While shard 2's server is down: more work comes in, and the other shards' jobs complete.
    const during = await submit(client, 1_500, 20);
    const onLive = [...first, ...during].filter((id) => client.router.shardOf(id) !== 2);
    await until(async () => (await completed(client, onLive)).length === onLive.length, 'the live shards to complete their jobs', 60_000);
    console.info(`with shard 2 down, the live shards completed all ${onLive.length} of their jobs in ${Date.now() - crashedAt} ms`);
    await servers[2]!.restart();
    const acked = [...first, ...during];
    await until(async () => (await completed(client, acked)).length === acked.length, 'every acknowledged job to complete', 60_000);
    expect(await completed(client, acked)).toHaveLength(acked.length);
    const counts = await client.counts();
    expect(counts.queued + counts.running + counts.delayed).toBe(0);
  }, 120_000);

  it('is what the quickstart runs with a comma-separated REDIS_URL and REDIS_SHARDS', async () => {
    prefix = 'scalable-api'; // the quickstart's own; these servers are this suite's
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', quickstart], {
      env: { ...process.env, PORT: '0', LOG: 'off', DASHBOARD: 'off', REDIS_URL: urls().join(','), REDIS_SHARDS: '6' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('\n')) resolve(text);
        });
        child.once('exit', (code) => reject(new Error(`the quickstart exited with ${code}`)));
      });
      expect(banner).toContain('redis, 6 shards on 3 servers');
      const base = /listening on (http:\/\/[^ ]+)/.exec(banner)![1]!;
      const ids = new Set<string>();
      for (let i = 0; i < 24; i++) {
        const response = await fetch(`${base}/jobs/echo`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', prefer: 'wait=10' },
          body: JSON.stringify({ i }),
        });
        expect(response.status).toBe(200);
        const body = (await response.json()) as { id: string; output: unknown };
        expect(body.output).toEqual({ i });
        ids.add(body.id);
      }
      // One request per tick: the placement turns over every shard, and shard i lives on server i mod 3.
      const shards = new Set([...ids].map((id) => Number(id.split('.')[0])));
      expect([...shards].sort()).toEqual([0, 1, 2, 3, 4, 5]);
      const reader = createRedisStore({ shards: [0, 1, 2, 3, 4, 5].map((i) => urls()[i % 3]!) });
      try {
        for (const id of ids) expect(await reader.get(id)).toMatchObject({ status: 'completed' });
      } finally {
        await reader.close();
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
