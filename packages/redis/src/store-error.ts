import { SystemStateError } from '@scalable-api/core';

/**
 * What a caller (and, through the HTTP adapter, a client) is told when Redis fails a call: a
 * stable code and a plain message. Redis' own text names internals (function names, client
 * settings such as "max retries per request"), so it travels only as the `cause`, for logs.
 */
export function storeError(error: unknown): SystemStateError {
  const message = error instanceof Error ? error.message : '';
  if (message.startsWith('OOM')) return new SystemStateError('STORE_UNAVAILABLE', 'The job store is out of memory.', { cause: error });
  // Nothing was written; whoever still waits for it tries again with a fresh clock reading.
  if (message.startsWith('LATE'))
    return new SystemStateError('STORE_UNAVAILABLE', 'The job store refused a call that reached it late.', { cause: error });
  return new SystemStateError('STORE_UNAVAILABLE', 'The job store is unavailable.', { cause: error });
}
