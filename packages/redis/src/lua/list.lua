-- list: jobs in the order they were created, filtered, from a bounded part of the listing index
-- (listing.lua) per call. A call examines at most `scan` entries, matching or not (a bucket
-- counts as one more), so a filter that matches few jobs among many answers in short calls —
-- the caller goes on from `next` — rather than in one long one. It writes nothing: it also runs
-- when Redis is full, and on replicas.
--
--   KEYS[1]    the store's key prefix
--   ARGV[1]    after: the seq of the last entry a previous call examined ('' from the start)
--   ARGV[2]    scan: how many entries to examine at most
--   ARGV[3]    how many jobs to return at most
--   ARGV[4]    status ('' any)   ARGV[5] name ('' any)
--   ARGV[6]    since, epoch ms ('' any): only jobs created at or after it. Without `after`, the
--              walk starts at the bucket before the first one whose first job was created at or
--              after it (a binary search, which takes creation times to grow with the seq, as
--              they do on one clock)
--   ARGV[7]    tenant: '' any, else '=' and the tenant (the job's meta.tenant)
--   ARGV[8]    n, a count of fields   ARGV[9…n+8] the fields, among them s, n, ca and m (and b,
--              the birth that holds ca in jobs created since births: context.lua)
--   Returns {ids, values, next, built}: the matching jobs' ids, per job the values of the fields,
--   `next` the seq of the last entry examined, or '' when the index ended within this call, and
--   built 1 when the index holds every job, 0 while it is off or being built (list-build.lua).
local lib = ...
local BUCKET = lib.LIST_BUCKET

-- The tenant in a job's meta JSON; decoded only when the text names one.
local function tenant_of(meta)
  if not meta or not string.find(meta, '"tenant"', 1, true) then return nil end
  local ok, decoded = pcall(cjson.decode, meta)
  if ok and type(decoded) == 'table' then return decoded.tenant end
  return nil
end

-- The bucket to start a `since` walk at: the one before the first whose first job was created
-- at or after `since`.
local function seek(base, since)
  local set = base .. 'listing'
  local lo, hi = 0, redis.call('ZCARD', set)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local b = redis.call('ZRANGE', set, mid, mid)[1]
    local first = b and redis.call('LINDEX', base .. 'l:' .. b, 0)
    local id = first and string.match(first, '^%d+:(.*)$')
    local v = id and redis.call('HMGET', base .. 'j:' .. id, 'ca', 'b')
    local ca = v and tonumber(v[1] or (v[2] and lib.birth(v[2])))
    if ca and ca >= since then hi = mid else lo = mid + 1 end
  end
  local b = redis.call('ZRANGE', set, math.max(lo - 1, 0), math.max(lo - 1, 0))[1]
  return b and tonumber(b) or 0
end

local function check(args)
  local n = tonumber(args[8])
  lib.check(args[1] == '' or tonumber(args[1]), 'after')
  lib.check(tonumber(args[2]) and tonumber(args[2]) > 0 and tonumber(args[3]) and tonumber(args[3]) > 0, 'scan, limit')
  lib.check(args[6] == '' or tonumber(args[6]), 'since')
  lib.check(args[7] == '' or string.sub(args[7], 1, 1) == '=', 'tenant')
  lib.check(n and #args == n + 8, 'fields')
end

lib.register('list', function(keys, args)
  check(args)
  local base = keys[1]
  local after = tonumber(args[1])
  local scan, limit = tonumber(args[2]), tonumber(args[3])
  local status, name, since = args[4], args[5], tonumber(args[6])
  local tenant = args[7] ~= '' and string.sub(args[7], 2) or nil
  local fields = { unpack(args, 9) }
  local at = {}
  for i, f in ipairs(fields) do at[f] = i end
  lib.check(at.s and at.n and at.ca and at.m, 'fields s, n, ca and m')
  -- A job's created at, from its field or its birth (context.lua).
  local function created(v)
    local ca = v[at.ca]
    if not ca and at.b and v[at.b] then ca = lib.birth(v[at.b]) end
    return tonumber(ca) or 0
  end

  local state = redis.call('HMGET', base .. 'counts', 'lx', 'lb')
  local built = (state[1] == '1' and not state[2]) and 1 or 0
  local from = (after and math.floor(after / BUCKET)) or (since and seek(base, since)) or 0
  local buckets = redis.call('ZRANGE', base .. 'listing', from, '+inf', 'BYSCORE', 'LIMIT', 0, scan)
  local ids, values, examined = {}, {}, 0
  local function matches(v)
    local s = v[at.s]
    return s and (status == '' or s == status) and (name == '' or v[at.n] == name)
      and (not since or created(v) >= since) and (not tenant or tenant_of(v[at.m]) == tenant)
  end
  for _, b in ipairs(buckets) do
    -- A bucket holds at most 128 entries: read whole, those up to `after` passed over.
    local entries = redis.call('LRANGE', base .. 'l:' .. b, 0, -1)
    local floor = (after and tonumber(b) == from) and after or -1
    examined = examined + 1
    -- Past this bucket, should it hold nothing more.
    local last = string.format('%d', (tonumber(b) + 1) * BUCKET - 1)
    for _, entry in ipairs(entries) do
      local seq, id = string.match(entry, '^(%d+):(.*)$')
      if seq and tonumber(seq) > floor then
        last = seq
        examined = examined + 1
        local v = redis.call('HMGET', base .. 'j:' .. id, unpack(fields))
        if matches(v) then
          ids[#ids + 1] = id
          values[#values + 1] = v
        end
        if #ids >= limit or examined >= scan then return { ids, values, last, built } end
      end
    end
    if examined >= scan then return { ids, values, last, built } end
  end
  return { ids, values, '', built }
end, { 'no-writes' })
