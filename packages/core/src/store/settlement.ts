import type { SerializedError } from '../errors.js';
import type { LeaseRef } from './claim-request.js';

// How an attempt ends (`JobStore.settle`) and what a cancel answers (`JobStore.cancel`).

export type Settlement = LeaseRef &
  (
    | { outcome: 'completed'; output: unknown }
    | { outcome: 'failed'; error: SerializedError }
    | { outcome: 'cancelled'; error: SerializedError }
    | { outcome: 'retry'; error: SerializedError; runAt: number }
    /**
     * Handed back by a node that is stopping or could not use the claim: queued again at once,
     * the attempt not counted (the next claim has the same `attempt`) and no stall recorded. A
     * job whose cancel was requested is settled `cancelled` instead.
     *
     * `pushBack` (a job that met an upstream rate limit, `ctx.rateLimited`): nothing of the job's
     * name — or of its flow `key`, when given — is claimed before `until`.
     */
    | { outcome: 'released'; pushBack?: PushBack | undefined }
  );

/** Holds back claims of a job name, or of one flow key of it, until `until` (epoch ms). */
export interface PushBack {
  key?: string | undefined;
  until: number;
}

export type SettleOutcome = 'ok' | 'stale';

export type CancelOutcome = 'cancelled' | 'cancelling' | 'settled' | 'not_found';
