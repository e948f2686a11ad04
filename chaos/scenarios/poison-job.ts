import { ChaosCluster, type ChaosNode } from '../chaos-cluster.js';
import { sleep, type ProcessGroup } from '../process-group.js';
import { addRun, emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface PoisonJobOptions {
  group: ProcessGroup;
  redisUrl: string;
  runs?: number;
}

/**
 * A job that kills its process on every attempt, among ordinary jobs, on two nodes that an
 * orchestrator restarts when they die. After `maxStalls` (3) lost leases the poison job must end
 * `JOB_QUARANTINED` instead of crashing nodes forever; the ordinary jobs must all complete.
 */
export async function poisonJobScenario(options: PoisonJobOptions): Promise<ScenarioReport> {
  const { group, redisUrl, runs = 3 } = options;
  const report = emptyReport(
    'poison job (crashes its process)',
    'a job that SIGKILLs its own process on every attempt + 40 ordinary jobs (300 ms), 2 nodes restarted on exit, leaseMs 1000, maxStalls 3',
    'submit → the poison job quarantined',
  );
  for (let run = 0; run < runs; run++) {
    const cluster = new ChaosCluster(group, redisUrl, { LEASE_MS: '1000', WORKERS: '4' });
    let done = false;
    let restarts = 0;
    // The orchestrator: a node that dies is started again (bounded), as systemd or Kubernetes would.
    // A restarted node may claim the poison job and die before it even says READY.
    const keepAlive = async (id: string) => {
      for (let i = 0; i < 20 && !done; i++) {
        let node: ChaosNode | undefined;
        try {
          node = await cluster.startNode(id);
        } catch {
          // died while starting: counted below like any other death
        }
        if (node) await node.exited;
        if (done) return;
        restarts++;
        await sleep(100);
      }
    };
    try {
      const supervisors = [keepAlive(`p0-${run}`), keepAlive(`p1-${run}`)];
      await sleep(500);
      const submittedAt = Date.now();
      const [poison] = await cluster.submit('poison', [{}]);
      const ordinary = await cluster.submit(
        'work',
        Array.from({ length: 40 }, () => ({ ms: 300 })),
      );
      const ids = [poison!, ...ordinary];
      await cluster.settled(ids, 60_000);
      done = true;
      const tally = await cluster.tally(ids, (id) => (id === poison ? 'JOB_QUARANTINED' : 'completed'));
      addRun(report, run, tally, { drift: await cluster.countsDrift(), unhealthy: cluster.unhealthy() });
      const [record] = await cluster.records([poison!]);
      if (record?.finishedAt !== undefined) report.recovery.push(record.finishedAt - submittedAt);
      report.notes.push(`run ${run}: poison job ended ${tally.outcomes.get(poison!)} after ${record?.attempt} attempts; ${restarts} node restarts`);
      await cluster.stopNodes();
      await Promise.race([Promise.all(supervisors), sleep(5_000)]);
    } finally {
      done = true;
      await cluster.close();
    }
  }
  return report;
}
