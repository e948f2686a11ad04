import type { ErrorCode, SerializedError } from '@scalable-api/core';

/**
 * The codes only the HTTP edge raises (`httpProblemCodes` in `@scalable-api/http-adapter`; a type
 * test keeps the two equal). With the core's `ErrorCode` they are every `code` a problem can carry.
 */
export type HttpProblemCode =
  | 'MALFORMED_REQUEST'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'IDEMPOTENCY_IN_FLIGHT'
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_READY'
  | 'INTERNAL_ERROR';

/** Every stable code of a problem document (docs/errors.md lists them). */
export type ProblemCode = ErrorCode | HttpProblemCode;

/** An RFC 9457 problem document as the server sends it, with its stable `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ProblemCode;
  /** INPUT_INVALID: where the input failed its schema, every issue with its path. */
  issues?: { path: (string | number)[]; message: string }[];
  /** 503/429: seconds, also sent as `Retry-After`. */
  retryAfter?: number;
}

/**
 * What every error of the client is: a stable string `code`. Catch the subclasses, or test
 * `error.code`.
 */
export class ClientError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClientError';
    this.code = code;
  }
}

/**
 * The server refused a request: `problem` is its problem document, typed by `code`. An error
 * answer that is not a problem document (a proxy's 502 page, say) becomes one with the code
 * `UNEXPECTED_RESPONSE` and the status it had.
 *
 * @example
 * try {
 *   await client.submit('resize', { width: 64 });
 * } catch (error) {
 *   if (isProblem(error, 'INPUT_INVALID')) console.log(error.problem.issues);
 * }
 */
export class ProblemError<C extends ProblemCode | 'UNEXPECTED_RESPONSE' = ProblemCode | 'UNEXPECTED_RESPONSE'> extends ClientError {
  declare readonly code: C;
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem, code: C = problem.code as C) {
    super(code, problem.detail || problem.title);
    this.name = 'ProblemError';
    this.status = problem.status;
    this.problem = problem;
  }
}

/** The codes a settled job's error can carry (what the core's `JobError` rejects with). */
export type JobErrorCode = SerializedError['code'];

/**
 * A job that did not complete: `result()` rejects with it. `code` is the job's (`JOB_FAILED`,
 * `JOB_TIMEOUT`, `JOB_CANCELLED`, `CHILD_FAILED`, ...), `error` the job's serialized error.
 *
 * @example
 * await handle.result().catch((error) => {
 *   if (error instanceof JobFailedError && error.code === 'JOB_TIMEOUT') retryLater();
 * });
 */
export class JobFailedError extends ClientError {
  declare readonly code: JobErrorCode;
  readonly jobId: string;
  readonly status: 'failed' | 'cancelled';
  readonly error: { code: string; message: string; cause?: { name: string; message: string }; details?: Record<string, unknown> };

  constructor(jobId: string, status: 'failed' | 'cancelled', error: JobFailedError['error']) {
    super(error.code, `Job ${jobId} ${status}: ${error.message}`);
    this.name = 'JobFailedError';
    this.jobId = jobId;
    this.status = status;
    this.error = error;
  }
}

/**
 * True when `error` is a problem from the server, with `code` when given.
 *
 * @example
 * if (isProblem(error, 'QUEUE_FULL')) await sleep(error.problem.retryAfter! * 1000);
 */
export function isProblem<C extends ProblemCode | 'UNEXPECTED_RESPONSE'>(error: unknown, code?: C): error is ProblemError<C> {
  return error instanceof ProblemError && (code === undefined || error.code === code);
}
