import type { StoreListener, StoreSignal } from '@scalable-api/core';
import { parseSignalLines } from './signal-lines.js';
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
  private sweeping = false;
  /** Resolves once the subscription is live; the store's calls wait for it so no signal they cause is missed. */
  ready: Promise<unknown> | undefined;

  constructor(
    private readonly subscriber: SignalSubscriber,
    private readonly channel: string,
    /** Periodic work of a subscribed store (see `RedisStore.sweep`); what it returns is dispatched. */
    private readonly periodic: () => Promise<StoreSignal[]>,
    private readonly sweepMs: number,
  ) {}

  add(listener: StoreListener): () => void {
    this.listeners.push(listener);
    if (!this.unlisten) {
      this.unlisten = this.subscriber.listen(this.channel, {
        onMessage: (message) => this.dispatch(parseSignalLines(message)),
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

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      this.dispatch(await this.periodic());
    } catch {
      // Redis unreachable: the next operation reports it; a sweep has no caller to tell.
    } finally {
      this.sweeping = false;
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
