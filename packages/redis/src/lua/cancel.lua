-- cancel: cancels a job and its whole subtree. Queued, delayed and waiting jobs end at once; a
-- running one is marked (`cr`) and its owner told, whose settlement then records `cancelled`.
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    id   ARGV[7] the reason, error JSON
--   Returns 'cancelled', 'cancelling', 'settled' or 'not_found'.
local lib = ...

lib.register('cancel', function(keys, args)
  lib.begin(keys, args)
  local rec = lib.load(args[6])
  if not rec then return 'not_found' end
  local outcome = lib.cancel_tree(rec, args[7])
  lib.commit(false)
  return outcome
end, lib.RUN_WHEN_FULL)
