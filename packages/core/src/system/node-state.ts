import { createStore } from '@xstate/store';
import type { Clock } from '../clock.js';
import type { ActorsView } from './actor-view.js';
import { RateMeter } from './rate-meter.js';

/**
 * Where a node is in its life. `idle` before `start()`; `unhealthy` while its workers crash past
 * the restart intensity (it takes no work); `stopping` during `stop()`.
 */
export type Health = 'idle' | 'healthy' | 'unhealthy' | 'stopping' | 'stopped';

/** What this node did since it started (with a shared store, settlements are cluster-wide as seen here). */
export interface NodeCounters {
  submitted: number;
  rejected: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Workers restarted after a crash, and job threads replaced. */
  restarts: number;
}

/** The node's live state, as `system.live` holds it. */
export interface NodeLiveState {
  nodeId: string;
  health: Health;
  /** Worker actors configured (0 on a producer node). */
  workers: number;
  counters: NodeCounters;
  /** Per second over the last 10 seconds, sampled every `sampleMs`. */
  rates: { submitted: number; completed: number; failed: number };
  /** Live xstate actors owned by this system (supervisor, dispatcher, workers, parents, machine jobs). */
  actors: number;
  /** Parents waiting for children on this node, against `trees.maxWaitingParents`. */
  waitingParents: number;
  /** The supervisor, dispatcher and workers as last sampled; `undefined` when not running. */
  view: ActorsView | undefined;
  /** Clock time of the last sample of `rates` and `view`. */
  sampledAt: number;
}

type Tally = Pick<NodeLiveState, 'counters' | 'actors' | 'waitingParents'>;
type Sample = Pick<NodeLiveState, 'rates' | 'view' | 'sampledAt'>;

function createNodeStore(nodeId: string, workers: number) {
  const context: NodeLiveState = {
    nodeId,
    health: 'idle',
    workers,
    counters: { submitted: 0, rejected: 0, completed: 0, failed: 0, cancelled: 0, restarts: 0 },
    rates: { submitted: 0, completed: 0, failed: 0 },
    actors: 0,
    waitingParents: 0,
    view: undefined,
    sampledAt: 0,
  };
  // Health moves only along the lifecycle: a late `crashLoop` cannot turn a stopping node unhealthy.
  return createStore({
    context,
    on: {
      started: (ctx) => (ctx.health === 'idle' ? { ...ctx, health: 'healthy' as const } : ctx),
      crashLoop: (ctx) => (ctx.health === 'healthy' ? { ...ctx, health: 'unhealthy' as const } : ctx),
      recovered: (ctx) => (ctx.health === 'unhealthy' ? { ...ctx, health: 'healthy' as const } : ctx),
      stopping: (ctx) => (ctx.health === 'stopped' ? ctx : { ...ctx, health: 'stopping' as const }),
      stopped: (ctx) => ({ ...ctx, health: 'stopped' as const, view: undefined }),
      tallied: (ctx, event: Tally) => ({ ...ctx, counters: event.counters, actors: event.actors, waitingParents: event.waitingParents }),
      sampled: (ctx, event: Sample) => ({ ...ctx, rates: event.rates, view: event.view, sampledAt: event.sampledAt }),
    },
  });
}

type NodeStore = ReturnType<typeof createNodeStore>;

/**
 * The read side of the node's live state: an `@xstate/store` store without `send`, so readers can
 * watch but only the runtime changes it. `getSnapshot().context` (or `get().context`) reads it,
 * `subscribe` hears every change, `select(fn).subscribe` only changes of one part.
 *
 * @example
 * system.live.select((s) => s.health).subscribe((health) => console.log('now', health));
 * const { completed } = system.live.get().context.counters;
 */
export type NodeLiveStore = Pick<NodeStore, 'get' | 'getSnapshot' | 'subscribe' | 'select'>;

/** Counters reach the store at most this often (`stats()` reads them current). */
const tallyMs = 100;

/**
 * Owns the node's live state. The hot path (a submit, a settlement) only bumps plain counters
 * here; they reach the store as one `tallied` event at most every 100 ms. Why not once per
 * tick: an `@xstate/store` update costs several µs (about 8 µs measured on an idle 2-core
 * machine, with one subscriber), and in-process dispatch settles a batch every few dozen jobs,
 * which made the store a few percent of `npm run bench -- dispatch`; ten updates a second cost
 * nothing measurable. Health changes go to the store at once. Rates and the actors view change
 * with time rather than with events and are sampled every `sampleMs` while the node runs.
 */
export class NodeState {
  readonly store: NodeStore;
  /** The store without its write side, as `system.live` hands it out. */
  readonly readOnly: NodeLiveStore;
  readonly counters: NodeCounters = { submitted: 0, rejected: 0, completed: 0, failed: 0, cancelled: 0, restarts: 0 };
  actors = 0;
  waitingParents = 0;
  private readonly rates: { submitted: RateMeter; completed: RateMeter; failed: RateMeter };
  private tally: ReturnType<Clock['setTimeout']> | undefined;
  private sampler: { timer: ReturnType<Clock['setTimeout']>; read: () => ActorsView | undefined } | undefined;
  private readonly flushBound = () => this.flush();

  constructor(
    nodeId: string,
    workers: number,
    private readonly clock: Clock,
    private readonly sampleMs: number,
  ) {
    const store = createNodeStore(nodeId, workers);
    this.store = store;
    this.readOnly = Object.freeze({
      get: () => store.get(),
      getSnapshot: () => store.getSnapshot(),
      subscribe: store.subscribe.bind(store),
      select: store.select.bind(store),
    });
    this.rates = { submitted: new RateMeter(clock), completed: new RateMeter(clock), failed: new RateMeter(clock) };
  }

  get health(): Health {
    return this.store.getSnapshot().context.health;
  }

  submitted(): void {
    this.counters.submitted++;
    this.rates.submitted.mark();
    this.changed();
  }

  rejected(): void {
    this.counters.rejected++;
    this.changed();
  }

  settled(type: 'job.completed' | 'job.failed' | 'job.cancelled'): void {
    if (type === 'job.completed') {
      this.counters.completed++;
      this.rates.completed.mark();
    } else if (type === 'job.failed') {
      this.counters.failed++;
      this.rates.failed.mark();
    } else this.counters.cancelled++;
    this.changed();
  }

  restarted(): void {
    this.counters.restarts++;
    this.changed();
  }

  /** Something counted changed: the store hears of it within `tallyMs`. */
  changed(): void {
    if (this.tally === undefined) this.tally = this.clock.setTimeout(this.flushBound, tallyMs);
  }

  /** Brings the store up to date with the counters now (a reader that must not lag). */
  flush(): void {
    if (this.tally === undefined) return;
    this.clock.clearTimeout(this.tally);
    this.tally = undefined;
    this.store.trigger.tallied({ counters: { ...this.counters }, actors: this.actors, waitingParents: this.waitingParents });
  }

  currentRates(): NodeLiveState['rates'] {
    return { submitted: this.rates.submitted.perSecond(), completed: this.rates.completed.perSecond(), failed: this.rates.failed.perSecond() };
  }

  /** Samples rates and the actors view now and every `sampleMs` until `stopSampling`. */
  startSampling(read: () => ActorsView | undefined): void {
    const tick = () => {
      this.store.trigger.sampled({ rates: this.currentRates(), view: read(), sampledAt: this.clock.now() });
      if (this.sampler) this.sampler.timer = this.clock.setTimeout(tick, this.sampleMs);
    };
    this.sampler = { timer: this.clock.setTimeout(tick, this.sampleMs), read };
    this.store.trigger.sampled({ rates: this.currentRates(), view: read(), sampledAt: this.clock.now() });
  }

  stopSampling(): void {
    if (!this.sampler) return;
    this.clock.clearTimeout(this.sampler.timer);
    this.sampler = undefined;
  }
}
