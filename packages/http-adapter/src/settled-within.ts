import type { ServerResponse } from 'node:http';
import type { AdapterContext } from './adapter-context.js';

/** A job's outcome as `Prefer: wait` answers it. */
export type Settled = { status: 'completed'; output: unknown } | { status: 'failed' | 'cancelled'; error: { code: string; message: string } };

/**
 * Codes of a wait that could not be kept, as opposed to a job that ended: the job goes on (or is
 * gone), so the answer is the usual 202 and the client follows the job by its Location.
 */
const notAnOutcome = new Set(['RESULT_WAITERS_FULL', 'STORE_UNAVAILABLE', 'JOB_NOT_FOUND', 'SHUTTING_DOWN', 'NOT_STARTED']);

/**
 * The job's outcome if it settles within `ms`, else undefined (the job keeps running). Waits
 * through the core's `waitResult`, whose waiter is released the moment this wait ends: at its
 * deadline, or when the client goes away. 2,000 requests waiting on a long job leave nothing
 * behind once their own waits end. A settlement whose signal was lost is found by the core's
 * reconciliation with the record.
 */
export async function settledWithin(ctx: AdapterContext, id: string, ms: number, res: ServerResponse): Promise<Settled | undefined> {
  const giveUp = new AbortController();
  const timer = setTimeout(() => giveUp.abort(), ms);
  const gone = () => giveUp.abort();
  res.once('close', gone);
  try {
    const output = await ctx.system.waitResult(id, { signal: giveUp.signal });
    return { status: 'completed', output: output ?? null };
  } catch (error) {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (giveUp.signal.aborted || typeof code !== 'string' || notAnOutcome.has(code)) return undefined;
    return { status: code === 'JOB_CANCELLED' ? 'cancelled' : 'failed', error: { code, message: String(message ?? code) } };
  } finally {
    clearTimeout(timer);
    res.off('close', gone);
  }
}
