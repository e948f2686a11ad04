/**
 * Groups calls made in the same tick into one store call: the memory store saves per-call
 * overhead, the Redis store saves round trips. Each item gets its own callback with its own
 * result, so one caller's failure is not another's.
 */
export class Batcher<In, Out> {
  private items: In[] = [];
  private callbacks: ((error: unknown, result?: Out) => void)[] = [];
  private scheduled = false;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly flushBatch: (items: In[]) => Promise<Out[]>,
    private readonly maxBatch = 1_000,
  ) {}

  add(item: In, callback: (error: unknown, result?: Out) => void): void {
    this.items.push(item);
    this.callbacks.push(callback);
    if (this.items.length >= this.maxBatch) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** The same as `add`, as a promise. */
  submit(item: In): Promise<Out> {
    return new Promise((resolve, reject) =>
      this.add(item, (error, result) => (error === undefined ? resolve(result as Out) : reject(error as Error))),
    );
  }

  get pending(): number {
    return this.items.length + this.inFlight;
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private flush(): void {
    this.scheduled = false;
    if (this.items.length === 0) return;
    const items = this.items;
    const callbacks = this.callbacks;
    this.items = [];
    this.callbacks = [];
    this.inFlight += items.length;
    const done = () => {
      this.inFlight -= items.length;
      if (this.pending === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    };
    let call: Promise<Out[]>;
    try {
      call = this.flushBatch(items);
    } catch (error) {
      call = Promise.reject(error);
    }
    call.then(
      (results) => {
        done();
        for (let i = 0; i < callbacks.length; i++) callbacks[i]!(undefined, results[i]);
      },
      (error: unknown) => {
        done();
        for (const callback of callbacks) callback(error ?? new Error('store call failed'));
      },
    );
  }
}
