import { ChaosCluster } from '../chaos-cluster.js';
import { until, type ProcessGroup } from '../process-group.js';
import { addRun, emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface KillNodeOptions {
  group: ProcessGroup;
  redisUrl: string;
  runs?: number;
  /** Jobs running on the victim when it is killed. */
  running?: number;
  jobMs?: number;
  leaseMs?: number;
}

/**
 * kill -9 of a node that holds `running` running jobs, with two other nodes up. Every one of its
 * jobs must run again elsewhere and complete; recovery is the time from the kill until each of
 * them is running again on another node (lease expiry + sweep + claim).
 */
export async function killNodeScenario(options: KillNodeOptions): Promise<ScenarioReport> {
  const { group, redisUrl, runs = 3, running = 100, jobMs = 3_000, leaseMs = 1_000 } = options;
  const report = emptyReport(
    'kill -9 of a node',
    `SIGKILL a node holding ${running} running jobs (${jobMs} ms each), 2 other nodes up, leaseMs ${leaseMs}`,
    'kill → each of its jobs running again on another node',
  );
  for (let run = 0; run < runs; run++) {
    const cluster = new ChaosCluster(group, redisUrl, { LEASE_MS: String(leaseMs) });
    try {
      // The survivors are up first but frozen while the victim claims, so that it alone holds
      // the jobs and the kill comes while they run, however slowly the processes start.
      const survivors = await Promise.all([
        cluster.startNode(`survivor-a-${run}`, { WORKERS: String(running) }),
        cluster.startNode(`survivor-b-${run}`, { WORKERS: String(running) }),
      ]);
      for (const survivor of survivors) survivor.child.kill('SIGSTOP');
      const victim = await cluster.startNode(`victim-${run}`, { WORKERS: String(running) });
      const ids = await cluster.submit(
        'work',
        Array.from({ length: running }, () => ({ ms: jobMs })),
      );
      await until(() => victim.started().length >= running, `the victim to start ${running} jobs`, 30_000);
      for (const survivor of survivors) survivor.child.kill('SIGCONT');
      const held = new Set(victim.started());
      victim.child.kill('SIGKILL');
      const killedAt = Date.now();
      await victim.exited;
      await cluster.settled(ids, 60_000 + jobMs);
      const tally = await cluster.tally(ids);
      const records = await cluster.records([...held]);
      for (const record of records) {
        if (record?.status !== 'completed') continue;
        report.recovery.push(record.startedAt! - killedAt);
        const node = (record.output as { node: string }).node;
        if (node === victim.id) report.violations.push(`run ${run}: ${record.id} is recorded as completed by the killed node`);
      }
      addRun(report, run, tally, { drift: await cluster.countsDrift(), unhealthy: cluster.unhealthy() });
      if (held.size !== running) report.notes.push(`run ${run}: the victim held ${held.size} jobs, expected ${running}`);
    } finally {
      await cluster.close();
    }
  }
  return report;
}
