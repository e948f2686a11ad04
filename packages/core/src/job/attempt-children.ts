import { createActor } from 'xstate';
import { InputError, JobError, OverloadError, SystemStateError } from '../errors.js';
import { settledEvent, type SettledJobEvent } from '../events.js';
import { msg } from '../messages.js';
import type { JobRecord } from '../store/job-store.js';
import { parentLogic, type ParentActorRef } from '../tree/parent-logic.js';
import type { AnyJobDefinition } from './define-job.js';
import { flowKeyOf } from './flow-options.js';
import type { JobAttempt } from './job-attempt.js';
import type { ChildResult, SpawnOptions } from './job-context.js';
import { isTerminal } from './job-status.js';

/**
 * The tree side of one attempt: the children it spawns, the parent actor that waits for them,
 * and its place against the node's bound on waiting parents. Made on the first `ctx.spawn`;
 * most jobs never have one.
 */
export class AttemptChildren {
  private parent: ParentActorRef | undefined;
  private spawned = 0;
  private waitingCounted = false;

  constructor(private readonly attempt: JobAttempt) {}

  async spawn(definition: AnyJobDefinition, input: unknown, options: SpawnOptions = {}): Promise<unknown> {
    const { attempt } = this;
    const { host, job } = attempt;
    if (attempt.settled) throw new JobError('JOB_CANCELLED', `Parent ${job.id} has already settled.`);
    if (host.jobs.get(definition.name) !== definition) throw new InputError('JOB_TYPE_UNKNOWN', `No job named ${definition.name} is registered.`);
    if (++this.spawned > host.maxChildren) throw new OverloadError('CHILDREN_LIMIT', `A parent may spawn at most ${host.maxChildren} children.`);
    // Counted from the first spawn, not from when the wait begins, so that two parents spawning
    // in the same tick cannot both slip under the bound.
    if (!this.waitingCounted) {
      if (!host.reserveWaitingParent()) {
        throw new OverloadError('WAITING_PARENTS_FULL', `${host.maxWaitingParents} parents are already waiting for children.`);
      }
      this.waitingCounted = true;
    }
    const validated = await host.validate(definition, input);
    const policy = options.onFailure ?? 'fail-parent';
    const parent = this.ensureParent();
    // The parent's meta (tenant, ...) passes down; the propagated context is the parent's own.
    const meta = inheritMeta(job.meta, host.instrumentation?.propagate());
    const key = flowKeyOf(definition, validated, meta);
    const outcome = await host.enqueue({
      id: host.newId({ parentId: job.id }),
      name: definition.name,
      input: validated,
      priority: options.priority ?? definition.priority ?? job.priority,
      parentId: job.id,
      rootId: job.rootId,
      // Fencing: a zombie attempt (its lease ran out and the job was claimed again) adds no child.
      parentToken: job.token,
      childKey: options.key,
      onFailure: policy,
      meta,
      key,
    });
    if (!outcome.ok) {
      if (outcome.code === 'QUEUE_FULL') throw new OverloadError('QUEUE_FULL');
      if (outcome.code === 'STORE_UNAVAILABLE') throw new SystemStateError('STORE_UNAVAILABLE', 'The job store did not accept the child.');
      if (outcome.code === 'LEASE_LOST') {
        const lost = new JobError('LEASE_LOST', `Parent ${job.id} no longer holds its lease; the child was not added.`);
        attempt.abort(lost);
        throw lost;
      }
      throw new JobError('JOB_CANCELLED', `Parent ${job.id} is no longer running.`);
    }
    const result = new Promise<unknown>((resolve, reject) => {
      const waiter = { settle: (event: SettledJobEvent) => this.childOutcome(event, policy, resolve, reject) };
      if (!outcome.created && isTerminal(outcome.status)) {
        // A re-run parent spawning a key whose child already finished: no event will come.
        host.store.get(outcome.id).then((record) => waiter.settle(settledFromRecord(record, outcome.id)), reject);
      } else if (!attempt.settled) {
        parent.send(msg.childSpawned(outcome.id, waiter));
      }
    });
    // Spawns nobody awaits (fire and forget) must not surface as unhandled rejections.
    result.catch(() => undefined);
    return result;
  }

  /** Delivered when a child of this job settles, wherever it ran (a signal or a reconciliation). */
  childSettled(event: SettledJobEvent): void {
    this.parent?.send(msg.childSettled(event));
  }

  /** Children this attempt still waits for: what a reconciliation reads from the records. */
  awaited(): string[] {
    return this.parent ? [...this.parent.getSnapshot().context.state.waiters.keys()] : [];
  }

  async results(): Promise<ChildResult<unknown>[]> {
    const records = await this.attempt.host.store.children(this.attempt.job.id);
    const out: ChildResult<unknown>[] = [];
    for (const record of records) {
      if (record.status === 'completed') out.push({ id: record.id, status: 'completed', output: record.output });
      else if ((record.status === 'failed' || record.status === 'cancelled') && record.onFailure !== 'ignore') {
        out.push({ id: record.id, status: record.status, error: record.error! });
      }
    }
    return out;
  }

  /** The attempt settled: the parent actor stops and the waiting-parent slot frees. */
  close(): void {
    const { host } = this.attempt;
    if (this.parent) {
      this.parent.send(msg.parentFinished());
      this.parent = undefined;
      host.actorStopped();
    }
    if (this.waitingCounted) {
      this.waitingCounted = false;
      host.releaseWaitingParent();
    }
  }

  private childOutcome(event: SettledJobEvent, policy: string, resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
    if (event.type === 'job.completed') {
      resolve(policy === 'continue' ? { id: event.id, status: 'completed', output: event.output } : event.output);
      return;
    }
    if (policy === 'continue') resolve({ id: event.id, status: event.status, error: event.error });
    else if (policy === 'ignore') resolve(undefined);
    else {
      const error = new JobError('CHILD_FAILED', `Child ${event.id} (${event.name}) ${event.status}: ${event.error.message}`, {
        details: { childId: event.id, childError: event.error },
      });
      reject(error);
      this.attempt.abort(error);
    }
  }

  private ensureParent(): ParentActorRef {
    if (this.parent) return this.parent;
    const { host, job } = this.attempt;
    const parent = createActor(parentLogic, {
      input: { jobId: job.id, hooks: { waiting: (isWaiting) => this.attempt.waitingForChildren(isWaiting), maxEarly: host.maxChildren } },
      ...host.inspectOption,
    });
    this.parent = parent;
    host.actorStarted();
    parent.start();
    return parent;
  }
}

function inheritMeta(parent: Record<string, string> | undefined, propagated: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!propagated) return parent;
  return parent ? { ...parent, ...propagated } : propagated;
}

/** A child's settlement rebuilt from its record, for a settlement whose event never reached here. */
export function settledFromRecord(record: JobRecord | undefined, id: string): SettledJobEvent {
  const subject = { id, name: record?.name ?? 'unknown', parentId: record?.parentId, rootId: record?.rootId ?? id };
  const at = record?.finishedAt ?? 0;
  if (record?.status === 'completed') return settledEvent(subject, 0, at, 'completed', record.output, undefined);
  const error = record?.error ?? { code: 'JOB_NOT_FOUND', message: `Child ${id} is gone (past retention).` };
  return settledEvent(subject, 0, at, record?.status === 'cancelled' ? 'cancelled' : 'failed', undefined, error);
}
