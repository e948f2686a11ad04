import type { Cluster, Redis } from 'ioredis';
import type { Clock, JobEvent, StoreListener, StoreSignal } from '@scalable-api/core';

/**
 * The receiving end of a store's signals. The scripts publish what each call changed on one
 * channel under the prefix; every node listens on a connection of its own (a subscribed
 * connection can do nothing else), opened on the first `add` and closed with the store even when
 * the command client was the caller's.
 */
export class SignalChannel {
  private subscriber: Redis | Cluster | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private listeners: StoreListener[] = [];
  /** Resolves once the subscription is live; the store's calls wait for it so no signal they cause is missed. */
  ready: Promise<unknown> | undefined;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly channel: string,
    private readonly leasesKey: string,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly sweepMs: number,
  ) {}

  add(listener: StoreListener): () => void {
    this.listeners.push(listener);
    if (!this.subscriber) {
      const subscriber = this.client.duplicate();
      this.subscriber = subscriber;
      subscriber.on('message', (_channel: string, message: string) => this.deliver(message));
      // A lost connection reconnects and resubscribes by itself; what it missed, readers get
      // from the job's event list by seq.
      subscriber.on('error', () => {});
      this.ready = subscriber.subscribe(this.channel).catch(() => undefined);
      if (this.sweepMs > 0) {
        this.sweeper = setInterval(() => void this.sweep(), this.sweepMs);
        this.sweeper.unref();
      }
    }
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  async close(): Promise<void> {
    this.listeners = [];
    clearInterval(this.sweeper);
    const subscriber = this.subscriber;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  /**
   * Leases are expired inside `claim`, so a dead node's jobs come back as soon as any node
   * claims. When every node is idle nobody would; this nudges the local dispatcher instead.
   */
  private async sweep(): Promise<void> {
    try {
      const [, score] = await this.client.zrange(this.leasesKey, 0, 0, 'WITHSCORES');
      if (score !== undefined && Number(score) <= this.clock.now()) this.dispatch([{ type: 'work.available' }]);
    } catch {
      // Redis unreachable: the next operation reports it; a sweep has no caller to tell.
    }
  }

  private deliver(message: string): void {
    let items: (StoreSignal | JobEvent)[];
    try {
      items = JSON.parse(message) as (StoreSignal | JobEvent)[];
    } catch {
      return; // not ours: someone else published on the channel
    }
    // Job events are published bare (they are most of the traffic); only they carry a seq.
    this.dispatch(items.map((item): StoreSignal => ('seq' in item ? { type: 'job.event', event: item } : item)));
  }

  private dispatch(signals: StoreSignal[]): void {
    for (const signal of signals) {
      for (const listener of this.listeners) listener(signal);
    }
  }
}
