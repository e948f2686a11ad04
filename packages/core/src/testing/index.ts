export { SimulatedClock, flushMicrotasks } from './simulated-clock.js';
