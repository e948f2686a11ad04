-- Cascades, iteratively and bounded per call. What a transition sets off in other jobs is an
-- item of work: `s` a child settled (its parent counts it and may settle in turn), `c` cancel the
-- children of a job from an offset, `d` drop a finished job, `D` drop the children of a job from
-- an offset. A call does items until its budget is spent; what is left goes to the durable list
-- `{p}:work`, which the caller continues with `cascade` calls and, should the caller die, any
-- node's periodic sweep does (redis-store.ts). So a chain of any depth and a tree of any width
-- settle, cancel and leave retention in steps of a few milliseconds each, never in one long call.
--
-- Mid-cascade, a reader sees it partly done: a parent still waiting whose last child has ended,
-- descendants of a cancelled job not yet cancelled (one may even start, and is then asked to
-- stop like any running job), a dropped tree whose deeper jobs are still there. Counts always
-- match the records.
local lib = ...
local C = lib.C
local present, terminal, int = lib.present, lib.terminal, lib.int

-- Children read per step of a wide cascade.
local SLICE = 50

-- `child`, for `s`: what child_settled reads of the child, when the caller has it (else loaded).
function lib.work(kind, id, offset, reason, child)
  C.WORK[#C.WORK + 1] = { kind, id, offset, reason, child }
end

-- Drops one finished job; `known` is the status when the caller knows the job is plain (no
-- children, key or meta: a root recorded as such), so nothing needs to be read.
local function drop(id, known)
  local rec = C.REC[id]
  if rec == false then return end
  if known and rec == nil then
    -- A plain root as recorded (the usual case): nothing to read but its place in the listing.
    C.REC[id] = false
    C.FAST[id] = nil
    local key = C.B .. 'j:' .. id
    local list = C.DROP
    list[#list + 1] = key
    if lib.listing_on() then
      local v = redis.call('HMGET', key, 'cs', 'b')
      lib.index_remove(id, lib.seq_of(v[1], v[2]))
    end
    lib.count(known, -1)
    lib.signal_dropped(id)
    return
  end
  local s, cc, ik, m, es = known, 0, nil, nil, nil
  local cs
  if not known then
    if rec == nil then
      local v = redis.call('HMGET', lib.jk(id), 's', 'cc', 'ik', 'm', 'es', 'cs', 'b')
      s, cc, ik, m, es, cs = v[1], int(v[2]), v[3], v[4], v[5], lib.seq_of(v[6], v[7])
    else
      s, cc, ik, m, es, cs = rec.s, int(rec.cc), rec.ik, rec.m, rec.es, rec.cs
    end
    -- A fire-and-forget child still running stays, and so does its subtree.
    if not s or not terminal(s) then return end
  else
    -- A plain root: only its place in the listing is read (when the store keeps one).
    if rec then
      cs = rec.cs
    elseif lib.listing_on() then
      local v = redis.call('HMGET', lib.jk(id), 'cs', 'b')
      cs = lib.seq_of(v[1], v[2])
    end
  end
  if rec then rec._dropped = true end
  C.REC[id] = false
  C.FAST[id] = nil
  lib.drop_key(lib.jk(id))
  lib.index_remove(id, cs)
  if present(es) then lib.drop_key(lib.evk(id)) end
  lib.count(s, -1)
  if cc > 0 then
    lib.drop_key(C.B .. 'ck:' .. id)
    lib.work('D', id, 0)
  end
  if present(ik) and lib.read('HGET', C.IDEM, ik) == id then lib.hash_del(C.IDEM, ik) end
  local S = C.SIG
  local n = #S
  S[n + 1] = '\nx\t'
  S[n + 2] = id
  S[n + 3] = '\t'
  S[n + 4] = m or ''
end
lib.drop = drop

-- The children of `id` from `offset`, a slice at a time; the next slice is queued behind. A
-- slice is no bigger than the budget left (at least one child, so that a cascade always moves),
-- so a call never does more than its budget, however wide the tree.
local function slice(id, offset, each, last)
  local n = math.max(1, math.min(SLICE, C.BUDGET))
  local ids = lib.read('LRANGE', C.B .. 'c:' .. id, lib.int_s(offset), lib.int_s(offset + n - 1))
  C.BUDGET = C.BUDGET - #ids
  for _, child in ipairs(ids) do each(child) end
  if #ids == n then return false, offset + n end
  if last then last() end
  return true
end

local function step(item)
  local kind, id, offset, reason = item[1], item[2], tonumber(item[3]), item[4]
  if kind == 's' then
    local child = item[5] or lib.load(id)
    if child and present(child.pa) then lib.child_settled(child) end
  elseif kind == 'c' then
    local done, next_offset = slice(id, offset, function(child_id)
      local child = lib.load(child_id)
      if child and not terminal(child.s) then lib.cancel_tree(child, reason) end
    end)
    if not done then lib.work('c', id, next_offset, reason) end
  elseif kind == 'd' then
    drop(id)
  elseif kind == 'D' then
    local done, next_offset = slice(id, offset, function(child_id) lib.work('d', child_id) end, function() lib.drop_key(C.B .. 'c:' .. id) end)
    if not done then lib.work('D', id, next_offset) end
  end
end

-- Does queued work until the budget is spent.
function lib.run_work()
  while C.WORK_HEAD <= #C.WORK and C.BUDGET > 0 do
    local item = C.WORK[C.WORK_HEAD]
    C.WORK[C.WORK_HEAD] = false
    C.WORK_HEAD = C.WORK_HEAD + 1
    C.BUDGET = C.BUDGET - 1
    step(item)
  end
end

-- Takes up to a budget's worth of items from the durable list into this call.
function lib.take_work()
  local key = C.WORKKEY
  local items = lib.read('LRANGE', key, '0', lib.int_s(lib.BUDGET - 1))
  if #items == 0 then return 0 end
  lib.list_pop(key, #items)
  for _, text in ipairs(items) do
    local kind, id, offset, reason = string.match(text, '^(%a)\t([^\t]*)\t([^\t]*)\t(.*)$')
    if kind then lib.work(kind, id, offset, reason) end
  end
  return #items
end

-- What is left when the budget ran out, written to the durable list by commit.
function lib.leftover_work()
  local out = {}
  for i = C.WORK_HEAD, #C.WORK do
    local item = C.WORK[i]
    out[#out + 1] = item[1] .. '\t' .. item[2] .. '\t' .. (item[3] or '') .. '\t' .. (item[4] or '')
  end
  return out
end

-- Finished trees past the count or the age leave, oldest first, within the budget. Roots
-- finished in this call are not in the list yet: they come after the stored ones. Returns true
-- when the budget ran out with roots left to look at (`cascade` then tells its caller to go on).
function lib.trim_retention()
  local key = C.ROOTS
  local stored = lib.read('LLEN', key)
  local added = C.LIST_ADD[key] or {}
  local excess = stored + #added - C.RCOUNT
  -- Usually nothing is due: one entry is read to see that.
  local heads = lib.read('LRANGE', key, '0', lib.int_s(math.min(math.max(excess, 1), SLICE) - 1))
  local taken, from_added = 0, 0
  while C.BUDGET > 0 do
    local entry
    if taken < stored then
      if taken >= #heads then
        for _, more in ipairs(lib.read('LRANGE', key, lib.int_s(taken), lib.int_s(taken + SLICE - 1))) do heads[#heads + 1] = more end
      end
      entry = heads[taken + 1]
    else
      entry = added[from_added + 1]
    end
    if not entry then break end
    -- '<code>:<finished at>:<id>'; find and sub, not a pattern with captures (several times the cost).
    local p = string.find(entry, ':', 3, true)
    local code = p and string.sub(entry, 1, 1)
    if excess <= 0 and p and tonumber(string.sub(entry, 3, p - 1)) + C.RAGE > C.NOW then break end
    local id = p and string.sub(entry, p + 1)
    if taken < stored then taken = taken + 1 else from_added = from_added + 1 end
    excess = excess - 1
    C.BUDGET = C.BUDGET - 1
    if code == '+' then lib.work('d', id)
    elseif code then drop(id, code == 'c' and 'completed' or code == 'f' and 'failed' or 'cancelled') end
  end
  if taken > 0 then lib.list_pop(key, taken) end
  if from_added > 0 then
    local rest = {}
    for i = from_added + 1, #added do rest[#rest + 1] = added[i] end
    C.LIST_ADD[key] = rest
  end
  return C.BUDGET <= 0 and (taken < stored or from_added < #added)
end
