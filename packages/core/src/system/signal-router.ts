import { JobError, type SerializedError } from '../errors.js';
import { isSettledEvent, type JobEvent } from '../events.js';
import type { StoreSignal } from '../store/job-store.js';
import type { AttemptRegistry } from './attempt-registry.js';
import type { EventStream } from './event-stream.js';
import type { NodeState } from './node-state.js';
import type { Reconciler } from './reconciler.js';
import type { ResultWaiters } from './result-waiters.js';

/** The parts of a node that the store's signals reach. */
export interface SignalTarget {
  readonly nodeId: string;
  readonly state: NodeState;
  readonly attempts: AttemptRegistry;
  readonly results: ResultWaiters;
  readonly streams: ReadonlySet<EventStream>;
  readonly reconciler: Reconciler;
  /** Tells the dispatcher that work may be waiting in the store. */
  wakeDispatcher(): void;
}

/**
 * Routes the store's signals — hints, never the record — to this node's attempts, result waiters
 * and event streams. What a lost signal would have said is found again by the `Reconciler`.
 */
export class SignalRouter {
  private workAnnounced = false;
  readonly listener = (signal: StoreSignal): void => this.route(signal);

  constructor(private readonly node: SignalTarget) {}

  private route(signal: StoreSignal): void {
    switch (signal.type) {
      case 'work.available':
        return this.announceWork();
      case 'job.event':
        return this.jobEvent(signal.event);
      case 'job.cancel.requested':
        if (signal.owner === this.node.nodeId) this.cancelRequested(signal.id, signal.reason);
        return;
      case 'signals.resumed':
        // Some signals may be gone: work to claim, settlements, cancels. Look for all of it now.
        this.announceWork();
        this.node.reconciler.runSoon(true);
        return;
      case 'job.dropped':
        return;
    }
  }

  /** Many enqueues in one tick wake the dispatcher once. */
  private announceWork(): void {
    if (this.workAnnounced) return;
    this.workAnnounced = true;
    queueMicrotask(() => {
      this.workAnnounced = false;
      this.node.wakeDispatcher();
    });
  }

  private cancelRequested(id: string, reason: SerializedError): void {
    const attempt = this.node.attempts.get(id);
    // No attempt yet: the claim that hands the job to this node may still be on its way back.
    if (attempt) attempt.abort(new JobError('JOB_CANCELLED', reason.message));
    else this.node.reconciler.noteEarlyCancel(id, reason);
  }

  private jobEvent(event: JobEvent): void {
    const { node } = this;
    if (isSettledEvent(event)) {
      // Counted from the store's events, not from attempts: a job cancelled while queued never
      // had an attempt. With a shared store these are cluster-wide counts seen since start.
      node.state.settled(event.type);
      node.results.settled(event);
      if (event.parentId !== undefined) node.attempts.get(event.parentId)?.childSettled(event);
    }
    if (node.streams.size > 0) for (const stream of node.streams) if (stream.accepts(event)) stream.push(event);
  }
}
