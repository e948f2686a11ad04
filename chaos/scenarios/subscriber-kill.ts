import type { CancelResult } from '@scalable-api/core';
import { ChaosCluster } from '../chaos-cluster.js';
import { ms, spread } from '../figures.js';
import { readLedger } from '../ledger.js';
import { startPrivateRedis } from '../private-redis.js';
import { sleep, type ProcessGroup } from '../process-group.js';
import { startProducer } from '../producer-node.js';
import { auditSettlements, history } from '../settlement-audit.js';
import { addRun, emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface SubscriberKillOptions {
  group: ProcessGroup;
  /** How long the load and the kills last. */
  seconds?: number;
  /** Between two `CLIENT KILL TYPE pubsub`. */
  everyMs?: number;
}

interface Cancel {
  id: string;
  at: number;
  answer: CancelResult | 'error';
}

const leaseMs = 1_000;
const reconcileMs = 2_000;

/**
 * Signals are hints: every subscribed connection (three nodes' and the producer's) is killed every
 * 100 ms for a minute (`CLIENT KILL TYPE pubsub`, what Redis does itself to a slow subscriber),
 * under a load of plain jobs, trees and cancels. Whatever pub/sub drops, the records must carry
 * the system: a cancel answered `cancelling`/`cancelled` ends `cancelled` (it reaches a running
 * attempt through renew), a parent settles once its last child has (reconciliation), a result
 * waiter resolves, and every job settles exactly once.
 *
 * Cancelled jobs run 5 s and are cancelled within their first 2 s, so a cancel has seconds to
 * arrive: one that ends `completed` was lost, not outrun.
 */
export async function subscriberKillScenario(options: SubscriberKillOptions): Promise<ScenarioReport> {
  const { group, seconds = 60, everyMs = 100 } = options;
  const report = emptyReport(
    'subscriber connections killed every 100 ms',
    `CLIENT KILL TYPE pubsub every ${everyMs} ms for ${seconds} s; 3 nodes × 16 workers + a producer node; 10 jobs/s (¼ cancelled) and 1 tree/s of 6 (¼ cancelled); leaseMs ${leaseMs}, reconcileMs ${reconcileMs}`,
    'cancel call → the job cancelled',
  );
  const redis = await startPrivateRedis(group);
  const cluster = new ChaosCluster(group, redis.url, { LEASE_MS: String(leaseMs), WORKERS: '16', RECONCILE_MS: String(reconcileMs) });
  const admin = redis.admin();
  let killer: NodeJS.Timeout | undefined;
  const producer = await startProducer(redis.url, cluster.prefix, { reconcileMs });
  try {
    await Promise.all([0, 1, 2].map((i) => cluster.startNode(`s${i}`)));
    const { system } = producer;
    let kills = 0;
    let killed = 0;
    killer = setInterval(() => {
      kills++;
      admin.client('KILL', 'TYPE', 'pubsub').then(
        (n) => void (killed += Number(n)),
        () => {},
      );
    }, everyMs);

    const roots: string[] = [];
    const trees: string[] = [];
    const cancels: Cancel[] = [];
    const waits: Promise<void>[] = [];
    const resolvedAt = new Map<string, number>();
    let waitersOpen = 0;
    const pending: Promise<void>[] = [];
    const random = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));
    const cancelLater = (id: string, afterMs: number) =>
      pending.push(
        sleep(afterMs).then(async () => {
          const at = Date.now();
          const answer = await system.cancel(id).catch(() => 'error' as const);
          cancels.push({ id, at, answer });
        }),
      );
    const submit = async (name: 'work' | 'fan', input: object, cancelAfter: number | undefined) => {
      const handle = await system.submitByName(name, input);
      roots.push(handle.id);
      if (name === 'fan') trees.push(handle.id);
      if (cancelAfter !== undefined) cancelLater(handle.id, cancelAfter);
      waitersOpen++;
      waits.push(
        handle
          .result()
          .catch(() => undefined)
          .then(() => {
            waitersOpen--;
            resolvedAt.set(handle.id, Date.now());
          }),
      );
    };
    const began = Date.now();
    for (let tick = 0; Date.now() - began < seconds * 1_000; tick++) {
      const cancelIt = Math.random() < 0.25;
      pending.push(submit('work', { ms: cancelIt ? 5_000 : random(200, 1_500) }, cancelIt ? random(0, 2_000) : undefined));
      if (tick % 10 === 0) {
        const cancelTree = Math.random() < 0.25;
        pending.push(submit('fan', { width: 6, ms: cancelTree ? 5_000 : random(200, 1_500) }, cancelTree ? random(0, 2_000) : undefined));
      }
      await sleep(100);
    }
    await Promise.all(pending);
    clearInterval(killer);
    killer = undefined;
    const loadEnded = Date.now();
    // Every job settles, and every result waiter with it, within a bound: a lost signal costs at
    // most a reconciliation interval.
    const allSettled = await cluster.settled(roots, 60_000);
    const waitersDone = await Promise.race([Promise.all(waits).then(() => true), sleep(30_000).then(() => false)]);

    const children = (await Promise.all(trees.map((id) => cluster.store.children(id)))).map((list) => list.map((c) => c.id));
    const all = [...roots, ...children.flat()];
    await cluster.settled(all, 30_000);
    const cancelled = new Set(cancels.filter((c) => c.answer === 'cancelling' || c.answer === 'cancelled').map((c) => c.id));
    const inCancelledTree = new Set(trees.flatMap((id, i) => (cancelled.has(id) ? children[i]! : [])));
    // A cancelled job ends with the cancel's code; a cancelled tree's child too, unless it had
    // completed before the cascade reached it.
    const tally = await cluster.tally(all, (id) => (cancelled.has(id) || inCancelledTree.has(id) ? 'JOB_CANCELLED' : 'completed'));
    tally.lost = tally.lost.filter((id) => !(inCancelledTree.has(id) && tally.outcomes.get(id) === 'completed'));
    addRun(report, 0, tally, { drift: await cluster.countsDrift(), unhealthy: cluster.unhealthy() });
    if (!allSettled) report.violations.push('not every job settled within 60 s of the end of the load');
    if (!waitersDone) report.violations.push(`${waitersOpen} result waiters of the producer node never resolved`);

    // Lost cancels: a cancel that was accepted and a job that did not end cancelled.
    const records = new Map((await cluster.records(all)).flatMap((r) => (r ? [[r.id, r] as const] : [])));
    let lostCancels = 0;
    for (const c of cancels) {
      const record = records.get(c.id);
      if (!cancelled.has(c.id) || !record) continue;
      if (record.status !== 'cancelled') {
        lostCancels++;
        if (lostCancels <= 5)
          report.violations.push(
            `cancel of ${c.id} answered ${c.answer} at +${c.at - began} ms (${c.at - record.createdAt} ms after its submit), the job ended ${record.status} ${record.error?.code ?? ''}: ${await history(cluster.store, c.id)}`,
          );
      } else if (record.finishedAt !== undefined) report.recovery.push(record.finishedAt - c.at);
    }
    // Stuck parents: how long a parent took to settle after its last child did.
    const parentLag: number[] = [];
    let stuckParents = 0;
    trees.forEach((id, i) => {
      const parent = records.get(id);
      const ends = children[i]!.map((c) => records.get(c)?.finishedAt ?? NaN);
      if (!parent || parent.finishedAt === undefined) return void stuckParents++;
      if (ends.length > 0 && ends.every(Number.isFinite)) parentLag.push(parent.finishedAt - Math.max(...ends));
    });
    if (stuckParents > 0) report.violations.push(`${stuckParents} parents never settled`);
    const audit = await auditSettlements(cluster.store, all);
    for (const id of audit.twice.slice(0, 5)) report.violations.push(`${id} settled more than once (its event log)`);
    for (const id of audit.none.slice(0, 5)) report.violations.push(`${id} has no settled event`);
    const ledger = readLedger(cluster.ledgerDir);
    const reran = all.filter((id) => (ledger.get(id)?.length ?? 0) > 1).length;
    const waiterLag = roots.flatMap((id) => {
      const at = resolvedAt.get(id);
      const end = records.get(id)?.finishedAt;
      return at !== undefined && end !== undefined ? [at - end] : [];
    });
    const cancelAnswers = new Map<string, number>();
    for (const c of cancels) cancelAnswers.set(c.answer, (cancelAnswers.get(c.answer) ?? 0) + 1);
    report.notes.push(
      `${kills} CLIENT KILL TYPE pubsub in ${seconds} s closed ${killed} subscribed connections`,
      `${all.length} jobs (${roots.length - trees.length} plain, ${trees.length} trees of 6); ${cancels.length} cancels answered ${[...cancelAnswers].map(([a, n]) => `${a} ×${n}`).join(', ')}; lost cancels ${lostCancels}`,
      `cancel → cancelled: ${spread(report.recovery)}`,
      `parents: ${trees.length - stuckParents}/${trees.length} settled; last child settled → parent settled: ${spread(parentLag)}`,
      `result waiters: ${roots.length - waitersOpen}/${roots.length} resolved; job settled → its waiter resolved: ${spread(waiterLag)}; all settled ${ms(Math.max(loadEnded, ...resolvedAt.values()) - loadEnded)} after the load ended`,
      `settled events per job: ${audit.twice.length} jobs with more than one, ${audit.none.length} with none; side effects run twice: ${reran}`,
    );
  } finally {
    clearInterval(killer);
    await producer.stop().catch(() => {});
    admin.disconnect();
    await cluster.close();
    await redis.stop();
  }
  return report;
}
