-- The end of every call that changes jobs. First every key the call will write is checked to
-- have the type the write needs (keys a read of this call already proved are skipped, and job
-- hashes always were), so that a key of the wrong type fails the call before anything is
-- written; then the writes, each planned write of a batch as one command where Redis allows:
-- job hashes, dropped keys, lists (pops, then pushes back at the head, then appends), sorted sets
-- (removals first: a lease that expired and was taken again in the same call is kept), hashes,
-- sets, strings, the leftover cascade work, the counts; and last one message with every signal.
local lib = ...
local C = lib.C
local jk = lib.jk

-- Sends a long argument list in slices: Lua's unpack has a stack limit.
local function bulk(cmd, key, args, from)
  for i = from or 1, #args, 1000 do
    redis.call(cmd, key, unpack(args, i, math.min(i + 999, #args)))
  end
end
lib.bulk = bulk

local function expect(key, kind)
  if C.TYPED[key] then return end
  local actual = redis.call('TYPE', key).ok
  if actual ~= kind and actual ~= 'none' then
    error({ err = 'WRONGTYPE ' .. key .. ' holds a ' .. actual .. ', not a ' .. kind .. '; nothing was written' })
  end
  C.TYPED[key] = true
end

local function check_types(leftover)
  for key in pairs(C.LIST_POP) do expect(key, 'list') end
  for key in pairs(C.LIST_BACK) do expect(key, 'list') end
  for key in pairs(C.LIST_ADD) do expect(key, 'list') end
  for key in pairs(C.ZSET_REM) do expect(key, 'zset') end
  for key in pairs(C.ZSET_ADD) do expect(key, 'zset') end
  for key in pairs(C.HASH) do expect(key, 'hash') end
  for key in pairs(C.SET_ADD) do expect(key, 'set') end
  for key in pairs(C.STRING_SET) do expect(key, 'string') end
  if #leftover > 0 then expect(C.WORKKEY, 'list') end
  if next(C.DELTA) or C.SEQ then expect(C.COUNTS, 'hash') end
  lib.index_keys(expect)
end

local function write_record(rec)
  local w = rec._w
  if w and #w > 0 then bulk('HSET', jk(rec._id), w) end
  if rec._del then
    local del = {}
    for f in pairs(rec._del) do del[#del + 1] = f end
    if #del > 0 then bulk('HDEL', jk(rec._id), del) end
  end
end

-- Every string Lua makes is hashed whole (Redis' Lua hashes every byte, against collision
-- attacks), and table.concat builds in a buffer of 8 KB (LUAL_BUFFERSIZE): past it, it makes a
-- string of each 8 KB and joins them, hashing again. A group line (events.lua) was joined twice,
-- into its line and then into the message, and past 8 KB more: 50 completions of 213-byte
-- outputs cost 12k instructions a job in joins alone (bench/redis-callgrind.ts with
-- BENCH_REDIS_SERVER, callgrind_annotate). So a call's signals go out in messages within the
-- buffer (CHUNK, events.lua), each byte hashed once, in two ways by the shape of the line: a
-- group line (4 pieces a job, its header repeated in each message) is sized here, and only a
-- completions' one, the only kind with long fields; `e` lines (16 pieces each, too many to walk
-- here) are cut as they are added (events.lua, C.SIG_CUTS). Each message is the call's time, then
-- whole lines, so any cut parses.
local CHUNK = lib.SIGNAL_CHUNK

-- Whether a group line (`G`, events.lua: a header, then per job a tab, id, tab and field) may be
-- longer than CHUNK. Only completions carry long fields (outputs), so only theirs are summed; the
-- ids are taken at 24 bytes (those of newJobId are 21). Either answer is correct, a wrong one
-- only dearer: an id far longer makes a line past the buffer, joined as before; a line that
-- turns out short goes out as one message of its own.
local function long_line(g, n)
  if g[3] ~= 'c' or n < 8 then return false end
  local len = (n - 7) * 6
  for k = 11, n, 4 do len = len + #g[k] end
  return len > CHUNK
end

-- Publishes a long group line in messages of at most CHUNK bytes (one job past it when a single
-- job's field is longer), each the call's time and the line's header, then whole jobs. The header
-- goes into the slots before a message's first job: pieces an earlier message already took.
local function publish_group(g, n)
  local h1, h2, h3, h4, h5, h6, h7 = g[1], g[2], g[3], g[4], g[5], g[6], g[7]
  local head = #h1 + #h2 + #h3 + #h4 + #h5 + #h6 + #h7
  local from, len = 1, head
  for k = 8, n, 4 do
    local job = #g[k + 1] + #g[k + 3] + 2
    if len + job > CHUNK and k - from > 7 then
      redis.call('SPUBLISH', C.SIGNALS, table.concat(g, '', from, k - 1))
      from = k - 7
      g[from], g[from + 1], g[from + 2], g[from + 3], g[from + 4], g[from + 5], g[from + 6] = h1, h2, h3, h4, h5, h6, h7
      len = head
    end
    len = len + job
  end
  redis.call('SPUBLISH', C.SIGNALS, table.concat(g, '', from, n))
end

-- Publishes the signals S[from..to] (S[from] the call's time, then pieces of lines), cut where
-- long `e` lines (events of jobs with a parent or other non-default fields, with their outputs
-- and errors) would take a message past CHUNK (C.SIG_CUTS, events.lua). The time goes into the
-- slot before a message's first line: a piece the message before already took.
local function flush(S, from, to)
  local cuts = C.SIG_CUTS
  for i = 1, #cuts do
    local c = cuts[i]
    if c > to then break end
    if c - 1 > from then
      redis.call('SPUBLISH', C.SIGNALS, table.concat(S, '', from, c - 1))
      from = c - 1
      S[from] = C.NOW_S
    end
  end
  if to > from then redis.call('SPUBLISH', C.SIGNALS, table.concat(S, '', from, to)) end
end

-- The call's signals, in the order they happened: one message (the call's time, then a line per
-- signal), split where a long group line goes out on its own, and where long `e` lines pass the
-- buffer. Sharded pub/sub (Redis 7): on a Cluster the message stays within the master that owns
-- the store's slot instead of being broadcast over the cluster bus to every node.
local function publish()
  local S = C.SIG
  local from = 1
  for _, group in ipairs(C.GROUP_AT) do
    local at, g, first = group[1], group[2], group[3]
    local n = #g
    if first == 2 and long_line(g, n) then
      flush(S, from, at - 1)
      publish_group(g, n)
      S[at] = C.NOW_S
      from = at
    else
      S[at] = table.concat(g, '', first)
    end
  end
  if C.AVAIL then S[#S + 1] = '\nw' end
  flush(S, from, #S)
end

-- Writes what the call planned; returns how many cascade items were left for later calls.
function lib.commit()
  if next(C.GATES) then lib.write_gates() end
  local leftover = lib.leftover_work()
  check_types(leftover)
  -- (One HSET per job: called directly, not through `bulk`, whose loop, slice and math.min were
  -- the hottest lines of a job's Lua: bench/lua-profile.ts. A fast job's changes are a few fields.)
  local fast = C.FAST
  local call = redis.call
  for _, id in ipairs(C.FASTLIST) do
    local w = fast[id]
    if w then call('HSET', w.key or jk(id), unpack(w)) end
  end
  for _, rec in ipairs(C.DIRTY) do
    if not rec._dropped then write_record(rec) end
  end
  -- UNLINK: a big key (the children list or spawn keys of a 100,000-child parent) is freed in
  -- the background instead of inside the call; a small one is freed at once, as by DEL.
  if #C.DROP > 0 then
    for i = 1, #C.DROP, 1000 do redis.call('UNLINK', unpack(C.DROP, i, math.min(i + 999, #C.DROP))) end
  end
  -- LTRIM, not LPOP: LPOP would answer with every popped entry, each made a Lua string.
  for key, count in pairs(C.LIST_POP) do redis.call('LTRIM', key, string.format('%d', count), '-1') end
  for key, list in pairs(C.LIST_BACK) do
    local reversed = {}
    for i = #list, 1, -1 do reversed[#reversed + 1] = list[i] end
    bulk('LPUSH', key, reversed)
  end
  for key, list in pairs(C.LIST_ADD) do
    if #list > 0 then bulk('RPUSH', key, list) end
  end
  for key, list in pairs(C.ZSET_REM) do bulk('ZREM', key, list) end
  for key, list in pairs(C.ZSET_ADD) do
    if key == C.LEASES then
      local n = #list
      list[n + 1], list[n + 2] = '+inf', lib.LEASE_ANCHOR
    end
    bulk('ZADD', key, list)
  end
  lib.index_prune()
  for key, fields in pairs(C.HASH) do
    local set, del = {}, {}
    for field, value in pairs(fields) do
      if value then
        set[#set + 1] = field
        set[#set + 1] = value
      else
        del[#del + 1] = field
      end
    end
    if #del > 0 then bulk('HDEL', key, del) end
    if #set > 0 then bulk('HSET', key, set) end
  end
  for key, list in pairs(C.SET_ADD) do bulk('SADD', key, list) end
  for key, v in pairs(C.STRING_SET) do redis.call('SET', key, v[1], 'PX', lib.num(v[2])) end
  if #leftover > 0 then bulk('RPUSH', C.WORKKEY, leftover) end
  local counts = C.COUNTS
  for status, d in pairs(C.DELTA) do
    if d ~= 0 then redis.call('HINCRBY', counts, status, string.format('%d', d)) end
  end
  if C.SEQ then redis.call('HSET', counts, 'seq', string.format('%d', C.SEQ)) end
  publish()
  return #leftover
end
