import { Redis, type Cluster } from 'ioredis';
import { defaultCancelError, jobStatuses, SystemStateError } from '@scalable-api/core';
import type {
  CancelOutcome,
  ClaimedJob,
  ClaimRequest,
  ClaimResult,
  Clock,
  EnqueueOptions,
  FlowNameStats,
  FlowStatsQuery,
  EnqueueOutcome,
  JobEvent,
  JobRecord,
  JobStatus,
  JobStore,
  LeaseRef,
  ListPage,
  ListQuery,
  NewJob,
  RenewOutcome,
  ScheduleDefinition,
  ScheduleFire,
  ScheduleFireOutcome,
  ScheduleQuery,
  ScheduleRecord,
  ScheduleUpsertOutcome,
  SerializedError,
  Settlement,
  SettleOutcome,
  StoreCounts,
  StoreListener,
  StoreSignal,
} from '@scalable-api/core';
import { jobRecordFields, toJobRecord } from './job-record.js';
import { jobEventsFromHash } from './job-events.js';
import { assertPlainText, decodeJson, encodeError, encodeJson } from './json-codec.js';
import { FunctionCaller } from './function-caller.js';
import { functionLibrary, type FunctionName } from './function-library.js';
import { LostClaims, type SentClaim } from './lost-claims.js';
import { RedisSchedules } from './redis-schedules.js';
import { SignalChannel } from './signal-channel.js';
import { SignalSubscriber } from './signal-subscriber.js';
import { listJobs } from './redis-list.js';
import { flowArgs, isPlain } from './function-args.js';
import { storeError } from './store-error.js';
import { redisFlowStats } from './redis-flow-stats.js';

export interface RedisStoreOptions {
  /** Where to connect when no `client` is given; default `redis://127.0.0.1:6379`. */
  url?: string;
  /** A client to use instead (a `Redis` or a `Cluster`); the store defines its scripts on it and never closes it. */
  client?: Redis | Cluster;
  /** Names the store: every key is `{prefix}:…`, one hash tag, so a store lives in one Cluster slot. */
  prefix?: string;
  /** Only `now()` is read; it is sent to Redis with every call, so a simulated clock drives leases and delays. */
  clock?: Pick<Clock, 'now'>;
  /** Finished trees kept for `get()` and `result()`: by count of roots and by age. */
  retention?: { count?: number; ageMs?: number };
  /** A job whose lease expired this many times is failed with `JOB_QUARANTINED`. */
  maxStalls?: number;
  /** Events kept per job for readers that resume (SSE `Last-Event-ID`). */
  eventsPerJob?: number;
  /**
   * The subscribed connection to receive signals on, shared with other stores (the shards of one
   * store on one server, say); the store never closes it. Default: a connection of its own,
   * opened on the first `subscribe` and closed with the store.
   */
  subscriber?: SignalSubscriber;
  /**
   * How often (real ms) a subscribed store looks for leases that ran out — a node that died —
   * and tells its own listeners there is work, so an idle node claims (and so requeues) them.
   * Default 1,000; 0 turns it off.
   */
  sweepMs?: number;
}

/** Jobs per read call: a call reads this many records at most, so none holds Redis for long. */
const READ_SLICE = 500;
/**
 * Jobs per enqueue, claim or settle call. A bigger batch is sent as several calls at once (one
 * round trip still), so that no single call holds Redis for more than a few milliseconds while
 * other clients wait; an atomic enqueue stays one call.
 */
const WRITE_SLICE = 250;
const recordFieldArgs = [String(jobRecordFields.length), ...jobRecordFields];

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
  private cascading: Promise<void> | undefined;
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
    this.signals = new SignalChannel(this.subscriber, `${this.base}signals`, () => this.sweep(), options.sweepMs ?? 1_000);
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
    // Encode everything first: a value that is not JSON refuses the batch before Redis sees any of it.
    const args: string[] = [String(options.limit), options.atomic ? '1' : '0'];
    for (const job of jobs) {
      assertPlainText(job.id, 'id');
      assertPlainText(job.name, 'name');
      if (job.rootId !== undefined) assertPlainText(job.rootId, 'rootId');
      const input = encodeJson(job.input, `input of job ${job.id} (${job.name})`);
      // Most jobs are plain (every other field at its default): 5 arguments instead of 17.
      if (isPlain(job)) {
        args.push('p', job.id, job.name, input, String(job.priority));
        continue;
      }
      args.push(
        'f',
        job.id,
        job.name,
        input,
        String(job.priority),
        job.runAt === undefined ? '' : String(job.runAt),
        job.idempotencyKey ?? '',
        job.fingerprint ?? '',
        job.parentId ?? '',
        job.rootId ?? '',
        job.childKey ?? '',
        job.onFailure ?? 'fail-parent',
        String(job.awaitChildren ?? 0),
        job.meta === undefined ? '' : JSON.stringify(job.meta),
        job.parentToken === undefined ? '' : String(job.parentToken),
        job.key ?? '',
        job.webhook ?? '',
      );
    }
    // Per job: its status (added), or a row (found, refused): see lua/enqueue.lua.
    const rows = (await this.run('enqueue', args)) as (string | (string | number)[])[];
    return rows.map((row, i): EnqueueOutcome => {
      if (typeof row === 'string') return { ok: true, id: jobs[i]!.id, created: true, status: row as JobStatus };
      if (row[0] === 2) {
        const fingerprint = row[4] === '' ? undefined : String(row[4]);
        return { ok: true, id: String(row[1]), created: false, status: row[2] as JobStatus, name: String(row[3]), fingerprint };
      }
      return { ok: false, code: row[1] as 'QUEUE_FULL' | 'JOB_NOT_FOUND' | 'LEASE_LOST' | 'BATCH_ABORTED' };
    });
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    assertPlainText(request.owner, 'owner');
    // Fewer than asked is allowed: the dispatcher claims again while it has idle workers.
    const args: string[] = [request.owner, String(Math.min(request.max, WRITE_SLICE)), String(request.leaseMs)];
    if (request.names === undefined) args.push('-1');
    else args.push(String(request.names.length), ...request.names);
    const capacity = [...(request.capacity ?? [])];
    args.push(String(capacity.length));
    for (const [name, cap] of capacity) args.push(name, String(cap));
    const flow = flowArgs(request.flow);
    let sent: SentClaim | undefined;
    // Jobs flat, 10 values each (lua/claim.lua).
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
    const ids: string[] = [];
    for (let i = 0; i < flat.length; i += 10) ids.push(String(flat[i]));
    this.lostClaims.answered(sent!, ids);
    if (pending > 0) await this.continueCascades();
    const jobs: ClaimedJob[] = [];
    for (let i = 0; i < flat.length; i += 10) {
      const parentId = flat[i + 6];
      jobs.push({
        id: String(flat[i]),
        token: Number(flat[i + 1]),
        name: String(flat[i + 2]),
        input: decodeJson(flat[i + 3] as string),
        attempt: Number(flat[i + 4]),
        priority: Number(flat[i + 5]),
        parentId: parentId === '' ? undefined : String(parentId),
        rootId: String(flat[i + 7]),
        createdAt: Number(flat[i + 8]),
        meta: decodeJson(flat[i + 9] as string) as Record<string, string> | undefined,
      });
    }
    return { jobs, nextRunAt: next === '' ? undefined : Number(next) };
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
    const args: string[] = [];
    for (const s of settlements) {
      let payload: string;
      let outcome: string = s.outcome;
      if (s.outcome === 'completed') {
        try {
          payload = encodeJson(s.output, `output of job ${s.id}`);
        } catch (error) {
          // The attempt ran but its result cannot be stored: fail the job rather than lose the batch.
          outcome = 'failed';
          payload = encodeError({ code: 'JOB_FAILED', message: (error as Error).message });
        }
      } else if (s.outcome === 'released') {
        // A push-back rides in the payload (its key) and runAt (its end): see settle.lua.
        payload = s.pushBack?.key ?? '';
      } else {
        payload = encodeError(s.error);
      }
      const runAt = s.outcome === 'retry' ? String(s.runAt) : s.outcome === 'released' && s.pushBack ? String(Math.ceil(s.pushBack.until)) : '';
      args.push(s.id, String(s.token), outcome, payload, runAt);
    }
    const [outcomes, pending] = (await this.run('settle', args)) as [number[], number];
    if (pending > 0) await this.continueCascades();
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
    await this.continueCascades();
    // Ended, or already out of retention (which only finished jobs leave).
    const status = (await this.get(id))?.status;
    return status === undefined || status === 'cancelled' ? 'cancelled' : outcome;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return (await this.getMany([id]))[0];
  }

  async getMany(ids: readonly string[]): Promise<(JobRecord | undefined)[]> {
    // Slices keep each call short on Redis; sent together, they still make one round trip.
    const slices: Promise<unknown>[] = [];
    for (let i = 0; i < ids.length; i += READ_SLICE) {
      slices.push(this.read('get_many', [...recordFieldArgs, ...ids.slice(i, i + READ_SLICE)]));
    }
    const replies = (await Promise.all(slices)) as (string | null)[][][];
    return replies.flat().map((values, i) => toJobRecord(ids[i]!, values));
  }

  async children(id: string): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for (let offset = 0; ; offset += READ_SLICE) {
      const [ids, values] = (await this.read('children', [id, String(offset), String(READ_SLICE), ...recordFieldArgs])) as [
        string[],
        (string | null)[][],
      ];
      ids.forEach((childId, i) => {
        const record = toJobRecord(childId, values[i]!);
        if (record) out.push(record);
      });
      if (ids.length < READ_SLICE) return out;
    }
  }

  async events(id: string, afterSeq: number): Promise<JobEvent[]> {
    const [job, stored] = (await this.read('events', [id])) as [string[], string[]];
    return jobEventsFromHash(id, pairs(job), pairs(stored), afterSeq);
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

  upsertSchedule(definition: ScheduleDefinition): Promise<ScheduleUpsertOutcome> {
    return this.scheduled.upsert(definition);
  }

  removeSchedule(key: string): Promise<boolean> {
    return this.scheduled.remove(key);
  }

  schedules(query: ScheduleQuery): Promise<ScheduleRecord[]> {
    return this.scheduled.list(query);
  }

  fireSchedules(fires: readonly ScheduleFire[], options: EnqueueOptions): Promise<ScheduleFireOutcome[]> {
    return this.scheduled.fire(fires, options);
  }

  pauseType(name: string): Promise<void> {
    return this.scheduled.pause(name);
  }

  resumeType(name: string): Promise<void> {
    return this.scheduled.resume(name);
  }

  pausedTypes(): Promise<string[]> {
    return this.scheduled.paused();
  }

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

  private key(kind: string, id: string): string {
    return `${this.base}${kind}:${id}`;
  }

  /**
   * Runs the cascade work left in Redis (by this store's calls, or by a caller that died) until
   * none is left, one bounded call at a time so other clients' commands run in between. One
   * loop per store at a time; callers wait for it.
   */
  private continueCascades(): Promise<void> {
    this.cascading ??= (async () => {
      try {
        for (let pending = 1; pending > 0;) [pending] = (await this.run('cascade', [])) as [number, string];
      } finally {
        this.cascading = undefined;
      }
    })();
    return this.cascading;
  }

  /**
   * The periodic sweep of a subscribed store: continues cascade work nobody finished (its caller
   * died), and, since leases are taken back inside `claim`, tells the local dispatcher when a
   * lease ran out so that an idle node claims (and so requeues) a dead node's jobs.
   */
  private async sweep(): Promise<StoreSignal[]> {
    const [pending, leaseDue] = (await this.run('cascade', [])) as [number, string];
    if (pending > 0) await this.continueCascades();
    return leaseDue !== '' && Number(leaseDue) <= this.clock.now() ? [{ type: 'work.available' }] : [];
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

/** An HGETALL reply as an object. */
function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
