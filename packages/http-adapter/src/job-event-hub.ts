import type { JobEvent } from '@scalable-api/core';

export type JobEventListener = (event: JobEvent) => void;

/**
 * Fans the store's job events out to the readers of each job (SSE streams). One store listener
 * serves every connection: a Map lookup per event instead of every connection inspecting every
 * event, which would cost connections × events.
 */
export class JobEventHub {
  private readonly listeners = new Map<string, Set<JobEventListener>>();

  /** Listens to one job's events; returns the unsubscribe function. */
  listen(jobId: string, listener: JobEventListener): () => void {
    let set = this.listeners.get(jobId);
    if (!set) {
      set = new Set();
      this.listeners.set(jobId, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(jobId);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.listeners.delete(jobId);
    };
  }

  publish(event: JobEvent): void {
    // Three events a job, usually with no reader at all: skip the lookup then.
    if (this.listeners.size === 0) return;
    const set = this.listeners.get(event.id);
    if (!set) return;
    for (const listener of set) listener(event);
  }

  /** Jobs with at least one reader. */
  get size(): number {
    return this.listeners.size;
  }
}
