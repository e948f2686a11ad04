import type { Clock } from '../clock.js';

/** Events per second over a sliding window of whole seconds, read from the injected clock. */
export class RateMeter {
  private buckets: number[];
  private seconds: number[];

  constructor(
    private readonly clock: Clock,
    private readonly windowSeconds = 10,
  ) {
    this.buckets = new Array<number>(windowSeconds).fill(0);
    this.seconds = new Array<number>(windowSeconds).fill(-1);
  }

  mark(n = 1): void {
    const second = Math.floor(this.clock.now() / 1000);
    const slot = second % this.windowSeconds;
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second;
      this.buckets[slot] = 0;
    }
    this.buckets[slot]! += n;
  }

  perSecond(): number {
    const now = Math.floor(this.clock.now() / 1000);
    let total = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      const second = this.seconds[i]!;
      if (second > now - this.windowSeconds && second <= now) total += this.buckets[i]!;
    }
    return total / this.windowSeconds;
  }
}
