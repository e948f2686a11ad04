/**
 * Runs async sections one at a time per key (a digest), in arrival order. Blob stores use it so
 * that within one process a `put` and the last `remove` of the same bytes never interleave. The
 * map holds only keys with work in flight, so it cannot grow beyond the concurrent operations.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, section: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = new Promise<void>((resolve) => (release = resolve));
    this.tails.set(key, tail);
    await previous;
    try {
      return await section();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
