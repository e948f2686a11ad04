import { luaRecords } from './lua-records.js';
import { luaTransitions } from './lua-transitions.js';

/**
 * The Lua shared by every script: the job state machine as it runs inside Redis. Each script is
 * this prelude followed by its own body, so a transition (a settle that queues a declared parent,
 * a cancel that sweeps a subtree) happens in one atomic step, whatever node calls it.
 *
 * Calling convention, common to all scripts:
 *   KEYS[1]  `{prefix}:counts`, the only key passed: every other key is derived from it, and all
 *            share the `{prefix}` hash tag, so on Redis Cluster they live in one slot.
 *   ARGV[1]  now (epoch ms, from the store's clock)   ARGV[2] events kept per job
 *   ARGV[3]  retention count   ARGV[4] retention age ms   ARGV[5] max stalls
 *   ARGV[6…] the script's own arguments.
 *
 * Job hash fields (short, since a million queued jobs each carry them): n name, s status,
 * i input, p priority, a attempt, ca/sa/fa created/started/finished at, ra run at, pg progress,
 * o output, e error, pa parent, r root, ck child key, of on-failure, cc/pc child count/pending,
 * ik idempotency key, fp fingerprint, m meta, d declared, sq ready-order seq, t token, ow owner,
 * la lease expiry, cr cancel reason, st stalls, es event seq, v<seq> the job's last events,
 * df/dfo/dfe the outcome of a parent held back until its last child settles. JSON
 * fields hold the JSON text that Node produced; an absent or empty field is `undefined` (a
 * cleared field is written as '' rather than deleted, to save a command). A job is held (by the
 * node named in `ow`) while its status is running or waitingChildren and `ow` is set.
 */
export const luaLibrary = luaRecords + luaTransitions;
