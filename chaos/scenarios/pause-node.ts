import { ChaosCluster } from '../chaos-cluster.js';
import { readLedger } from '../ledger.js';
import { sleep, until, type ProcessGroup } from '../process-group.js';
import { addRun, emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface PauseNodeOptions {
  group: ProcessGroup;
  redisUrl: string;
  runs?: number;
}

/**
 * A node cut off for longer than its lease, then healed: SIGSTOP freezes it (as a long GC pause,
 * a VM migration or a partition would), another node takes its jobs over, SIGCONT brings it back
 * with attempts that finish and try to settle under their old fencing tokens. Those settlements
 * must change nothing: every record keeps the newer attempt's result.
 */
export async function pauseNodeScenario(options: PauseNodeOptions): Promise<ScenarioReport> {
  const { group, redisUrl, runs = 3 } = options;
  const leaseMs = 1_000;
  const report = emptyReport(
    'node cut off past its lease, then healed',
    `SIGSTOP a node running 10 jobs (5 s each) for 4.5 s (leaseMs ${leaseMs}), SIGCONT; 1 other node`,
    'SIGSTOP → each of its jobs running again on the other node',
  );
  let fenced = 0;
  let staleDone = 0;
  for (let run = 0; run < runs; run++) {
    const cluster = new ChaosCluster(group, redisUrl, { LEASE_MS: String(leaseMs), WORKERS: '10' });
    try {
      const paused = await cluster.startNode(`paused-${run}`);
      // Long enough that the attempts are still running when the node is frozen (the other node
      // takes a few seconds to start); frozen long enough that their timers are overdue at
      // SIGCONT, so they finish at once, before any renewal can tell them they lost the lease,
      // while the other node's newer attempts still run: stale settlements arrive first.
      const ids = await cluster.submit(
        'work',
        Array.from({ length: 10 }, () => ({ ms: 5_000 })),
      );
      await until(() => paused.started().length >= 10, 'the node to start 10 jobs', 30_000);
      const startedAt = Date.now();
      await cluster.startNode(`other-${run}`);
      paused.child.kill('SIGSTOP');
      const stoppedAt = Date.now();
      if (stoppedAt - startedAt > 4_500)
        report.notes.push(`run ${run}: the node was frozen ${stoppedAt - startedAt} ms into its 5 s jobs: too late to test fencing`);
      await sleep(4_500);
      paused.child.kill('SIGCONT');
      // After healing it must go on working: more jobs, some of which it runs.
      const more = await cluster.submit(
        'work',
        Array.from({ length: 20 }, () => ({ ms: 200 })),
      );
      await cluster.settled([...ids, ...more], 30_000);
      const tally = await cluster.tally([...ids, ...more]);
      addRun(report, run, tally, { drift: await cluster.countsDrift(), unhealthy: cluster.unhealthy() });
      const ledger = readLedger(cluster.ledgerDir);
      const records = await cluster.records(ids);
      for (const record of records) {
        if (!record) continue;
        const node = (record.output as { node?: string } | undefined)?.node;
        if (record.startedAt !== undefined) report.recovery.push(record.startedAt - stoppedAt);
        const staleRan = ledger.get(record.id)?.some((e) => e.node === paused.id) ?? false;
        if (staleRan) staleDone++;
        if (node === paused.id)
          report.violations.push(`run ${run}: ${record.id} kept the result of the paused node's stale attempt ${record.attempt}`);
        else fenced++;
      }
      const afterHeal = (await cluster.records(more)).filter((r) => (r?.output as { node?: string } | undefined)?.node === paused.id).length;
      report.notes.push(`run ${run}: ${afterHeal}/20 later jobs ran on the healed node`);
    } finally {
      await cluster.close();
    }
  }
  report.notes.unshift(
    `${fenced} jobs taken over while the node was frozen; all kept the newer attempt's result; ${staleDone} stale attempts finished their work after SIGCONT (the duplicates) and none overwrote a record`,
  );
  return report;
}
