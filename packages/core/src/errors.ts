/**
 * Every error the runtime raises is a `ScalableApiError` with a stable `code`. Codes are part of
 * the public contract: the HTTP adapter maps them to statuses, docs/errors.md documents them, and
 * a test keeps the three in sync. A code is never reused for another meaning once shipped.
 */
export const errorCodes = {
  QUEUE_FULL: 'The queue is at its bound; the job was not accepted. Retry later.',
  WAITING_PARENTS_FULL: 'Too many parent jobs are waiting for children; the spawn was refused.',
  CHILDREN_LIMIT: 'A parent spawned more children than its bound allows.',
  RESULT_WAITERS_FULL: 'Too many callers are waiting for job results on this node; the wait was refused (the job runs on).',
  JOB_TIMEOUT: 'The job ran longer than its timeoutMs; its signal was aborted.',
  JOB_CANCELLED: 'The job was cancelled before it finished.',
  JOB_FAILED: 'The job threw; after its retries the last error is kept as `cause`.',
  CHILD_FAILED: "A child failed under the 'fail-parent' policy, so its parent failed.",
  JOB_QUARANTINED: 'The job lost its lease too many times (its worker kept dying); it is not retried.',
  JOB_TYPE_UNKNOWN: 'No job of that name is registered with this system.',
  JOB_NOT_FOUND: 'No job with that id exists (or it was dropped after its retention).',
  INPUT_INVALID: "The input does not satisfy the job's schema.",
  IDEMPOTENCY_CONFLICT: 'The idempotency key is already used by a job with another type or other input.',
  SHUTTING_DOWN: 'The system is stopping and accepts no new work.',
  NOT_STARTED: 'The system has not been started.',
  UNHEALTHY: 'Workers crashed past the restart intensity; the system stopped taking work.',
  LEASE_LOST: 'The attempt no longer holds the job (its lease expired and another attempt took it).',
  STORE_UNAVAILABLE: 'The job store could not be reached.',
  EVENTS_OVERFLOW: 'An event subscriber fell too far behind and was disconnected.',
  PAYLOAD_TOO_LARGE: 'The body is larger than the limit of this route.',
  THREAD_CRASHED: 'The worker thread running the job crashed or was stopped; the attempt failed and follows the retry policy.',
  CURSOR_INVALID: 'The listing cursor is malformed or was not given by this store.',
  NOT_SUPPORTED: 'The job store does not implement this (schedules, pausing job types).',
  SCHEDULES_FULL: 'The store holds as many schedules as it allows; the new schedule was refused.',
  SCHEDULE_NOT_FOUND: 'No schedule with that key exists.',
  BATCH_TOO_LARGE: 'A batch submit carries more items than its bound; nothing was enqueued.',
  BATCH_ABORTED: 'Another item of the atomic batch was refused, so this one was not enqueued either.',
  WEBHOOK_REFUSED: "The webhook URL is malformed, too long, outside this system's allowlist or an internal address, or webhooks are not configured.",
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface ScalableApiErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
}

/** The one base class. `code` is stable; `cause` is always kept. */
export class ScalableApiError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options: ScalableApiErrorOptions = {}) {
    super(message ?? errorCodes[code], options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ScalableApiError';
    this.code = code;
    this.details = options.details;
  }
}

/** Rejections caused by a bound or the system's state: the caller should retry later. */
export class OverloadError extends ScalableApiError {
  constructor(
    code: 'QUEUE_FULL' | 'WAITING_PARENTS_FULL' | 'CHILDREN_LIMIT' | 'RESULT_WAITERS_FULL',
    message?: string,
    options?: ScalableApiErrorOptions,
  ) {
    super(code, message, options);
    this.name = 'OverloadError';
  }
}

export class SystemStateError extends ScalableApiError {
  constructor(
    code: 'SHUTTING_DOWN' | 'NOT_STARTED' | 'UNHEALTHY' | 'STORE_UNAVAILABLE' | 'NOT_SUPPORTED',
    message?: string,
    options?: ScalableApiErrorOptions,
  ) {
    super(code, message, options);
    this.name = 'SystemStateError';
  }
}

/** Bad input at submit: never reaches a worker. */
export class InputError extends ScalableApiError {
  constructor(
    code:
      | 'INPUT_INVALID'
      | 'JOB_TYPE_UNKNOWN'
      | 'IDEMPOTENCY_CONFLICT'
      | 'CURSOR_INVALID'
      | 'SCHEDULES_FULL'
      | 'SCHEDULE_NOT_FOUND'
      | 'BATCH_TOO_LARGE'
      | 'BATCH_ABORTED'
      | 'WEBHOOK_REFUSED',
    message?: string,
    options?: ScalableApiErrorOptions,
  ) {
    super(code, message, options);
    this.name = 'InputError';
  }
}

/** How a job ended when it did not complete: what `handle.result()` rejects with. */
export class JobError extends ScalableApiError {
  constructor(
    code:
      | 'JOB_TIMEOUT'
      | 'JOB_CANCELLED'
      | 'JOB_FAILED'
      | 'CHILD_FAILED'
      | 'JOB_QUARANTINED'
      | 'JOB_NOT_FOUND'
      | 'LEASE_LOST'
      | 'EVENTS_OVERFLOW'
      | 'THREAD_CRASHED',
    message?: string,
    options?: ScalableApiErrorOptions,
  ) {
    super(code, message, options);
    this.name = 'JobError';
  }
}

/**
 * Thrown by a job handler to fail its job at once, skipping the remaining retries
 * (the analogue of BullMQ's `UnrecoverableError`).
 *
 * @example
 * if (!image.width) throw new NonRetryableError('image has no width');
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

/**
 * Thrown by a job handler (or by `ctx.rateLimited(ms)`) when an upstream said "too many
 * requests": the job goes back to the queue without counting an attempt, and the store holds back
 * every job of its type — of its flow key, for a job type limited per key — for `retryAfterMs`.
 *
 * @example
 * if (response.status === 429) throw new RateLimitedError(Number(response.headers.get('retry-after')) * 1_000);
 */
export class RateLimitedError extends Error {
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number, message = `Rate limited upstream; retry after ${retryAfterMs} ms.`) {
    super(message);
    this.name = 'RateLimitedError';
    this.retryAfterMs = Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? retryAfterMs : 0;
  }
}

/** The form an error takes inside the store and in events: plain data that survives JSON. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  /** The name and message of what the job threw, when it threw. */
  cause?: { name: string; message: string };
  details?: Record<string, unknown>;
}

// The errors the stores and the runtime record on their own account, defined once for
// TypeScript (the Redis store's Lua scripts write the same JSON; keep them in step).

/**
 * The reason a cancel records when the caller gives none.
 *
 * @example await store.cancel(id, defaultCancelError);
 */
export const defaultCancelError: SerializedError = Object.freeze({ code: 'JOB_CANCELLED', message: 'The job was cancelled.' });

/**
 * Why a store cancels the unfinished children of a parent that failed or was cancelled.
 *
 * @example parentEndedError('job-1', 'failed') // { code: 'JOB_CANCELLED', message: 'Parent job-1 failed.' }
 */
export function parentEndedError(parentId: string, status: 'failed' | 'cancelled'): SerializedError {
  return { code: 'JOB_CANCELLED', message: `Parent ${parentId} ${status}.` };
}

/**
 * Why a declared parent fails when a child under `'fail-parent'` did not complete.
 *
 * @example childFailedError({ id: 'c1', name: 'resize', status: 'failed', error })
 */
export function childFailedError(child: { id: string; name: string; status: string; error: SerializedError | undefined }): SerializedError {
  return {
    code: 'CHILD_FAILED',
    message: `Child ${child.id} (${child.name}) ${child.status}.`,
    details: { childId: child.id, childError: child.error },
  };
}

/**
 * Why a job that kept losing its lease is failed instead of tried again.
 *
 * @example quarantinedError(3) // { code: 'JOB_QUARANTINED', message: 'The job lost its lease 3 times; it is not retried.' }
 */
export function quarantinedError(stalls: number): SerializedError {
  return { code: 'JOB_QUARANTINED', message: `The job lost its lease ${stalls} times; it is not retried.` };
}

export function serializeError(error: ScalableApiError): SerializedError {
  const out: SerializedError = { code: error.code, message: error.message };
  const cause = error.cause;
  if (cause instanceof Error) out.cause = { name: cause.name, message: cause.message };
  else if (cause !== undefined) out.cause = { name: 'Error', message: describeCause(cause) };
  if (error.details) out.details = error.details;
  return out;
}

/** A cause that is not an Error, as text: a string as it is, anything else as JSON where it can be. */
function describeCause(cause: unknown): string {
  if (typeof cause === 'string') return cause;
  try {
    return JSON.stringify(cause) ?? typeof cause;
  } catch {
    return Object.prototype.toString.call(cause);
  }
}

export function deserializeError(data: SerializedError): JobError | ScalableApiError {
  const cause = data.cause ? Object.assign(new Error(data.cause.message), { name: data.cause.name }) : undefined;
  const options: ScalableApiErrorOptions = {};
  if (cause) options.cause = cause;
  if (data.details) options.details = data.details;
  switch (data.code) {
    case 'JOB_TIMEOUT':
    case 'JOB_CANCELLED':
    case 'JOB_FAILED':
    case 'CHILD_FAILED':
    case 'JOB_QUARANTINED':
    case 'JOB_NOT_FOUND':
    case 'LEASE_LOST':
    case 'THREAD_CRASHED':
      return new JobError(data.code, data.message, options);
    default:
      return new ScalableApiError(data.code, data.message, options);
  }
}

export function isScalableApiError(value: unknown): value is ScalableApiError {
  return value instanceof ScalableApiError;
}
