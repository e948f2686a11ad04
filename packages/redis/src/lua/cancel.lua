-- cancel: cancels a job and its whole subtree. Queued, delayed and waiting jobs end at once; a
-- running one is marked (`cr`) and its owner told, whose settlement then records `cancelled`.
-- The subtree follows as cascade work (work.lua).
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    id   ARGV[7] the reason, error JSON
--   Returns {outcome, pending}: 'cancelled', 'cancelling', 'settled' or 'not_found', and the
--   cascade items left for later calls (while there are, a 'cancelling' job may still end
--   cancelled: the caller reads it again once they are done).
--
-- cascade: continues cascade work left by earlier calls, one budget's worth, and retention.
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   Returns {pending, leaseDue}: the items still left (one more when retention was cut short by
--   the budget), and the earliest lease expiry ('' for none), so a periodic sweep can tell its
--   node there are lapsed leases to take back.
local lib = ...
local C = lib.C

lib.register('cancel', function(keys, args)
  lib.begin(keys, args)
  lib.check(args[6] and args[6] ~= '' and args[7] and args[7] ~= '', 'id, reason')
  local rec = lib.load(args[6])
  if not rec then return { 'not_found', 0 } end
  local outcome = lib.cancel_tree(rec, args[7])
  lib.run_work()
  if outcome == 'cancelling' and lib.terminal(rec.s) then outcome = 'cancelled' end
  return { outcome, lib.commit() }
end, lib.RUN_WHEN_FULL)

lib.register('cascade', function(keys, args)
  lib.begin(keys, args)
  -- Every node's sweep calls this, so the mark of late calls (late.lua) moves even while no
  -- node claims.
  lib.mark_now()
  local key = C.WORKKEY
  local stored = lib.read('LLEN', key)
  local taken = lib.take_work()
  lib.run_work()
  -- Retention cut short by the budget counts as work left, so the caller goes on at once
  -- instead of leaving the rest to the next call that trims (a claim, a settle, a sweep).
  local cut = lib.trim_retention()
  lib.run_work()
  local lease = lib.read('ZRANGEBYSCORE', C.LEASES, '-inf', '(+inf', 'WITHSCORES', 'LIMIT', '0', '1')[2]
  return { stored - taken + lib.commit() + (cut and 1 or 0), lease or '' }
end, lib.RUN_WHEN_FULL)
