import type { Clock } from '../clock.js';
import { InputError, SystemStateError } from '../errors.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import type { JobStore } from '../store/job-store.js';
import { maxSchedules, type PauseStore, type ScheduleEvery, type ScheduleRecord, type ScheduleStore } from '../store/schedule-store.js';
import { fromStore } from '../system/from-store.js';
import { validateInput } from '../system/validate-input.js';
import { nextTick, normaliseEvery, normalisePolicy } from './schedule-timing.js';
import type { Scheduler } from './scheduler.js';

/** How a schedule treats missed ticks and runs that overlap; see `SchedulePolicy`. */
export interface ScheduleOptions {
  /** Default `'skip'`. */
  missed?: 'skip' | 'catchUpOne';
  /** Default `'allow'`. */
  overlap?: 'skip' | 'allow';
  /** How late a tick may still run before it counts as missed. Default 10 s. */
  graceMs?: number;
  /** Carried by every job the schedule runs (tenant). */
  meta?: Record<string, string>;
}

/** A schedule as `system.schedules()` lists it: `nextAt` is its next tick (epoch ms). */
export type ScheduleInfo = ScheduleRecord;

/** What schedule control reads: the node runtime, narrowed. */
export interface ScheduleControlTarget {
  readonly store: JobStore;
  readonly clock: Clock;
  readonly jobs: ReadonlyMap<string, AnyJobDefinition>;
  readonly scheduler: Scheduler;
}

const maxKeyLength = 200;

/** `system.schedule()`, `schedules()`, `unschedule()`, `pause()`, `resume()` and `paused()`. */
export class ScheduleControl {
  constructor(private readonly node: ScheduleControlTarget) {}

  /** `job` is a registered definition, or the name of one (the HTTP adapter has only names). */
  async schedule(
    key: string,
    job: AnyJobDefinition | string,
    input: unknown,
    every: ScheduleEvery,
    options: ScheduleOptions = {},
  ): Promise<ScheduleInfo> {
    const store = this.schedulesOf();
    if (typeof key !== 'string' || key.length === 0 || key.length > maxKeyLength) {
      throw new InputError('INPUT_INVALID', `A schedule key is a string of 1 to ${maxKeyLength} characters.`);
    }
    const definition = this.definition(job);
    const timing = normaliseEvery(every);
    const policy = normalisePolicy(options);
    const parsed = await validateInput(definition, input);
    const outcome = await fromStore(
      store.upsertSchedule({
        key,
        name: definition.name,
        input: parsed,
        every: timing,
        policy,
        meta: options.meta,
        nextAt: nextTick(timing, this.node.clock.now()),
      }),
    );
    if (!outcome.ok) throw new InputError('SCHEDULES_FULL', `The store holds ${maxSchedules} schedules already.`);
    this.node.scheduler.runSoon();
    return outcome.record;
  }

  async schedules(): Promise<ScheduleInfo[]> {
    return fromStore(this.schedulesOf().schedules({ limit: maxSchedules }));
  }

  async unschedule(key: string): Promise<boolean> {
    return fromStore(this.schedulesOf().removeSchedule(key));
  }

  async pause(name: string): Promise<void> {
    this.definition(name);
    await fromStore(this.pausesOf().pauseType(name));
  }

  async resume(name: string): Promise<void> {
    this.definition(name);
    await fromStore(this.pausesOf().resumeType(name));
  }

  async paused(): Promise<string[]> {
    return fromStore(this.pausesOf().pausedTypes());
  }

  private definition(job: AnyJobDefinition | string): AnyJobDefinition {
    const name = typeof job === 'string' ? job : job?.name;
    const definition = this.node.jobs.get(name);
    if (!definition || (typeof job !== 'string' && definition !== job)) {
      throw new InputError('JOB_TYPE_UNKNOWN', `No job named ${String(name).slice(0, 100)} is registered.`);
    }
    return definition;
  }

  private schedulesOf(): ScheduleStore {
    const store = this.node.store;
    if (!store.upsertSchedule || !store.removeSchedule || !store.schedules || !store.fireSchedules) {
      throw new SystemStateError('NOT_SUPPORTED', 'This job store does not hold schedules.');
    }
    return store as JobStore & ScheduleStore;
  }

  private pausesOf(): PauseStore {
    const store = this.node.store;
    if (!store.pauseType || !store.resumeType || !store.pausedTypes)
      throw new SystemStateError('NOT_SUPPORTED', 'This job store cannot pause job types.');
    return store as JobStore & PauseStore;
  }
}
