import { afterEach } from 'vitest';
import { createJobSystem, type AnyJobDefinition, type JobSystem, type JobSystemOptions } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import type { Clock, JobStore, StoreSignal } from '@scalable-api/core';

const systems: JobSystem[] = [];

afterEach(async () => {
  for (const system of systems.splice(0)) await system.stop({ drain: false, timeoutMs: 0 });
});

/** A fresh started system on a simulated clock, stopped after the test. */
export async function setup<const Jobs extends readonly AnyJobDefinition[]>(
  options: Omit<JobSystemOptions<Jobs>, 'clock'> & { clock?: SimulatedClock },
): Promise<{ system: JobSystem<Jobs>; clock: SimulatedClock }> {
  const clock = options.clock ?? new SimulatedClock();
  const system = createJobSystem({ ...options, clock });
  systems.push(system as unknown as JobSystem);
  await system.start();
  return { system, clock };
}

/**
 * A fresh started system on the real clock, stopped after the test: real threads cannot be driven
 * by a simulated one.
 */
export async function startReal<const Jobs extends readonly AnyJobDefinition[]>(options: JobSystemOptions<Jobs>): Promise<JobSystem<Jobs>> {
  const system = createJobSystem(options);
  systems.push(system as unknown as JobSystem);
  await system.start();
  return system;
}

/** Waits `ms` on the given clock, rejecting with the signal's reason when it aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = clock.setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clock.clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** A promise that settles when the test says so, for jobs that must stay running. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Resolves the promise's outcome as a value, so tests can assert rejections without try/catch. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on the error's fields (code, details) directly
export async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: any }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * A real store with one fault injected: the signals `drop` picks never reach the system (a
 * subscriber connection that lost them). A mock only for the fault; everything else is the store.
 */
export function lossyStore<S extends JobStore>(inner: S, drop: (signal: StoreSignal) => boolean): S & { resume(): void } {
  const listeners: ((signal: StoreSignal) => void)[] = [];
  const store = Object.create(inner) as S & { resume(): void };
  store.subscribe = (listener) => {
    listeners.push(listener);
    return inner.subscribe((signal) => {
      if (!drop(signal)) listener(signal);
    });
  };
  store.resume = () => {
    for (const listener of listeners) listener({ type: 'signals.resumed' });
  };
  return store;
}
