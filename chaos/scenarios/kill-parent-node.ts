import { ChaosCluster } from '../chaos-cluster.js';
import { readLedger } from '../ledger.js';
import { until, type ProcessGroup } from '../process-group.js';
import { addRun, emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface KillParentNodeOptions {
  group: ProcessGroup;
  redisUrl: string;
  runs?: number;
}

/**
 * kill -9 of the node running a parent while it waits for its children. The parent runs again
 * elsewhere, re-spawns with the same keys and gets the children it already had — finished ones
 * with their results — so the tree completes with exactly its original children.
 */
export async function killParentNodeScenario(options: KillParentNodeOptions): Promise<ScenarioReport> {
  const { group, redisUrl, runs = 3 } = options;
  const width = 8;
  const report = emptyReport(
    "kill -9 of a waiting parent's node",
    `SIGKILL the node of a parent waiting for ${width} keyed children (1 s each), 3 nodes, leaseMs 1000`,
    'kill → the parent running again on another node',
  );
  for (let run = 0; run < runs; run++) {
    const cluster = new ChaosCluster(group, redisUrl, { LEASE_MS: '1000', WORKERS: '4' });
    try {
      const nodes = await Promise.all([0, 1, 2].map((i) => cluster.startNode(`n${i}-${run}`)));
      const [parent] = await cluster.submit('fan', [{ width, ms: 1_000 }]);
      await until(
        async () => {
          const record = (await cluster.records([parent!]))[0];
          return record?.status === 'waitingChildren' && record.childCount === width;
        },
        'the parent to wait for its children',
        20_000,
      );
      const host = nodes.find((n) => n.started().includes(parent!))!;
      host.child.kill('SIGKILL');
      const killedAt = Date.now();
      await cluster.settled([parent!], 30_000);
      const children = await cluster.store.children(parent!);
      const ids = [parent!, ...children.map((c) => c.id)];
      const tally = await cluster.tally(ids);
      addRun(report, run, tally, { drift: await cluster.countsDrift(), unhealthy: cluster.unhealthy() });
      const [record] = await cluster.records([parent!]);
      if (record?.startedAt !== undefined) report.recovery.push(record.startedAt - killedAt);
      if (record?.childCount !== width || children.length !== width)
        report.violations.push(`run ${run}: the parent has ${children.length} children (childCount ${record?.childCount}), expected ${width}`);
      if ((record?.attempt ?? 0) < 2) report.violations.push(`run ${run}: the parent did not run again (attempt ${record?.attempt})`);
      const ledger = readLedger(cluster.ledgerDir);
      const childRuns = children.reduce((sum, c) => sum + (ledger.get(c.id)?.length ?? 0), 0);
      report.notes.push(`run ${run}: parent attempt ${record?.attempt}, ${children.length} children, ${childRuns} child executions`);
    } finally {
      await cluster.close();
    }
  }
  return report;
}
