-- The job state machine: finishing (bottom-up for trees), cancelling a subtree, requeueing,
-- releasing and fencing. Mirrors the memory store transition for transition; the conformance
-- suite holds both to it. Nothing here recurses: what a transition sets off in other jobs (a
-- parent that may now settle, the children of a cancelled job) is queued as cascade work
-- (work.lua), done later in the call or, past the call's budget, in later calls.
local lib = ...
local C = lib.C
local load, put, move, emit, js = lib.load, lib.put, lib.move, lib.emit, lib.js
local present, terminal, held_status, int = lib.present, lib.terminal, lib.held_status, lib.int

local CODES = { completed = 'c', failed = 'f', cancelled = 'x' }

-- Ends a job, or, for a parent with children still pending, records the outcome it will have.
function lib.finish(rec, status, out, err)
  local from = rec.s
  if from == 'queued' then lib.unqueue(rec)
  elseif from == 'delayed' then lib.zset_rem(C.DELAYED, rec._id)
  elseif present(rec.ow) then lib.zset_rem(C.LEASES, rec._id) end
  if present(rec.ow) then put(rec, 'ow', '') end
  if int(rec.pc) > 0 then
    -- A job tree settles bottom-up: the parent's outcome waits for its last child. A parent
    -- that failed or was cancelled takes its unfinished subtree with it (nobody could use those
    -- results); one that completed early lets its children finish.
    put(rec, 'df', status)
    put(rec, 'dfo', out or '')
    put(rec, 'dfe', err or '')
    if from ~= 'waitingChildren' then
      move(rec, 'waitingChildren')
      emit(rec, 'w')
    end
    if status ~= 'completed' then
      lib.work('c', rec._id, 0, '{"code":"JOB_CANCELLED","message":' .. js('Parent ' .. rec._id .. ' ' .. status .. '.') .. '}')
    end
    return
  end
  if present(rec.df) then
    lib.unset(rec, 'df')
    lib.unset(rec, 'dfo')
    lib.unset(rec, 'dfe')
  end
  move(rec, status)
  put(rec, 'fa', C.NOW_S)
  -- An output is written once, at the end, so there is never an old one to remove.
  if out then put(rec, 'o', out) end
  if err then put(rec, 'e', err) elseif present(rec.e) then put(rec, 'e', '') end
  emit(rec, CODES[status], status == 'completed' and out or err)
  if rec.wh then lib.webhook(rec, status, out, err) end
  if present(rec.pa) then lib.work('s', rec._id) else lib.finished_root(rec, status) end
end

-- Finished roots in order, for retention: the status and finish time ride along, and a plain
-- root (nothing else to clean up: no children, key, meta or stored events) is dropped without a
-- read.
function lib.finished_root(rec, status)
  local plain = not present(rec.k)
  lib.list_add(C.ROOTS, (plain and CODES[status] or '+') .. ':' .. C.NOW_S .. ':' .. rec._id)
end

-- A child ended: its parent counts it, and a parent that waited only for it may now settle.
-- Declared parents have no code running while they wait, so the store decides for them.
function lib.child_settled(child)
  local parent = load(child.pa)
  if not parent or terminal(parent.s) then return end
  put(parent, 'pc', lib.num(int(parent.pc) - 1))
  if present(parent.df) then
    -- The parent already ended and waited only for this subtree: now it settles.
    if int(parent.pc) == 0 then
      lib.finish(parent, parent.df, present(parent.dfo) and parent.dfo or nil, present(parent.dfe) and parent.dfe or nil)
    end
    return
  end
  if parent.d ~= '1' or parent.s ~= 'waitingChildren' then return end
  if child.s ~= 'completed' and (child.of or 'fail-parent') == 'fail-parent' then
    local err = present(child.e) and child.e
    local details = '{"childId":' .. js(child._id) .. (err and (',"childError":' .. err) or '') .. '}'
    lib.finish(parent, 'failed', nil, '{"code":"CHILD_FAILED","message":' ..
      js('Child ' .. child._id .. ' (' .. child.n .. ') ' .. child.s .. '.') .. ',"details":' .. details .. '}')
  elseif int(parent.pc) == 0 then
    move(parent, 'queued')
    lib.push_ready(parent)
    emit(parent, 'q')
  end
end

-- Cancels a job; its children follow as cascade work. Returns the CancelOutcome.
function lib.cancel_tree(rec, reason)
  if terminal(rec.s) then return 'settled' end
  -- Cancelled before: its subtree was cancelled then (or is being), and what a running attempt
  -- spawns after is cancelled when its owner settles it. Cascading again would walk the whole
  -- subtree once more on every such call: in a deep chain of waiting parents, each settling on
  -- its own node, the walks pile up (chaos deep-trees: 31,000 cascade items after 364 cancels).
  if present(rec.cr) then return 'cancelling' end
  if present(rec.df) then
    -- Already ending, waiting for its children. A failed or cancelled end has cancelled them;
    -- one that completed early lets them run, so hurry them along (once), keeping its outcome.
    if rec.df ~= 'completed' then return 'cancelling' end
    put(rec, 'cr', reason)
    lib.work('c', rec._id, 0, reason)
    return 'cancelling'
  end
  if held_status(rec.s) and present(rec.ow) then
    -- Running on some node: its owner aborts the attempt and settles it as cancelled (it learns
    -- from the signal, or from its next renewal, which reads `cr`). The children go now so that
    -- none starts in the meantime.
    put(rec, 'cr', reason)
    lib.signal('k\t' .. rec._id .. '\t' .. rec.ow .. '\t' .. reason)
    if int(rec.cc) > 0 then lib.work('c', rec._id, 0, reason) end
    return 'cancelling'
  end
  lib.finish(rec, 'cancelled', nil, reason)
  return terminal(rec.s) and 'cancelled' or 'cancelling'
end

function lib.requeue(rec, run_at, err)
  local later = run_at > C.NOW
  local to = later and 'delayed' or 'queued'
  move(rec, to)
  if later then
    put(rec, 'ra', lib.num(run_at))
    lib.zset_add(C.DELAYED, run_at, rec._id)
    -- Announced: a node's next claim learns when it falls due, instead of at its next poll.
    C.AVAIL = true
  else
    if present(rec.ra) then put(rec, 'ra', '') end
    lib.push_ready(rec)
  end
  if err then emit(rec, later and 'R' or 'r', lib.num(int(rec.a)), lib.num(run_at), err)
  else emit(rec, 'q') end
end

-- Handed back by its node unrun or unfinished: queued again at once as if the attempt had not
-- been claimed (the attempt is not counted, no stall recorded).
function lib.release(rec)
  -- The event first: it names the attempt as the record still has it.
  emit(rec, 'l')
  lib.zset_rem(C.LEASES, rec._id)
  move(rec, 'queued')
  local attempt = int(rec.a) - 1
  put(rec, 'a', lib.num(attempt))
  -- Never started, as far as the record goes.
  if attempt == 0 then lib.unset(rec, 'sa') end
  put(rec, 'ow', '')
  lib.push_ready(rec)
end

-- The lease token check every operation of a running attempt goes through (fencing). `fields`
-- reads only those (a partial record, see context.lua).
function lib.held(id, token)
  local rec = load(id)
  if not rec or int(rec.t) ~= tonumber(token) or not held_status(rec.s) or not present(rec.ow) then return nil end
  return rec
end

-- Held, and the lease not yet run out: what a spawn from the attempt needs.
function lib.holds(rec, token)
  return int(rec.t) == tonumber(token) and held_status(rec.s) and present(rec.ow) and lib.lease_live(rec._id)
end

-- Whether a held job's lease has not run out. The expiry is kept only as the job's score in the
-- leases set (a field of its own in every running job's hash cost a listpack insert per claim).
function lib.lease_live(id)
  local until_ms = lib.read('ZSCORE', C.LEASES, id)
  return until_ms and tonumber(until_ms) > C.NOW or false
end
