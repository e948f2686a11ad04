/**
 * Where jobs free to go anywhere (no parent, no idempotency key) are placed: one shard per
 * event-loop tick, the next live one each tick. The runtime sends the submits of a tick to the
 * store as one batch (the HTTP adapter gathers a whole loop turn into one tick), so a batch
 * stays one round trip to one shard, while successive batches spread evenly over the shards.
 * A shard that does not answer is skipped until it does again.
 *
 * @example
 * const rotation = new TickRotation(3, (shard) => health.live(shard));
 * rotation.next() === rotation.next(); // true within a tick
 */
export class TickRotation {
  private current: number;
  private turned = false;

  constructor(
    private readonly count: number,
    private readonly live: (shard: number) => boolean,
  ) {
    this.current = Math.floor(Math.random() * count);
  }

  next(): number {
    if (!this.turned) {
      this.turned = true;
      queueMicrotask(() => {
        this.turned = false;
      });
      for (let k = 1; k <= this.count; k++) {
        const shard = (this.current + k) % this.count;
        if (this.live(shard) || k === this.count) {
          this.current = shard;
          break;
        }
      }
    }
    return this.current;
  }
}
