import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * The store's Lua, as one Redis 7 function library. Each file under `lua/` is one concept; the
 * first eleven are shared (context, the writes a call plans, queues, the listing index, flow
 * control, events, the job state machine, webhook deliveries, cascades, commit, late calls), the
 * others each register the functions they are named after, with a header naming every KEYS[i]
 * and ARGV[i] (fair, claim-due and claim-sources are parts of claim: fair turns, recovery,
 * candidates). Files are joined in this order, each wrapped in a function that receives the
 * library table (`local lib = ...`), so a file sees only what the files before it put on `lib`.
 */
const files = [
  'context',
  'plans',
  'queues',
  'listing',
  'flow',
  'events',
  'tree',
  'webhook',
  'work',
  'commit',
  'late',
  'enqueue',
  'fair',
  'claim-due',
  'claim-sources',
  'claim',
  'settle',
  'held',
  'cancel',
  'read',
  'schedule',
  'list',
  'list-build',
  'flow-stats',
  'push-back',
] as const;

/** The functions the library registers; each is called as `<library name>_<function>`. */
export type FunctionName =
  | 'enqueue'
  | 'claim'
  | 'settle'
  | 'renew'
  | 'set_waiting'
  | 'progress'
  | 'cancel'
  | 'cascade'
  | 'get_many'
  | 'children'
  | 'events'
  | 'schedule_upsert'
  | 'schedule_remove'
  | 'schedule_fire'
  | 'schedules'
  | 'pause_type'
  | 'resume_type'
  | 'paused_types'
  | 'list'
  | 'list_build'
  | 'flow_stats'
  | 'push_back';

export interface FunctionLibrary {
  /**
   * `scalable_api_<content hash>`: `FUNCTION LOAD` is server-wide, so two versions of this code
   * (a rolling deploy, another team's store on a shared server) each load their own library and
   * call their own functions side by side.
   */
  name: string;
  /** What `FUNCTION LOAD` takes. */
  source: string;
}

/** Reads the library's files; `lua/` sits next to this file in `src/`, and the package ships `src/` beside `dist/`. */
export function readFunctionLibrary(): FunctionLibrary {
  const sources = files.map((file) => readFileSync(new URL(`../src/lua/${file}.lua`, import.meta.url), 'utf8'));
  const hash = createHash('sha256');
  for (const source of sources) hash.update(source).update('\0');
  const name = `scalable_api_${hash.digest('hex').slice(0, 16)}`;
  const body = sources.map((source, i) => `-- ${files[i]}.lua\n;(function(...)\n${source}\nend)(lib)\n`).join('');
  return { name, source: `#!lua name=${name}\nlocal lib = { name = '${name}' }\n${body}` };
}

/** The library of this version of the package, read once. */
export const functionLibrary: FunctionLibrary = readFunctionLibrary();
