/**
 * How often a job is tried and how long to wait between tries. `attempts` counts the first try,
 * so `attempts: 1` never retries. Back-off is exponential by default with full jitter, which
 * spreads a burst of failures instead of retrying them in lockstep.
 */
export interface RetryPolicy {
  attempts?: number;
  backoff?: BackoffPolicy;
}

export interface BackoffPolicy {
  type: 'exponential' | 'fixed';
  delayMs: number;
  /** Upper bound on one wait. */
  maxDelayMs?: number;
  /** Full jitter: a uniform wait in [0, computed]. */
  jitter?: boolean;
}

export const defaultRetryPolicy = {
  attempts: 1,
  backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 60_000, jitter: true },
} as const satisfies Required<RetryPolicy>;

/** The wait before attempt `attempt + 1`, after attempt number `attempt` (1-based) failed. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const base = policy.type === 'fixed' ? policy.delayMs : policy.delayMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(base, policy.maxDelayMs ?? defaultRetryPolicy.backoff.maxDelayMs);
  return Math.round(policy.jitter ? capped * random() : capped);
}

export function maxAttempts(policy: RetryPolicy | undefined): number {
  const attempts = policy?.attempts ?? defaultRetryPolicy.attempts;
  return Number.isFinite(attempts) && attempts >= 1 ? Math.floor(attempts) : 1;
}
