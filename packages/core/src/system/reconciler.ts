import type { Clock, TimerHandle } from '../clock.js';
import type { SerializedError } from '../errors.js';
import { settledFromRecord } from '../job/attempt-children.js';
import type { JobAttempt } from '../job/job-attempt.js';
import { isTerminal } from '../job/job-status.js';
import type { Logger } from '../logger.js';
import type { JobRecord, JobStore } from '../store/job-store.js';
import type { EventStream } from './event-stream.js';
import type { ResultWaiters } from './result-waiters.js';

/** What the reconciler reads and repairs: the node runtime, narrowed. */
export interface ReconcileTarget {
  readonly store: JobStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly attempts: { values(): IterableIterator<JobAttempt> };
  readonly results: ResultWaiters;
  readonly streams: ReadonlySet<EventStream>;
}

/** Ids per `getMany` call: one round trip each, none of them long. */
const chunk = 500;
/** Cancels kept for claims still on their way back, at most. */
const maxEarlyCancels = 10_000;

/**
 * Signals are hints; this puts the node back in line with the records when one was lost. Every
 * `intervalMs`, and at once after the store reports `signals.resumed`, it reads — batched through
 * `store.getMany`, never one job per call — what this node's listeners wait for:
 *
 * - waiting parents: a parent whose record counts fewer pending children than it still waits for
 *   (after a resume: every one) has its awaited children read, and each settled one delivered;
 * - result waiters: the jobs they wait for; a settled one resolves them;
 * - event streams of one job: a job whose record moved past what the stream passed on has its
 *   missed events read (`store.events(id, lastSeq)`) and passed on, in order, once.
 *
 * It also keeps cancels that arrive before the claim of their job has come back, so the attempt
 * is aborted as soon as it starts instead of the cancel being dropped.
 */
export class Reconciler {
  private timer: TimerHandle | undefined;
  private running = false;
  private again: boolean | undefined;
  private stopped = true;
  private readonly earlyCancels = new Map<string, { reason: SerializedError; at: number }>();

  constructor(
    private readonly node: ReconcileTarget,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.node.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs a round now (or right after the one under way); `full` reads every awaited child. */
  runSoon(full: boolean): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = (this.again ?? false) || full;
      return;
    }
    void this.round(full);
  }

  noteEarlyCancel(id: string, reason: SerializedError): void {
    if (this.earlyCancels.size >= maxEarlyCancels) this.earlyCancels.delete(this.earlyCancels.keys().next().value!);
    this.earlyCancels.set(id, { reason, at: this.node.clock.now() });
  }

  takeEarlyCancel(id: string): SerializedError | undefined {
    if (this.earlyCancels.size === 0) return undefined;
    const early = this.earlyCancels.get(id);
    if (early) this.earlyCancels.delete(id);
    return early?.reason;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.node.clock.setTimeout(() => {
      this.timer = undefined;
      this.runSoon(false);
    }, this.intervalMs);
  }

  private async round(full: boolean): Promise<void> {
    this.running = true;
    if (this.timer !== undefined) this.node.clock.clearTimeout(this.timer);
    try {
      this.pruneEarlyCancels();
      await this.parents(full);
      await this.waiters();
      await this.eventStreams(full);
    } catch (error) {
      this.node.logger.warn({ err: error }, 'reconciling with the store failed; trying again later');
    } finally {
      this.running = false;
      const again = this.again;
      this.again = undefined;
      if (again !== undefined) this.runSoon(again);
      else this.schedule();
    }
  }

  private async parents(full: boolean): Promise<void> {
    const waiting: { attempt: JobAttempt; awaited: string[] }[] = [];
    for (const attempt of this.node.attempts.values()) {
      const awaited = attempt.awaitedChildren();
      if (awaited.length > 0) waiting.push({ attempt, awaited });
    }
    if (waiting.length === 0) return;
    let suspects = waiting;
    if (!full) {
      // One read per parent: only a parent whose record has fewer children pending than it waits
      // for can have missed a settlement (the record counts a settled child at once).
      const records = await this.read(waiting.map((w) => w.attempt.job.id));
      suspects = waiting.filter((w, i) => {
        const record = records[i];
        return record === undefined || isTerminal(record.status) || record.pendingChildren < w.awaited.length;
      });
    }
    for (const { attempt, awaited } of suspects) {
      const children = await this.read(awaited);
      children.forEach((record, i) => {
        if (record === undefined || isTerminal(record.status)) attempt.childSettled(settledFromRecord(record, awaited[i]!));
      });
    }
  }

  /** One last read for result waiters before the node stops listening (`stop()`); never throws. */
  async settleWaiters(): Promise<void> {
    try {
      await this.waiters();
    } catch (error) {
      this.node.logger.warn({ err: error }, 'reading results for waiting callers failed at shutdown');
    }
  }

  private async waiters(): Promise<void> {
    const ids = this.node.results.ids();
    if (ids.length === 0) return;
    const records = await this.read(ids);
    records.forEach((record, i) => {
      if (record !== undefined && isTerminal(record.status)) this.node.results.settled(settledFromRecord(record, ids[i]!));
    });
  }

  private async eventStreams(full: boolean): Promise<void> {
    const streams = [...this.node.streams].filter((s) => s.jobId !== undefined && s.open && s.baselined && !s.sawEnd);
    if (streams.length === 0) return;
    let behind = streams;
    if (!full) {
      // A settled job whose stream has not seen the end missed at least that; a running job's
      // progress lost in between is not worth a read per stream per round.
      const records = await this.read(streams.map((s) => s.jobId!));
      behind = streams.filter((_, i) => {
        const record = records[i];
        return record !== undefined && isTerminal(record.status);
      });
    }
    for (const stream of behind) {
      const missed = await this.node.store.events(stream.jobId!, stream.lastSeq);
      for (const event of missed) stream.push(event);
    }
  }

  private async read(ids: readonly string[]): Promise<(JobRecord | undefined)[]> {
    if (ids.length <= chunk) return this.node.store.getMany(ids);
    const out: (JobRecord | undefined)[] = [];
    for (let i = 0; i < ids.length; i += chunk) out.push(...(await this.node.store.getMany(ids.slice(i, i + chunk))));
    return out;
  }

  private pruneEarlyCancels(): void {
    // A claim takes one round trip; a cancel older than two rounds found no claim here, and a
    // renewal reports a cancel anyway.
    const before = this.node.clock.now() - 2 * this.intervalMs;
    for (const [id, early] of this.earlyCancels) {
      if (early.at > before) break;
      this.earlyCancels.delete(id);
    }
  }
}
