import type { Cluster, Redis } from 'ioredis';
import type { Clock } from '@scalable-api/core';
import type { SignalSubscriber } from './signal-subscriber.js';

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
