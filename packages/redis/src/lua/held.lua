-- The calls of a node about the jobs it holds: each one small function, fenced by the lease
-- token of the attempt.
--
-- renew
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    lease ms
--   ARGV[7…]   (id, token) pairs
--   Returns per pair 0 (lost), 1 (still held, lease extended) or, for a held job whose cancel
--   was requested, the reason (error JSON): the record carries a cancel whatever pub/sub lost.
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
local put, emit, held, num = lib.put, lib.emit, lib.held, lib.num

lib.register('renew', function(keys, args)
  lib.begin(keys, args)
  local la = num(C.NOW + tonumber(args[6]))
  local out = {}
  for j = 1, (#args - 6) / 2 do
    local id = args[5 + j * 2]
    local rec = held(id, args[6 + j * 2])
    if rec and tonumber(rec.la) > C.NOW then
      put(rec, 'la', la)
      C.LEASE_ADD[#C.LEASE_ADD + 1] = la
      C.LEASE_ADD[#C.LEASE_ADD + 1] = id
      out[j] = lib.present(rec.cr) and rec.cr or 1
    else
      out[j] = 0
    end
  end
  lib.commit(false)
  return out
end, lib.RUN_WHEN_FULL)

lib.register('set_waiting', function(keys, args)
  lib.begin(keys, args)
  local rec = held(args[6], args[7])
  if not rec then return 0 end
  local target = args[8] == '1' and 'waitingChildren' or 'running'
  if rec.s ~= target then
    lib.move(rec, target)
    if target == 'waitingChildren' then emit(rec, 'job.waiting', target)
    else emit(rec, 'job.started', target, ',"attempt":' .. rec.a) end
  end
  lib.commit(false)
  return 1
end, lib.RUN_WHEN_FULL)

lib.register('progress', function(keys, args)
  lib.begin(keys, args)
  local rec = held(args[6], args[7])
  if not rec then return 0 end
  if args[8] == '' then
    put(rec, 'pg', '')
    emit(rec, 'job.progress', rec.s)
  else
    put(rec, 'pg', args[8])
    emit(rec, 'job.progress', rec.s, ',"progress":' .. args[8])
  end
  lib.commit(false)
  return 1
end, lib.RUN_WHEN_FULL)
