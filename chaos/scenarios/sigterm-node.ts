import { ChaosCluster } from '../chaos-cluster.js';
import { until, type ProcessGroup } from '../process-group.js';
import { addRun, emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface SigtermNodeOptions {
  group: ProcessGroup;
  redisUrl: string;
  runs?: number;
  graceMs?: number;
}

/**
 * SIGTERM of a node with a grace period, while a backlog waits: jobs shorter than the grace
 * finish on the leaving node, longer ones are handed back when the grace runs out and run
 * elsewhere at once (not after a lease). The lease is long (10 s) so that a hand-back that
 * silently failed would show as a 10 s recovery.
 */
export async function sigtermNodeScenario(options: SigtermNodeOptions): Promise<ScenarioReport> {
  const { group, redisUrl, runs = 3, graceMs = 2_000 } = options;
  const leaseMs = 10_000;
  const report = emptyReport(
    'SIGTERM with a grace period',
    `SIGTERM a node running 10 short (500 ms) and 10 long (8 s) jobs, grace ${graceMs} ms, 40 more queued, leaseMs ${leaseMs}`,
    'SIGTERM → each handed-back job running again on another node',
  );
  for (let run = 0; run < runs; run++) {
    const cluster = new ChaosCluster(group, redisUrl, { LEASE_MS: String(leaseMs), GRACE_MS: String(graceMs) });
    try {
      const leaving = await cluster.startNode(`leaving-${run}`, { WORKERS: '20' });
      const short = await cluster.submit(
        'work',
        Array.from({ length: 10 }, () => ({ ms: 500 })),
      );
      const long = await cluster.submit(
        'work',
        Array.from({ length: 10 }, () => ({ ms: 8_000 })),
      );
      await until(() => leaving.started().length >= 20, 'the leaving node to start 20 jobs', 30_000);
      const backlog = await cluster.submit(
        'work',
        Array.from({ length: 40 }, () => ({ ms: 200 })),
      );
      const staying = await cluster.startNode(`staying-${run}`, { WORKERS: '20' });
      leaving.child.kill('SIGTERM');
      const termAt = Date.now();
      await until(() => !leaving.alive(), 'the leaving node to exit', graceMs + 10_000);
      const exitMs = Date.now() - termAt;
      const ids = [...short, ...long, ...backlog];
      await cluster.settled(ids, 40_000);
      const tally = await cluster.tally(ids);
      addRun(report, run, tally, { drift: await cluster.countsDrift(), unhealthy: cluster.unhealthy() });
      const records = await cluster.records(long);
      for (const record of records) if (record?.startedAt !== undefined && record.attempt >= 2) report.recovery.push(record.startedAt - termAt);
      const shortRecords = await cluster.records(short);
      const shortOnLeaving = shortRecords.filter((r) => (r?.output as { node?: string } | undefined)?.node === leaving.id).length;
      // Claim times from the store, not the order of START lines: a job claimed just before the
      // signal may print its START line after it.
      const claimedWhileDraining = (await cluster.records(backlog)).filter(
        (r) => (r?.output as { node?: string } | undefined)?.node === leaving.id && (r?.startedAt ?? 0) > termAt,
      ).length;
      report.notes.push(
        `run ${run}: exit ${leaving.child.exitCode} after ${exitMs} ms; ${shortOnLeaving}/10 short jobs finished on the leaving node; ` +
          `${records.filter((r) => (r?.attempt ?? 0) >= 2).length}/10 long jobs handed back; ${claimedWhileDraining} jobs claimed while draining; ` +
          `${staying.started().length} started on the staying node`,
      );
      if (leaving.child.exitCode !== 0)
        report.violations.push(`run ${run}: the leaving node exited with ${leaving.child.exitCode ?? leaving.child.signalCode}`);
      if (claimedWhileDraining > 0) report.violations.push(`run ${run}: the draining node claimed ${claimedWhileDraining} new jobs after SIGTERM`);
    } finally {
      await cluster.close();
    }
  }
  return report;
}
