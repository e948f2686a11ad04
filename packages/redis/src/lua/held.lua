-- The calls of a node about the jobs it holds: each one small function, fenced by the lease
-- token of the attempt.
--
-- renew
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    lease ms
--   ARGV[7…]   (id, token) pairs
--   Returns per pair 0 (lost), 1 (still held, lease extended) or, for a held job whose cancel
--   was requested, the reason (error JSON): the record carries a cancel whatever pub/sub lost.
--   A renew more than a lease late is refused (late.lua).
--
-- set_waiting
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    id   ARGV[7] token   ARGV[8] '1' to wait for children, '0' to run again
--   Returns 1, or 0 when the lease is not held.
--
-- progress
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    id   ARGV[7] token   ARGV[8] the progress as JSON ('' for none)
--   Returns 1, or 0 when the lease is not held.
local lib = ...
local C = lib.C
local put, held, present = lib.put, lib.held, lib.present

lib.register('renew', function(keys, args)
  lib.begin(keys, args)
  local lease = tonumber(args[6])
  lib.check(lease and lease > 0 and (#args - 6) % 2 == 0, 'leaseMs, (id, token) pairs')
  for j = 1, (#args - 6) / 2 do lib.check(tonumber(args[6 + j * 2]), 'a token') end
  lib.fresh(lease)
  local la = lib.num(C.NOW + lease)
  local out = {}
  for j = 1, (#args - 6) / 2 do
    local id = args[5 + j * 2]
    local rec = held(id, args[6 + j * 2])
    if rec and lib.lease_live(id) then
      lib.zset_add(C.LEASES, la, id)
      out[j] = present(rec.cr) and rec.cr or 1
    else
      out[j] = 0
    end
  end
  lib.commit()
  return out
end, lib.RUN_WHEN_FULL)

lib.register('set_waiting', function(keys, args)
  lib.begin(keys, args)
  lib.check(args[6] and tonumber(args[7]) and (args[8] == '1' or args[8] == '0'), 'id, token, waiting')
  local rec = held(args[6], args[7])
  if not rec then return 0 end
  local target = args[8] == '1' and 'waitingChildren' or 'running'
  if rec.s ~= target then
    lib.move(rec, target)
    if target == 'waitingChildren' then lib.emit(rec, 'w')
    else lib.emit(rec, 'u', rec.a) end
  end
  lib.commit()
  return 1
end, lib.RUN_WHEN_FULL)

lib.register('progress', function(keys, args)
  lib.begin(keys, args)
  lib.check(args[6] and tonumber(args[7]) and args[8], 'id, token, progress')
  local rec = held(args[6], args[7])
  if not rec then return 0 end
  put(rec, 'pg', args[8])
  lib.emit(rec, rec.s == 'running' and 'p' or 'P', args[8])
  lib.commit()
  return 1
end, lib.RUN_WHEN_FULL)
