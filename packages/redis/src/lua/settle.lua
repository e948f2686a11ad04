-- settle: records how attempts ended.
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6…]   per settlement, 5 fields: id, token, outcome ('completed' | 'failed' |
--              'cancelled' | 'retry' | 'released'), payload (output or error JSON, '' for none;
--              for 'released', the flow key a push-back holds back, '' for the whole name),
--              runAt (for 'retry'; for 'released', a push-back's end or '' for none);
--              or a run of completions, most batches' whole content: '' (never an id), a count
--              (at least 1), then per completion 3 fields: id, token, output ('' for none)
--   Returns {outcomes, pending}: per settlement 1 (ok) or 0 (stale: not the job's current
--   attempt), or, when every one was ok (most batches), their count alone; pending, the cascade
--   items left for later calls.
local lib = ...
local C = lib.C
local present = lib.present

local CANCELLED = '{"code":"JOB_CANCELLED","message":"The job was cancelled."}'
local OUTCOMES = { completed = true, failed = true, cancelled = true, retry = true, released = true }

-- The usual case, a plain job (see `k`, context.lua) completing: what `finish` does for it, from
-- the few fields that decide, its changes in one table and no record. Returns 1 (ok), 0 (stale)
-- or nil (the general path decides).
local function complete_fast(id, token, output)
  if C.REC[id] ~= nil or C.FAST[id] ~= nil or C.EVN < 3 then return nil end
  local key = C.B .. 'j:' .. id
  local v = redis.call('HMGET', key, 't', 's', 'ow', 'k', 'pa', 'n', 'r')
  if v[1] ~= token or not lib.held_status(v[2]) or not present(v[3]) then return 0 end
  -- Not plain, or a parent still waiting for children (a plain job has none).
  if v[4] or v[2] ~= 'running' then return nil end
  -- `ow` stays: a job is held only while running or waiting (see context.lua), and clearing it
  -- would cost another listpack write per job.
  local w = output ~= '' and { 's', 'completed', 'fa', C.NOW_S, 'o', output, ev = 3, key = key } or { 's', 'completed', 'fa', C.NOW_S, ev = 3, key = key }
  lib.fast(id, w)
  -- (Counted by the caller, once per call.)
  local rem = C.LEASES_REM
  if not rem then
    rem = lib.plan_list(C.ZSET_REM, C.LEASES)
    C.LEASES_REM = rem
  end
  rem[#rem + 1] = id
  local pa = v[5]
  -- Its end is implied (events.lua): published, not stored.
  if present(pa) or present(v[7]) then lib.signal_event('c', id, '3', v[6], pa, v[7], output) else lib.signal_plain('c', id, '3', v[6], output) end
  if pa then
    lib.work('s', id, nil, nil, { _id = id, s = 'completed', pa = pa, n = v[6], of = redis.call('HGET', key, 'of') })
  else
    local roots = C.ROOTS_ADD
    if not roots then
      roots = lib.plan_list(C.LIST_ADD, C.ROOTS)
      C.ROOTS_ADD, C.ROOT_AT = roots, 'c:' .. C.NOW_S .. ':'
    end
    roots[#roots + 1] = C.ROOT_AT .. id
  end
  return 1
end

-- Checks every settlement's fields; returns where each one's id is (`at[j]`) and which are
-- completions of a run (`short[j]`: outcome 'completed', its output next to its token).
local function check(args)
  local tonum, check_arg = lib.tonum, lib.check
  local at, short, j, o, count = {}, {}, 0, 6, #args
  while o <= count do
    if args[o] == '' then
      local k = tonum(args[o + 1] or '')
      check_arg(k and k >= 1 and o + 1 + 3 * k <= count, 'a run of completions', j + 1)
      o = o + 2
      for _ = 1, k do
        j = j + 1
        if not (args[o] ~= '' and tonum(args[o + 1])) then check_arg(false, 'id, token', j) end
        at[j], short[j] = o, true
        o = o + 3
      end
    else
      j = j + 1
      check_arg(o + 4 <= count, '5 fields per settlement', j)
      local outcome = args[o + 2]
      if not (tonum(args[o + 1]) and OUTCOMES[outcome]) then check_arg(false, 'id, token, outcome', j) end
      if outcome == 'retry' then check_arg(tonumber(args[o + 4]), 'runAt', j) end
      if outcome == 'released' then check_arg(args[o + 4] == '' or tonumber(args[o + 4]), 'push-back', j) end
      at[j] = o
      o = o + 5
    end
  end
  return j, at, short
end

lib.register('settle', function(keys, args)
  lib.begin(keys, args)
  local n, at, short = check(args)
  local out = {}
  -- What the fast path plans, taken on its first use: leases to drop, roots to keep ('c:<at>:<id>').
  C.LEASES_REM, C.ROOTS_ADD = nil, nil
  -- Settlements that were ok: all of them, and the outcomes are their count.
  local fast_n, ok_n = 0, 0
  for j = 1, n do
    local o = at[j]
    local outcome, payload, run_at
    if short[j] then
      outcome, payload = 'completed', args[o + 2]
    else
      outcome, payload, run_at = args[o + 2], args[o + 3], args[o + 4]
    end
    local fast = outcome == 'completed' and complete_fast(args[o], args[o + 1], payload)
    local rec = not fast and lib.held(args[o], args[o + 1])
    if fast then
      out[j] = fast
      if fast == 1 then fast_n = fast_n + 1 end
      ok_n = ok_n + fast
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
        lib.requeue(rec, tonumber(run_at), payload)
      elseif outcome == 'released' and not cancel_reason then
        -- A push-back (ctx.rateLimited): the name, or the key, waits on every node (flow.lua).
        if run_at ~= '' then lib.push_back(rec.n, payload ~= '' and payload or nil, tonumber(run_at)) end
        lib.release(rec)
      elseif outcome == 'failed' and not cancel_reason then
        lib.finish(rec, 'failed', nil, payload)
      else
        lib.finish(rec, 'cancelled', nil, (outcome == 'cancelled' and payload) or cancel_reason or CANCELLED)
      end
      out[j] = 1
      ok_n = ok_n + 1
    end
    -- In order: what one settlement set off is done before the next is recorded.
    if C.WORK_HEAD <= #C.WORK then lib.run_work() end
  end
  if fast_n > 0 then
    lib.count('running', -fast_n)
    lib.count('completed', fast_n)
  end
  lib.trim_retention()
  lib.run_work()
  return { ok_n == n and n or out, lib.commit() }
end, lib.RUN_WHEN_FULL)
