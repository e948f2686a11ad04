-- list_build: makes the listing index (listing.lua) of a store listed for the first time, in
-- bounded steps; `list` in redis-list.ts calls it while `list` (list.lua) reports the index
-- incomplete. The first call turns the index on (`lx`): from then on the functions add every job
-- they create and take out every job they drop. The jobs created before — a `cs` at most the seq
-- of that moment, kept as `l0` — are found by SCAN over the store's job hashes, ARGV[6] keys per
-- step, gathered in the sorted set `{p}:lbuild` by seq (SCAN may return a key twice, and in no
-- order), then put into their buckets highest seq first, ARGV[7] per step: pushed at a bucket's
-- head, so each bucket ends up in seq order in front of the newer jobs it already held. A job
-- dropped meanwhile is left out (it is looked up as it is placed). The state is in `{p}:counts`:
-- `lb` the SCAN cursor while scanning, 'place' while placing, absent once the index is complete.
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    keys to scan per step      ARGV[7] jobs to place per step
--   Returns 1 when the index is complete, 0 when there is more to do.
local lib = ...
local C = lib.C
local BUCKET = lib.LIST_BUCKET

-- SCAN's MATCH is a glob: the prefix's own glob characters are escaped.
local function pattern(base)
  return (string.gsub(base, '[%*%?%[%]\\]', '\\%0')) .. 'j:*'
end

local function scan_step(state, count, build)
  local upto = tonumber(state[3]) or 0
  local reply = redis.call('SCAN', state[2], 'MATCH', pattern(C.B), 'COUNT', count)
  local from = #C.B + 3
  for _, key in ipairs(reply[2]) do
    local v = redis.call('HMGET', key, 'cs', 'b')
    local cs = lib.seq_of(v[1], v[2])
    local seq = tonumber(cs)
    if seq and seq <= upto then lib.zset_add(build, cs, cs .. ':' .. string.sub(key, from)) end
  end
  lib.hash_set(C.COUNTS, 'lb', reply[1] == '0' and 'place' or reply[1])
  lib.commit()
  return 0
end

local function place_step(count, build)
  local entries = lib.read('ZREVRANGE', build, 0, count - 1)
  local buckets = {}
  -- Highest first as read; placed lowest first, each in front of the one before it.
  for x = #entries, 1, -1 do
    local entry = entries[x]
    local p = string.find(entry, ':', 1, true)
    lib.zset_rem(build, entry)
    local b = string.format('%d', math.floor(tonumber(string.sub(entry, 1, p - 1)) / BUCKET))
    local bucket = C.B .. 'l:' .. b
    -- Already there when an earlier version of the library kept the index from the start.
    if redis.call('EXISTS', C.B .. 'j:' .. string.sub(entry, p + 1)) == 1 and not lib.read('LPOS', bucket, entry) then
      lib.list_back(bucket, entry)
      if not buckets[b] then
        buckets[b] = true
        lib.zset_add(C.LISTING, b, b)
      end
    end
  end
  local done = #entries < count
  if done then
    lib.hash_del(C.COUNTS, 'lb')
    lib.hash_del(C.COUNTS, 'l0')
  end
  lib.commit()
  return done and 1 or 0
end

lib.register('list_build', function(keys, args)
  lib.begin(keys, args)
  local scan, place = tonumber(args[6]), tonumber(args[7])
  lib.check(#args == 7 and scan and scan > 0 and place and place > 0, 'scan, place')
  local state = lib.read('HMGET', C.COUNTS, 'lx', 'lb', 'l0')
  if state[1] ~= '1' then
    -- Turned on: the jobs created from now on are indexed as they come.
    lib.hash_set(C.COUNTS, 'lx', '1')
    lib.hash_set(C.COUNTS, 'lb', '0')
    lib.hash_set(C.COUNTS, 'l0', string.format('%d', lib.current('seq')))
    lib.commit()
    return 0
  end
  if not state[2] then return 1 end
  local build = C.B .. 'lbuild'
  if state[2] ~= 'place' then return scan_step(state, scan, build) end
  return place_step(place, build)
end, lib.REFUSE_WHEN_FULL)
