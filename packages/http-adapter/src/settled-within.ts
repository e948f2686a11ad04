import type { ServerResponse } from 'node:http';
import { isSettledEvent, isTerminal, type JobEvent, type JobRecord } from '@scalable-api/core';
import type { AdapterContext } from './adapter-context.js';

/** A job's outcome as `Prefer: wait` answers it. */
export type Settled = { status: 'completed'; output: unknown } | { status: 'failed' | 'cancelled'; error: { code: string; message: string } };

/**
 * The job's outcome if it settles within `ms`, else undefined (the job keeps running). The wait
 * ends early when the client goes away, and once it ends it holds nothing: 2,000 requests waiting
 * on one long job leave no closure behind after their own waits end. Hears the settlement from
 * the event hub, so a lost event is found by the hub's reconciliation with the record.
 *
 * Not the core's `waitResult(id, { signal })`, although it frees its waiter the same way: on a
 * node that stops with `drain: true`, a job finishing during the drain does not resolve its
 * waiters there, and a `Prefer: wait` answered during a graceful shutdown must carry the result
 * (test/shutdown.test.ts).
 */
export function settledWithin(ctx: AdapterContext, id: string, ms: number, res: ServerResponse): Promise<Settled | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: Settled | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unwatch();
      res.off('close', gone);
      resolve(outcome);
    };
    const fromRecord = (record: JobRecord | undefined) => {
      if (record === undefined) finish(undefined);
      else if (isTerminal(record.status)) finish(outcomeOf(record.status, record.output, record.error));
    };
    const unwatch = ctx.hub.watch(id, {
      event: (event: JobEvent) => {
        if (isSettledEvent(event))
          finish(
            outcomeOf(
              event.status,
              event.type === 'job.completed' ? event.output : undefined,
              event.type === 'job.completed' ? undefined : event.error,
            ),
          );
      },
      record: fromRecord,
    });
    const timer = setTimeout(() => finish(undefined), ms);
    const gone = () => finish(undefined);
    res.once('close', gone);
    // Watching first, then reading, leaves no gap in which the settlement could be missed.
    ctx.system.get(id).then(fromRecord, () => finish(undefined));
  });
}

function outcomeOf(status: string, output: unknown, error: { code?: string; message?: string } | undefined): Settled {
  if (status === 'completed') return { status: 'completed', output: output ?? null };
  return {
    status: status === 'cancelled' || error?.code === 'JOB_CANCELLED' ? 'cancelled' : 'failed',
    error: { code: String(error?.code ?? 'JOB_FAILED'), message: String(error?.message ?? 'failed') },
  };
}
