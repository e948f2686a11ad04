import { InputError, ScalableApiError } from '../errors.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import type { EnqueueOutcome, NewJob } from '../store/job-store.js';
import type { SubmitManyItem, SubmitManyOptions, SubmitManyResult } from './job-system.js';
import type { NodeRuntime } from './node-runtime.js';
import { batchAborted, storeRefused, type Submitter } from './submitter.js';
import { validateInput } from './validate-input.js';

/**
 * `submitMany`: a batch of one job type in one store call. Each item is validated and answered on
 * its own; with `atomic` the first refusal aborts the rest before the store is asked, and the
 * store's atomic enqueue refuses the whole batch for what only it can see (the queue bound, a key
 * held with other input), so either every item is enqueued or none.
 */
export class BatchSubmitter {
  constructor(
    private readonly node: NodeRuntime,
    private readonly submitter: Submitter,
  ) {}

  async submitMany(job: AnyJobDefinition | undefined, items: readonly SubmitManyItem[], options: SubmitManyOptions): Promise<SubmitManyResult[]> {
    const { node, submitter } = this;
    if (!job) throw submitter.reject(new InputError('JOB_TYPE_UNKNOWN', 'No job of that name is registered.'));
    submitter.assertAccepting();
    if (!Array.isArray(items)) throw submitter.reject(new InputError('INPUT_INVALID', 'submitMany takes an array of { input } items.'));
    if (items.length > node.maxBatch) {
      throw submitter.reject(
        new InputError('BATCH_TOO_LARGE', `The batch carries ${items.length} items; at most ${node.maxBatch} are taken at once.`, {
          details: { maxItems: node.maxBatch },
        }),
      );
    }
    const atomic = options.atomic === true;
    const prepared = await Promise.all(items.map((item: SubmitManyItem) => this.prepare(job, item)));
    refuseReusedKeys(prepared, submitter);
    const refused = prepared.some((p) => p instanceof ScalableApiError);
    if (atomic && refused) return prepared.map((p) => ({ ok: false, error: p instanceof ScalableApiError ? p : aborted(submitter) }));

    const jobs: NewJob[] = [];
    for (const p of prepared) if (!(p instanceof ScalableApiError)) jobs.push(p);
    let outcomes: EnqueueOutcome[] = [];
    try {
      if (jobs.length > 0) outcomes = await node.store.enqueue(jobs, { limit: node.queueLimit, atomic });
    } catch (error) {
      throw submitter.reject(storeRefused(error));
    }
    let next = 0;
    const results = prepared.map((p): SubmitManyResult => {
      if (p instanceof ScalableApiError) return { ok: false, error: p };
      try {
        return { ok: true, handle: submitter.accepted(job.name, p, outcomes[next++]!) };
      } catch (error) {
        return { ok: false, error: error as ScalableApiError };
      }
    });
    return results;
  }

  /** The item as the store takes it, or why it cannot be (counted as a refusal). */
  private async prepare(job: AnyJobDefinition, item: SubmitManyItem): Promise<NewJob | ScalableApiError> {
    try {
      if (item === null || typeof item !== 'object') throw new InputError('INPUT_INVALID', 'A batch item is an object { input }.');
      const value = await validateInput(job, item.input);
      return this.submitter.newJob(job, value, item);
    } catch (error) {
      this.submitter.reject(error);
      return error instanceof ScalableApiError
        ? error
        : new InputError('INPUT_INVALID', String((error as Error)?.message ?? error), { cause: error });
    }
  }
}

function aborted(submitter: Submitter): ScalableApiError {
  return submitter.reject(batchAborted()) as ScalableApiError;
}

/**
 * The same key twice in one batch with other input is a conflict the store would only see after
 * adding the first: the later item is refused here. With the same input it is a replay and gets
 * the first item's job.
 */
function refuseReusedKeys(prepared: (NewJob | ScalableApiError)[], submitter: Submitter): void {
  const seen = new Map<string, NewJob>();
  prepared.forEach((p, i) => {
    if (p instanceof ScalableApiError || p.idempotencyKey === undefined) return;
    const first = seen.get(p.idempotencyKey);
    if (first === undefined) return void seen.set(p.idempotencyKey, p);
    if (first.fingerprint !== p.fingerprint) {
      const conflict = new InputError('IDEMPOTENCY_CONFLICT', `Idempotency key ${p.idempotencyKey} is used twice in the batch with other input.`, {
        details: { existingId: first.id },
      });
      prepared[i] = submitter.reject(conflict) as InputError;
    }
  });
}
