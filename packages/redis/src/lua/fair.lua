-- The claim's source for a job name whose keys take turns (flow.lua): one candidate at a time,
-- the head of the key whose turn it is, drawn from that key's own list and sorted-set sources
-- (claim.lua's, passed in as `ops`). A key is served up to its weight, then goes to the back; a
-- key held back (its rate limit, its concurrency limit) goes to the back without losing its jobs;
-- a key found without jobs leaves the turns. At the end (`fair_finish`) the turns list is
-- written back: the entries this claim went past are popped from its head and those that keep
-- their turn are appended, so a turn survives across claims and nodes.
local lib = ...
local C = lib.C

-- Turns read per claim and name, and key visits per claim and name: bounded however many keys.
local WINDOW = 100
local WINDOW_LAST = '99'
local VISITS = 1000

-- nil when the name has no keys with jobs (its plain queue is all there is).
function lib.fair_source(name, window, ops, blocked, weights)
  local g = C.B .. 'g:' .. name
  local stored = lib.read('LRANGE', g, '0', WINDOW_LAST)
  local pending = C.LIST_ADD[g]
  if #stored == 0 and (not pending or #pending == 0) then return nil end
  local src = {
    kind = 'f', name = name, g = g, window = window, ops = ops, blocked = blocked, weights = weights,
    turns = {}, at = 1, stored_n = #stored, more = #stored == WINDOW, groups = {}, visits = 0, used = 0,
  }
  for x = 1, #stored do src.turns[x] = { key = stored[x], stored = true } end
  -- Keys that joined in this call (a retry, a promoted job) queue behind the stored turns.
  if not src.more and pending then
    for x = 1, #pending do src.turns[#src.turns + 1] = { key = pending[x] } end
    src.pending_in = true
  end
  -- With weights, how far the key at the front is into its turn outlives the claim.
  if weights then src.used = lib.int(lib.read('HGET', C.B .. 'fl', name .. '\31turn')) end
  return src
end

local function group(src, key)
  local grp = src.groups[key]
  if not grp then
    local q = key == '' and src.name or lib.qname(src.name, key)
    grp = { list = src.ops.list(q, src.window), zset = src.ops.zset(q, src.window), key = key }
    src.groups[key] = grp
  end
  return grp
end

local function group_head(src, grp)
  local h, from = src.ops.head(grp.list)
  local inner = grp.list
  local hz, fromz = src.ops.head(grp.zset)
  if hz and (not h or hz[1] < h[1] or (hz[1] == h[1] and hz[2] < h[2])) then h, from, inner = hz, fromz, grp.zset end
  return h, from, inner
end

local function end_turn(src, entry, keep_turn)
  src.at = src.at + 1
  src.used = 0
  if keep_turn then
    src.turns[#src.turns + 1] = { key = entry.key }
  elseif entry.key ~= '' then
    C.JOINED[lib.qname(src.name, entry.key)] = false
  end
end

-- The next candidate: the head of the first key in turn that has one and is not held back.
function lib.fair_head(src)
  if src.cur then return src.cur.h, src.cur.from end
  if src.done then return nil end
  local round = #src.turns - src.at + 1
  while round > 0 and src.at <= #src.turns and src.visits < VISITS do
    round = round - 1
    src.visits = src.visits + 1
    local entry = src.turns[src.at]
    local key = entry.key ~= '' and entry.key or nil
    local grp = group(src, entry.key)
    local h, from, inner = group_head(src, grp)
    if not h then
      -- The plain queue keeps its turn while there are keys; a key without jobs leaves.
      end_turn(src, entry, entry.key == '' or grp.kept)
    elseif src.blocked(key) then
      end_turn(src, entry, true)
    else
      src.cur = { h = h, from = from, inner = inner, entry = entry, grp = grp }
      return h, from
    end
  end
  src.done = true
  return nil
end

-- The flow key of the current candidate (nil: the plain queue).
function lib.fair_key(src)
  local key = src.cur and src.cur.entry.key
  return key ~= '' and key or nil
end

-- Takes the candidate; `keep` leaves a deferred job where it was, `stale` marks an entry whose
-- job had left the queue (neither counts against the turn).
function lib.fair_take(src, from, entry, keep, stale)
  local cur = src.cur
  src.cur = nil
  src.ops.take(cur.inner, from, entry, keep)
  if keep then
    cur.grp.kept = true
    return end_turn(src, cur.entry, true)
  end
  if stale then return end
  src.used = src.used + 1
  if src.used >= ((src.weights and src.weights[cur.entry.key]) or 1) then end_turn(src, cur.entry, true) end
end

-- Writes back the turns (planned writes) and the inner sources' pops (`settle`, claim.lua's).
function lib.fair_finish(src, settle)
  for _, grp in pairs(src.groups) do settle({ grp.list, grp.zset }) end
  local consumed, rest, keyed = 0, {}, false
  for x = 1, #src.turns do
    local entry = src.turns[x]
    if x < src.at then
      if entry.stored then consumed = consumed + 1 end
    else
      if entry.key ~= '' then keyed = true end
      if not entry.stored then rest[#rest + 1] = entry.key end
    end
  end
  local g = src.g
  if not keyed and not src.more then
    -- No key has jobs left: the name is back to its plain queue alone.
    if src.stored_n > 0 then lib.list_pop(g, src.stored_n) end
    C.LIST_ADD[g] = {}
    C.TURNS[src.name] = 0
    return
  end
  if consumed > 0 then lib.list_pop(g, consumed) end
  if not src.pending_in then
    local pending = C.LIST_ADD[g] or {}
    for x = #pending, 1, -1 do table.insert(rest, 1, pending[x]) end
  end
  C.LIST_ADD[g] = rest
  C.TURNS[src.name] = src.more and 1000000 or (src.stored_n - consumed + #rest)
  if src.weights then lib.hash_set(C.B .. 'fl', src.name .. '\31turn', lib.num(src.used)) end
end
