import { ChaosCluster } from '../chaos-cluster.js';
import { spread } from '../figures.js';
import { startPrivateRedis } from '../private-redis.js';
import { sleep, type ProcessGroup } from '../process-group.js';
import { auditSettlements } from '../settlement-audit.js';
import { addRun, emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface EventLoopStallOptions {
  group: ProcessGroup;
  /** How long the load lasts; one stall every `everyMs` of it. */
  seconds?: number;
  everyMs?: number;
}

const leaseMs = 1_000;

/**
 * One node's event loop stalls for 2 × `leaseMs` every 10 s (SIGUSR2 makes it spin), under a
 * steady load of jobs and trees on three nodes. Every job the stalled node held loses its lease;
 * when the loop runs again the node may find the job re-claimed elsewhere — or claim it again
 * itself, the case that once quarantined healthy jobs (attempts keyed by id alone: the old attempt
 * removed the new one's entry, which then got no renewals). A stall is not the job's fault: no
 * job may end `JOB_QUARANTINED`; each completes once, or runs again with its stale attempt fenced
 * (the record keeps the newest attempt's result, and the job settles exactly once).
 */
export async function eventLoopStallScenario(options: EventLoopStallOptions): Promise<ScenarioReport> {
  const { group, seconds = 60, everyMs = 10_000 } = options;
  const stallMs = 2 * leaseMs;
  const report = emptyReport(
    'event-loop stall of 2 × leaseMs every 10 s',
    `one of 3 nodes (12 workers each) spins ${stallMs} ms every ${everyMs / 1_000} s for ${seconds} s, then once more with the other two frozen (leaseMs ${leaseMs}, maxStalls 3); 10 jobs/s of 0.5–4 s and 1.25 trees/s of 4 (4 and 0.5 alone)`,
    'stall start → each job it held running again',
  );
  const redis = await startPrivateRedis(group);
  const cluster = new ChaosCluster(group, redis.url, { LEASE_MS: String(leaseMs), WORKERS: '12', STALL_MS: String(stallMs) });
  try {
    const nodes = await Promise.all([0, 1, 2].map((i) => cluster.startNode(`l${i}`)));
    const stalled = nodes[0]!;
    const roots: string[] = [];
    const trees: string[] = [];
    const pending: Promise<void>[] = [];
    const random = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));
    const stallsAt: number[] = [];
    const began = Date.now();
    /** Submits 1 job per tick and a tree every 8th; stalls the node every `everyMs` from `firstStallMs`. */
    const load = async (forMs: number, tickMs: number, firstStallMs: number) => {
      const from = Date.now();
      let nextStall = from + firstStallMs;
      for (let tick = 0; Date.now() - from < forMs; tick++) {
        pending.push(cluster.submit('work', [{ ms: random(500, 4_000) }]).then((ids) => void roots.push(...ids)));
        if (tick % 8 === 0)
          pending.push(cluster.submit('fan', [{ width: 4, ms: random(500, 4_000) }]).then((ids) => void (roots.push(...ids), trees.push(...ids))));
        if (Date.now() >= nextStall) {
          stalled.child.kill('SIGUSR2');
          stallsAt.push(Date.now());
          nextStall += everyMs;
        }
        await sleep(tickMs);
      }
    };
    await load(seconds * 1_000, 100, everyMs / 2);
    // Then the stalled node alone (the others frozen): every job it loses in a stall can only
    // be claimed again by itself — the case of the old quarantine bug. A quiet gap first, so the
    // frozen nodes hold (almost) no leases that would run out for reasons other than the stall.
    await sleep(2_500);
    for (const node of nodes.slice(1)) node.child.kill('SIGSTOP');
    await load(everyMs, 250, 3_000);
    for (const node of nodes.slice(1)) node.child.kill('SIGCONT');
    await Promise.all(pending);
    await cluster.settled(roots, 60_000);
    const children = (await Promise.all(trees.map((id) => cluster.store.children(id)))).flatMap((list) => list.map((c) => c.id));
    const all = [...roots, ...children];
    const allSettled = await cluster.settled(all, 60_000);
    const tally = await cluster.tally(all);
    addRun(report, 0, tally, { drift: await cluster.countsDrift(), unhealthy: cluster.unhealthy() });
    if (!allSettled) report.violations.push('not every job settled within 60 s of the end of the load');

    const quarantined = all.filter((id) => tally.outcomes.get(id) === 'JOB_QUARANTINED');
    if (quarantined.length > 0) report.violations.push(`${quarantined.length} healthy jobs quarantined (JOB_QUARANTINED), e.g. ${quarantined[0]}`);
    // Fencing: the result kept is the newest attempt's, and each job settled once.
    const records = await cluster.records(all);
    let staleKept = 0;
    let reran = 0;
    let sameNodeReclaims = 0;
    const stalls = stalled.lines.filter((l) => l.startsWith('STALL ')).map((l) => l.split(' ').slice(1).map(Number) as [number, number]);
    for (const record of records) {
      if (!record) continue;
      const output = record.output as { attempt?: number } | undefined;
      if (record.status === 'completed' && output?.attempt !== record.attempt) {
        staleKept++;
        report.violations.push(`${record.id} completed with the result of attempt ${output?.attempt}, its record is at attempt ${record.attempt}`);
      }
      if (record.attempt > 1) {
        reran++;
        const hit = stalls.find(([from, to]) => record.startedAt !== undefined && record.startedAt >= from && record.startedAt <= to + 5_000);
        if (hit && record.startedAt !== undefined) report.recovery.push(record.startedAt - hit[0]);
        if (stalled.lines.filter((l) => l.startsWith(`START ${record.id} `)).length > 1) sameNodeReclaims++;
      }
    }
    const audit = await auditSettlements(cluster.store, all);
    for (const id of audit.twice.slice(0, 5)) report.violations.push(`${id} settled more than once (its event log)`);
    for (const id of audit.none.slice(0, 5)) report.violations.push(`${id} has no settled event`);
    const measured = stalls.map(([from, to]) => to - from);
    report.notes.push(
      `${stalls.length} stalls of ${spread(measured)} (asked ${stallMs} ms) at +${stallsAt.map((t) => ((t - began) / 1_000).toFixed(1)).join(', +')} s`,
      `${all.length} jobs (${roots.length - trees.length} plain, ${trees.length} trees of 4): ${tally.completed} completed, ${quarantined.length} quarantined; ${reran} ran more than one attempt (${sameNodeReclaims} of them started twice on the stalled node itself), ${tally.duplicated} side effects run twice`,
      `fencing: ${staleKept} records kept a stale attempt's result; settled events per job: ${audit.twice.length} with more than one, ${audit.none.length} with none`,
    );
  } finally {
    await cluster.close();
    await redis.stop();
  }
  return report;
}
