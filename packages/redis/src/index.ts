export { createRedisStore, RedisStore, type RedisStoreOptions } from './redis-store.js';
export { SignalSubscriber } from './signal-subscriber.js';
