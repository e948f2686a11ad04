-- The candidates a claim takes from: per job name its ready list and its sorted set of
-- prioritised jobs (queues.lua), each read a window at a time and merged with what this call
-- added, and a fair source (fair.lua) that merges its keys' queues itself. A head is
-- {score, seq, id, entry}; `take` takes it off, and `settle_sources` plans what taking changed.
local lib = ...
local C = lib.C

-- A source of candidates: one name's list (stored entries, then those added in this call) or
-- sorted set (stored, or added in this call). `head` is the next {score, seq, id, entry}.
local function list_source(name, window)
  local key = lib.lkey(name)
  local src = { key = key, kind = 'l', items = lib.read('LRANGE', key, '0', lib.int_s(window - 1)), pos = 1, popped = 0, window = window }
  src.more = #src.items == window
  src.pending, src.pending_taken = C.LIST_ADD[key] or {}, 0
  return src
end

local function zset_source(name, window)
  local key = lib.zkey(name)
  local r = lib.read('ZRANGE', key, '0', lib.int_s(window - 1), 'WITHSCORES')
  local src = { key = key, kind = 'z', items = {}, pos = 1, more = #r == window * 2, window = window, offset = 0 }
  for x = 1, #r, 2 do src.items[#src.items + 1] = { r[x], tonumber(r[x + 1]) } end
  -- Added in this call (promoted, requeued): merged in score order.
  local added = C.ZSET_ADD[key] or {}
  src.added = {}
  for x = 1, #added, 2 do src.added[#src.added + 1] = { added[x + 1], tonumber(added[x]) } end
  table.sort(src.added, function(a, b) return a[2] < b[2] or (a[2] == b[2] and a[1] < b[1]) end)
  src.added_pos = 1
  return src
end

-- Whether this call merges several sources; with one, a list entry's seq is never compared
-- (set by each claim, lib.merging).
local MERGING = false
function lib.merging(on) MERGING = on end

-- '<seq>:<id>'; find and sub, not a pattern with captures (several times the cost).
local function parse_list(entry)
  local p = string.find(entry, ':', 1, true)
  return { 0, MERGING and tonumber(string.sub(entry, 1, p - 1)) or 0, string.sub(entry, p + 1), entry }
end

local function parse_zset(item)
  return { item[2], tonumber(string.sub(item[1], 1, 16)), string.sub(item[1], 17), item[1] }
end

local function find_head(src)
  if src.kind == 'l' then
    if src.pos > #src.items and src.more then
      src.items = lib.read('LRANGE', src.key, lib.int_s(src.popped), lib.int_s(src.popped + src.window - 1))
      src.pos = 1
      src.more = #src.items == src.window
    end
    if src.pos <= #src.items then return parse_list(src.items[src.pos]), 'stored' end
    local pending = src.pending[src.pending_taken + 1]
    return pending and parse_list(pending), 'added'
  end
  if src.pos > #src.items and src.more then
    src.offset = src.offset + #src.items
    local r = lib.read('ZRANGE', src.key, lib.int_s(src.offset), lib.int_s(src.offset + src.window - 1), 'WITHSCORES')
    src.items, src.pos, src.more = {}, 1, #r == src.window * 2
    for x = 1, #r, 2 do src.items[#src.items + 1] = { r[x], tonumber(r[x + 1]) } end
  end
  local stored = src.items[src.pos] and parse_zset(src.items[src.pos])
  local added = src.added[src.added_pos] and parse_zset(src.added[src.added_pos])
  if stored and (not added or stored[1] < added[1] or (stored[1] == added[1] and stored[2] <= added[2])) then return stored, 'stored' end
  return added, 'added'
end

-- The next candidate of a source, parsed once.
local function head(src)
  if src.kind == 'f' then return lib.fair_head(src) end
  local h = src.h
  if h == nil then
    local from
    h, from = find_head(src)
    src.h, src.from = h or false, from
  end
  return src.h, src.from
end

-- Takes the head off its source; `keep` leaves a deferred job where it was, `stale` says the
-- entry's job had left the queue.
local function take(src, from, entry, keep, stale)
  if src.kind == 'f' then return lib.fair_take(src, from, entry, keep, stale) end
  src.h = nil
  if src.kind == 'l' then
    if from == 'stored' then
      src.pos = src.pos + 1
      src.popped = src.popped + 1
    else
      src.pending_taken = src.pending_taken + 1
    end
    if keep then lib.list_back(src.key, entry[4]) end
  elseif from == 'stored' then
    src.pos = src.pos + 1
    if not keep then lib.zset_rem(src.key, entry[4]) end
  else
    src.added_pos = src.added_pos + 1
    if not keep then src.added_taken = (src.added_taken or {}); src.added_taken[entry[4]] = true end
  end
end

-- What taking entries changed: list pops, and additions of this call no longer to be made.
local function settle_sources(sources)
  for _, src in ipairs(sources) do
    if src.kind == 'f' then
      lib.fair_finish(src, settle_sources)
    elseif src.kind == 'l' then
      if src.popped > 0 then lib.list_pop(src.key, src.popped) end
      if src.pending_taken > 0 then
        local rest = {}
        for i = src.pending_taken + 1, #src.pending do rest[#rest + 1] = src.pending[i] end
        C.LIST_ADD[src.key] = rest
      end
    elseif src.added_taken then
      local rest, added = {}, C.ZSET_ADD[src.key]
      for x = 1, #added, 2 do
        if not src.added_taken[added[x + 1]] then
          rest[#rest + 1] = added[x]
          rest[#rest + 1] = added[x + 1]
        end
      end
      C.ZSET_ADD[src.key] = rest
    end
  end
end

-- Whether a name may have a job to hand out: its ready list, its prioritised jobs or its keys'
-- turns (fair.lua) exist, or this call added to one of them. One EXISTS for the three instead of
-- three reads: a node that runs many names finds most of them empty at every claim.
local function any(name)
  local l, z, g = lib.lkey(name), lib.zkey(name), C.B .. 'g:' .. name
  local added = C.LIST_ADD
  if (added[l] and #added[l] > 0) or (added[g] and #added[g] > 0) or (C.ZSET_ADD[z] and #C.ZSET_ADD[z] > 0) then return true end
  return redis.call('EXISTS', l, z, g) > 0
end

-- What a fair source (fair.lua) builds its keys' queues from.
lib.claim_sources = { list = list_source, zset = zset_source, head = head, take = take, any = any }
lib.head, lib.take, lib.settle_sources = head, take, settle_sources
