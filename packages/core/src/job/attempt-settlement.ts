import type { SerializedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ClaimedJob, Settlement } from '../store/job-store.js';
import type { AttemptHost } from './attempt-host.js';
import type { AnyJobDefinition } from './define-job.js';
import { flowKeyOf } from './flow-options.js';
import { backoffDelay, defaultRetryPolicy, maxAttempts } from './retry-policy.js';

// How an attempt's end is recorded: which settlement a failure or an upstream limit makes, and
// the one log line every attempt end writes. `JobAttempt` decides when; these say what.

/** A failure: `failed` when final or out of attempts, otherwise `retry` after the job's back-off. */
export function failureSettlement(
  job: ClaimedJob,
  definition: AnyJobDefinition,
  error: SerializedError,
  final: boolean,
  host: Pick<AttemptHost, 'clock' | 'random'>,
): Settlement {
  const { id, token, attempt } = job;
  const policy = definition.retry;
  if (final || attempt >= maxAttempts(policy)) return { id, token, outcome: 'failed', error };
  const delay = backoffDelay(policy?.backoff ?? defaultRetryPolicy.backoff, attempt, () => host.random());
  return { id, token, outcome: 'retry', error, runAt: host.clock.now() + delay };
}

/**
 * An upstream limited the job: it goes back to the queue like a hand-back (the attempt not
 * counted), and its type — or its key, for a type limited per key — is held back on every node.
 */
export function pushBackSettlement(job: ClaimedJob, definition: AnyJobDefinition, until: number): Settlement {
  let key: string | undefined;
  try {
    key = definition.rateLimit?.key ? flowKeyOf(definition, job.input, job.meta) : undefined;
  } catch {
    // Its key was made from this input at submit; a key function that now throws holds back the type.
    key = undefined;
  }
  return { id: job.id, token: job.token, outcome: 'released', pushBack: key === undefined ? { until } : { key, until } };
}

/**
 * One line per attempt end: completions at debug (they are the common case and can run at
 * 100,000/s), everything that needs a person's eye at info or warn, with the error's code.
 * The error goes under `error`, not `err`: it is already serialized, and pino's `err`
 * serializer, made for Error instances, would mangle it.
 */
export function logAttemptEnd(log: Logger, settlement: Settlement | undefined, durationMs: number): void {
  if (!settlement) return log.warn({ durationMs }, 'job attempt lost its lease; another attempt owns the job');
  switch (settlement.outcome) {
    case 'completed':
      return log.debug({ durationMs }, 'job completed');
    case 'retry':
      return log.info({ durationMs, error: settlement.error, retryAt: settlement.runAt }, 'job attempt failed; it will be retried');
    case 'failed':
      return log.info({ durationMs, error: settlement.error }, 'job failed');
    case 'cancelled':
      return log.info({ durationMs, error: settlement.error }, 'job cancelled');
    default:
      return log.info({ durationMs }, 'job handed back');
  }
}
