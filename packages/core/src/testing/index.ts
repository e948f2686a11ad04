// `@scalable-api/core/testing`: what tests of an app need, without loading a test runner. The
// conformance suites, which need vitest, are `@scalable-api/core/testing/conformance`.
export { SimulatedClock, flushMicrotasks } from './simulated-clock.js';
