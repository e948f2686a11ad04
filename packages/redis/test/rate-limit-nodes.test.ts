import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { startNodeProcess, type NodeProcess } from '@scalable-api/test-support/node-process';
import { newJobId } from '@scalable-api/core';
import { createRedisStore, type RedisStore } from '../src/index.js';
import { cleanUpNodes, describeWithRedis, redisUrl, testPrefix } from './redis-fixture.js';

const fixture = fileURLToPath(new URL('./fixtures/flow-node.ts', import.meta.url));
const RATE = 50;

interface Node extends NodeProcess {
  /** Epoch ms at which it started each job. */
  starts: number[];
}

function startNode(id: string, prefix: string): Node {
  const starts: number[] = [];
  const env = { NODE_ID: id, REDIS_PREFIX: prefix, REDIS_URL: redisUrl, RATE_MAX: String(RATE), RATE_PER_MS: '1000' };
  const node = startNodeProcess(id, fixture, env, (line) => {
    if (line.startsWith('START ')) starts.push(Number(line.split(' ')[2]));
  });
  return { ...node, starts };
}

// Real processes and real time: the store holds the limit whichever node claims. What the store
// guarantees is exact (never more than the bucket plus the rate over any span); that three nodes
// keep up with the rate is a liveness figure, checked at -10% over a few seconds.
await describeWithRedis('defineJob({ rateLimit }) across three processes on one Redis', () => {
  let nodes: Node[] = [];
  let store: RedisStore | undefined;
  let prefix = '';

  cleanUpNodes(() => ({ nodes, store, prefix }));

  it('starts 50 jobs/s across three nodes, within 10%, and never more than the bucket allows', { timeout: 30_000 }, async () => {
    prefix = testPrefix();
    nodes = ['flow-a', 'flow-b', 'flow-c'].map((id) => startNode(id, prefix));
    await Promise.all(nodes.map((n) => n.ready));
    store = createRedisStore({ url: redisUrl, prefix });
    const t0 = Date.now();
    const ids = Array.from({ length: 400 }, () => newJobId());
    await store.enqueue(
      ids.map((id) => ({ id, name: 'limited', input: {}, priority: 0 })),
      { limit: 100_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    // Every node took part.
    for (const node of nodes) expect(node.starts.length).toBeGreaterThan(0);
    // The bound is checked on the claim times the store wrote (each record's startedAt, the time
    // the rate gate counted it at), not on when a node got round to running the job: on a loaded
    // machine a job claimed early can start late and crowd in with the next claim's.
    const records = await Promise.all(ids.map((id) => store!.get(id)));
    const starts = records
      .map((record) => record?.startedAt)
      .filter((at): at is number => at !== undefined)
      .sort((a, b) => a - b);
    // The bucket (50) plus 50/s: in any span, at most 50 + span * 50/s (a few ms of slack for clocks read apart).
    for (let i = 0; i < starts.length; i++) {
      for (let j = i + RATE; j < starts.length; j++) {
        const spanMs = starts[j]! - starts[i]! + 25;
        expect(j - i + 1).toBeLessThanOrEqual(RATE + Math.floor((spanMs * RATE) / 1_000) + 1);
      }
    }
    // After the first burst, the steady rate over 3 s: 150 jobs, within 10%.
    const steady = starts.filter((t) => t > t0 + 1_000 && t <= t0 + 4_000).length;
    console.log(`rate limit 50/s over 3 nodes: ${steady} starts in 3 s after the burst (${(steady / 3).toFixed(1)} jobs/s); ${starts.length} in all`);
    expect(steady).toBeGreaterThanOrEqual(135);
    expect(steady).toBeLessThanOrEqual(165);
  });
});
