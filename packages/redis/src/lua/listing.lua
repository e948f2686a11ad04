-- The listing index, which `list` (list.lua) walks: every job the store holds, in the order it
-- was created. A job's creation takes a seq from the store's one counter (the one that orders
-- the ready queues) and keeps it in its birth `b` (context.lua; the field `cs` of a job created
-- before births). The index itself is made only for a store
-- that is listed (as the memory store's): the first `list` turns it on (`lx` in `{p}:counts`),
-- from then on the functions keep it, and the jobs created before are added by `list_build`
-- (list-build.lua) in bounded steps. Until then a job pays only for its seq.
--
-- The index holds "<seq>:<id>" in a bucket of 128 seqs, `{p}:l:<seq div 128>`, a list in
-- creation order: an append costs Redis next to nothing and an entry about 30 bytes (one sorted
-- set of every job cost ~130 bytes a job, small sorted sets per bucket ~4 µs a job to insert
-- into). `{p}:listing` is the sorted set of the buckets that hold jobs (one entry per 128 jobs),
-- so a walk never steps through buckets that retention emptied. Retention takes a job out of its
-- bucket when it drops the job (LREM in a bucket of at most 128), and a bucket left empty leaves
-- the set. Jobs created by a version of the library without `cs` are not listed.
local lib = ...
local C = lib.C

local BUCKET = 128
lib.LIST_BUCKET = BUCKET

-- A call's creations have consecutive seqs (and its drops mostly neighbouring ones), so a
-- bucket's key is made once per bucket, not per job: Lua's string work, more than Redis'
-- commands, is what a job costs (see enqueue.lua).
local function bucket(seq, cache)
  local b = math.floor(seq / BUCKET)
  if cache.b ~= b then
    cache.b = b
    cache.name = string.format('%d', b)
    cache.key = C.B .. 'l:' .. cache.name
    cache.new = true
  end
  return cache
end

-- The job created in this call with the seq `next_seq` gave last (C.SEQ); `seq` as a string.
function lib.index_add(id, seq)
  local at = bucket(C.SEQ, C.BUCKET_ADD)
  if at.new then
    at.new = false
    lib.list_add(at.key, seq .. ':' .. id)
    at.list = C.LIST_ADD[at.key]
    lib.zset_add(C.LISTING, at.name, at.name)
  else
    local l = at.list
    l[#l + 1] = seq .. ':' .. id
  end
end

-- A birth `b` (context.lua's header) as its created at and seq; find and sub, not a pattern with
-- captures (several times the cost). Only the general paths split one: the hot paths hand it on
-- as it is (a claim's reply carries it to Node, which reads the created at before the tab).
function lib.birth(b)
  local p = string.find(b, '\t', 1, true)
  return string.sub(b, 1, p - 1), string.sub(b, p + 1)
end

-- A record's ca and cs from its birth, when it has one.
function lib.unpack_birth(rec)
  local b = rec.b
  if b then rec.ca, rec.cs = lib.birth(b) end
end

-- A job's seq (`cs`) from its `cs` or its birth as read (HMGET ... 'cs', 'b').
function lib.seq_of(cs, b)
  if cs or not b then return cs end
  local _, seq = lib.birth(b)
  return seq
end

-- A job created in this call, `w` its HSET arguments: takes its seq, writes its birth `b`
-- (created at, seq: context.lua) and puts the job in the index. Returns the seq (also its first
-- place in a ready queue).
function lib.index_created(id, w)
  local seq = lib.next_seq()
  local n = #w
  w[n + 1] = 'b'
  w[n + 2] = C.NOW_S .. '\t' .. seq
  if lib.listing_on() then lib.index_add(id, seq) end
  return seq
end

-- A job dropped in this call; `seq` its `cs` (absent for a job created before `cs` existed).
-- Callers read `cs` only when the index is on: a store never listed reads nothing.
function lib.index_remove(id, seq)
  if not lib.listing_on() then return end
  local n = tonumber(seq)
  if not n then return end
  local at = bucket(n, C.BUCKET_REM)
  local l = C.BUCKET_DROP[at.key]
  if not l then
    l = { name = at.name }
    C.BUCKET_DROP[at.key] = l
  end
  l[#l + 1] = seq .. ':' .. id
end

-- The bucket keys drops write (commit.lua checks their type before the first write).
function lib.index_keys(each)
  for key in pairs(C.BUCKET_DROP) do each(key, 'list') end
  if next(C.BUCKET_DROP) then each(C.LISTING, 'zset') end
end

-- After the other writes (commit.lua): drops leave their buckets, and a bucket left empty the set.
function lib.index_prune()
  for key, entries in pairs(C.BUCKET_DROP) do
    for _, entry in ipairs(entries) do redis.call('LREM', key, '1', entry) end
    if redis.call('EXISTS', key) == 0 then redis.call('ZREM', C.LISTING, entries.name) end
  end
end
