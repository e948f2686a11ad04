export { runStoreConformance } from './run-store-conformance.js';
export type { StoreCapabilities, StoreCapability, StoreFactory, StoreFactoryOptions, StoreFixture } from './store-fixture.js';
