-- A push-back (`ctx.rateLimited`) carried to a shard the job does not live on: a sharded store
-- settles the job on its own shard (settle.lua pushes back there) and then holds the name, or
-- its key, back on every other shard with this, so the whole type waits whichever shard claims.
--
-- push_back
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    the job name   ARGV[7] its flow key ('' for the whole name)   ARGV[8] until, epoch ms
--   Returns 1.
local lib = ...

lib.register('push_back', function(keys, args)
  lib.begin(keys, args)
  local til = tonumber(args[8])
  lib.check(args[6] and args[6] ~= '' and til, 'name, key, until')
  lib.push_back(args[6], args[7] ~= '' and args[7] or nil, til)
  lib.commit()
  return 1
end, lib.RUN_WHEN_FULL)
