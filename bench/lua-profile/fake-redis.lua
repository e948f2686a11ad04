-- The Redis commands the store's function library calls, on in-memory Lua tables, with replies
-- shaped as Redis 7 hands them to Lua (nil bulk → false, integers → numbers, arrays → tables,
-- status → { ok = ... }, errors raised as { err = ... }). Enough for the hot paths and what
-- retention does; a command it does not know fails loudly rather than answering wrongly.
-- Limits: no expiry (SET's PX is kept, never applied); SCAN returns every matching key at once;
-- iteration orders are insertion orders (Redis' differ for big hashes and sets).
local M = {}

local db = {}
M.db = db

local function fail(msg) error({ err = msg }, 0) end

local function typed(key, t)
  local v = db[key]
  if v and v.t ~= t then fail('WRONGTYPE Operation against a key holding the wrong kind of value') end
  return v
end

local function made(key, t, init)
  local v = typed(key, t)
  if not v then
    v = init
    v.t = t
    db[key] = v
  end
  return v
end

-- A double as Redis 7.0 formats a score ('%.17g': integers print as integers).
local function dbl(n) return string.format('%.17g', n) end

local function int(s)
  local n = tonumber(s)
  if not n or n ~= math.floor(n) then fail('ERR value is not an integer or out of range') end
  return n
end

-- Strings.
local C = {}
C.GET = function(key)
  local v = typed(key, 'string')
  return v and v.v or false
end
C.SET = function(key, value, ...)
  db[key] = { t = 'string', v = value, opts = { ... } }
  return { ok = 'OK' }
end
C.EXISTS = function(...)
  local n = 0
  for _, key in ipairs({ ... }) do if db[key] then n = n + 1 end end
  return n
end
C.TYPE = function(key)
  local v = db[key]
  return { ok = v and v.t or 'none' }
end
C.UNLINK = function(...)
  local n = 0
  for _, key in ipairs({ ... }) do
    if db[key] then n = n + 1 end
    db[key] = nil
  end
  return n
end
C.DEL = C.UNLINK

-- Hashes: fields in insertion order, as a small (listpack) hash keeps them.
local function hash_new() return { f = {}, order = {} } end
local function hash_gone(key, h) if #h.order == 0 then db[key] = nil end end
C.HGET = function(key, field)
  local h = typed(key, 'hash')
  return h and h.f[field] or false
end
C.HMGET = function(key, ...)
  local h = typed(key, 'hash')
  local out = {}
  for i, field in ipairs({ ... }) do out[i] = h and h.f[field] or false end
  return out
end
C.HGETALL = function(key)
  local h = typed(key, 'hash')
  local out = {}
  if h then
    for _, field in ipairs(h.order) do
      out[#out + 1] = field
      out[#out + 1] = h.f[field]
    end
  end
  return out
end
C.HSET = function(key, ...)
  local args = { ... }
  if #args == 0 or #args % 2 ~= 0 then fail('ERR wrong number of arguments for \'hset\' command') end
  local h = made(key, 'hash', hash_new())
  local added = 0
  for i = 1, #args, 2 do
    if h.f[args[i]] == nil then
      added = added + 1
      h.order[#h.order + 1] = args[i]
    end
    h.f[args[i]] = args[i + 1]
  end
  return added
end
C.HDEL = function(key, ...)
  local h = typed(key, 'hash')
  if not h then return 0 end
  local n = 0
  for _, field in ipairs({ ... }) do
    if h.f[field] ~= nil then
      n = n + 1
      h.f[field] = nil
      for i, f in ipairs(h.order) do
        if f == field then
          table.remove(h.order, i)
          break
        end
      end
    end
  end
  hash_gone(key, h)
  return n
end
C.HINCRBY = function(key, field, by)
  local h = made(key, 'hash', hash_new())
  local n = int(h.f[field] or '0') + int(by)
  if h.f[field] == nil then h.order[#h.order + 1] = field end
  h.f[field] = string.format('%d', n)
  return n
end

-- Lists: a window lo..hi of a table, so pops at the head cost nothing.
local function list_new() return { a = {}, lo = 1, hi = 0 } end
local function list_gone(key, l) if l.hi < l.lo then db[key] = nil end end
local function span(len, start, stop)
  start, stop = int(start), int(stop)
  if start < 0 then start = math.max(len + start, 0) end
  if stop < 0 then stop = len + stop end
  if stop >= len then stop = len - 1 end
  return start, stop
end
C.LLEN = function(key)
  local l = typed(key, 'list')
  return l and l.hi - l.lo + 1 or 0
end
C.LRANGE = function(key, start, stop)
  local l = typed(key, 'list')
  local out = {}
  if not l then return out end
  local s, e = span(l.hi - l.lo + 1, start, stop)
  for i = s, e do out[#out + 1] = l.a[l.lo + i] end
  return out
end
C.LINDEX = function(key, index)
  local l = typed(key, 'list')
  if not l then return false end
  local len, i = l.hi - l.lo + 1, int(index)
  if i < 0 then i = len + i end
  if i < 0 or i >= len then return false end
  return l.a[l.lo + i]
end
C.LPOS = function(key, value)
  local l = typed(key, 'list')
  if not l then return false end
  for i = l.lo, l.hi do if l.a[i] == value then return i - l.lo end end
  return false
end
C.RPUSH = function(key, ...)
  local l = made(key, 'list', list_new())
  for _, v in ipairs({ ... }) do
    l.hi = l.hi + 1
    l.a[l.hi] = v
  end
  return l.hi - l.lo + 1
end
C.LPUSH = function(key, ...)
  local l = made(key, 'list', list_new())
  for _, v in ipairs({ ... }) do
    l.lo = l.lo - 1
    l.a[l.lo] = v
  end
  return l.hi - l.lo + 1
end
C.LTRIM = function(key, start, stop)
  local l = typed(key, 'list')
  if not l then return { ok = 'OK' } end
  local s, e = span(l.hi - l.lo + 1, start, stop)
  for i = l.lo, l.lo + s - 1 do l.a[i] = nil end
  for i = l.lo + math.max(e + 1, s), l.hi do l.a[i] = nil end
  l.lo, l.hi = l.lo + s, l.lo + e
  if l.hi < l.lo then l.a, l.lo, l.hi = {}, 1, 0 end
  list_gone(key, l)
  return { ok = 'OK' }
end
C.LREM = function(key, count, value)
  local l = typed(key, 'list')
  if not l then return 0 end
  local n, keep = int(count), {}
  if n < 0 then fail('ERR fake redis: LREM with a negative count') end
  local removed = 0
  for i = l.lo, l.hi do
    if l.a[i] == value and (n == 0 or removed < n) then removed = removed + 1 else keep[#keep + 1] = l.a[i] end
  end
  l.a, l.lo, l.hi = keep, 1, #keep
  list_gone(key, l)
  return removed
end

-- Sorted sets: scores by member, and the members sorted by (score, member) when next read.
local function zset_new() return { s = {}, n = 0, sorted = {} } end
local function zsorted(z)
  if not z.sorted then
    local arr = {}
    for m in pairs(z.s) do arr[#arr + 1] = m end
    local s = z.s
    table.sort(arr, function(a, b)
      if s[a] ~= s[b] then return s[a] < s[b] end
      return a < b
    end)
    z.sorted = arr
  end
  return z.sorted
end
local function zgone(key, z) if z.n == 0 then db[key] = nil end end
local function bound(s)
  if s == '-inf' then return -math.huge, false end
  if s == '+inf' or s == 'inf' then return math.huge, false end
  if string.sub(s, 1, 1) == '(' then return tonumber(string.sub(s, 2)), true end
  return tonumber(s), false
end
local function reply_range(z, arr, withscores)
  local out = {}
  for _, m in ipairs(arr) do
    out[#out + 1] = m
    if withscores then out[#out + 1] = dbl(z.s[m]) end
  end
  return out
end
C.ZADD = function(key, ...)
  local args = { ... }
  if #args == 0 or #args % 2 ~= 0 then fail('ERR fake redis: ZADD takes score member pairs only') end
  local z = made(key, 'zset', zset_new())
  local added = 0
  for i = 1, #args, 2 do
    local m = args[i + 1]
    if z.s[m] == nil then
      added = added + 1
      z.n = z.n + 1
    end
    z.s[m] = tonumber(args[i])
  end
  z.sorted = nil
  return added
end
C.ZREM = function(key, ...)
  local z = typed(key, 'zset')
  if not z then return 0 end
  local n = 0
  for _, m in ipairs({ ... }) do
    if z.s[m] ~= nil then
      z.s[m] = nil
      z.n = z.n - 1
      n = n + 1
    end
  end
  z.sorted = nil
  zgone(key, z)
  return n
end
C.ZCARD = function(key)
  local z = typed(key, 'zset')
  return z and z.n or 0
end
C.ZSCORE = function(key, m)
  local z = typed(key, 'zset')
  return z and z.s[m] and dbl(z.s[m]) or false
end
local function by_rank(key, start, stop, withscores, reverse)
  local z = typed(key, 'zset')
  if not z then return {} end
  local arr, picked = zsorted(z), {}
  local s, e = span(#arr, start, stop)
  for i = s, e do picked[#picked + 1] = reverse and arr[#arr - i] or arr[i + 1] end
  return reply_range(z, picked, withscores)
end
local function by_score(key, min, max, opts)
  local z = typed(key, 'zset')
  local withscores, offset, count = false, 0, -1
  local i = 1
  while opts[i] do
    local o = string.upper(opts[i])
    if o == 'WITHSCORES' then
      withscores = true
      i = i + 1
    elseif o == 'LIMIT' then
      offset, count = int(opts[i + 1]), int(opts[i + 2])
      i = i + 3
    else
      fail('ERR fake redis: ZRANGEBYSCORE option ' .. o)
    end
  end
  if not z then return {} end
  local lo, lox = bound(min)
  local hi, hix = bound(max)
  local picked, skipped = {}, 0
  for _, m in ipairs(zsorted(z)) do
    local sc = z.s[m]
    if (sc > lo or (sc == lo and not lox)) and (sc < hi or (sc == hi and not hix)) then
      if skipped < offset then
        skipped = skipped + 1
      elseif count < 0 or #picked < count then
        picked[#picked + 1] = m
      end
    end
  end
  return reply_range(z, picked, withscores)
end
C.ZRANGEBYSCORE = function(key, min, max, ...) return by_score(key, min, max, { ... }) end
C.ZRANGE = function(key, start, stop, ...)
  local opts = { ... }
  if opts[1] and string.upper(opts[1]) == 'BYSCORE' then
    table.remove(opts, 1)
    return by_score(key, start, stop, opts)
  end
  if #opts > 1 or (opts[1] and string.upper(opts[1]) ~= 'WITHSCORES') then fail('ERR fake redis: ZRANGE options') end
  return by_rank(key, start, stop, opts[1] ~= nil, false)
end
C.ZREVRANGE = function(key, start, stop, ws) return by_rank(key, start, stop, ws ~= nil, true) end

-- Sets, in insertion order.
local function set_new() return { m = {}, order = {} } end
C.SADD = function(key, ...)
  local s = made(key, 'set', set_new())
  local n = 0
  for _, m in ipairs({ ... }) do
    if not s.m[m] then
      s.m[m] = true
      s.order[#s.order + 1] = m
      n = n + 1
    end
  end
  return n
end
C.SREM = function(key, ...)
  local s = typed(key, 'set')
  if not s then return 0 end
  local n = 0
  for _, m in ipairs({ ... }) do
    if s.m[m] then
      s.m[m] = nil
      n = n + 1
      for i, x in ipairs(s.order) do
        if x == m then
          table.remove(s.order, i)
          break
        end
      end
    end
  end
  if #s.order == 0 then db[key] = nil end
  return n
end
C.SMEMBERS = function(key)
  local s = typed(key, 'set')
  local out = {}
  if s then for i, m in ipairs(s.order) do out[i] = m end end
  return out
end
C.SISMEMBER = function(key, m)
  local s = typed(key, 'set')
  return (s and s.m[m]) and 1 or 0
end

-- SCAN: every key matching the glob in one step (cursor '0' back).
C.SCAN = function(_, match, pattern)
  local out = {}
  if match and string.upper(match) == 'MATCH' then
    local lua = '^' .. string.gsub(pattern, '[%^%$%(%)%%%.%[%]%+%-%?%*\\]', function(c)
      if c == '*' then return '.*' end
      if c == '?' then return '.' end
      return '%' .. c
    end) .. '$'
    for key in pairs(db) do if string.find(key, lua) then out[#out + 1] = key end end
  else
    for key in pairs(db) do out[#out + 1] = key end
  end
  return { '0', out }
end

-- Pub/sub: only the bytes published are kept.
M.published = 0
C.SPUBLISH = function(_, message)
  M.published = M.published + #message
  return 1
end
C.PUBLISH = C.SPUBLISH

-- Runs one command; argv already strings.
function M.run(argv)
  local cmd = C[string.upper(argv[1])]
  if not cmd then fail('ERR fake redis: unknown command ' .. tostring(argv[1])) end
  return cmd(unpack(argv, 2))
end

return M
