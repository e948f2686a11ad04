import type { Cluster, Redis } from 'ioredis';
import type { Clock, StoreListener, StoreSignal } from '@scalable-api/core';
import { parseSignalMessage } from './signal-message.js';
import type { SignalSubscriber } from './signal-subscriber.js';

/**
 * The receiving end of a store's signals. The functions publish what each call changed on one
 * channel under the prefix; this listens on it through a `SignalSubscriber` (the store's own, or
 * one shared by several stores), from the first `add` until the store closes.
 */
export class SignalChannel {
  private sweeper: NodeJS.Timeout | undefined;
  private listeners: StoreListener[] = [];
  private unlisten: Promise<() => void> | undefined;
  /** Resolves once the subscription is live; the store's calls wait for it so no signal they cause is missed. */
  ready: Promise<unknown> | undefined;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly subscriber: SignalSubscriber,
    private readonly channel: string,
    private readonly leasesKey: string,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly sweepMs: number,
  ) {}

  add(listener: StoreListener): () => void {
    this.listeners.push(listener);
    if (!this.unlisten) {
      this.unlisten = this.subscriber.listen(this.channel, {
        onMessage: (message) => this.dispatch(parseSignalMessage(message)),
        onResumed: () => this.dispatch([{ type: 'signals.resumed' }]),
      });
      this.ready = this.unlisten;
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
    if (this.unlisten) (await this.unlisten)();
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

  private dispatch(signals: StoreSignal[]): void {
    for (const signal of signals) {
      for (const listener of this.listeners) {
        try {
          listener(signal);
        } catch (error) {
          // A listener's bug must not escape into the Redis client's event handler (an uncaught
          // exception there takes the process down) nor keep the signal from the other listeners.
          process.emitWarning(error as Error);
        }
      }
    }
  }
}
