#!lua name=floor
-- The floor (bench/redis-floor.ts): the least a durable job queue built on Redis functions does
-- per job for what this product promises, and nothing else, so that callgrind can say what the
-- store's own library (packages/redis/src/lua) costs above it. Per job: a hash written at enqueue,
-- read and written at claim and at settle, a ready-list entry, a lease, a retention entry, its
-- key dropped when it leaves retention, and its events in one message per call. Per call: the
-- queue bound read and the counts written. Not a store: no idempotency, priorities, trees, flow
-- control, listing, fencing beyond the token, or argument checks.
--   KEYS[1]  the key prefix
--   floor_enqueue  ARGV: now, limit, then per job id, name, input
--   floor_claim    ARGV: now, owner, max, lease ms      returns per job id, token, name, input
--   floor_settle   ARGV: now, retained, then per job id, token, output

local function publish(p, lines)
  if #lines > 1 then redis.call('SPUBLISH', p .. 'signals', table.concat(lines)) end
end

redis.register_function('floor_enqueue', function(keys, args)
  local p, now, limit = keys[1], args[1], tonumber(args[2])
  local queued = tonumber(redis.call('HGET', p .. 'counts', 'queued') or '0')
  local ready, lines, n = {}, { now, '\nq' }, 0
  for i = 3, #args, 3 do
    if queued + n >= limit then break end
    local id = args[i]
    redis.call('HSET', p .. 'j:' .. id, 'n', args[i + 1], 's', 'queued', 'i', args[i + 2], 'ca', now)
    n = n + 1
    ready[n] = id
    lines[#lines + 1] = '\t'
    lines[#lines + 1] = id
  end
  if n > 0 then
    redis.call('RPUSH', p .. 'ready', unpack(ready))
    redis.call('HINCRBY', p .. 'counts', 'queued', n)
    publish(p, lines)
  end
  return n
end)

redis.register_function('floor_claim', function(keys, args)
  local p, now, owner, max = keys[1], args[1], args[2], tonumber(args[3])
  local until_ms = tostring(tonumber(now) + tonumber(args[4]))
  local ids = redis.call('LRANGE', p .. 'ready', '0', tostring(max - 1))
  if #ids == 0 then return {} end
  redis.call('LTRIM', p .. 'ready', tostring(#ids), '-1')
  local out, leases, lines = {}, {}, { now, '\ns' }
  for _, id in ipairs(ids) do
    local key = p .. 'j:' .. id
    local v = redis.call('HGETALL', key)
    local name, input, t
    for x = 1, #v, 2 do
      local f = v[x]
      if f == 'n' then name = v[x + 1] elseif f == 'i' then input = v[x + 1] elseif f == 't' then t = v[x + 1] end
    end
    local token = tostring((tonumber(t) or 0) + 1)
    redis.call('HSET', key, 's', 'running', 'a', '1', 't', token, 'ow', owner, 'sa', now)
    leases[#leases + 1] = until_ms
    leases[#leases + 1] = id
    local o = #out
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = id, token, name, input or ''
    lines[#lines + 1] = '\t'
    lines[#lines + 1] = id
  end
  -- The member past 64 bytes keeps the set a skip list (as the store's, context.lua).
  leases[#leases + 1] = '+inf'
  leases[#leases + 1] = 'anchor: a member longer than 64 bytes, so that the set stays a skip list'
  redis.call('ZADD', p .. 'leases', unpack(leases))
  redis.call('HINCRBY', p .. 'counts', 'queued', -#ids)
  publish(p, lines)
  return out
end)

redis.register_function('floor_settle', function(keys, args)
  local p, now, retained = keys[1], args[1], tonumber(args[2])
  local done, roots, lines = {}, {}, { now, '\nc' }
  for i = 3, #args, 3 do
    local id, output = args[i], args[i + 2]
    local key = p .. 'j:' .. id
    local v = redis.call('HMGET', key, 't', 's')
    if v[1] == args[i + 1] and v[2] == 'running' then
      redis.call('HSET', key, 's', 'completed', 'fa', now, 'o', output)
      done[#done + 1] = id
      roots[#roots + 1] = key
      lines[#lines + 1] = '\t'
      lines[#lines + 1] = id
      lines[#lines + 1] = '\t'
      lines[#lines + 1] = output
    end
  end
  if #done == 0 then return 0 end
  redis.call('ZREM', p .. 'leases', unpack(done))
  local kept = redis.call('RPUSH', p .. 'roots', unpack(roots))
  if kept > retained then
    local old = redis.call('LRANGE', p .. 'roots', '0', tostring(kept - retained - 1))
    redis.call('LTRIM', p .. 'roots', tostring(kept - retained), '-1')
    redis.call('UNLINK', unpack(old))
    lines[#lines + 1] = '\nX'
    for _, key in ipairs(old) do
      lines[#lines + 1] = '\t'
      lines[#lines + 1] = key
    end
  end
  publish(p, lines)
  return #done
end)
