import { ChaosCluster } from '../chaos-cluster.js';
import { readLedger } from '../ledger.js';
import { sleep, until, type ProcessGroup } from '../process-group.js';
import { addRun, emptyReport, type ScenarioReport } from '../scenario-report.js';
import { startTcpProxy } from '@scalable-api/test-support/tcp-proxy';

export interface PartitionNodeOptions {
  group: ProcessGroup;
  redisUrl: string;
  runs?: number;
}

/**
 * A node that keeps running but loses Redis for longer than its lease (a loopback TCP proxy
 * that drops its connections and refuses new ones), then gets it back. Its jobs finish while it
 * is cut off; it cannot record them, keeps trying, and after the heal its settlements arrive
 * with old fencing tokens, after another node took the jobs over. They must change nothing, and
 * the node must stay healthy and go on working.
 */
export async function partitionNodeScenario(options: PartitionNodeOptions): Promise<ScenarioReport> {
  const { group, redisUrl, runs = 3 } = options;
  const leaseMs = 1_000;
  const report = emptyReport(
    'node partitioned from Redis past its lease, then healed',
    `a TCP proxy drops a running node's Redis connections for 4 s (leaseMs ${leaseMs}) while it runs 10 jobs (3 s each); 1 other node`,
    'cut → each of its jobs running again on the other node',
  );
  let fenced = 0;
  let staleDone = 0;
  for (let run = 0; run < runs; run++) {
    const proxy = await startTcpProxy(Number(new URL(redisUrl).port));
    const cluster = new ChaosCluster(group, redisUrl, { LEASE_MS: String(leaseMs), WORKERS: '10' });
    try {
      const other = await cluster.startNode(`direct-${run}`);
      other.child.kill('SIGSTOP'); // so that the partitioned node alone claims the jobs
      const cutOff = await cluster.startNode(`proxied-${run}`, { REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
      const ids = await cluster.submit(
        'work',
        Array.from({ length: 10 }, () => ({ ms: 3_000 })),
      );
      await until(() => cutOff.started().length >= 10, 'the proxied node to start 10 jobs', 30_000);
      other.child.kill('SIGCONT');
      await proxy.cut();
      const cutAt = Date.now();
      await sleep(4_000);
      await proxy.heal();
      await cluster.settled(ids, 30_000);
      // The healed node must work again: with the other node frozen, only it can run these.
      other.child.kill('SIGSTOP');
      const more = await cluster.submit(
        'work',
        Array.from({ length: 20 }, () => ({ ms: 200 })),
      );
      await cluster.settled(more, 30_000);
      other.child.kill('SIGCONT');
      const tally = await cluster.tally([...ids, ...more]);
      addRun(report, run, tally, { drift: await cluster.countsDrift(), unhealthy: cluster.unhealthy() });
      const ledger = readLedger(cluster.ledgerDir);
      for (const record of await cluster.records(ids)) {
        if (!record) continue;
        if (record.startedAt !== undefined) report.recovery.push(record.startedAt - cutAt);
        if (ledger.get(record.id)?.some((e) => e.node === cutOff.id)) staleDone++;
        if ((record.output as { node?: string } | undefined)?.node === cutOff.id) {
          report.violations.push(`run ${run}: ${record.id} kept the result of the partitioned node's attempt ${record.attempt}`);
        } else fenced++;
      }
      const afterHeal = (await cluster.records(more)).filter((r) => (r?.output as { node?: string } | undefined)?.node === cutOff.id).length;
      report.notes.push(`run ${run}: ${afterHeal}/20 later jobs ran on the healed node`);
    } finally {
      await cluster.close();
      await proxy.close();
    }
  }
  report.notes.unshift(
    `${fenced} jobs taken over during the partition, all kept the newer attempt's result; ${staleDone} attempts of the cut-off node finished their work anyway (the duplicates) and none overwrote a record`,
  );
  return report;
}
