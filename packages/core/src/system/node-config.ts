import type { Clock } from '../clock.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import type { Logger } from '../logger.js';
import type { JobStore } from '../store/job-store.js';
import type { JobSystemOptions } from './job-system.js';
import type { NodeState } from './node-state.js';

/** What the runtime is built from: the options, resolved. */
export interface NodeConfig {
  options: JobSystemOptions;
  nodeId: string;
  store: JobStore;
  jobs: ReadonlyMap<string, AnyJobDefinition>;
  clock: Clock;
  logger: Logger;
  state: NodeState;
  queueLimit: number;
  leaseMs: number;
}
