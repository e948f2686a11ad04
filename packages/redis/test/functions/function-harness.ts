import { Redis } from 'ioredis';
import { afterEach } from 'vitest';
import { functionLibrary, type FunctionName } from '../../src/function-library.js';
import { deletePrefix, redisUrl, testPrefix } from '../redis-fixture.js';

export const T0 = 1_700_000_000_000;

/**
 * Calls the library's functions directly, with raw arguments, against the real Redis, and reads
 * the keys they leave behind: each function's contract at the level of KEYS, ARGV and the data.
 * Every harness has a fresh prefix, removed after the test.
 */
export function useFunctionHarness() {
  const opened: { client: Redis; prefix: string }[] = [];
  afterEach(async () => {
    for (const { client, prefix } of opened.splice(0)) {
      await deletePrefix(prefix);
      client.disconnect();
    }
  });

  return async function harness(options: { eventsPerJob?: number; retentionCount?: number; retentionAgeMs?: number; maxStalls?: number } = {}) {
    const client = new Redis(redisUrl);
    const prefix = testPrefix();
    opened.push({ client, prefix });
    await client.function('LOAD', functionLibrary.source).catch((error: Error) => {
      if (!/already exists/.test(error.message)) throw error;
    });
    const base = `{${prefix}}:`;
    const config = [options.eventsPerJob ?? 100, options.retentionCount ?? 10_000, options.retentionAgeMs ?? 3_600_000, options.maxStalls ?? 3].map(
      String,
    );
    let now = T0;
    const h = {
      client,
      base,
      key: (suffix: string) => base + suffix,
      get now() {
        return now;
      },
      set now(value: number) {
        now = value;
      },
      call: (fn: FunctionName, ...args: (string | number)[]) =>
        client.fcall(`${functionLibrary.name}_${fn}`, 1, base, String(now), ...config, ...args.map(String)),
      job: (id: string) => client.hgetall(`${base}j:${id}`),
      counts: async () => client.hgetall(`${base}counts`),
      /** Every key of the prefix with a digest of its value: equal snapshots mean nothing was written. */
      snapshot: async () => {
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await client.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1_000);
          cursor = next;
          keys.push(...batch);
        } while (cursor !== '0');
        keys.sort();
        const out: Record<string, string> = {};
        for (const key of keys) out[key] = (await client.dumpBuffer(key))?.toString('base64') ?? '';
        return out;
      },
      /** One job as the enqueue function takes it in full ('f' and 16 fields), with defaults. */
      newJob: (id: string, fields: Partial<Record<JobField, string | number>> = {}) => {
        const f = {
          name: 'n',
          input: '{}',
          priority: 0,
          runAt: '',
          idem: '',
          fingerprint: '',
          parent: '',
          root: '',
          childKey: '',
          onFailure: 'fail-parent',
          awaitChildren: 0,
          meta: '',
          parentToken: '',
          key: '',
          webhook: '',
          ...fields,
        };
        return [
          'f',
          id,
          f.name,
          f.input,
          f.priority,
          f.runAt,
          f.idem,
          f.fingerprint,
          f.parent,
          f.root,
          f.childKey,
          f.onFailure,
          f.awaitChildren,
          f.meta,
          f.parentToken,
          f.key,
          f.webhook,
        ].map(String);
      },
    };
    return h;
  };
}

type JobField =
  | 'name'
  | 'input'
  | 'priority'
  | 'runAt'
  | 'idem'
  | 'fingerprint'
  | 'parent'
  | 'root'
  | 'childKey'
  | 'onFailure'
  | 'awaitChildren'
  | 'meta'
  | 'parentToken'
  | 'key'
  | 'webhook';
/**
 * A claim's reply with its flat job values (10 per job, or 5 with the token negated for a job at
 * every default: lua/claim.lua) as one row of 10 per job.
 */
export function claimed(reply: unknown): [unknown[][], string, number] {
  const [flat, next, pending] = reply as [unknown[], string, number];
  const rows: unknown[][] = [];
  for (let i = 0; i < flat.length;) {
    if ((flat[i + 1] as number) < 0) {
      const [id, token, name, input, created] = flat.slice(i, i + 5);
      rows.push([id, -(token as number), name, input, 1, '0', '', id, created, '']);
      i += 5;
    } else {
      rows.push(flat.slice(i, i + 10));
      i += 10;
    }
  }
  return [rows, next, pending];
}

export type FunctionHarness = Awaited<ReturnType<ReturnType<typeof useFunctionHarness>>>;
