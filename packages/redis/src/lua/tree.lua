-- The job state machine: finishing (bottom-up for trees), cancelling a subtree, requeueing and
-- fencing. Mirrors the memory store transition for transition; the conformance suite holds both
-- to it.
local lib = ...
local C = lib.C
local load, put, move, emit, js = lib.load, lib.put, lib.move, lib.emit, lib.js
local present, terminal, held_status, num = lib.present, lib.terminal, lib.held_status, lib.num

local finish, cancel_tree

local function cancel_children(rec, reason)
  for _, child in ipairs(redis.call('LRANGE', C.B .. 'c:' .. rec._id, 0, -1)) do
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
    lib.push_ready(parent)
    emit(parent, 'job.queued', 'queued')
  end
end
lib.child_settled = child_settled

finish = function(rec, status, out, err)
  local from = rec.s
  if from == 'queued' then lib.unqueue(rec)
  elseif from == 'delayed' then redis.call('ZREM', C.B .. 'delayed', rec._id)
  else C.LEASE_DEL[#C.LEASE_DEL + 1] = rec._id end
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
  put(rec, 'fa', C.NOW_S)
  -- An output is written once, at the end, so there is never an old one to remove.
  if out then put(rec, 'o', out) end
  if err then put(rec, 'e', err) elseif present(rec.e) then put(rec, 'e', '') end
  if status == 'completed' then emit(rec, 'job.completed', status, out and (',"output":' .. out) or '')
  elseif status == 'failed' then emit(rec, 'job.failed', status, ',"error":' .. err)
  else emit(rec, 'job.cancelled', status, ',"error":' .. err) end
  if rec.pa then child_settled(rec)
  else C.ROOTS[#C.ROOTS + 1] = rec._id end
end
lib.finish = finish

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
    C.SIG[#C.SIG + 1] = '{"type":"job.cancel.requested","id":' .. js(rec._id) .. ',"owner":' .. js(rec.ow) .. ',"reason":' .. reason .. '}'
    cancel_children(rec, reason)
    return 'cancelling'
  end
  finish(rec, 'cancelled', nil, reason)
  return terminal(rec.s) and 'cancelled' or 'cancelling'
end
lib.cancel_tree = cancel_tree

function lib.requeue(rec, run_at, err)
  local later = run_at > C.NOW
  local to = later and 'delayed' or 'queued'
  move(rec, to)
  if later then
    put(rec, 'ra', num(run_at))
    redis.call('ZADD', C.B .. 'delayed', run_at, rec._id)
  else
    if present(rec.ra) then put(rec, 'ra', '') end
    lib.push_ready(rec)
  end
  if err then
    emit(rec, 'job.retrying', to, ',"attempt":' .. rec.a .. ',"runAt":' .. num(run_at) .. ',"error":' .. err)
  else
    emit(rec, 'job.queued', 'queued')
  end
end

-- Handed back by its node unrun or unfinished: queued again at once as if the attempt had not
-- been claimed (the attempt is not counted, no stall recorded).
function lib.release(rec)
  -- The event first: it names the attempt as the record still has it.
  emit(rec, 'job.released', 'queued')
  move(rec, 'queued')
  put(rec, 'a', tonumber(rec.a) - 1)
  if present(rec.ow) then put(rec, 'ow', '') end
  lib.push_ready(rec)
end

-- The lease token check every operation of a running attempt goes through (fencing).
function lib.held(id, token)
  local rec = load(id)
  if not rec or tonumber(rec.t) ~= tonumber(token) or not held_status(rec.s) or not present(rec.ow) then return nil end
  return rec
end

-- Held, and the lease not yet run out: what a spawn from the attempt needs.
function lib.holds(rec, token)
  return tonumber(rec.t) == tonumber(token) and held_status(rec.s) and present(rec.ow) and tonumber(rec.la) > C.NOW
end
