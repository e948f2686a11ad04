import type { InspectionEvent, Observer } from 'xstate';
import type { Clock } from '../clock.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Instrumentation } from '../instrumentation.js';
import type { ThreadPoolOptions } from '../isolation/thread-pool.js';
import type { Logger } from '../logger.js';
import type { JobStore } from '../store/job-store.js';
import type { WebhookOptions } from '../webhook/webhook-options.js';

/** What `createJobSystem` takes: the jobs, the workers, and every bound and interval, each with its default. */
export interface JobSystemOptions<Jobs extends readonly AnyJobDefinition[] = readonly AnyJobDefinition[]> {
  jobs: Jobs;
  /**
   * Worker actors in this process: how many jobs run at once (waiting parents do not count).
   * `0` makes a producer node: it accepts, answers, cancels and streams, and never claims a job
   * (another node with workers runs them on a shared store).
   */
  workers: number;
  queue?: {
    /** Queued plus delayed jobs; a submit past it fails at once with `QUEUE_FULL`. Default 10,000. */
    limit?: number;
    /** Items one `submitMany` may carry; more fail the whole call with `BATCH_TOO_LARGE`. Default 1,000. */
    maxBatch?: number;
  };
  trees?: {
    /** Parents waiting for children at once on this node; a spawn past it fails with `WAITING_PARENTS_FULL`. Default 10,000. */
    maxWaitingParents?: number;
    /** Children one parent may have. Default 100,000. */
    maxChildren?: number;
  };
  /** Finished jobs kept for `get()` and `result()` (memory store only; a given store has its own). */
  retention?: { count?: number; ageMs?: number };
  /** The job store; default a new memory store. */
  store?: JobStore;
  clock?: Clock;
  /** An xstate inspector (e.g. from `@statelyai/inspect`) given to every actor. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  logger?: Logger;
  /** Where binary payloads live; jobs reach it as `ctx.blobs`. */
  blobs?: BlobStore;
  /** Hooks around attempts for tracing and metrics (e.g. OpenTelemetry). */
  instrumentation?: Instrumentation;
  /** Lease on claimed jobs; renewed every third of it while they run. Default 30 s. */
  leaseMs?: number;
  /** Worker restarts allowed within `withinMs` before the system turns unhealthy. Default 10 in 60 s. */
  restartIntensity?: { maxRestarts: number; withinMs: number };
  /** With idle workers, look for claimable work (expired leases) at least this often. Default 1 s. */
  pollMs?: number;
  /** An idle worker rests (its machine goes to `idle`) after this long without work. Default 25 ms. */
  restMs?: number;
  /**
   * Signals are hints: every `reconcileMs` (and at once after the store reports lost signals)
   * waiting parents, result waiters and event streams are checked against the records. Default 5 s.
   */
  reconcileMs?: number;
  /**
   * Fire the store's schedules from this node (every node may: the store lets one take each
   * tick). The node reads the store's due schedules at least every `pollMs` (default 1 s), so a
   * schedule defined elsewhere or a lost timer is picked up within it. `false`: never fire here.
   */
  scheduler?: false | { pollMs?: number };
  results?: {
    /** Callers waiting for results at once (`handle.result()`, `waitResult`); past it a wait fails with `RESULT_WAITERS_FULL`. Default 100,000. */
    maxWaiters?: number;
  };
  /** How often `system.live` samples rates and the actors view. Default 1 s. */
  sampleMs?: number;
  /** Identifies this node in leases; default a random id. */
  nodeId?: string;
  /** The worker threads that run `isolation: 'thread'` jobs (`max` bounds them). Started on first use. */
  threads?: ThreadPoolOptions;
  /**
   * Signed webhooks for jobs submitted with `{ webhook: { url } }` (docs/webhooks.md): the secret,
   * the allowlist, and the delivery's retries and bounds. Without it such a submit is refused
   * with `WEBHOOK_REFUSED`. This node also runs the built-in `webhook.deliver` jobs.
   */
  webhooks?: WebhookOptions;
}
