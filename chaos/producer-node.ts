import { createJobSystem, defineJob, type JobSystem } from '@scalable-api/core';
import { createRedisStore, type RedisStore } from '@scalable-api/redis';

export interface ProducerNode {
  system: JobSystem;
  store: RedisStore;
  stop(): Promise<void>;
}

/** Never run here: a producer node only needs the names the chaos nodes run (`chaos-node.ts`). */
const names = ['work', 'hog', 'poison', 'fan'] as const;
const jobs = names.map((name) =>
  defineJob({
    name,
    run(): never {
      throw new Error(`${name} runs on the chaos nodes, not on the producer`);
    },
  }),
);

/**
 * A producer node in the harness's own process (`workers: 0`): it submits, cancels and waits for
 * results like an API tier does, over its own store client and subscribed connection — so a
 * fault on the subscribed connections (CLIENT KILL TYPE pubsub) reaches its result waiters too.
 *
 * @example
 * const producer = await startProducer(cluster.redisUrl, cluster.prefix, { reconcileMs: 2_000 });
 * const handle = await producer.system.submitByName('work', { ms: 100 });
 */
export async function startProducer(redisUrl: string, prefix: string, options: { reconcileMs?: number } = {}): Promise<ProducerNode> {
  const store = createRedisStore({ url: redisUrl, prefix, sweepMs: 0 });
  const system = createJobSystem({
    jobs,
    workers: 0,
    store,
    nodeId: `producer-${process.pid}`,
    queue: { limit: 1_000_000 },
    ...(options.reconcileMs ? { reconcileMs: options.reconcileMs } : {}),
  });
  await system.start();
  return {
    system,
    store,
    async stop() {
      await system.stop({ drain: false });
      await store.close();
    },
  };
}
