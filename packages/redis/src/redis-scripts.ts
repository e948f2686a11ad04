import { claimScript } from './claim-script.js';
import { enqueueScript } from './enqueue-script.js';
import { cancelScript, progressScript, renewScript, setWaitingScript } from './held-job-scripts.js';
import { luaLibrary } from './lua-library.js';
import { settleScript } from './settle-script.js';

/** Every script, each prefixed by the shared library; the names are those defined on the client. */
export const redisScripts = {
  scalableEnqueue: luaLibrary + enqueueScript,
  scalableClaim: luaLibrary + claimScript,
  scalableRenew: luaLibrary + renewScript,
  scalableSettle: luaLibrary + settleScript,
  scalableSetWaiting: luaLibrary + setWaitingScript,
  scalableProgress: luaLibrary + progressScript,
  scalableCancel: luaLibrary + cancelScript,
} as const;

export type RedisScriptName = keyof typeof redisScripts;
