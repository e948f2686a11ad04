import type { Clock } from '../clock.js';

/** `work`, or nothing once `ms` have passed on the clock (at once for `ms <= 0`), whichever comes first. */
export function within(clock: Clock, work: Promise<void>, ms: number): Promise<void> {
  if (ms <= 0) return Promise.race([work, Promise.resolve()]);
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  const deadline = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, ms)));
  return Promise.race([work, deadline]).finally(() => clock.clearTimeout(timer!));
}
