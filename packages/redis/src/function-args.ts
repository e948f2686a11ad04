import type { ClaimRequest, EnqueueOptions, NewJob, Settlement } from '@scalable-api/core';
import { assertPlainText, encodeError, encodeJson } from './json-codec.js';

/**
 * An enqueue batch as the enqueue function's arguments (lua/enqueue.lua's header). Everything is
 * encoded first: a value that is not JSON refuses the batch before Redis sees any of it.
 */
export function enqueueArgs(jobs: readonly NewJob[], options: EnqueueOptions): string[] {
  const args: string[] = [String(options.limit), options.atomic ? '1' : '0'];
  // The open run of plain jobs: where its count is, its name and priority.
  let run: number | undefined;
  let runName = '';
  let runPriority = 0;
  let runCount = 0;
  for (const job of jobs) {
    assertPlainText(job.id, 'id');
    assertPlainText(job.name, 'name');
    if (job.rootId !== undefined) assertPlainText(job.rootId, 'rootId');
    const input = encodeJson(job.input, `input of job ${job.id} (${job.name})`);
    // Most jobs are plain (every other field at its default), and most batches one name at one
    // priority: a run of them states both once ('P'), then 2 arguments per job instead of 17.
    if (isPlain(job)) {
      if (run !== undefined && job.name === runName && job.priority === runPriority) {
        args[run] = String(++runCount);
      } else {
        args.push('P', job.name, String(job.priority), '1');
        run = args.length - 1;
        runCount = 1;
        runName = job.name;
        runPriority = job.priority;
      }
      args.push(job.id, input);
      continue;
    }
    run = undefined;
    args.push(
      'f',
      job.id,
      job.name,
      input,
      String(job.priority),
      job.runAt === undefined ? '' : String(job.runAt),
      job.idempotencyKey ?? '',
      job.fingerprint ?? '',
      job.parentId ?? '',
      job.rootId ?? '',
      job.childKey ?? '',
      job.onFailure ?? 'fail-parent',
      String(job.awaitChildren ?? 0),
      job.meta === undefined ? '' : JSON.stringify(job.meta),
      job.parentToken === undefined ? '' : String(job.parentToken),
      job.key ?? '',
      job.webhook ?? '',
    );
  }
  return args;
}

/** A claim's owner, size, lease, names and capacities (lua/claim.lua's header; lost claims and flow follow). */
export function claimArgs(request: ClaimRequest, max: number): string[] {
  const args: string[] = [request.owner, String(max), String(request.leaseMs)];
  if (request.names === undefined) args.push('-1');
  else args.push(String(request.names.length), ...request.names);
  const capacity = [...(request.capacity ?? [])];
  args.push(String(capacity.length));
  for (const [name, cap] of capacity) args.push(name, String(cap));
  return args;
}

/**
 * Settlements as the settle function's arguments (lua/settle.lua's header): completions in runs,
 * 3 per settlement after the run's 2 ('', count), anything else 5.
 */
export function settleArgs(settlements: readonly Settlement[]): string[] {
  const args: string[] = [];
  // The open run of completions: where its count is.
  let run: number | undefined;
  let runCount = 0;
  for (const s of settlements) {
    let payload: string;
    let outcome: string = s.outcome;
    if (s.outcome === 'completed') {
      try {
        payload = encodeJson(s.output, `output of job ${s.id}`);
        if (run === undefined) {
          args.push('', '1');
          run = args.length - 1;
          runCount = 1;
        } else {
          args[run] = String(++runCount);
        }
        args.push(s.id, String(s.token), payload);
        continue;
      } catch (error) {
        // The attempt ran but its result cannot be stored: fail the job rather than lose the batch.
        outcome = 'failed';
        payload = encodeError({ code: 'JOB_FAILED', message: (error as Error).message });
      }
    } else if (s.outcome === 'released') {
      // A push-back rides in the payload (its key) and runAt (its end): see settle.lua.
      payload = s.pushBack?.key ?? '';
    } else {
      payload = encodeError(s.error);
    }
    const runAt = s.outcome === 'retry' ? String(s.runAt) : s.outcome === 'released' && s.pushBack ? String(Math.ceil(s.pushBack.until)) : '';
    run = undefined;
    args.push(s.id, String(s.token), outcome, payload, runAt);
  }
  return args;
}

/** `ClaimRequest.flow` as the claim function's trailing arguments (claim.lua's header). */
export function flowArgs(flow: ClaimRequest['flow']): string[] {
  if (flow === undefined || flow.size === 0) return [];
  const out = [String(flow.size)];
  for (const [name, control] of flow) {
    const rate = control.rate;
    const weights = Object.entries(control.weights ?? {});
    out.push(
      name,
      rate ? String(rate.max) : '',
      rate ? String(rate.perMs) : '',
      rate?.perKey ? '1' : '0',
      control.concurrencyPerKey === undefined ? '' : String(control.concurrencyPerKey),
      String(weights.length),
    );
    for (const [key, weight] of weights) out.push(key, String(weight));
  }
  return out;
}

/** A job the enqueue function takes in a run of plain jobs ('P', lua/enqueue.lua): nothing but id, name, input and priority. */
export function isPlain(job: NewJob): boolean {
  return (
    job.runAt === undefined &&
    job.idempotencyKey === undefined &&
    job.fingerprint === undefined &&
    job.parentId === undefined &&
    (job.rootId === undefined || job.rootId === job.id) &&
    job.childKey === undefined &&
    (job.onFailure === undefined || job.onFailure === 'fail-parent') &&
    !job.awaitChildren &&
    job.meta === undefined &&
    job.parentToken === undefined &&
    job.key === undefined &&
    job.webhook === undefined
  );
}
