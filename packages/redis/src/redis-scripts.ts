import { claimScript } from './claim-script.js';
import { enqueueScript } from './enqueue-script.js';
import { cancelScript, progressScript, renewScript, setWaitingScript } from './held-job-scripts.js';
import { luaLibrary } from './lua-library.js';
import { settleScript } from './settle-script.js';

/**
 * With `noeviction`, a full Redis refuses writes. New work is refused before its script starts
 * (so a batch is never half added, and submitters get STORE_UNAVAILABLE at once); everything
 * that moves accepted work along may still write (`allow-oom`), because settling jobs is what
 * lets retention free memory again — otherwise a full Redis would stall the system for good.
 * The flags need Redis 7.0.
 */
const refuseWhenFull = '#!lua\n';
const runWhenFull = '#!lua flags=allow-oom\n';

/** Every script, each prefixed by the shared library; the names are those defined on the client. */
export const redisScripts = {
  scalableEnqueue: refuseWhenFull + luaLibrary + enqueueScript,
  scalableClaim: runWhenFull + luaLibrary + claimScript,
  scalableRenew: runWhenFull + luaLibrary + renewScript,
  scalableSettle: runWhenFull + luaLibrary + settleScript,
  scalableSetWaiting: runWhenFull + luaLibrary + setWaitingScript,
  scalableProgress: runWhenFull + luaLibrary + progressScript,
  scalableCancel: runWhenFull + luaLibrary + cancelScript,
} as const;

export type RedisScriptName = keyof typeof redisScripts;
