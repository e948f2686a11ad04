import type { Clock } from '../clock.js';
import { BatchCollector, type BatchHost } from '../job/batch-collector.js';
import type { JobAttempt } from '../job/job-attempt.js';
import type { JobContext } from '../job/job-context.js';
import { ThreadPool, type ThreadPoolOptions, type ThreadRun } from '../isolation/thread-pool.js';
import type { Logger } from '../logger.js';
import type { NodeState } from './node-state.js';

/**
 * Where a node runs the jobs that do not run on the event loop by themselves: thread jobs in the
 * thread pool, batch jobs in the forming batch of their type. Both are made on first use, so a
 * node without such jobs pays nothing for them.
 */
export class JobExecutors {
  private threads: ThreadPool | undefined;
  private readonly batches = new Map<string, BatchCollector>();

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly state: NodeState,
    private readonly threadOptions: ThreadPoolOptions | undefined,
    /** What a batch collector runs through: the node, so a batch of thread jobs goes to the node's pool. */
    private readonly batchHost: BatchHost,
  ) {}

  runInThread(run: ThreadRun): Promise<unknown> {
    // A replaced thread counts as a restart but not against the restart intensity: its job fails
    // with THREAD_CRASHED through its own retry policy, so one poison input cannot turn the node
    // unhealthy, while the count still shows in stats().
    this.threads ??= new ThreadPool(this.clock, this.threadOptions, (why) => {
      this.state.restarted();
      this.logger.warn({ why }, 'a job thread was replaced');
    });
    return this.threads.run(run);
  }

  joinBatch(attempt: JobAttempt, ctx: JobContext): Promise<unknown> {
    const { definition } = attempt;
    if (definition.kind !== 'batch') throw new TypeError(`${definition.name} is not a batch job`);
    let collector = this.batches.get(definition.name);
    if (!collector) this.batches.set(definition.name, (collector = new BatchCollector(definition, this.batchHost)));
    return collector.join(attempt, ctx);
  }

  async close(): Promise<void> {
    await this.threads?.close();
  }
}
