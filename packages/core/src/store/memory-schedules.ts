import { isTerminal } from '../job/job-status.js';
import type { EnqueueOptions, EnqueueOutcome, NewJob } from './job-store.js';
import type { MemoryState } from './memory-state.js';
import {
  maxSchedules,
  scheduleFingerprint,
  scheduleTickKey,
  type ScheduleDefinition,
  type ScheduleFire,
  type ScheduleFireOutcome,
  type ScheduleQuery,
  type ScheduleRecord,
  type ScheduleUpsertOutcome,
} from './schedule-store.js';

interface StoredSchedule {
  record: ScheduleRecord;
  fingerprint: string;
}

/**
 * The memory store's schedules and paused job types. A fire checks the schedule's version and
 * next tick and enqueues the tick's job in one synchronous step, which is all the atomicity one
 * process needs; the Redis functions (schedule.lua) do the same for many.
 */
export class MemorySchedules {
  private readonly byKey = new Map<string, StoredSchedule>();

  constructor(
    private readonly state: MemoryState,
    private readonly enqueueOne: (job: NewJob, limit: number) => EnqueueOutcome,
  ) {}

  upsert(definition: ScheduleDefinition): ScheduleUpsertOutcome {
    const now = this.state.begin();
    const fingerprint = scheduleFingerprint(definition);
    const stored = this.byKey.get(definition.key);
    if (stored?.fingerprint === fingerprint) return { ok: true, created: false, record: copy(stored.record) };
    if (!stored && this.byKey.size >= maxSchedules) return { ok: false, code: 'SCHEDULES_FULL' };
    const record: ScheduleRecord = {
      ...structuredClone(definition),
      version: (stored?.record.version ?? 0) + 1,
      createdAt: stored?.record.createdAt ?? now,
      updatedAt: now,
      lastAt: stored?.record.lastAt,
      lastJobId: stored?.record.lastJobId,
    };
    this.byKey.set(definition.key, { record, fingerprint });
    return { ok: true, created: !stored, record: copy(record) };
  }

  remove(key: string): boolean {
    this.state.begin();
    return this.byKey.delete(key);
  }

  list(query: ScheduleQuery): ScheduleRecord[] {
    const limit = Math.max(0, Math.min(query.limit, maxSchedules));
    const out: ScheduleRecord[] = [];
    for (const { record } of this.byKey.values()) if (query.dueBy === undefined || record.nextAt <= query.dueBy) out.push(record);
    out.sort((a, b) => a.nextAt - b.nextAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out.slice(0, limit).map(copy);
  }

  fire(fires: readonly ScheduleFire[], options: EnqueueOptions): ScheduleFireOutcome[] {
    const state = this.state;
    state.begin();
    for (const fire of fires) {
      if (!(fire.nextAt > fire.at)) throw new RangeError(`schedule ${fire.key}: the next tick must come after ${fire.at}`);
    }
    const out = fires.map((fire): ScheduleFireOutcome => {
      const record = this.byKey.get(fire.key)?.record;
      if (!record || record.version !== fire.version || record.nextAt !== fire.at) return { outcome: 'stale' };
      const last = record.lastJobId === undefined ? undefined : state.records.get(record.lastJobId);
      if (!fire.run || (record.policy.overlap === 'skip' && last && !isTerminal(last.status))) {
        record.nextAt = fire.nextAt;
        record.lastAt = fire.at;
        return { outcome: 'skipped' };
      }
      const outcome = this.enqueueOne(
        {
          id: fire.id,
          name: record.name,
          input: structuredClone(record.input),
          priority: 0,
          idempotencyKey: scheduleTickKey(record.key, fire.at),
          meta: { ...record.meta, schedule: record.key },
        },
        options.limit,
      );
      if (!outcome.ok) return { outcome: 'refused', code: outcome.code === 'STORE_UNAVAILABLE' ? 'STORE_UNAVAILABLE' : 'QUEUE_FULL' };
      if (outcome.created) state.signals.push({ type: 'work.available' });
      record.nextAt = fire.nextAt;
      record.lastAt = fire.at;
      record.lastJobId = outcome.id;
      return { outcome: 'fired', id: outcome.id };
    });
    state.flush();
    return out;
  }

  pause(name: string): void {
    this.state.begin();
    this.state.paused.add(name);
  }

  resume(name: string): void {
    const state = this.state;
    state.begin();
    if (!state.paused.delete(name)) return;
    state.signals.push({ type: 'work.available' });
    state.flush();
  }

  paused(): string[] {
    return [...this.state.paused].sort();
  }
}

function copy(record: ScheduleRecord): ScheduleRecord {
  return structuredClone(record);
}
