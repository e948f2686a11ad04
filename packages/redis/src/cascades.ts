import type { StoreSignal } from '@scalable-api/core';

/**
 * The Redis store's cascade work (lua/work.lua): what a call could not finish within its budget
 * (a wide cancel, a deep settle, retention of a big tree) waits in `{p}:work`, and `cascade`
 * calls do it a bounded step at a time.
 */
export class Cascades {
  private running: Promise<void> | undefined;

  /** `step` runs one `cascade` call: the items left, and the earliest lease expiry ('' for none). */
  constructor(
    private readonly step: () => Promise<[number, string]>,
    private readonly now: () => number,
  ) {}

  /**
   * Runs the cascade work left in Redis (by this store's calls, or by a caller that died) until
   * none is left, one bounded call at a time so other clients' commands run in between. One
   * loop per store at a time; callers wait for it.
   */
  continue(): Promise<void> {
    this.running ??= (async () => {
      try {
        for (let pending = 1; pending > 0;) [pending] = await this.step();
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /**
   * The periodic sweep of a subscribed store: continues cascade work nobody finished (its caller
   * died), and, since leases are taken back inside `claim`, tells the local dispatcher when a
   * lease ran out so that an idle node claims (and so requeues) a dead node's jobs.
   */
  async sweep(): Promise<StoreSignal[]> {
    const [pending, leaseDue] = await this.step();
    if (pending > 0) await this.continue();
    return leaseDue !== '' && Number(leaseDue) <= this.now() ? [{ type: 'work.available' }] : [];
  }
}
