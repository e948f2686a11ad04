import { ChaosCluster } from '../chaos-cluster.js';
import { sleep, type ProcessGroup } from '../process-group.js';
import { addRun, emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface CpuHogOptions {
  group: ProcessGroup;
  redisUrl: string;
  runs?: number;
}

/**
 * A job that blocks its node's event loop for 2.5x the lease on every attempt: no renewal can
 * run, so the node loses every lease it holds. The hog must end `JOB_QUARANTINED`; the ordinary
 * jobs that shared a node with it lose their leases too and must still complete.
 */
export async function cpuHogScenario(options: CpuHogOptions): Promise<ScenarioReport> {
  const { group, redisUrl, runs = 3 } = options;
  const leaseMs = 1_000;
  const report = emptyReport(
    'CPU hog blocks the event loop past the lease',
    `a job that spins for ${2.5 * leaseMs} ms on every attempt + 40 ordinary jobs (300 ms), 2 nodes, leaseMs ${leaseMs}, maxStalls 3`,
    'submit → the hog quarantined',
  );
  for (let run = 0; run < runs; run++) {
    const cluster = new ChaosCluster(group, redisUrl, { LEASE_MS: String(leaseMs), WORKERS: '4' });
    try {
      await Promise.all([cluster.startNode(`h0-${run}`), cluster.startNode(`h1-${run}`)]);
      const submittedAt = Date.now();
      const ordinary = await cluster.submit(
        'work',
        Array.from({ length: 20 }, () => ({ ms: 300 })),
      );
      const [hog] = await cluster.submit('hog', [{ ms: 2.5 * leaseMs }]);
      await sleep(50);
      ordinary.push(
        ...(await cluster.submit(
          'work',
          Array.from({ length: 20 }, () => ({ ms: 300 })),
        )),
      );
      const ids = [hog!, ...ordinary];
      await cluster.settled(ids, 60_000);
      const tally = await cluster.tally(ids, (id) => (id === hog ? 'JOB_QUARANTINED' : 'completed'));
      addRun(report, run, tally, { drift: await cluster.countsDrift(), unhealthy: cluster.unhealthy() });
      const [record] = await cluster.records([hog!]);
      if (record?.finishedAt !== undefined) report.recovery.push(record.finishedAt - submittedAt);
      const reruns = (await cluster.records(ordinary)).filter((r) => (r?.attempt ?? 0) > 1).length;
      report.notes.push(
        `run ${run}: hog ended ${tally.outcomes.get(hog!)} after ${record?.attempt} attempts; ${reruns} ordinary jobs ran more than once`,
      );
    } finally {
      await cluster.close();
    }
  }
  return report;
}
