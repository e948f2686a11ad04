/**
 * The second half of the Lua prelude: the job state machine — finishing (bottom-up for trees),
 * cancelling a subtree, requeueing, fencing, retention — and `done`, which writes what the call
 * changed and publishes its signals. Mirrors the memory store transition for transition; the
 * conformance suite holds both to it.
 */
export const luaTransitions = `local finish, cancel_tree

local function cancel_children(rec, reason)
  for _, child in ipairs(redis.call('LRANGE', B .. 'c:' .. rec._id, 0, -1)) do
    local c = load(child)
    if c and not terminal(c.s) then cancel_tree(c, reason) end
  end
end

-- Declared parents have no code running while they wait, so the store decides for them.
local function child_settled(child)
  local parent = load(child.pa)
  if not parent or terminal(parent.s) then return end
  put(parent, 'pc', tonumber(parent.pc) - 1)
  if present(parent.df) then
    -- The parent already ended and waited only for this subtree: now it settles.
    if tonumber(parent.pc) == 0 then
      load(parent._id, { 'dfo', 'dfe' })
      finish(parent, parent.df, present(parent.dfo) and parent.dfo or nil, present(parent.dfe) and parent.dfe or nil)
    end
    return
  end
  if parent.d ~= '1' or parent.s ~= 'waitingChildren' then return end
  if child.s ~= 'completed' and child.of == 'fail-parent' then
    local err = present(child.e) and child.e
    local details = '{"childId":' .. js(child._id) .. (err and (',"childError":' .. err) or '') .. '}'
    finish(parent, 'failed', nil, '{"code":"CHILD_FAILED","message":' ..
      js('Child ' .. child._id .. ' (' .. child.n .. ') ' .. child.s .. '.') .. ',"details":' .. details .. '}')
  elseif tonumber(parent.pc) == 0 then
    move(parent, 'queued')
    push_ready(parent)
    emit(parent, 'job.queued', 'queued')
  end
end

finish = function(rec, status, out, err)
  local from = rec.s
  if from == 'queued' then unqueue(rec)
  elseif from == 'delayed' then redis.call('ZREM', B .. 'delayed', rec._id)
  else LEASE_DEL[#LEASE_DEL + 1] = rec._id end
  if present(rec.ow) then put(rec, 'ow', '') end
  if tonumber(rec.pc or 0) > 0 then
    -- A job tree settles bottom-up: the parent's outcome waits for its last child. A parent
    -- that failed or was cancelled takes its unfinished subtree with it (nobody could use those
    -- results); one that completed early lets its children finish.
    put(rec, 'df', status)
    put(rec, 'dfo', out or '')
    put(rec, 'dfe', err or '')
    if from ~= 'waitingChildren' then
      move(rec, 'waitingChildren')
      emit(rec, 'job.waiting', 'waitingChildren')
    end
    if status ~= 'completed' then
      cancel_children(rec, '{"code":"JOB_CANCELLED","message":' .. js('Parent ' .. rec._id .. ' ' .. status .. '.') .. '}')
    end
    return
  end
  if present(rec.df) then put(rec, 'df', '') end
  move(rec, status)
  put(rec, 'fa', NOW_S)
  -- An output is written once, at the end, so there is never an old one to remove.
  if out then put(rec, 'o', out) end
  if err then put(rec, 'e', err) elseif present(rec.e) then put(rec, 'e', '') end
  if status == 'completed' then emit(rec, 'job.completed', status, out and (',"output":' .. out) or '')
  elseif status == 'failed' then emit(rec, 'job.failed', status, ',"error":' .. err)
  else emit(rec, 'job.cancelled', status, ',"error":' .. err) end
  if rec.pa then child_settled(rec)
  else ROOTS[#ROOTS + 1] = rec._id end
end

cancel_tree = function(rec, reason)
  if terminal(rec.s) then return 'settled' end
  if present(rec.df) then
    -- Already ending, waiting for its children: hurry them along, keep its outcome.
    cancel_children(rec, reason)
    return 'cancelling'
  end
  if held_status(rec.s) and present(rec.ow) then
    -- Running on some node: its owner aborts the attempt and settles it as cancelled. The
    -- children go now so that none starts in the meantime.
    put(rec, 'cr', reason)
    SIG[#SIG + 1] = '{"type":"job.cancel.requested","id":' .. js(rec._id) .. ',"owner":' .. js(rec.ow) .. ',"reason":' .. reason .. '}'
    cancel_children(rec, reason)
    return 'cancelling'
  end
  finish(rec, 'cancelled', nil, reason)
  return terminal(rec.s) and 'cancelled' or 'cancelling'
end

local function requeue(rec, run_at, err)
  local later = run_at > NOW
  local to = later and 'delayed' or 'queued'
  move(rec, to)
  if later then
    put(rec, 'ra', num(run_at))
    redis.call('ZADD', B .. 'delayed', run_at, rec._id)
  else
    if present(rec.ra) then put(rec, 'ra', '') end
    push_ready(rec)
  end
  if err then
    emit(rec, 'job.retrying', to, ',"attempt":' .. rec.a .. ',"runAt":' .. num(run_at) .. ',"error":' .. err)
  else
    emit(rec, 'job.queued', 'queued')
  end
end

-- The lease token check every operation of a running attempt goes through (fencing).
local function held(id, token)
  local rec = load(id)
  if not rec or tonumber(rec.t) ~= tonumber(token) or not held_status(rec.s) or not present(rec.ow) then return nil end
  return rec
end

local function drop_tree(root)
  local stack = { root }
  while #stack > 0 do
    local id = table.remove(stack)
    local rec = REC[id]
    if rec == nil then
      local v = redis.call('HMGET', jk(id), 's', 'cc', 'ik', 'm')
      rec = v[1] and { s = v[1], cc = v[2], ik = v[3], m = v[4] }
    end
    -- A fire-and-forget child still running stays, and so does its subtree.
    if rec and terminal(rec.s) then
      local children = {}
      if tonumber(rec.cc or 0) > 0 then
        children = redis.call('LRANGE', B .. 'c:' .. id, 0, -1)
        redis.call('DEL', jk(id), B .. 'c:' .. id, B .. 'ck:' .. id)
      else
        redis.call('DEL', jk(id))
      end
      rec._dropped = true
      REC[id] = false
      count(rec.s, -1)
      if present(rec.ik) and redis.call('HGET', B .. 'idem', rec.ik) == id then redis.call('HDEL', B .. 'idem', rec.ik) end
      SIG[#SIG + 1] = '{"type":"job.dropped","id":' .. js(id) .. (present(rec.m) and (',"meta":' .. rec.m) or '') .. '}'
      for _, child in ipairs(children) do stack[#stack + 1] = child end
    end
  end
end

-- Bounded per call so one call never stalls Redis; the next claim or settle continues.
local function trim_retention()
  local rk = B .. 'roots'
  local excess = math.min(redis.call('LLEN', rk) - RCOUNT, 1000)
  if excess > 0 then
    for _, id in ipairs(redis.call('LPOP', rk, excess)) do drop_tree(id) end
  end
  for _ = 1, 1000 do
    local head = redis.call('LINDEX', rk, 0)
    if not head then return end
    local rec = REC[head]
    local fa = rec and rec.fa or (rec == nil and redis.call('HGET', jk(head), 'fa'))
    if fa and tonumber(fa) + RAGE > NOW then return end
    redis.call('LPOP', rk)
    drop_tree(head)
  end
end

-- Writes what the call changed, then announces it once, in one message.
local function done(retention)
  if #ROOTS > 0 then bulk('RPUSH', B .. 'roots', ROOTS) end
  if retention then trim_retention() end
  for _, rec in ipairs(DIRTY) do
    if not rec._dropped then
      local args = {}
      for f, v in pairs(rec._set) do
        args[#args + 1] = f
        args[#args + 1] = v
      end
      if #args > 0 then redis.call('HSET', jk(rec._id), unpack(args)) end
      local del = {}
      for f in pairs(rec._del) do del[#del + 1] = f end
      if #del > 0 then redis.call('HDEL', jk(rec._id), unpack(del)) end
    end
  end
  flush_queues()
  -- Removals first: a lease that expired and was claimed again in the same call is kept.
  if #LEASE_DEL > 0 then bulk('ZREM', B .. 'leases', LEASE_DEL) end
  if #LEASE_ADD > 0 then bulk('ZADD', B .. 'leases', LEASE_ADD) end
  for status, d in pairs(DELTA) do
    if d ~= 0 then redis.call('HINCRBY', CNT, status, d) end
  end
  if SEQ then redis.call('HSET', CNT, 'seq', SEQ) end
  if AVAIL then SIG[#SIG + 1] = '{"type":"work.available"}' end
  if #SIG > 0 then redis.call('PUBLISH', B .. 'signals', '[' .. table.concat(SIG, ',') .. ']') end
end
`;
