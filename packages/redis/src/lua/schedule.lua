-- Schedules and paused job types. Nodes compute tick times (cron in a time zone needs a zone
-- database, which Lua has not); these functions decide who takes a tick: a fire names the tick it
-- was planned for and the schedule's version, so of all nodes that planned a tick exactly one
-- takes it, and its job is enqueued in the same call.
--
-- A schedule is the hash `{p}:s:<key>`: n job name, i input JSON, ev timing JSON, po policy JSON,
-- ov the overlap policy, m meta JSON (the schedule's), jm the meta JSON its jobs carry, fp the
-- definition's fingerprint,
-- v version, nx next tick, ca/ua created/updated at, la last tick fired or passed over, lj the
-- last fired tick's job. `{p}:sched` is the sorted set of keys by next tick. `{p}:paused` is the
-- set of paused job names (read by claim.lua).
--
-- schedule_upsert
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    key   ARGV[7] fingerprint   ARGV[8] job name   ARGV[9] input JSON ('' for none)
--   ARGV[10]   timing JSON   ARGV[11] policy JSON   ARGV[12] meta JSON ('')   ARGV[13] jobs' meta JSON
--   ARGV[14]   first tick (used when the definition is new or changed)   ARGV[15] most schedules
--   Returns {'created' | 'kept' | 'changed', the hash as HGETALL gives it} or {'full'}.
--
-- schedule_remove
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    key
--   Returns 1, or 0 when there was no such schedule.
--
-- schedule_fire
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    the bound on queued plus delayed jobs
--   ARGV[7…]   per fire, 6 fields: key, version, tick, next tick, run ('1' or '0'), job id
--   Returns per fire {'fired', id} | {'skipped'} | {'stale'} | {'refused', 'QUEUE_FULL'}.
--
-- pause_type / resume_type
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    job name
--   Returns 1. A resume that unpaused a name announces work.
--
-- schedules (read only)
--   KEYS[1]    the store's key prefix
--   ARGV[1]    due by (epoch ms; '' for all)   ARGV[2] how many at most
--   Returns the schedules by next tick, then key, each as HGETALL gives its hash.
--
-- paused_types (read only)
--   KEYS[1]    the store's key prefix
--   Returns the paused job names.
local lib = ...
local C = lib.C
local READ_ONLY = { 'no-writes' }

local function skey(key) return C.B .. 's:' .. key end
local function index() return C.B .. 'sched' end

local function hash_of(key)
  local v = lib.read('HGETALL', skey(key))
  if #v == 0 then return nil end
  local h = {}
  for x = 1, #v, 2 do h[v[x]] = v[x + 1] end
  return h
end

local function flat(h)
  local out = {}
  for f, value in pairs(h) do
    out[#out + 1] = f
    out[#out + 1] = value
  end
  return out
end

lib.register('schedule_upsert', function(keys, args)
  lib.begin(keys, args)
  local key, fp, name = args[6], args[7], args[8]
  local first, most = tonumber(args[14]), tonumber(args[15])
  lib.check(key and key ~= '' and fp and fp ~= '' and name and name ~= '', 'key, fingerprint, name')
  lib.check(args[10] ~= '' and args[12] and args[13] ~= '' and first and most, 'timing, meta, first tick, bound')
  local ok, policy = pcall(cjson.decode, args[11] or '')
  lib.check(ok and type(policy) == 'table' and (policy.overlap == 'skip' or policy.overlap == 'allow'), 'the policy')
  local h = hash_of(key)
  if h and h.fp == fp then return { 'kept', flat(h) } end
  if not h and lib.read('ZCARD', index()) >= most then return { 'full' } end
  local now = C.NOW_S
  local nh = {
    n = name, i = args[9], ev = args[10], po = args[11], ov = policy.overlap, m = args[12], jm = args[13], fp = fp,
    v = lib.num(h and (tonumber(h.v) + 1) or 1), nx = args[14], ca = h and h.ca or now, ua = now,
    la = h and h.la or '', lj = h and h.lj or '',
  }
  local sk = skey(key)
  for f, value in pairs(nh) do lib.hash_set(sk, f, value) end
  lib.zset_add(index(), args[14], key)
  lib.commit()
  return { h and 'changed' or 'created', flat(nh) }
end, lib.REFUSE_WHEN_FULL)

lib.register('schedule_remove', function(keys, args)
  lib.begin(keys, args)
  local key = args[6]
  lib.check(key and key ~= '', 'key')
  if lib.read('EXISTS', skey(key)) == 0 then return 0 end
  lib.drop_key(skey(key))
  lib.zset_rem(index(), key)
  lib.commit()
  return 1
end, lib.RUN_WHEN_FULL)

local F = 6

lib.register('schedule_fire', function(keys, args)
  lib.begin(keys, args)
  local limit = tonumber(args[6])
  local n = (#args - 6) / F
  lib.check(limit and n >= 0 and n == math.floor(n), 'limit, 6 fields per fire')
  for j = 1, n do
    local o = 6 + (j - 1) * F
    local at, nxt = tonumber(args[o + 3]), tonumber(args[o + 4])
    lib.check(args[o + 1] ~= '' and tonumber(args[o + 2]) and at and nxt and nxt > at, 'key, version, tick, a later next tick', j)
    lib.check((args[o + 5] == '1' or args[o + 5] == '0') and args[o + 6] ~= '', 'run, id', j)
  end
  local out = {}
  -- Schedules as changed in this call (a key twice in one batch sees the first fire's change).
  local seen = {}
  for j = 1, n do
    local o = 6 + (j - 1) * F
    local key, version, at, nxt, run, id = args[o + 1], args[o + 2], args[o + 3], args[o + 4], args[o + 5], args[o + 6]
    local h = seen[key]
    if h == nil then
      h = hash_of(key) or false
      seen[key] = h
    end
    if not h or h.v ~= version or h.nx ~= at then
      out[j] = { 'stale' }
    else
      local sk = skey(key)
      local last = lib.present(h.lj) and lib.load(h.lj)
      local overlap = h.ov == 'skip' and last and not lib.terminal(last.s)
      local ik = 'schedule:' .. key .. ':' .. at
      local result
      if run == '0' or overlap then
        result = { 'skipped' }
      else
        local found = lib.read('HGET', C.IDEM, ik)
        if found and lib.load(found) then
          result = { 'fired', found }
        elseif lib.current('queued') + lib.current('delayed') >= limit then
          result = { 'refused', 'QUEUE_FULL' }
        else
          -- A queued job as enqueue.lua makes one: no record, its `job.queued` implied.
          local w = { 'n', h.n, 's', 'queued', 'ik', ik, 'm', h.jm, 'k', '1' }
          if lib.present(h.i) then
            w[#w + 1] = 'i'
            w[#w + 1] = h.i
          end
          lib.count('queued', 1)
          lib.push_entry(h.n, id, '0', w, nil, lib.index_created(id, w))
          w.ev, w.new = 1, true
          lib.fast(id, w)
          lib.signal('e\tq\t' .. id .. '\t1\t' .. h.n .. '\t\t\t\t\t')
          lib.hash_set(C.IDEM, ik, id)
          lib.set_add(C.NAMES, h.n)
          result = { 'fired', id }
        end
      end
      if result[1] ~= 'refused' then
        h.nx, h.la = nxt, at
        lib.hash_set(sk, 'nx', nxt)
        lib.hash_set(sk, 'la', at)
        if result[1] == 'fired' then
          h.lj = result[2]
          lib.hash_set(sk, 'lj', result[2])
        end
        lib.zset_add(index(), nxt, key)
      end
      out[j] = result
    end
  end
  lib.commit()
  return out
end, lib.REFUSE_WHEN_FULL)

lib.register('pause_type', function(keys, args)
  lib.begin(keys, args)
  lib.check(args[6] and args[6] ~= '', 'name')
  lib.set_add(C.B .. 'paused', args[6])
  lib.commit()
  return 1
end, lib.RUN_WHEN_FULL)

lib.register('resume_type', function(keys, args)
  lib.begin(keys, args)
  lib.check(args[6] and args[6] ~= '', 'name')
  local key = C.B .. 'paused'
  -- The read proves the key's type before the only write.
  if lib.read('SISMEMBER', key, args[6]) == 1 then
    redis.call('SREM', key, args[6])
    C.AVAIL = true
  end
  lib.commit()
  return 1
end, lib.RUN_WHEN_FULL)

lib.register('schedules', function(keys, args)
  local base, limit = keys[1], tonumber(args[2])
  local ids = redis.call('ZRANGEBYSCORE', base .. 'sched', '-inf', args[1] == '' and '+inf' or args[1], 'LIMIT', 0, limit)
  local out = {}
  for i, key in ipairs(ids) do out[i] = { key, redis.call('HGETALL', base .. 's:' .. key) } end
  return out
end, READ_ONLY)

lib.register('paused_types', function(keys)
  return redis.call('SMEMBERS', keys[1] .. 'paused')
end, READ_ONLY)
