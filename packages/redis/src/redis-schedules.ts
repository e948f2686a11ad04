import { maxSchedules, scheduleFingerprint } from '@scalable-api/core';
import type {
  EnqueueOptions,
  ScheduleDefinition,
  ScheduleFire,
  ScheduleFireOutcome,
  ScheduleQuery,
  ScheduleRecord,
  ScheduleUpsertOutcome,
} from '@scalable-api/core';
import type { FunctionName } from './function-library.js';
import { decodeJson, encodeJson } from './json-codec.js';

type Call = (fn: FunctionName, args: string[]) => Promise<unknown>;

/**
 * The Redis store's schedules and paused job types: arguments for the functions in
 * lua/schedule.lua, and their replies decoded. `run` calls a function that writes (with the
 * clock and configuration), `read` a read-only one.
 */
export class RedisSchedules {
  constructor(
    private readonly run: Call,
    private readonly read: Call,
  ) {}

  async upsert(definition: ScheduleDefinition): Promise<ScheduleUpsertOutcome> {
    const { key, name, input, every, policy, meta, nextAt } = definition;
    const reply = (await this.run('schedule_upsert', [
      key,
      scheduleFingerprint(definition),
      name,
      input === undefined ? '' : encodeJson(input, `input of schedule ${key}`),
      JSON.stringify(every),
      JSON.stringify(policy),
      meta === undefined ? '' : JSON.stringify(meta),
      JSON.stringify({ ...meta, schedule: key }),
      String(nextAt),
      String(maxSchedules),
    ])) as [string, string[]?];
    if (reply[0] === 'full') return { ok: false, code: 'SCHEDULES_FULL' };
    return { ok: true, created: reply[0] === 'created', record: toRecord(key, reply[1]!) };
  }

  async remove(key: string): Promise<boolean> {
    return (await this.run('schedule_remove', [key])) === 1;
  }

  async list(query: ScheduleQuery): Promise<ScheduleRecord[]> {
    const limit = Math.max(0, Math.min(Math.floor(query.limit), maxSchedules));
    const reply = (await this.read('schedules', [query.dueBy === undefined ? '' : String(query.dueBy), String(limit)])) as [string, string[]][];
    return reply.filter(([, hash]) => hash.length > 0).map(([key, hash]) => toRecord(key, hash));
  }

  async fire(fires: readonly ScheduleFire[], options: EnqueueOptions): Promise<ScheduleFireOutcome[]> {
    const args = [String(options.limit)];
    for (const f of fires) args.push(f.key, String(f.version), String(f.at), String(f.nextAt), f.run ? '1' : '0', f.id);
    const reply = (await this.run('schedule_fire', args)) as string[][];
    return reply.map(([outcome, value]): ScheduleFireOutcome => {
      if (outcome === 'fired') return { outcome, id: value! };
      if (outcome === 'refused') return { outcome, code: 'QUEUE_FULL' };
      return { outcome: outcome as 'skipped' | 'stale' };
    });
  }

  async pause(name: string): Promise<void> {
    await this.run('pause_type', [name]);
  }

  async resume(name: string): Promise<void> {
    await this.run('resume_type', [name]);
  }

  async paused(): Promise<string[]> {
    return ((await this.read('paused_types', [])) as string[]).sort();
  }
}

function toRecord(key: string, flat: string[]): ScheduleRecord {
  const h: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  const optional = (field: string) => (h[field] ? h[field] : undefined);
  const record: ScheduleRecord = {
    key,
    name: h.n!,
    input: h.i ? decodeJson(h.i) : undefined,
    every: JSON.parse(h.ev!) as ScheduleRecord['every'],
    policy: JSON.parse(h.po!) as ScheduleRecord['policy'],
    nextAt: Number(h.nx),
    version: Number(h.v),
    createdAt: Number(h.ca),
    updatedAt: Number(h.ua),
    lastAt: optional('la') === undefined ? undefined : Number(h.la),
    lastJobId: optional('lj'),
  };
  if (h.m) record.meta = JSON.parse(h.m) as Record<string, string>;
  return record;
}
