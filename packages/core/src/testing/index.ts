export { SimulatedClock, flushMicrotasks } from './simulated-clock.js';
export { runStoreConformance, type StoreFactory, type StoreFactoryOptions, type StoreFixture } from './store-conformance.js';
export { runBlobStoreConformance, type BlobStoreConformanceOptions } from './blob-store-conformance.js';
