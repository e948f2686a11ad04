import { ChaosCluster } from '../chaos-cluster.js';
import { ms, spread } from '../figures.js';
import { readLedger } from '../ledger.js';
import { startPrivateRedis } from '../private-redis.js';
import { sleep, type ProcessGroup } from '../process-group.js';
import { auditSettlements, history } from '../settlement-audit.js';
import { addRun, emptyReport, type ScenarioReport } from '../scenario-report.js';
import { startTcpProxy } from '@scalable-api/test-support/tcp-proxy';

export interface BlackholePartitionOptions {
  group: ProcessGroup;
  runs?: number;
  /** How long the black hole lasts. */
  holeMs?: number;
}

const leaseMs = 1_000;
const commandTimeoutMs = 500;

/**
 * A partition that drops packets silently: the proxy in front of one node's Redis connections
 * stops forwarding without closing anything (`TcpProxy.blackhole`), so no error, no FIN, no
 * reconnect — only the node's command timeout (`COMMAND_TIMEOUT_MS`, ioredis `commandTimeout`)
 * can tell it. Meanwhile the other nodes must keep completing, and take the cut-off node's jobs
 * over after one lease; after the heal, what the cut-off node sent during the hole reaches Redis
 * late (its stale settlements are fenced), and the node must resume work: nothing stuck.
 */
export async function blackholePartitionScenario(options: BlackholePartitionOptions): Promise<ScenarioReport> {
  const { group, runs = 3, holeMs = 6_000 } = options;
  const report = emptyReport(
    'partition that drops packets silently, healed',
    `a relay in front of one of 3 nodes stops forwarding (no close) for ${holeMs / 1_000} s under 10 jobs/s of 0.2–1 s (leaseMs ${leaseMs}, commandTimeout ${commandTimeoutMs} ms)`,
    'hole → each job of the cut-off node running again elsewhere',
  );
  const redis = await startPrivateRedis(group);
  try {
    for (let run = 0; run < runs; run++) {
      const proxy = await startTcpProxy(redis.port);
      const cluster = new ChaosCluster(group, redis.url, { LEASE_MS: String(leaseMs), WORKERS: '8', COMMAND_TIMEOUT_MS: String(commandTimeoutMs) });
      try {
        const others = await Promise.all([0, 1].map((i) => cluster.startNode(`d${i}-${run}`)));
        const cut = await cluster.startNode(`b-${run}`, { REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
        const ids: string[] = [];
        const pending: Promise<void>[] = [];
        const random = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));
        const load = async (forMs: number) => {
          const from = Date.now();
          while (Date.now() - from < forMs) {
            pending.push(cluster.submit('work', [{ ms: random(200, 1_000) }]).then((more) => void ids.push(...more)));
            await sleep(100);
          }
        };
        await load(4_000);
        const heldAtHole = new Set(cut.started());
        proxy.blackhole();
        const holeAt = Date.now();
        await load(holeMs);
        await proxy.heal();
        const healedAt = Date.now();
        await load(6_000);
        await Promise.all(pending);
        const allSettled = await cluster.settled(ids, 60_000);
        // The healed node must work again: with the others frozen, only it can run these.
        for (const node of others) node.child.kill('SIGSTOP');
        const alone = await cluster.submit(
          'work',
          Array.from({ length: 16 }, () => ({ ms: 200 })),
        );
        const aloneSettled = await cluster.settled(alone, 20_000);
        for (const node of others) node.child.kill('SIGCONT');
        const all = [...ids, ...alone];
        await cluster.settled(all, 20_000);
        const tally = await cluster.tally(all);
        addRun(report, run, tally, { drift: await cluster.countsDrift(), unhealthy: cluster.unhealthy() });
        for (const id of tally.lost.slice(0, 3))
          report.violations.push(
            `run ${run}: ${id}'s events in ms from the hole (healed at +${healedAt - holeAt}): ${await history(cluster.store, id, holeAt)}`,
          );
        if (!allSettled) report.violations.push(`run ${run}: not every job settled within 60 s of the heal`);
        if (!aloneSettled) report.violations.push(`run ${run}: the healed node did not run the 16 jobs submitted while the others were frozen`);

        const records = new Map((await cluster.records(all)).flatMap((r) => (r ? [[r.id, r] as const] : [])));
        const ledger = readLedger(cluster.ledgerDir);
        const doneBy = (node: string, from: number, to: number) =>
          [...ledger.values()].flat().filter((e) => e.node === node && e.at >= from && e.at < to).length;
        const duringByOthers = others.reduce((sum, n) => sum + doneBy(n.id, holeAt, healedAt), 0);
        const afterByCut = doneBy(cut.id, healedAt + 1_000, Date.now());
        if (duringByOthers === 0) report.violations.push(`run ${run}: the other nodes completed nothing during the black hole`);
        const timeouts = cut.lines.filter((l) => l.startsWith('ERROR ') && /timed out/i.test(l));
        const detectedAt = timeouts.map((l) => Number(l.split(' ')[1])).find((at) => at >= holeAt);
        if (detectedAt === undefined) report.violations.push(`run ${run}: the cut-off node logged no command timeout`);
        // Jobs the node was running when the hole opened: started, side effect not yet written.
        const runningAtHole = [...heldAtHole].filter((id) => !(ledger.get(id) ?? []).some((e) => e.node === cut.id && e.at < holeAt));
        let staleKept = 0;
        for (const id of runningAtHole) {
          const record = records.get(id);
          if (!record) continue;
          const output = record.output as { node?: string; attempt?: number } | undefined;
          if (record.attempt > 1 && record.startedAt !== undefined && record.startedAt > holeAt) report.recovery.push(record.startedAt - holeAt);
          if (record.status === 'completed' && output?.attempt !== record.attempt) {
            staleKept++;
            report.violations.push(`run ${run}: ${id} kept the result of attempt ${output?.attempt}, its record is at ${record.attempt}`);
          }
        }
        const audit = await auditSettlements(cluster.store, all);
        for (const id of audit.twice.slice(0, 5)) report.violations.push(`run ${run}: ${id} settled more than once (its event log)`);
        for (const id of audit.none.slice(0, 5)) report.violations.push(`run ${run}: ${id} has no settled event`);
        // A claim whose reply timed out was still run by Redis once the hole healed: its jobs are
        // leased to a node that never learnt of them, and wait one lease.
        const unseen = all.filter((id) => (records.get(id)?.attempt ?? 0) > 1 && (ledger.get(id)?.length ?? 0) <= 1 && !heldAtHole.has(id)).length;
        report.notes.push(
          `run ${run}: detected ${detectedAt === undefined ? 'never' : `${ms(detectedAt - holeAt)} after the hole`} (${timeouts.length} command timeouts logged); ${duringByOthers} jobs completed by the other nodes during the ${holeMs / 1_000} s hole, ${afterByCut} by the healed node after it (${alone.filter((id) => (records.get(id)?.output as { node?: string } | undefined)?.node === cut.id).length}/16 alone); ${runningAtHole.length} jobs it was running at the hole, ${staleKept} stale results kept; ${unseen} other jobs ran a second attempt without a second run (a claim answered after its timeout); ${audit.twice.length} settled twice`,
        );
      } finally {
        await cluster.close();
        await proxy.close();
      }
    }
  } finally {
    await redis.stop();
  }
  report.notes.unshift(`hole → a held job running again elsewhere: ${spread(report.recovery)}`);
  return report;
}
