import { Redis, type Cluster } from 'ioredis';
import { defaultCancelError, jobStatuses, SystemStateError } from '@scalable-api/core';
import type {
  CancelOutcome,
  ClaimRequest,
  ClaimResult,
  Clock,
  EnqueueOptions,
  FlowNameStats,
  FlowStatsQuery,
  EnqueueOutcome,
  JobEvent,
  JobRecord,
  JobStore,
  LeaseRef,
  ListPage,
  ListQuery,
  NewJob,
  RenewOutcome,
  ScheduleDefinition,
  ScheduleFire,
  ScheduleQuery,
  SerializedError,
  PushBack,
  Settlement,
  SettleOutcome,
  StoreCounts,
  StoreListener,
} from '@scalable-api/core';
import { assertPlainText, encodeError, encodeJson } from './json-codec.js';
import { FunctionCaller } from './function-caller.js';
import { functionLibrary, type FunctionName } from './function-library.js';
import { LostClaims, type SentClaim } from './lost-claims.js';
import { RedisSchedules } from './redis-schedules.js';
import { SignalChannel } from './signal-channel.js';
import { SignalSubscriber } from './signal-subscriber.js';
import { listJobs } from './redis-list.js';
import { claimArgs, enqueueArgs, flowArgs, settleArgs } from './function-args.js';
import { claimedIds, claimedJobs, enqueueOutcomes, type EnqueueRow } from './function-replies.js';
import { readChildren, readEvents, readRecords } from './redis-reads.js';
import { storeError } from './store-error.js';
import { redisFlowStats } from './redis-flow-stats.js';
import { Cascades } from './cascades.js';
import type { RedisStoreOptions } from './redis-store-options.js';

export type { RedisStoreOptions } from './redis-store-options.js';

/**
 * Jobs per enqueue, claim or settle call. A bigger batch is sent as several calls at once (one
 * round trip still), so that no single call holds Redis for more than a few milliseconds while
 * other clients wait; an atomic enqueue stays one call.
 */
const WRITE_SLICE = 250;

/**
 * The store for many machines. Every transition is one call of a Redis function (`FCALL`; the
 * library is in `lua/`), so it is atomic whichever node runs it, and a batch of enqueues, claims
 * or settlements is one round trip. Signals are published by the same scripts on `{prefix}:signals`
 * and reach every node's `subscribe` listeners through a second, subscribed connection.
 */
export class RedisStore implements JobStore {
  readonly durable = true;
  private readonly client: Redis | Cluster;
  private readonly functions: FunctionCaller;
  private readonly ownsClient: boolean;
  private readonly base: string;
  private readonly countsKey: string;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly config: string[];
  private readonly signals: SignalChannel;
  private readonly subscriber: SignalSubscriber;
  private readonly ownsSubscriber: boolean;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly cascades = new Cascades(
    async () => (await this.run('cascade', [])) as [number, string],
    () => this.clock.now(),
  );
  private readonly lostClaims = new LostClaims();
  private readonly scheduled = new RedisSchedules(
    (fn, args) => this.run(fn, args),
    (fn, args) => this.read(fn, args),
  );

  constructor(options: RedisStoreOptions = {}) {
    const prefix = options.prefix ?? 'scalable-api';
    if (/[{}]/.test(prefix)) throw new TypeError(`prefix ${JSON.stringify(prefix)} must not contain braces: the store adds its own hash tag`);
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new Redis(options.url ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 3 });
    if (this.client.options.keyPrefix) throw new TypeError('a client with keyPrefix is not supported: use the prefix option');
    // Connection errors reach callers as STORE_UNAVAILABLE from the operation that hit them;
    // without a listener ioredis would also print each reconnect attempt.
    if (this.ownsClient) this.client.on('error', () => {});
    this.functions = new FunctionCaller(this.client, functionLibrary);
    this.base = `{${prefix}}:`;
    this.countsKey = `${this.base}counts`;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.ownsSubscriber = options.subscriber === undefined;
    this.subscriber = options.subscriber ?? new SignalSubscriber(this.client);
    this.signals = new SignalChannel(this.subscriber, `${this.base}signals`, () => this.cascades.sweep(), options.sweepMs ?? 1_000);
    this.config = [
      String(options.eventsPerJob ?? 100),
      String(options.retention?.count ?? 10_000),
      String(options.retention?.ageMs ?? 3_600_000),
      String(options.maxStalls ?? 3),
    ];
  }

  async enqueue(jobs: readonly NewJob[], options: EnqueueOptions): Promise<EnqueueOutcome[]> {
    if (jobs.length <= WRITE_SLICE || options.atomic) return this.enqueueSlice(jobs, options);
    return (await Promise.all(slices(jobs, WRITE_SLICE).map((slice) => this.enqueueSlice(slice, options)))).flat();
  }

  private async enqueueSlice(jobs: readonly NewJob[], options: EnqueueOptions): Promise<EnqueueOutcome[]> {
    if (jobs.length === 0) return [];
    const args = enqueueArgs(jobs, options);
    // Per job: its status (added), or a row (found, refused), or a count when all were queued:
    // see lua/enqueue.lua.
    const rows = (await this.run('enqueue', args)) as EnqueueRow[] | number;
    return enqueueOutcomes(rows, jobs);
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    assertPlainText(request.owner, 'owner');
    // Fewer than asked is allowed: the dispatcher claims again while it has idle workers.
    const args = claimArgs(request, Math.min(request.max, WRITE_SLICE));
    const flow = flowArgs(request.flow);
    let sent: SentClaim | undefined;
    // Jobs flat, 10 or 5 values each (lua/claim.lua).
    let reply: [(string | number)[], string, number];
    try {
      reply = (await this.run('claim', (now) => {
        const { claim, args: lost } = this.lostClaims.send(request.owner, now, request.leaseMs);
        sent = claim;
        return [...args, ...lost, ...flow];
      })) as typeof reply;
    } catch (error) {
      if (sent) this.lostClaims.failed(sent, (error as Error).cause);
      throw error;
    }
    const [flat, next, pending] = reply;
    this.lostClaims.answered(sent!, claimedIds(flat));
    if (pending > 0) await this.cascades.continue();
    return { jobs: claimedJobs(flat), nextRunAt: next === '' ? undefined : Number(next) };
  }

  async renew(leases: readonly LeaseRef[], leaseMs: number): Promise<RenewOutcome[]> {
    if (leases.length > WRITE_SLICE) return (await Promise.all(slices(leases, WRITE_SLICE).map((slice) => this.renew(slice, leaseMs)))).flat();
    if (leases.length === 0) return [];
    const args = [String(leaseMs), ...leases.flatMap((l) => [l.id, String(l.token)])];
    return ((await this.run('renew', args)) as (number | string)[]).map((r): RenewOutcome => {
      if (r === 0) return { held: false };
      return r === 1 ? { held: true } : { held: true, cancel: JSON.parse(r as string) as SerializedError };
    });
  }

  async settle(settlements: readonly Settlement[]): Promise<SettleOutcome[]> {
    if (settlements.length <= WRITE_SLICE) return this.settleSlice(settlements);
    return (await Promise.all(slices(settlements, WRITE_SLICE).map((slice) => this.settleSlice(slice)))).flat();
  }

  private async settleSlice(settlements: readonly Settlement[]): Promise<SettleOutcome[]> {
    if (settlements.length === 0) return [];
    // Per settlement 1 (ok) or 0 (stale), or a count when all were ok: see lua/settle.lua.
    const [outcomes, pending] = (await this.run('settle', settleArgs(settlements))) as [number[] | number, number];
    if (pending > 0) await this.cascades.continue();
    if (typeof outcomes === 'number') return settlements.map((): SettleOutcome => 'ok');
    return outcomes.map((r) => (r === 1 ? 'ok' : 'stale'));
  }

  async setWaiting(lease: LeaseRef, waiting: boolean): Promise<boolean> {
    return (await this.run('set_waiting', [lease.id, String(lease.token), waiting ? '1' : '0'])) === 1;
  }

  async progress(lease: LeaseRef, value: unknown): Promise<boolean> {
    const json = encodeJson(value, `progress of job ${lease.id}`);
    return (await this.run('progress', [lease.id, String(lease.token), json])) === 1;
  }

  async cancel(id: string, reason: SerializedError = defaultCancelError): Promise<CancelOutcome> {
    const [outcome, pending] = (await this.run('cancel', [id, encodeError(reason)])) as [CancelOutcome, number];
    if (pending === 0 || outcome !== 'cancelling') return outcome;
    // A subtree too big for one call: done in further calls, then the job read again.
    await this.cascades.continue();
    // Ended, or already out of retention (which only finished jobs leave).
    const status = (await this.get(id))?.status;
    return status === undefined || status === 'cancelled' ? 'cancelled' : outcome;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return (await this.getMany([id]))[0];
  }

  getMany(ids: readonly string[]): Promise<(JobRecord | undefined)[]> {
    return readRecords((args) => this.read('get_many', args), ids);
  }

  children(id: string): Promise<JobRecord[]> {
    return readChildren((args) => this.read('children', args), id);
  }

  events(id: string, afterSeq: number): Promise<JobEvent[]> {
    return readEvents((args) => this.read('events', args), id, afterSeq);
  }

  /** Jobs in submission order, filtered, a page at a time (see `listJobs` and lua/list.lua). */
  async list(query: ListQuery): Promise<ListPage> {
    return listJobs(
      (args) => this.read('list', args),
      (args) => this.run('list_build', args),
      query,
    );
  }

  async counts(): Promise<StoreCounts> {
    const hash = await this.call(() => this.client.hgetall(this.countsKey));
    const out = {} as StoreCounts;
    for (const status of jobStatuses) out[status] = Number(hash[status] ?? 0);
    return out;
  }

  /** Flow control as held here, a read-only call per name (see `redisFlowStats`). */
  flowStats(query: FlowStatsQuery): Promise<FlowNameStats[]> {
    return redisFlowStats((args) => this.read('flow_stats', args), this.clock.now(), query);
  }

  /** Holds back `name` (or its `pushBack.key`) here until `pushBack.until`, as a released settlement's push-back does: for a push-back from another shard. */
  async pushBack(name: string, pushBack: PushBack): Promise<void> {
    assertPlainText(name, 'name');
    await this.run('push_back', [name, pushBack.key ?? '', String(Math.ceil(pushBack.until))]);
  }

  // Schedules and paused types: their own functions (redis-schedules.ts), the same store.
  readonly upsertSchedule = (definition: ScheduleDefinition) => this.scheduled.upsert(definition);
  readonly removeSchedule = (key: string) => this.scheduled.remove(key);
  readonly schedules = (query: ScheduleQuery) => this.scheduled.list(query);
  readonly fireSchedules = (fires: readonly ScheduleFire[], options: EnqueueOptions) => this.scheduled.fire(fires, options);
  readonly pauseType = (name: string) => this.scheduled.pause(name);
  readonly resumeType = (name: string) => this.scheduled.resume(name);
  readonly pausedTypes = () => this.scheduled.paused();

  subscribe(listener: StoreListener): () => void {
    if (this.closed) return () => {};
    return this.signals.add(listener);
  }

  /** Closes what the store opened (not a given `client` or `subscriber`); the process can exit after it. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    await this.signals.close();
    const quits: Promise<unknown>[] = [];
    if (this.ownsSubscriber) quits.push(this.subscriber.close());
    // quit() waits for Redis to answer, which a connection that is down would never do.
    if (this.ownsClient)
      quits.push(
        this.client.status === 'ready' ? this.client.quit().catch(() => this.client.disconnect()) : Promise.resolve(this.client.disconnect()),
      );
    await Promise.all(quits);
  }

  /** A read-only function: no clock, no configuration. */
  private async read(fn: FunctionName, args: string[]): Promise<unknown> {
    return this.call(() => this.functions.call(fn, this.base, args));
  }

  /**
   * A function that reads the clock. `now` is read when the call is sent, after any wait for the
   * subscription or the library: a call carrying an old `now` may be refused as late (lua/late.lua).
   */
  private async run(fn: FunctionName, args: readonly string[] | ((now: number) => readonly string[])): Promise<unknown> {
    return this.call(() =>
      this.functions.call(fn, this.base, () => {
        const now = this.clock.now();
        return [String(now), ...this.config, ...(typeof args === 'function' ? args(now) : args)];
      }),
    );
  }

  private async call<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) throw new SystemStateError('STORE_UNAVAILABLE', 'The job store is closed.');
    if (this.signals.ready) await this.signals.ready;
    try {
      return await operation();
    } catch (error) {
      throw storeError(error);
    }
  }
}

function slices<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
