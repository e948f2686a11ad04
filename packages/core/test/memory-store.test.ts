import { createMemoryStore } from '../src/store/memory-store.js';
import { runStoreConformance, SimulatedClock } from '../src/testing/index.js';

runStoreConformance('createMemoryStore', (options) => {
  const clock = new SimulatedClock();
  return { store: createMemoryStore({ ...options, clock }), clock, cleanup: () => {} };
});
