export { createRedisStore, type ShardedRedisStoreOptions } from './create-redis-store.js';
export { RedisStore, type RedisStoreOptions } from './redis-store.js';
export { ShardedRedisStore } from './sharded-store.js';
export { ShardRouter, shardPrefix } from './shard-router.js';
export { SignalSubscriber } from './signal-subscriber.js';
