import type { StoreListener, StoreSignal } from '@scalable-api/core';
import type { RedisStore } from './redis-store.js';
import type { ShardHints } from './shard-hints.js';

/**
 * The shards' signals as one store's: each shard's store is subscribed on the first listener,
 * work on a shard becomes a claim hint for it, and shards that resume together (one subscribed
 * connection) send listeners one `signals.resumed`.
 */
export class ShardSignals {
  private listeners: StoreListener[] = [];
  private unsubscribes: (() => void)[] | undefined;
  private resuming = false;

  constructor(
    private readonly shards: readonly RedisStore[],
    private readonly hints: ShardHints,
  ) {}

  subscribe(listener: StoreListener): () => void {
    this.listeners.push(listener);
    this.unsubscribes ??= this.shards.map((store, shard) => store.subscribe((signal) => this.signal(shard, signal)));
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  close(): void {
    this.listeners = [];
    for (const unsubscribe of this.unsubscribes ?? []) unsubscribe();
  }

  private signal(shard: number, signal: StoreSignal): void {
    if (signal.type === 'work.available' || signal.type === 'signals.resumed') this.hints.work(shard);
    if (signal.type === 'signals.resumed') {
      // Shards on one subscribed connection resume together: listeners re-derive once for all.
      if (this.resuming) return;
      this.resuming = true;
      queueMicrotask(() => {
        this.resuming = false;
        this.emit(signal);
      });
      return;
    }
    this.emit(signal);
  }

  private emit(signal: StoreSignal): void {
    for (const listener of this.listeners) listener(signal);
  }
}
