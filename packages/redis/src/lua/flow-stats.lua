-- The flow control of one job name as the store holds it (flow.lua's keys), for `flowStats`:
-- an inspection read, bounded by the keys it looks at. Writes nothing.
--
-- flow_stats
--   KEYS[1]    the store's key prefix
--   ARGV[1]    the job name   ARGV[2] keys to look at (the first in turn order)
--   ARGV[3]    keys to report, most queued first   ARGV[4] '1' when the name counts running jobs per key
--   Returns {gate, plain, keys, examined, queued, top}: the name's gate ('tat:until', '' for none),
--   its plain queue's entries, the keys taking turns, how many were looked at, the entries of
--   those, and per reported key {key, entries, running ('' when not counted), gate}.
local lib = ...
local SEP = '\31'

local function entries(base, q)
  return redis.call('LLEN', base .. 'q:' .. q) + redis.call('ZCARD', base .. 'p:' .. q)
end

lib.register('flow_stats', function(keys, args)
  local base, name = keys[1], args[1]
  local scan, report, counted = tonumber(args[2]), tonumber(args[3]), args[4] == '1'
  lib.check(scan and scan >= 0 and report and report >= 0, 'the bounds')
  local gate = redis.call('HGET', base .. 'fl', name) or ''
  local plain = entries(base, name)
  local g = base .. 'g:' .. name
  -- '' stands for the plain queue among the turns while any key has jobs (flow.lua).
  local turns = redis.call('LLEN', g)
  local nkeys = turns > 0 and turns - 1 or 0
  local seen, queued = {}, 0
  for _, key in ipairs(redis.call('LRANGE', g, 0, scan)) do
    if key ~= '' and #seen < scan then
      local n = entries(base, name .. SEP .. key)
      seen[#seen + 1] = { key = key, n = n, at = #seen + 1 }
      queued = queued + n
    end
  end
  table.sort(seen, function(a, b) return a.n > b.n or (a.n == b.n and a.at < b.at) end)
  local top = {}
  for x = 1, #seen do
    if #top >= report then break end
    local s = seen[x]
    local running = ''
    if counted then running = tonumber(redis.call('HGET', base .. 'run:' .. name, s.key) or '0') end
    if s.n > 0 or (counted and running > 0) then
      top[#top + 1] = { s.key, s.n, running, redis.call('GET', base .. 'fl:' .. name .. SEP .. s.key) or '' }
    end
  end
  return { gate, plain, nkeys, #seen, queued, top }
end, { 'no-writes' })
