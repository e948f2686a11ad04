import type { JobEvent, JobRecord, JobStore } from '@scalable-api/core';

/** One reader of one job (an SSE stream, a `Prefer: wait` request). */
export interface JobWatcher {
  /** A live event of the job, as the store published it. */
  event(event: JobEvent): void;
  /**
   * The job's record, read because signals may have been lost: after the store's subscriber
   * reconnected (`signals.resumed`) and every `reconcileMs`. `undefined`: the job is gone.
   */
  record(record: JobRecord | undefined): void;
}

/** One reader of a whole tree (a `?tree=1` stream): every event whose `rootId` is the tree's. */
export interface TreeWatcher {
  event(event: JobEvent): void;
  /** Signals may have been lost: re-read the tree from the store. */
  resync(): void;
}

export interface JobEventHubOptions {
  /** How often every watched job is re-read from the store, in one batched call. */
  reconcileMs: number;
  /** Jobs per `getMany` call. */
  batch?: number;
  onError?: (error: unknown) => void;
}

/**
 * Fans the store's job events out to the readers of each job. One store listener serves every
 * connection: a Map lookup per event instead of every connection inspecting every event, which
 * would cost connections × events.
 *
 * Events are hints: a store may lose some (Redis drops a slow subscriber, a connection breaks).
 * So the hub also re-reads the record of every watched job, batched (`getMany`, one round trip
 * per `batch` jobs), right after `signals.resumed` and on a bounded interval while anyone
 * watches; a reader that sees its job settled there catches up from the store. No reader polls on
 * its own.
 */
export class JobEventHub {
  private readonly watchers = new Map<string, Set<JobWatcher>>();
  private readonly trees = new Map<string, Set<TreeWatcher>>();
  private timer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(
    private readonly store: JobStore,
    private readonly options: JobEventHubOptions,
  ) {}

  /** Watches one job; returns the function that stops it (and frees the watcher at once). */
  watch(jobId: string, watcher: JobWatcher): () => void {
    let set = this.watchers.get(jobId);
    if (!set) {
      set = new Set();
      this.watchers.set(jobId, set);
    }
    set.add(watcher);
    this.schedule();
    return () => {
      const current = this.watchers.get(jobId);
      if (!current) return;
      current.delete(watcher);
      if (current.size === 0) this.watchers.delete(jobId);
      if (this.watchers.size === 0 && this.trees.size === 0) this.unschedule();
    };
  }

  /** Watches every job of the tree rooted at `rootId`; returns the function that stops it. */
  watchTree(rootId: string, watcher: TreeWatcher): () => void {
    let set = this.trees.get(rootId);
    if (!set) {
      set = new Set();
      this.trees.set(rootId, set);
    }
    set.add(watcher);
    this.schedule();
    return () => {
      const current = this.trees.get(rootId);
      if (!current) return;
      current.delete(watcher);
      if (current.size === 0) this.trees.delete(rootId);
      if (this.watchers.size === 0 && this.trees.size === 0) this.unschedule();
    };
  }

  publish(event: JobEvent): void {
    // Several events a job, usually with no reader at all: skip the lookups then.
    if (this.watchers.size > 0) {
      const set = this.watchers.get(event.id);
      if (set) for (const watcher of set) watcher.event(event);
    }
    if (this.trees.size > 0) {
      const set = this.trees.get(event.rootId);
      if (set) for (const watcher of set) watcher.event(event);
    }
  }

  /** Re-reads every watched job now (after `signals.resumed`); overlapping calls run once more, not in parallel. */
  reconcile(): Promise<void> {
    if (this.reconciling) {
      this.again = true;
      return this.reconciling;
    }
    this.reconciling = (async () => {
      do {
        this.again = false;
        await this.readAll();
      } while (this.again && !this.closed);
    })().finally(() => {
      this.reconciling = undefined;
    });
    return this.reconciling;
  }

  /** Jobs and trees with at least one watcher. */
  get size(): number {
    return this.watchers.size + this.trees.size;
  }

  close(): void {
    this.closed = true;
    this.unschedule();
  }

  private async readAll(): Promise<void> {
    for (const set of this.trees.values()) for (const watcher of [...set]) watcher.resync();
    const ids = [...this.watchers.keys()];
    const batch = this.options.batch ?? 500;
    for (let i = 0; i < ids.length && !this.closed; i += batch) {
      const chunk = ids.slice(i, i + batch);
      let records: (JobRecord | undefined)[];
      try {
        records = await this.store.getMany(chunk);
      } catch (error) {
        // The store is down: the next interval (or resume) tries again.
        this.options.onError?.(error);
        return;
      }
      chunk.forEach((id, n) => {
        const set = this.watchers.get(id);
        if (set) for (const watcher of [...set]) watcher.record(records[n]);
      });
    }
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(() => void this.reconcile(), this.options.reconcileMs).unref();
  }

  private unschedule(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
