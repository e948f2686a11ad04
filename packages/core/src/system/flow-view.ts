import { InputError, SystemStateError } from '../errors.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import { flowControlOf } from '../job/flow-options.js';
import { maxFlowStatsNames, type FlowNameStats } from '../store/flow-stats.js';
import type { FlowControl, JobStore } from '../store/job-store.js';
import { fromStore } from './from-store.js';

/** What `system.flow()` asks: some job types (default: every registered one, by name), and how many flow keys each. */
export interface FlowViewOptions {
  /** At most 100; an unregistered name fails with `JOB_TYPE_UNKNOWN`. Default: the first 100 registered, by name. */
  names?: readonly string[];
  /** Flow keys per type, most queued first. Default 10, at most 100. */
  topKeys?: number;
}

/**
 * A job type's flow control: what its definition asks (`rateLimit`, `fairShare`), whether it is
 * paused, and what the store holds now (`FlowNameStats`: queued entries, the gate of its rate
 * limit and push-backs, its flow keys with the most queued). Times are epoch ms.
 */
export interface JobTypeFlow extends FlowNameStats {
  paused: boolean;
  rateLimit?: NonNullable<FlowControl['rate']>;
  fairShare?: {
    /** Where a job's flow key comes from: its input (`key`), else its tenant. */
    keyedBy: 'input' | 'tenant';
    weights?: Readonly<Record<string, number>>;
    concurrencyPerKey?: number;
  };
}

/** What `readFlow` reads: the node runtime, narrowed. */
export interface FlowViewTarget {
  readonly store: JobStore;
  readonly jobs: ReadonlyMap<string, AnyJobDefinition>;
}

/** `system.flow()`: one store read for the stats, one for the paused types. */
export async function readFlow(node: FlowViewTarget, options: FlowViewOptions = {}): Promise<JobTypeFlow[]> {
  const { store, jobs } = node;
  if (!store.flowStats) throw new SystemStateError('NOT_SUPPORTED', 'This job store does not report its flow control.');
  const names = options.names ? [...options.names] : [...jobs.keys()].sort().slice(0, maxFlowStatsNames);
  if (names.length > maxFlowStatsNames) throw new InputError('INPUT_INVALID', `Ask for at most ${maxFlowStatsNames} job types at once.`);
  const definitions = names.map((name) => {
    const definition = jobs.get(name);
    if (!definition) throw new InputError('JOB_TYPE_UNKNOWN', `No job named ${String(name).slice(0, 100)} is registered.`);
    return definition;
  });
  const flow = new Map<string, FlowControl>();
  for (const definition of definitions) {
    const control = flowControlOf(definition);
    if (control) flow.set(definition.name, control);
  }
  const [stats, paused] = await Promise.all([
    fromStore(store.flowStats({ names, flow, topKeys: options.topKeys })),
    store.pausedTypes ? fromStore(store.pausedTypes()) : Promise.resolve([]),
  ]);
  const pausedSet = new Set(paused);
  return stats.map((stat, i): JobTypeFlow => {
    const definition = definitions[i]!;
    const control = flow.get(stat.name);
    const out: JobTypeFlow = { ...stat, paused: pausedSet.has(stat.name) };
    if (control?.rate) out.rateLimit = control.rate;
    out.fairShare = { keyedBy: definition.rateLimit?.key || definition.fairShare?.key ? 'input' : 'tenant' };
    if (control?.weights) out.fairShare.weights = control.weights;
    if (control?.concurrencyPerKey !== undefined) out.fairShare.concurrencyPerKey = control.concurrencyPerKey;
    return out;
  });
}
