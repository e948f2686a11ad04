import { ScalableApiError, SystemStateError } from '../errors.js';

/** A store that fails to answer is `STORE_UNAVAILABLE` to callers (503 at the HTTP edge). */
export function fromStore<T>(call: Promise<T>): Promise<T> {
  return call.catch((error: unknown) => {
    if (error instanceof ScalableApiError) throw error;
    throw new SystemStateError('STORE_UNAVAILABLE', 'The job store did not answer.', { cause: error });
  });
}
