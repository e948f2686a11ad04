-- settle: records how attempts ended.
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6…]   per settlement, 5 fields: id, token, outcome ('completed' | 'failed' |
--              'cancelled' | 'retry' | 'released'), payload (output or error JSON, '' for none),
--              runAt ('' unless retry)
--   Returns per settlement 1 (ok) or 0 (stale: not the job's current attempt).
local lib = ...
local C = lib.C
local jk, present, held_status = lib.jk, lib.present, lib.held_status

local W = 5
local CANCELLED = '{"code":"JOB_CANCELLED","message":"The job was cancelled."}'

-- The usual case, a completed attempt of a job not otherwise touched in this call: one read,
-- one write. Returns nil when the general path must decide.
local function complete_fast(id, token, output)
  if C.REC[id] ~= nil then return nil end
  local f = redis.call('HMGET', jk(id), 't', 's', 'n', 'pa', 'r', 'es', 'ow', 'pc')
  if not f[1] or tonumber(f[1]) ~= tonumber(token) or not held_status(f[2]) or not present(f[7]) then return 0 end
  -- A parent with children still running settles later, bottom-up: the general path.
  if tonumber(f[8]) > 0 then return nil end
  local seq = tonumber(f[6]) + 1
  local ev = lib.event_json(id, f[3], f[4], f[5], seq, 'job.completed', 'completed', output ~= '' and (',"output":' .. output) or '')
  redis.call('HSET', jk(id), 's', 'completed', 'fa', C.NOW_S, 'o', output, 'e', '', 'ow', '', 'es', seq, 'v' .. seq, ev)
  if seq > C.EVN then redis.call('HDEL', jk(id), 'v' .. (seq - C.EVN)) end
  lib.count(f[2], -1)
  lib.count('completed', 1)
  C.LEASE_DEL[#C.LEASE_DEL + 1] = id
  if present(f[4]) then lib.child_settled({ _id = id, pa = f[4], s = 'completed', n = f[3] })
  else C.ROOTS[#C.ROOTS + 1] = id end
  return 1
end

lib.register('settle', function(keys, args)
  lib.begin(keys, args)
  local out = {}
  for j = 1, (#args - 5) / W do
    local o = 5 + (j - 1) * W
    local outcome, payload = args[o + 3], args[o + 4]
    local fast = outcome == 'completed' and complete_fast(args[o + 1], args[o + 2], payload)
    if fast then
      out[j] = fast
    else
      local rec = lib.held(args[o + 1], args[o + 2])
      if not rec then
        out[j] = 0
      else
        local cancel_reason = rec.cr
        C.LEASE_DEL[#C.LEASE_DEL + 1] = rec._id
        if outcome == 'completed' then
          lib.finish(rec, 'completed', payload ~= '' and payload or nil, nil)
        elseif outcome == 'retry' and not present(cancel_reason) then
          lib.put(rec, 'e', payload)
          lib.requeue(rec, tonumber(args[o + 5]), payload)
        elseif outcome == 'released' and not present(cancel_reason) then
          lib.release(rec)
        elseif outcome == 'failed' then
          lib.finish(rec, 'failed', nil, payload)
        else
          lib.finish(rec, 'cancelled', nil, (outcome == 'cancelled' and payload) or cancel_reason or CANCELLED)
        end
        out[j] = 1
      end
    end
  end
  lib.commit(true)
  return out
end, lib.RUN_WHEN_FULL)
