import { ChaosCluster } from '../chaos-cluster.js';
import { startPrivateRedis } from '../private-redis.js';
import { sleep, type ProcessGroup } from '../process-group.js';
import { addRun, emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface RedisRestartOptions {
  group: ProcessGroup;
  appendfsync: 'always' | 'everysec';
  runs?: number;
  /** How long Redis stays down. */
  downMs?: number;
}

/**
 * kill -9 of Redis itself (AOF on) under a steady stream of submits, then a restart on the same
 * port and data directory. An acknowledged enqueue (the store call resolved `ok`) that is missing
 * after the restart is the loss window of the fsync policy; every job that is there must still
 * complete. A process crash keeps what the OS page cache holds, so this measures the Redis-crash
 * window only; a power loss (the `everysec` second) cannot be produced on loopback.
 */
export async function redisRestartScenario(options: RedisRestartOptions): Promise<ScenarioReport> {
  const { group, appendfsync, runs = 3, downMs = 1_000 } = options;
  const report = emptyReport(
    `Redis restart, appendfsync ${appendfsync}`,
    `kill -9 redis-server (appendonly yes, appendfsync ${appendfsync}) during 250 submits/s of 200 ms jobs, restart after ${downMs} ms; 2 nodes × 32 workers`,
    'Redis crash → each job pending at the crash completed',
  );
  for (let run = 0; run < runs; run++) {
    const redis = await startPrivateRedis(group, ['--appendonly', 'yes', '--appendfsync', appendfsync]);
    const cluster = new ChaosCluster(group, redis.url, { LEASE_MS: '1000', WORKERS: '32' });
    try {
      await Promise.all([cluster.startNode(`a-${run}`), cluster.startNode(`b-${run}`)]);
      const acked: string[] = [];
      let refused = 0;
      let crashAt = 0;
      let backAt = 0;
      let restarted: Promise<void> | undefined;
      let pendingAtCrash: string[] = [];
      // 5 jobs every 20 ms for 6 s; the crash comes at 2 s. Submits run concurrently with the
      // crash, as an HTTP front's would.
      const submits: Promise<void>[] = [];
      const began = Date.now();
      for (let tick = 0; tick < 300; tick++) {
        if (crashAt === 0 && Date.now() - began >= 2_000) {
          const records = await cluster.records(acked);
          pendingAtCrash = acked.filter((_, i) => records[i]?.status !== 'completed');
          await redis.crash();
          crashAt = Date.now();
          restarted = sleep(downMs).then(async () => {
            await redis.restart();
            backAt = Date.now();
          });
          // Awaited below; a Redis that does not come back fails the scenario there.
          restarted.catch(() => undefined);
        }
        submits.push(
          cluster
            .submit(
              'work',
              Array.from({ length: 5 }, () => ({ ms: 200 })),
            )
            .then(
              (ids) => void acked.push(...ids),
              () => void (refused += 5),
            ),
        );
        await sleep(20);
      }
      await Promise.all(submits);
      await restarted;
      await cluster.settled(acked, 60_000);
      const tally = await cluster.tally(acked);
      addRun(report, run, tally, { drift: await cluster.countsDrift(), unhealthy: cluster.unhealthy() });
      const records = await cluster.records(pendingAtCrash);
      for (const record of records) if (record?.status === 'completed') report.recovery.push(record.finishedAt! - crashAt);
      const missing = [...tally.outcomes.values()].filter((o) => o === 'missing').length;
      report.notes.push(
        `run ${run}: ${acked.length} acknowledged, ${refused} refused while Redis was down, ${missing} acknowledged but missing after the restart, Redis down ${backAt - crashAt} ms`,
      );
    } finally {
      await cluster.close();
      await redis.stop();
    }
  }
  return report;
}
