import { Agent } from 'node:http';
import { quantile } from '../figures.js';
import { openLoad } from '../open-load.js';
import { sleep, until, type ProcessGroup } from '../process-group.js';
import { startQuickstart } from '../quickstart-process.js';
import { emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface OverloadOptions {
  group: ProcessGroup;
  redisUrl: string;
  seconds?: number;
}

/**
 * 10x overload, open model: the quickstart (Redis store) with 2 workers running `sleep {ms: 20}`
 * (capacity about 100 jobs/s) is offered 1,000 requests/s. The excess must be refused with 503
 * and Retry-After in milliseconds, nothing may hang or error, and every accepted job must
 * complete. `recovery` here is the latency of the 503s.
 */
export async function overloadScenario(options: OverloadOptions): Promise<ScenarioReport> {
  const { group, redisUrl, seconds = 60 } = options;
  const rate = 1_000;
  const report = emptyReport(
    '10x overload (open model)',
    `${rate} req/s for ${seconds} s at the quickstart (Redis store, 2 workers × sleep 20 ms ≈ 100 jobs/s, QUEUE_LIMIT 200)`,
    'latency of a 503',
  );
  const server = await startQuickstart(group, 'overload', { REDIS_URL: redisUrl, WORKERS: '2', QUEUE_LIMIT: '200' });
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  try {
    const url = `${server.base}/jobs/sleep`;
    // Warm-up at capacity, not counted.
    await openLoad({ url, rate: 100, seconds: 2, body: '{"ms":20}', agent });
    const outcomes = await openLoad({ url, rate, seconds, body: '{"ms":20}', agent, timeoutMs: 10_000 });
    const accepted = outcomes.filter((o) => o.status === 202).map((o) => (JSON.parse(o.body) as { id: string }).id);
    const notDurable = outcomes.filter((o) => o.status === 202 && (JSON.parse(o.body) as { durable?: unknown }).durable !== true).length;
    if (notDurable > 0) report.violations.push(`${notDurable} 202 answers of the Redis-store server did not say durable: true`);
    const refused = outcomes.filter((o) => o.status === 503);
    const other = outcomes.filter((o) => o.status !== 202 && o.status !== 503);
    const withoutRetryAfter = refused.filter((o) => o.headers['retry-after'] === undefined).length;
    report.recovery = refused.map((o) => o.ms);
    // Let the accepted backlog drain (bounded), then look every accepted job up.
    const statusOf = async (id: string) => ((await (await fetch(`${server.base}/jobs/${id}`)).json()) as { status: string }).status;
    await until(async () => (await statusOf(accepted[accepted.length - 1]!)) === 'completed', 'the last accepted job to complete', 60_000, 200);
    await sleep(500);
    let completed = 0;
    const lost: string[] = [];
    for (let i = 0; i < accepted.length; i += 100) {
      const statuses = await Promise.all(accepted.slice(i, i + 100).map(statusOf));
      statuses.forEach((status, j) => (status === 'completed' ? completed++ : lost.push(`${accepted[i + j]} ${status}`)));
    }
    report.runs = 1;
    report.accepted = accepted.length;
    report.completed = completed;
    report.lost = lost.length;
    const acceptedMs = outcomes.filter((o) => o.status === 202).map((o) => o.ms);
    report.notes.push(
      `sent ${outcomes.length}: ${accepted.length} accepted (202), ${refused.length} refused (503), ${other.length} other ` +
        `(${[...new Set(other.map((o) => o.status))].join(', ') || 'none'})`,
      `accepted latency p50 ${quantile(acceptedMs, 0.5).toFixed(1)} ms, p99 ${quantile(acceptedMs, 0.99).toFixed(1)} ms; 503 p50 ${quantile(report.recovery, 0.5).toFixed(1)} ms, p99 ${quantile(report.recovery, 0.99).toFixed(1)} ms`,
    );
    for (const line of lost.slice(0, 5)) report.violations.push(`accepted but ${line}`);
    if (other.length > 0) report.violations.push(`${other.length} requests neither accepted nor refused with 503 (timeouts or errors)`);
    if (withoutRetryAfter > 0) report.violations.push(`${withoutRetryAfter} 503s without Retry-After`);
    if (refused.length === 0) report.violations.push('nothing was refused: the load did not overload the server');
  } finally {
    agent.destroy();
    server.child.kill('SIGKILL');
    await server.exited;
  }
  return report;
}
