// `@scalable-api/core/testing/conformance`: the suites every store and blob store runs. They
// are vitest suites (vitest is an optional peer of the core), hence their own subpath.
export { runStoreConformance, type ConformanceOptions } from './run-store-conformance.js';
export type { StoreCapabilities, StoreCapability, StoreFactory, StoreFactoryOptions, StoreFixture } from './store-fixture.js';
export { runBlobStoreConformance, type BlobStoreConformanceOptions } from './blob-store-conformance.js';
