-- settle: records how attempts ended.
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6…]   per settlement, 5 fields: id, token, outcome ('completed' | 'failed' |
--              'cancelled' | 'retry' | 'released'), payload (output or error JSON, '' for none;
--              for 'released', the flow key a push-back holds back, '' for the whole name),
--              runAt (for 'retry'; for 'released', a push-back's end or '' for none)
--   Returns {outcomes, pending}: per settlement 1 (ok) or 0 (stale: not the job's current
--   attempt); pending, the cascade items left for later calls.
local lib = ...
local C = lib.C
local present = lib.present

local W = 5
local CANCELLED = '{"code":"JOB_CANCELLED","message":"The job was cancelled."}'
local OUTCOMES = { completed = true, failed = true, cancelled = true, retry = true, released = true }

-- The usual case, a plain job (see `k`, context.lua) completing: what `finish` does for it, from
-- the few fields that decide, its changes in one table and no record. Returns 1 (ok), 0 (stale)
-- or nil (the general path decides).
local function complete_fast(id, token, output)
  if lib.touched(id) or C.EVN < 3 then return nil end
  local key = C.B .. 'j:' .. id
  local v = redis.call('HMGET', key, 't', 's', 'ow', 'k', 'pa', 'n', 'r')
  if v[1] ~= token or not lib.held_status(v[2]) or not present(v[3]) then return 0 end
  -- Not plain, or a parent still waiting for children (a plain job has none).
  if v[4] or v[2] ~= 'running' then return nil end
  -- `ow` stays: a job is held only while running or waiting (see context.lua), and clearing it
  -- would cost another listpack write per job.
  local w = output ~= '' and { 's', 'completed', 'fa', C.NOW_S, 'o', output, ev = 3, key = key } or { 's', 'completed', 'fa', C.NOW_S, ev = 3, key = key }
  lib.fast(id, w)
  lib.count('running', -1)
  lib.count('completed', 1)
  lib.zset_rem(C.LEASES, id)
  local pa = v[5]
  -- Its end is implied (events.lua): published, not stored.
  if present(pa) or present(v[7]) then lib.signal_event('c', id, '3', v[6], pa, v[7], output) else lib.signal_plain('c', id, '3', v[6], output) end
  if pa then
    lib.work('s', id, nil, nil, { _id = id, s = 'completed', pa = pa, n = v[6], of = redis.call('HGET', key, 'of') })
  else
    lib.list_add(C.ROOTS, 'c:' .. C.NOW_S .. ':' .. id)
  end
  return 1
end

lib.register('settle', function(keys, args)
  lib.begin(keys, args)
  local n = (#args - 5) / W
  lib.check(n == math.floor(n), '5 fields per settlement')
  for j = 1, n do
    local o = 5 + (j - 1) * W
    lib.check(args[o + 1] ~= '' and tonumber(args[o + 2]) and OUTCOMES[args[o + 3]], 'id, token, outcome', j)
    lib.check(args[o + 3] ~= 'retry' or tonumber(args[o + 5]), 'runAt', j)
    lib.check(args[o + 3] ~= 'released' or args[o + 5] == '' or tonumber(args[o + 5]), 'push-back', j)
  end
  local out = {}
  for j = 1, n do
    local o = 5 + (j - 1) * W
    local outcome, payload = args[o + 3], args[o + 4]
    local fast = outcome == 'completed' and complete_fast(args[o + 1], args[o + 2], payload)
    local rec = not fast and lib.held(args[o + 1], args[o + 2])
    if fast then
      out[j] = fast
    elseif not rec then
      out[j] = 0
    else
      -- Asked to stop while it ran: a retry or a hand-back would only run it again, and a failure
      -- is what the cancel set off (its cascade cancelled a child before the owner heard of the
      -- cancel itself, so under 'fail-parent' the parent fails with CHILD_FAILED).
      local cancel_reason = present(rec.cr) and rec.cr
      if outcome == 'completed' then
        lib.finish(rec, 'completed', payload ~= '' and payload or nil, nil)
      elseif outcome == 'retry' and not cancel_reason then
        lib.zset_rem(C.LEASES, rec._id)
        lib.put(rec, 'ow', '')
        lib.put(rec, 'e', payload)
        lib.requeue(rec, tonumber(args[o + 5]), payload)
      elseif outcome == 'released' and not cancel_reason then
        -- A push-back (ctx.rateLimited): the name, or the key, waits on every node (flow.lua).
        if args[o + 5] ~= '' then lib.push_back(rec.n, payload ~= '' and payload or nil, tonumber(args[o + 5])) end
        lib.release(rec)
      elseif outcome == 'failed' and not cancel_reason then
        lib.finish(rec, 'failed', nil, payload)
      else
        lib.finish(rec, 'cancelled', nil, (outcome == 'cancelled' and payload) or cancel_reason or CANCELLED)
      end
      out[j] = 1
    end
    -- In order: what one settlement set off is done before the next is recorded.
    lib.run_work()
  end
  lib.trim_retention()
  lib.run_work()
  return { out, lib.commit() }
end, lib.RUN_WHEN_FULL)
