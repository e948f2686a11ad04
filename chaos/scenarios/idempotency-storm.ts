import { Agent } from 'node:http';
import { Redis } from 'ioredis';
import { post } from '../open-load.js';
import type { ProcessGroup } from '../process-group.js';
import { startQuickstart } from '../quickstart-process.js';
import { emptyReport, type ScenarioReport } from '../scenario-report.js';
import { startPrivateRedis } from '../private-redis.js';

export interface IdempotencyStormOptions {
  group: ProcessGroup;
  runs?: number;
  requests?: number;
}

/**
 * 1,000 identical requests with one Idempotency-Key, all in flight at once, split over two
 * quickstart nodes sharing one Redis: exactly one job may exist, and every answer must name it.
 * Each run has a Redis of its own, so counting the jobs in it is exact.
 */
export async function idempotencyStormScenario(options: IdempotencyStormOptions): Promise<ScenarioReport> {
  const { group, runs = 3, requests = 1_000 } = options;
  const report = emptyReport(
    '1,000 concurrent requests, one Idempotency-Key',
    `${requests} concurrent POSTs with one key over 2 quickstart nodes (Redis store)`,
    '',
  );
  for (let run = 0; run < runs; run++) {
    const redis = await startPrivateRedis(group);
    const nodes = await Promise.all([0, 1].map((i) => startQuickstart(group, `idem-${run}-${i}`, { REDIS_URL: redis.url })));
    const agent = new Agent({ keepAlive: true, maxSockets: requests });
    try {
      const key = `storm-${run}-${Date.now()}`;
      const outcomes = await Promise.all(
        Array.from({ length: requests }, (_, i) => post(`${nodes[i % 2]!.base}/jobs/sleep`, '{"ms":100}', agent, { 'idempotency-key': key }, 30_000)),
      );
      const ids = new Set(outcomes.filter((o) => o.status === 202 || o.status === 200).map((o) => (JSON.parse(o.body) as { id: string }).id));
      const statuses = new Map<number, number>();
      for (const o of outcomes) statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
      const replayed = outcomes.filter((o) => o.headers['idempotent-replayed'] === 'true').length;
      // 409 IDEMPOTENCY_IN_FLIGHT (with Retry-After) is the documented answer while the first
      // request with the key is being accepted; a retry after it must get the job.
      const inFlight = outcomes.filter(
        (o) => o.status === 409 && o.body.includes('IDEMPOTENCY_IN_FLIGHT') && o.headers['retry-after'] !== undefined,
      ).length;
      const retry = await post(`${nodes[1]!.base}/jobs/sleep`, '{"ms":100}', agent, { 'idempotency-key': key });
      const retryId = retry.status === 202 || retry.status === 200 ? (JSON.parse(retry.body) as { id: string }).id : undefined;
      const client = new Redis(redis.url);
      const jobKeys = (await client.keys('*:j:*')).length;
      client.disconnect();
      report.runs++;
      report.accepted += ids.size;
      report.duplicated += Math.max(0, jobKeys - 1);
      report.notes.push(
        `run ${run}: statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${ids.size} distinct id(s), ${replayed} replayed, ${inFlight} told to retry (409), ${jobKeys} job(s) in Redis; a retry afterwards got the same job: ${retryId !== undefined && ids.has(retryId)}`,
      );
      if (ids.size !== 1 || jobKeys !== 1)
        report.violations.push(`run ${run}: ${ids.size} ids answered, ${jobKeys} jobs stored; expected exactly one`);
      if ((statuses.get(202) ?? 0) + (statuses.get(200) ?? 0) + inFlight !== requests)
        report.violations.push(`run ${run}: some answers were neither the job nor 409 IDEMPOTENCY_IN_FLIGHT with Retry-After`);
      if (retryId === undefined || !ids.has(retryId))
        report.violations.push(`run ${run}: a retry after the storm got ${retry.status} ${retry.body.slice(0, 200)}`);
    } finally {
      agent.destroy();
      for (const node of nodes) node.child.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
      await redis.stop();
    }
  }
  report.completed = report.accepted;
  return report;
}
