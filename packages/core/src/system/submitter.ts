import { createHash } from 'node:crypto';
import { InputError, JobError, OverloadError, SystemStateError } from '../errors.js';
import type { AnyJobDefinition, JobOutput } from '../job/define-job.js';
import { flowKeyOf } from '../job/flow-options.js';
import { withPropagated } from '../instrumentation.js';
import type { EnqueueOutcome, NewJob } from '../store/job-store.js';
import { flattenTree } from '../tree/declared-tree.js';
import { Handle, type HandleHost } from './job-handle.js';
import type { JobHandle, SubmitOptions, SubmitTreeOptions, TreeSpec } from './job-system.js';
import type { NodeRuntime } from './node-runtime.js';
import { webhookJobName } from '../webhook/webhook-delivery.js';
import { webhookUrlOf } from '../webhook/webhook-destination.js';
import type { WebhookPolicy } from '../webhook/webhook-options.js';
import { withTenant } from './tenant.js';
import { validateInput } from './validate-input.js';

/**
 * The submit path: checks that the node accepts work, validates the input against the job's
 * schema, and enqueues through the node's per-tick batch; counts what it accepts and refuses.
 *
 * Written with callbacks rather than async/await on purpose: it runs once per accepted request,
 * and each async layer cost a promise and a microtask hop per job. Every refusal still reaches
 * the caller as a rejected promise, never as a synchronous throw.
 */
export class Submitter {
  constructor(
    private readonly node: NodeRuntime,
    private readonly handles: HandleHost,
    /** `createJobSystem({ webhooks })`, checked; a submit's `webhook` is refused without it. */
    private readonly webhooks: WebhookPolicy | undefined,
  ) {}

  submit(job: AnyJobDefinition, input: unknown, options: SubmitOptions): Promise<JobHandle> {
    if (!job || this.node.jobs.get(job.name) !== job) {
      return Promise.reject(this.reject(new InputError('JOB_TYPE_UNKNOWN', `No job named ${String(job?.name)} is registered.`)));
    }
    return this.submitValidated(job, input, options);
  }

  submitByName(name: string, input: unknown, options: SubmitOptions): Promise<JobHandle> {
    const job = this.node.jobs.get(name);
    if (!job) return Promise.reject(this.reject(new InputError('JOB_TYPE_UNKNOWN', `No job named ${name} is registered.`)));
    return this.submitValidated(job, input, options);
  }

  async submitTree<J extends AnyJobDefinition>(tree: TreeSpec<J>, options: SubmitTreeOptions): Promise<JobHandle<JobOutput<J>>> {
    this.assertAccepting();
    const { node } = this;
    let jobs: NewJob[];
    let meta: Record<string, string> | undefined;
    let webhook: string | undefined;
    try {
      meta = withPropagated(node.instrumentation, withTenant(undefined, options.tenant));
      webhook = options.webhook === undefined ? undefined : webhookUrlOf(this.webhooks, options.webhook);
      jobs = await flattenTree(
        tree,
        async (spec, parentId) => {
          if (node.jobs.get(spec.job.name) !== spec.job) throw new InputError('JOB_TYPE_UNKNOWN', `No job named ${spec.job.name} is registered.`);
          return {
            id: node.newId({ parentId }),
            input: await validateInput(spec.job, spec.input),
            priority: spec.priority ?? spec.job.priority ?? 0,
          };
        },
        node.maxChildren,
      );
    } catch (error) {
      throw this.reject(error);
    }
    try {
      for (const job of jobs) {
        if (meta) job.meta = meta;
        const key = flowKeyOf(node.jobs.get(job.name)!, job.input, job.meta);
        if (key !== undefined) job.key = key;
      }
      if (webhook !== undefined) jobs[0]!.webhook = webhook;
    } catch (error) {
      throw this.reject(error);
    }
    const outcomes = await node.store.enqueue(jobs, { limit: node.queueLimit, atomic: true });
    return this.accepted(tree.job.name, jobs[0]!, outcomes[0]!) as JobHandle<JobOutput<J>>;
  }

  /** Refuses unless the node takes work now; counts the refusal. */
  assertAccepting(): void {
    const health = this.node.state.health;
    if (health === 'healthy') return;
    const error =
      health === 'idle'
        ? new SystemStateError('NOT_STARTED')
        : health === 'unhealthy'
          ? new SystemStateError('UNHEALTHY')
          : new SystemStateError('SHUTTING_DOWN');
    throw this.reject(error);
  }

  private submitValidated(job: AnyJobDefinition, input: unknown, options: SubmitOptions): Promise<JobHandle> {
    let value: unknown;
    try {
      this.assertAccepting();
    } catch (refusal) {
      return Promise.reject(refusal);
    }
    try {
      value = validateInput(job, input);
    } catch (error) {
      return Promise.reject(this.reject(error));
    }
    if (value instanceof Promise) {
      return value.then(
        (validated: unknown) => this.enqueueValidated(job, validated, options),
        (error: unknown) => {
          throw this.reject(error);
        },
      );
    }
    return this.enqueueValidated(job, value, options);
  }

  private enqueueValidated(job: AnyJobDefinition, value: unknown, options: SubmitOptions): Promise<JobHandle> {
    let newJob: NewJob;
    try {
      newJob = this.newJob(job, value, options);
    } catch (error) {
      return Promise.reject(this.reject(error));
    }
    return new Promise((resolve, reject) => {
      this.node.enqueueBatch.add(newJob, (error, outcome) => {
        if (error !== undefined) return reject(storeRefused(error));
        try {
          resolve(this.accepted(job.name, newJob, outcome!));
        } catch (refusal) {
          reject(refusal);
        }
      });
    });
  }

  /** The store's form of a validated submit. Throws for input JSON cannot hold (a BigInt) when keyed. */
  newJob(job: AnyJobDefinition, value: unknown, options: SubmitOptions): NewJob {
    const { node } = this;
    if (job.name === webhookJobName)
      throw new InputError('JOB_TYPE_UNKNOWN', `${webhookJobName} jobs are made by the store when a job with a webhook settles.`);
    // A sharded store places a keyed job by its key, so the key is always checked in one shard.
    const id = options.idempotencyKey === undefined ? node.newId(noPlacement) : node.newId({ idempotencyKey: options.idempotencyKey });
    const newJob: NewJob = { id, name: job.name, input: value, priority: options.priority ?? job.priority ?? 0 };
    if (options.delayMs !== undefined && options.delayMs > 0) newJob.runAt = node.clock.now() + options.delayMs;
    if (options.idempotencyKey !== undefined) {
      newJob.idempotencyKey = options.idempotencyKey;
      newJob.fingerprint = options.fingerprint ?? fingerprint(job.name, value);
    }
    const meta = withPropagated(node.instrumentation, withTenant(options.meta, options.tenant));
    if (meta !== undefined) newJob.meta = meta;
    const key = flowKeyOf(job, value, meta);
    if (key !== undefined) newJob.key = key;
    if (options.webhook !== undefined) newJob.webhook = webhookUrlOf(this.webhooks, options.webhook);
    return newJob;
  }

  /** The handle for a store's answer to `job`, or the refusal (counted) it stands for. */
  accepted(name: string, job: NewJob, outcome: EnqueueOutcome): JobHandle {
    if (!outcome.ok) {
      throw this.reject(
        outcome.code === 'QUEUE_FULL'
          ? new OverloadError('QUEUE_FULL', `The queue holds ${this.node.queueLimit} jobs, its bound.`)
          : outcome.code === 'STORE_UNAVAILABLE'
            ? storeRefused(undefined)
            : outcome.code === 'BATCH_ABORTED'
              ? batchAborted()
              : new JobError('JOB_NOT_FOUND'),
      );
    }
    if (!outcome.created && (outcome.name !== name || outcome.fingerprint !== job.fingerprint)) {
      throw this.reject(
        new InputError('IDEMPOTENCY_CONFLICT', `Idempotency key ${job.idempotencyKey} is already used by job ${outcome.id} with other input.`, {
          details: { existingId: outcome.id },
        }),
      );
    }
    if (outcome.created) this.node.state.submitted();
    return new Handle(this.handles, outcome.id, outcome.created, outcome.status);
  }

  /** Counts a refusal and returns the error to throw. */
  reject(error: unknown): unknown {
    this.node.state.rejected();
    return error;
  }
}

const noPlacement = Object.freeze({});

export function batchAborted(): InputError {
  return new InputError('BATCH_ABORTED', 'Another item of the atomic batch was refused; this one was not enqueued.');
}

export function storeRefused(error: unknown): SystemStateError {
  return new SystemStateError('STORE_UNAVAILABLE', 'The job store did not accept the job.', { cause: error });
}

/** A digest of the input so a reused idempotency key with other input is caught. */
function fingerprint(name: string, input: unknown): string {
  return createHash('sha256')
    .update(name)
    .update('\0')
    .update(JSON.stringify(input) ?? 'undefined')
    .digest('base64url');
}
