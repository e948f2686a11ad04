import { describe } from 'vitest';
import { describeCancel } from './describe-cancel.js';
import { describeClaim } from './describe-claim.js';
import { describeDeepTrees } from './describe-deep-trees.js';
import { describeEnqueue } from './describe-enqueue.js';
import { describeEvents } from './describe-events.js';
import { describeFairShare } from './describe-fair-share.js';
import { describeFlowStats } from './describe-flow-stats.js';
import { describeLeases } from './describe-leases.js';
import { describeList } from './describe-list.js';
import { describePause } from './describe-pause.js';
import { describeRateLimits } from './describe-rate-limits.js';
import { describeRetention } from './describe-retention.js';
import { describeSchedules } from './describe-schedules.js';
import { describeSettle } from './describe-settle.js';
import { describeTrees } from './describe-trees.js';
import { describeWebhooks } from './describe-webhooks.js';
import { conformanceSetup, type StoreFactory } from './store-fixture.js';

/**
 * The one suite every `JobStore` runs, so the memory store and the Redis store cannot drift
 * apart. Time is the fixture's `SimulatedClock`; signals may arrive asynchronously (a remote
 * store publishes them), so assertions on signals wait for them, bounded in real time. Each
 * area is its own `describe…(setup)`, in the file of that name.
 *
 * @example
 * runStoreConformance('memory', (options) => {
 *   const clock = new SimulatedClock();
 *   return { store: createMemoryStore({ ...options, clock }), clock, cleanup: () => {} };
 * });
 */
export function runStoreConformance(name: string, factory: StoreFactory, options: ConformanceOptions = {}): void {
  const exempt = options.exempt ?? {};
  describe(`JobStore conformance: ${name}`, () => {
    const setup = conformanceSetup(factory);
    describeEnqueue(setup);
    describeClaim(setup);
    describeLeases(setup);
    describeSettle(setup);
    describeCancel(setup);
    describeTrees(setup);
    describeDeepTrees(setup);
    describeEvents(setup);
    describeRetention(setup);
    describeList(setup);
    describeSchedules(setup);
    describePause(setup);
    describeWebhooks(setup);
    if (exempt.rateLimits === undefined) describeRateLimits(setup);
    if (exempt.fairShare === undefined) describeFairShare(setup);
    // Its cases that read rate-limit buckets go with the rate limits' exemption.
    describeFlowStats(setup, { gates: exempt.rateLimits === undefined });
  });
}

/**
 * Areas a store does not offer with the single-store semantics the cases check, each with the
 * reason (it belongs next to the store's own tests of what it does instead). Such an area is not
 * registered at all: the suite has no skipped cases, and the reason stays in the caller's code.
 */
export interface ConformanceOptions {
  exempt?: Partial<Record<'rateLimits' | 'fairShare', string>>;
}
