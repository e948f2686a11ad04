import { InputError } from '../errors.js';
import type { FlowControl } from '../store/job-store.js';

/**
 * `defineJob({ rateLimit })`: at most `max` jobs of this type start per `perMs`, across every
 * node (the store holds the count). With `key`, the limit holds per key instead — and the key is
 * then the job's flow key (its queue within the type, see `FairShareOptions`).
 *
 * @example
 * defineJob({ name: 'call-api', rateLimit: { max: 50, perMs: 1_000, key: (input: { account: string }) => input.account }, run });
 */
export interface RateLimitOptions<I = unknown> {
  max: number;
  perMs: number;
  key?: (input: I) => string;
}

/**
 * `defineJob({ fairShare })`: jobs of this type with different flow keys are claimed in turns, so
 * one key's backlog does not hold up another's. The flow key is `rateLimit.key(input)`, else
 * `fairShare.key(input)`, else the job's tenant (`meta.tenant`); a job without one waits in the
 * type's plain queue, which takes its turn like a key.
 *
 * @example
 * defineJob({ name: 'render', fairShare: { weights: { enterprise: 4 }, concurrencyPerKey: 10 }, run });
 */
export interface FairShareOptions<I = unknown> {
  key?: (input: I) => string;
  /** Jobs a key takes per turn (default 1): a key of weight 4 gets four times the share. */
  weights?: Readonly<Record<string, number>>;
  /** At most this many jobs of one key run at once, across every node. */
  concurrencyPerKey?: number;
}

/** The flow options of a job type, as `defineJob` takes them. */
export interface FlowOptions<I = unknown> {
  rateLimit?: RateLimitOptions<I>;
  fairShare?: FairShareOptions<I>;
}

/** Flow keys are at most this long (they name Redis keys, and a claim carries them). */
const maxKeyLength = 200;

/** Checks a job type's flow options; throws a `TypeError` naming the fault. */
export function checkFlowOptions(name: string, options: FlowOptions<never>): void {
  const { rateLimit, fairShare } = options;
  const fault = (what: string) => new TypeError(`defineJob(${name}): ${what}`);
  if (rateLimit !== undefined) {
    if (!(Number.isInteger(rateLimit.max) && rateLimit.max > 0)) throw fault('rateLimit.max must be a positive integer');
    if (!(Number.isFinite(rateLimit.perMs) && rateLimit.perMs > 0)) throw fault('rateLimit.perMs must be a positive number of ms');
    if (rateLimit.key !== undefined && typeof rateLimit.key !== 'function') throw fault('rateLimit.key must be a function of the input');
  }
  if (fairShare !== undefined) {
    if (fairShare.key !== undefined && typeof fairShare.key !== 'function') throw fault('fairShare.key must be a function of the input');
    if (fairShare.key !== undefined && rateLimit?.key !== undefined) throw fault('give the flow key once: rateLimit.key or fairShare.key');
    const limit = fairShare.concurrencyPerKey;
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw fault('fairShare.concurrencyPerKey must be a positive integer');
    for (const [key, weight] of Object.entries(fairShare.weights ?? {})) {
      if (!(Number.isInteger(weight) && weight > 0 && weight <= 1_000)) throw fault(`fairShare.weights.${key} must be an integer from 1 to 1,000`);
    }
  }
}

/** What the store enforces for a job type (`ClaimRequest.flow`), or undefined when it has no flow options. */
export function flowControlOf(options: FlowOptions<never>): FlowControl | undefined {
  const { rateLimit, fairShare } = options;
  if (rateLimit === undefined && fairShare?.weights === undefined && fairShare?.concurrencyPerKey === undefined) return undefined;
  const flow: FlowControl = {};
  if (rateLimit) flow.rate = { max: rateLimit.max, perMs: rateLimit.perMs, perKey: rateLimit.key !== undefined };
  if (fairShare?.weights) flow.weights = fairShare.weights;
  if (fairShare?.concurrencyPerKey !== undefined) flow.concurrencyPerKey = fairShare.concurrencyPerKey;
  return flow;
}

/**
 * The flow key of a job: its rate-limit key, else its fair-share key, else its tenant; undefined
 * for none. A key function that throws or gives anything but a string of at most 200 characters
 * refuses the submit with `INPUT_INVALID`: the input is what the key is made of.
 */
export function flowKeyOf(options: FlowOptions<never>, input: unknown, meta: Record<string, string> | undefined): string | undefined {
  // Called only with input the job's schema (or declared type) admitted: the key's own input type.
  const fn = (options.rateLimit?.key ?? options.fairShare?.key) as ((input: unknown) => unknown) | undefined;
  if (!fn) return meta?.['tenant'] || undefined;
  let key: unknown;
  try {
    key = fn(input);
  } catch (error) {
    throw new InputError('INPUT_INVALID', "The job's flow key could not be made from its input.", { cause: error });
  }
  if (typeof key !== 'string' || key.length > maxKeyLength) {
    throw new InputError('INPUT_INVALID', `The job's flow key must be a string of at most ${maxKeyLength} characters.`);
  }
  return key || undefined;
}
