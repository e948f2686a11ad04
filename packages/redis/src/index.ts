export { createRedisStore, RedisStore, type RedisStoreOptions } from './redis-store.js';
