import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { startNodeProcess, until, type NodeProcess } from '@scalable-api/test-support/node-process';
import { createRedisStore, type RedisStore } from '../src/index.js';
import { cleanUpNodes, describeWithRedis, redisUrl, testPrefix } from './redis-fixture.js';

const fixture = fileURLToPath(new URL('./fixtures/redis-node.ts', import.meta.url));

interface Node extends NodeProcess {
  /** The jobs it began, one entry per attempt, and the attempt each was. */
  started: string[];
  attempts: number[];
}

/** Finished trees every node's store and the test's keep: more than a test submits, so every record stays readable. */
const RETENTION = 100_000;

/** A real node in its own process, on loopback only; `started` lists the jobs it began. */
function startNode(id: string, prefix: string): Node {
  const started: string[] = [];
  const attempts: number[] = [];
  const env = { NODE_ID: id, REDIS_PREFIX: prefix, REDIS_URL: redisUrl, LEASE_MS: '1000', WORKERS: '4', RETENTION_COUNT: String(RETENTION) };
  const node = startNodeProcess(id, fixture, env, (line) => {
    if (!line.startsWith('START ')) return;
    const [jobId, attempt] = line.slice(6).split(' ');
    started.push(jobId!);
    attempts.push(Number(attempt));
  });
  return { ...node, started, attempts };
}

await describeWithRedis('createRedisStore across processes', () => {
  let nodes: Node[] = [];
  let store: RedisStore | undefined;
  let prefix = '';

  cleanUpNodes(() => ({ nodes, store, prefix }));

  async function cluster(count: number) {
    prefix = testPrefix();
    store = createRedisStore({ url: redisUrl, prefix, retention: { count: RETENTION } });
    nodes = Array.from({ length: count }, (_, i) => startNode(`node-${i + 1}`, prefix));
    await Promise.all(nodes.map((n) => n.ready));
    const submit = async (jobs: number, ms: number) => {
      const batch = Array.from({ length: jobs }, (_, i) => ({ id: `${prefix}-job-${i}`, name: 'work', input: { ms }, priority: 0 }));
      const outcomes = await store!.enqueue(batch, { limit: 100_000 });
      expect(outcomes.every((o) => o.ok)).toBe(true);
      return batch.map((j) => j.id);
    };
    const records = async (ids: string[]) => Promise.all(ids.map(async (id) => (await store!.get(id))!));
    const allCompleted = async (ids: string[]) => (await records(ids)).every((r) => r.status === 'completed');
    return { store: store, submit, records, allCompleted };
  }

  it('shares the jobs of one store among three nodes, each running some', async () => {
    const { submit, records, allCompleted } = await cluster(3);
    // Jobs long enough that no node can drain the queue before the others claim: each node holds
    // at most its 4 workers' worth at a time.
    const ids = await submit(24, 300);
    await until(() => allCompleted(ids), 'all 24 jobs to complete', 40_000);
    const ranOn = new Set((await records(ids)).map((r) => (r.output as { node: string }).node));
    expect([...ranOn].sort()).toEqual(['node-1', 'node-2', 'node-3']);
    for (const node of nodes) expect(node.started.length).toBeGreaterThan(0);
  }, 45_000);

  it('runs 20,000 no-op jobs across three nodes, each completed once, each node some', async () => {
    const { store } = await cluster(3);
    const jobs = 20_000;
    // Submitted in batches, as a front end would, while the nodes already claim.
    for (let offset = 0; offset < jobs; offset += 2_000) {
      const batch = Array.from({ length: 2_000 }, (_, i) => ({ id: `${prefix}-bulk-${offset + i}`, name: 'work', input: { ms: 0 }, priority: 0 }));
      const outcomes = await store.enqueue(batch, { limit: 100_000 });
      expect(outcomes.every((o) => o.ok)).toBe(true);
    }
    const started = () => nodes.reduce((sum, node) => sum + node.started.length, 0);
    await until(
      async () => {
        const counts = await store.counts();
        return started() >= jobs && counts.queued + counts.running + counts.delayed === 0;
      },
      'all 20,000 jobs to run',
      60_000,
    );
    // What is guaranteed is at least once: a node held up past its 1 s lease (this machine is
    // shared and often loaded) loses its jobs to another node, which runs them again. So: every
    // job ran, no attempt ran twice, and every job completed exactly once, with the result of
    // its last attempt; a job that ran more than once did so because its lease ran out.
    const starts = nodes.flatMap((node) => node.started.map((id, i) => ({ id, attempt: node.attempts[i]! })));
    const ids = Array.from({ length: jobs }, (_, i) => `${prefix}-bulk-${i}`);
    expect(new Set(starts.map((s) => s.id))).toEqual(new Set(ids));
    expect(new Set(starts.map((s) => `${s.id}#${s.attempt}`)).size).toBe(starts.length);
    expect((await store.counts()).completed).toBe(jobs);
    const lastAttempt = new Map<string, number>();
    for (const { id, attempt } of starts) lastAttempt.set(id, Math.max(attempt, lastAttempt.get(id) ?? 0));
    const records = await store.getMany(ids);
    for (const record of records) {
      expect(record).toMatchObject({ status: 'completed', attempt: lastAttempt.get(record!.id) });
      expect((record!.output as { attempt: number }).attempt).toBe(record!.attempt);
    }
    const rerun = [...lastAttempt].filter(([, attempt]) => attempt > 1).map(([id]) => id);
    for (const id of rerun) {
      const events = (await store.events(id, 0)).map((e) => e.type);
      expect(events.filter((type) => type === 'job.completed')).toHaveLength(1);
      // Taken back after a lapse (queued again without a retry), then started again.
      expect(events.filter((type) => type === 'job.started').length).toBe(lastAttempt.get(id));
      expect(events.filter((type) => type === 'job.queued').length).toBe(lastAttempt.get(id));
    }
    for (const node of nodes) expect(node.started.length).toBeGreaterThan(0);
    console.info(
      `20,000 jobs split ${nodes.map((n) => n.started.length).join(' / ')} across three nodes; ${starts.length - jobs} extra starts after lapsed leases (${rerun.length} jobs)`,
    );
  }, 90_000);

  it('completes every job on the other nodes when a node holding running jobs is killed with SIGKILL', async () => {
    const { submit, records, allCompleted } = await cluster(3);
    const ids = await submit(24, 400);
    const victim = nodes[0]!;
    await until(() => victim.started.length > 0, 'the first node to start a job');
    const heldByVictim = [...victim.started];
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await until(async () => (await records(heldByVictim)).every((r) => r.status === 'completed'), 'the dead node’s jobs to complete', 40_000);
    // A figure, not a threshold: lease (1 s) + sweep + one run of the job (0.4 s).
    console.info(`recovered ${heldByVictim.length} jobs of a SIGKILLed node in ${Date.now() - killedAt} ms`);
    await until(() => allCompleted(ids), 'all 24 jobs to complete after the kill', 40_000);
    const finished = await records(ids);
    expect(finished.map((r) => r.status)).toEqual(ids.map(() => 'completed'));
    for (const id of heldByVictim) {
      const record = finished.find((r) => r.id === id)!;
      // Whatever the dead node had started was run again elsewhere, under a later attempt.
      expect((record.output as { node: string }).node).not.toBe(victim.id);
      expect(record.attempt).toBeGreaterThanOrEqual(2);
    }
  }, 45_000);

  it('runs the children of one tree on several nodes', async () => {
    const { store: client } = await cluster(3);
    await client.enqueue([{ id: `${prefix}-tree`, name: 'fan', input: { width: 12, ms: 300 }, priority: 0 }], { limit: 100 });
    await until(async () => (await client.get(`${prefix}-tree`))?.status === 'completed', 'the tree to complete', 40_000);
    const output = (await client.get(`${prefix}-tree`))!.output as { children: string[] };
    expect(output.children).toHaveLength(12);
    expect(new Set(output.children).size).toBeGreaterThan(1);
  }, 45_000);

  it('re-runs a parent whose node died and gives it the children it already spawned', async () => {
    const { store: client } = await cluster(3);
    const id = `${prefix}-tree`;
    await client.enqueue([{ id, name: 'fan', input: { width: 6, ms: 600 }, priority: 0 }], { limit: 100 });
    await until(async () => (await client.get(id))?.childCount === 6, 'the parent to spawn its children');
    const parentNode = nodes.find((n) => n.started.includes(id))!;
    parentNode.child.kill('SIGKILL');
    await until(async () => (await client.get(id))?.status === 'completed', 'the tree to complete after the kill', 40_000);
    const parent = (await client.get(id))!;
    expect(parent.attempt).toBeGreaterThanOrEqual(2);
    // The spawn keys held: no second set of children.
    expect(parent.childCount).toBe(6);
    expect((await client.children(id)).map((c) => c.status)).toEqual(Array(6).fill('completed'));
  }, 45_000);
});
