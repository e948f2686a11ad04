import { newJobId, type JobStore } from '@scalable-api/core';
import { benchInput, benchNames, benchOutput } from './bench-input.js';

/**
 * The store-level loop redis-callgrind and lua-profile measure: enqueue `batch` plain jobs, claim
 * `batch` (by BENCH_NAMES when set), settle them completed, until `jobs` were done. `phase(i)` is
 * called after each step (0 enqueue, 1 claim, 2 settle). Returns the jobs done.
 */
export async function storeLoop(store: JobStore, jobs: number, batch: number, phase: (step: 0 | 1 | 2) => void = () => {}): Promise<number> {
  let done = 0;
  while (done < jobs) {
    await store.enqueue(
      Array.from({ length: batch }, () => ({ id: newJobId(), name: 'echo', input: benchInput, priority: 0 })),
      { limit: 1_000_000 },
    );
    phase(0);
    const { jobs: claimed } = await store.claim({ owner: 'bench', max: batch, leaseMs: 60_000, names: benchNames });
    phase(1);
    await store.settle(claimed.map((j) => ({ ...j, outcome: 'completed' as const, output: benchOutput })));
    phase(2);
    done += claimed.length;
  }
  return done;
}
