import { randomUUID } from 'node:crypto';
import { afterEach, expect } from 'vitest';
import type { SerializedError } from '../../errors.js';
import type { ClaimedJob, ClaimRequest, JobStore, NewJob, StoreSignal } from '../../store/job-store.js';
import type { SimulatedClock } from '../simulated-clock.js';

/** What a store under test is built with; each implementation maps it onto its own options. */
export interface StoreFactoryOptions {
  retention?: { count?: number; ageMs?: number };
  maxStalls?: number;
  eventsPerJob?: number;
}

/**
 * Parts of the round-two contract a store may not implement yet. TEMPORARY: a case that needs one
 * is reported as skipped (with the flag's name) for a fixture that does not declare it, so a store
 * can land the contract piece by piece without the suite going red or a case being hidden. Once
 * every store declares a flag, the flag and this interface go and the cases always run.
 */
export interface StoreCapabilities {
  /** `settle` takes `{ outcome: 'released' }`: queued again at once, the attempt not counted. */
  released?: true;
  /** `enqueue` refuses a spawn whose `parentToken` is not the parent's current, held attempt (`LEASE_LOST`). */
  parentToken?: true;
  /** `renew` answers `{ held: true, cancel }` for a held job whose cancel was requested. */
  renewCancel?: true;
  /** A retry due later is announced with `work.available`, so a node's next claim learns when it falls due. */
  retrySignal?: true;
  /** `list(query)`: filtered, tenant-scoped, paginated listing. */
  list?: true;
  /**
   * The optional `ScheduleStore` methods. Not TEMPORARY like the others: a store may leave
   * schedules out for good (the system then answers `NOT_SUPPORTED`), and says so here.
   */
  schedules?: true;
  /** The optional `PauseStore` methods (same standing as `schedules`). */
  pause?: true;
  /** `ClaimRequest.flow` rate limits and `released` push-backs (`ctx.rateLimited`), per name and per key. */
  rateLimits?: true;
  /** Jobs with a flow `key` claimed in turns per key, with weights and a per-key concurrency limit. */
  fairShare?: true;
  /** The optional `flowStats` method (same standing as `schedules`). */
  flowStats?: true;
}

export type StoreCapability = keyof StoreCapabilities;

export interface StoreFixture {
  store: JobStore;
  /** The clock the store reads: leases, delays and retention move only when the test advances it. */
  clock: SimulatedClock;
  /** TEMPORARY, see `StoreCapabilities`. */
  supports?: StoreCapabilities;
  cleanup(): Promise<void> | void;
}

export type StoreFactory = (options: StoreFactoryOptions) => Promise<StoreFixture> | StoreFixture;

export const LIMIT = 1_000;
export const LEASE = 1_000;
export const FAILED: SerializedError = { code: 'JOB_FAILED', message: 'boom' };

/** Vitest's `skip` from the test context: `it('…', async ({ skip }) => …)`. */
export type Skip = (condition: boolean, note?: string) => void;

/**
 * Registers the clean-up of every store a test opens and returns `setup()`, which opens one and
 * the small vocabulary the cases share. Call once per `runStoreConformance`, inside its describe.
 */
export function conformanceSetup(factory: StoreFactory) {
  const fixtures: StoreFixture[] = [];

  afterEach(async () => {
    for (const fixture of fixtures.splice(0)) {
      await fixture.store.close();
      await fixture.cleanup();
    }
  });

  return async function setup(options: StoreFactoryOptions = {}) {
    const fixture = await factory(options);
    fixtures.push(fixture);
    const { store, clock } = fixture;
    place = undefined;
    if (store.newId) {
      const anchor = store.newId({});
      place = (parentId) => store.newId!({ parentId: parentId ?? anchor });
    }
    const signals = recordSignals(store);
    const claim = (owner: string, extra: Partial<ClaimRequest> = {}) => store.claim({ owner, max: 100, leaseMs: LEASE, ...extra });
    const claimOne = async (owner: string, extra: Partial<ClaimRequest> = {}): Promise<ClaimedJob> => {
      const { jobs } = await claim(owner, { ...extra, max: 1 });
      expect(jobs).toHaveLength(1);
      return jobs[0]!;
    };
    const add = async (...jobs: NewJob[]) => {
      const outcomes = await store.enqueue(jobs, { limit: LIMIT });
      for (const outcome of outcomes) expect(outcome.ok).toBe(true);
      return jobs.map((j) => j.id);
    };
    const status = async (id: string) => (await store.get(id))?.status;
    /** Skips the case (visibly, naming the flag) when the fixture does not declare `capability`. */
    const needs = (skip: Skip, capability: StoreCapability) =>
      skip(fixture.supports?.[capability] !== true, `the store does not declare supports.${capability} yet`);
    return { store, clock, signals, claim, claimOne, add, status, needs };
  };
}

export type ConformanceSetup = ReturnType<typeof conformanceSetup>;
export type ConformanceContext = Awaited<ReturnType<ConformanceSetup>>;

let serial = 0;

/**
 * For a store that places jobs (`newId`: a sharded store), every job of a test goes beside the
 * test's first one, so each test tells one shard's story: the store must route every call to
 * that shard and find the work there, whichever shard it is. What spans shards has tests of its
 * own. Set by `setup()`; the cases of a file run one after the other.
 */
let place: ((parentId: string | undefined) => string) | undefined;

/** A ready-to-run job with a unique id; tests override only what they are about. */
export function newJob(overrides: Partial<NewJob> = {}): NewJob {
  const id = place?.(overrides.parentId) ?? `job-${++serial}-${randomUUID().slice(0, 8)}`;
  return { id, name: 'noop', input: {}, priority: 0, ...overrides };
}

/** Keeps every signal a store sends; `waitFor` tolerates stores that deliver them asynchronously. */
function recordSignals(store: JobStore) {
  const seen: StoreSignal[] = [];
  store.subscribe((signal) => seen.push(signal));
  return {
    seen,
    clear: () => void seen.splice(0),
    async waitFor(predicate: (signal: StoreSignal) => boolean, timeoutMs = 5_000): Promise<StoreSignal> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = seen.find(predicate);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(`no matching signal within ${timeoutMs} ms; saw ${JSON.stringify(seen.map(describeSignal))}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
}

function describeSignal(signal: StoreSignal): string {
  return signal.type === 'job.event' ? `${signal.event.type}:${signal.event.id}` : signal.type;
}
