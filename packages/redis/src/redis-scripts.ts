import { luaLibrary } from './lua-library.js';

/** Fields per job in an enqueue call, per settlement in a settle call: fixed, so Lua can index. */
export const ENQUEUE_FIELDS = 13;
export const SETTLE_FIELDS = 5;

/**
 * enqueue — ARGV[6] limit, ARGV[7] atomic ('1'), then per job: id, name, input, priority, runAt,
 * idempotencyKey, fingerprint, parentId, rootId, childKey, onFailure, awaitChildren, meta
 * ('' for absent). Returns per job {1, status} | {2, id, status, name, fingerprint} | {0, code}.
 */
const enqueue = `
local LIMIT = tonumber(ARGV[6])
local W = ${ENQUEUE_FIELDS}
local n = (#ARGV - 7) / W
local function arg(j, f) return ARGV[8 + (j - 1) * W + f] end
local function live(id)
  if id and redis.call('EXISTS', jk(id)) == 1 then return id end
  return nil
end
local function by_idem(key)
  if key == '' then return nil end
  return live(redis.call('HGET', B .. 'idem', key))
end
local function by_child_key(parent, key)
  if parent == '' or key == '' then return nil end
  return live(redis.call('HGET', B .. 'ck:' .. parent, key))
end
local function existing(id)
  local f = redis.call('HMGET', jk(id), 's', 'n', 'fp')
  return { 2, id, f[1], f[2], f[3] or '' }
end

-- All or nothing: count what the batch would add against the bound before touching anything.
if ARGV[7] == '1' then
  local new = 0
  for j = 1, n do
    if tonumber(arg(j, 11)) <= 0 and not by_idem(arg(j, 5)) and not by_child_key(arg(j, 7), arg(j, 9)) then new = new + 1 end
  end
  if current('queued') + current('delayed') + new > LIMIT then
    local out = {}
    for j = 1, n do out[j] = { 0, 'QUEUE_FULL' } end
    return out
  end
end

local out = {}
local names = {}
for j = 1, n do
  local id, name, parent, ck, idem = arg(j, 0), arg(j, 1), arg(j, 7), arg(j, 9), arg(j, 5)
  local await = tonumber(arg(j, 11))
  local found = by_idem(idem)
  local ps = parent ~= '' and redis.call('HGET', jk(parent), 's')
  if not found and ps and not terminal(ps) then found = by_child_key(parent, ck) end
  if found then
    out[j] = existing(found)
  elseif parent ~= '' and (not ps or terminal(ps)) then
    out[j] = { 0, 'JOB_NOT_FOUND' }
  elseif await <= 0 and current('queued') + current('delayed') >= LIMIT then
    out[j] = { 0, 'QUEUE_FULL' }
  else
    local run_at = tonumber(arg(j, 4))
    local delayed = run_at ~= nil and run_at > NOW
    local status = (await > 0 and 'waitingChildren') or (delayed and 'delayed') or 'queued'
    local k = jk(id)
    local root = (parent ~= '' and redis.call('HGET', jk(parent), 'r')) or (arg(j, 8) ~= '' and arg(j, 8)) or id
    redis.call('HSET', k, 'n', name, 's', status, 'p', arg(j, 3), 'a', 0, 'ca', NOW_S, 'r', root, 'of', arg(j, 10),
      'cc', 0, 'pc', await > 0 and await or 0, 't', 0, 'st', 0)
    local optional = { i = arg(j, 2), ik = idem, fp = arg(j, 6), pa = parent, ck = ck, m = arg(j, 12) }
    for field, value in pairs(optional) do
      if value ~= '' then redis.call('HSET', k, field, value) end
    end
    if delayed then redis.call('HSET', k, 'ra', arg(j, 4)) end
    if await > 0 then redis.call('HSET', k, 'd', '1') end
    if idem ~= '' then redis.call('HSET', B .. 'idem', idem, id) end
    if parent ~= '' then
      local pk = jk(parent)
      redis.call('RPUSH', B .. 'c:' .. parent, id)
      if ck ~= '' then redis.call('HSET', B .. 'ck:' .. parent, ck, id) end
      redis.call('HINCRBY', pk, 'cc', 1)
      -- A declared parent counted its children up front (awaitChildren).
      if redis.call('HGET', pk, 'd') ~= '1' then redis.call('HINCRBY', pk, 'pc', 1) end
    end
    count(status, 1)
    if status == 'queued' then
      push_ready(id, name, arg(j, 3))
      emit(id, 'job.queued', 'queued')
    elseif status == 'delayed' then
      redis.call('ZADD', B .. 'delayed', arg(j, 4), id)
      emit(id, 'job.delayed', 'delayed', ',"runAt":' .. arg(j, 4))
    else
      emit(id, 'job.waiting', 'waitingChildren')
    end
    if not names[name] then
      names[name] = true
      redis.call('SADD', B .. 'names', name)
    end
    out[j] = { 1, status }
  end
end
done()
return out
`;

/**
 * claim — ARGV[6] owner, ARGV[7] max, ARGV[8] leaseMs, ARGV[9] count of names (-1: all), the
 * names, then a count of capacity entries and (name, capacity) pairs.
 * Returns {jobs, nextRunAt} with each job {id, token, name, input, attempt, priority, parentId,
 * rootId, createdAt, meta}.
 */
const claim = `
local OWNER, MAX, LEASE = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local names = {}
local i = 10
local nn = tonumber(ARGV[9])
if nn < 0 then
  names = redis.call('SMEMBERS', B .. 'names')
else
  for x = 1, nn do names[x] = ARGV[i]; i = i + 1 end
end
local cap = {}
local nc = tonumber(ARGV[i]); i = i + 1
for _ = 1, nc do cap[ARGV[i]] = tonumber(ARGV[i + 1]); i = i + 2 end

for _, id in ipairs(redis.call('ZRANGEBYSCORE', B .. 'delayed', '-inf', NOW_S, 'LIMIT', 0, 1000)) do
  redis.call('ZREM', B .. 'delayed', id)
  local f = redis.call('HMGET', jk(id), 's', 'n', 'p')
  if f[1] == 'delayed' then
    move(id, 'delayed', 'queued')
    redis.call('HDEL', jk(id), 'ra')
    push_ready(id, f[2], f[3])
    emit(id, 'job.queued', 'queued')
  end
end

-- A lease that ran out means its owner died or stalled: the job goes back to the queue.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', B .. 'leases', '-inf', NOW_S, 'LIMIT', 0, 1000)) do
  redis.call('ZREM', B .. 'leases', id)
  local k = jk(id)
  local f = redis.call('HMGET', k, 's', 'ow', 'cr')
  if held_status(f[1]) and f[2] then
    redis.call('HDEL', k, 'ow')
    local stalls = redis.call('HINCRBY', k, 'st', 1)
    if f[3] then
      finish(id, 'cancelled', nil, f[3])
    elseif stalls >= MAXST then
      finish(id, 'failed', nil, '{"code":"JOB_QUARANTINED","message":"The job lost its lease ' .. stalls .. ' times; it is not retried."}')
    else
      requeue(id, NOW, nil)
    end
  end
end

-- Merge the heads of the allowed queues: highest priority first, then oldest.
local heads = {}
local out = {}
while #out < MAX do
  local best, bn = nil, nil
  for _, name in ipairs(names) do
    local c = cap[name]
    if c == nil or c > 0 then
      local h = heads[name]
      if h == nil then
        local r = redis.call('ZRANGE', qkey(name), 0, 0, 'WITHSCORES')
        h = r[1] and { tonumber(r[2]), r[1] } or false
        heads[name] = h
      end
      if h and (not best or h[1] < best[1] or (h[1] == best[1] and h[2] < best[2])) then best = h; bn = name end
    end
  end
  if not best then break end
  redis.call('ZREM', qkey(bn), best[2])
  heads[bn] = nil
  if cap[bn] then cap[bn] = cap[bn] - 1 end
  local id = string.sub(best[2], 17)
  local k = jk(id)
  local f = redis.call('HMGET', k, 'a', 't', 'i', 'p', 'pa', 'r', 'ca', 'm')
  local attempt, token = tonumber(f[1]) + 1, tonumber(f[2]) + 1
  local la = NOW + LEASE
  move(id, 'queued', 'running')
  redis.call('HSET', k, 'a', attempt, 't', token, 'ow', OWNER, 'la', num(la), 'sa', NOW_S)
  redis.call('HDEL', k, 'ra')
  redis.call('ZADD', B .. 'leases', num(la), id)
  emit(id, 'job.started', 'running', ',"attempt":' .. attempt)
  out[#out + 1] = { id, tostring(token), bn, f[3] or '', tostring(attempt), f[4], f[5] or '', f[6], f[7], f[8] or '' }
end
trim_retention()
local nxt = redis.call('ZRANGE', B .. 'delayed', 0, 0, 'WITHSCORES')
done()
return { out, nxt[2] or '' }
`;

/** renew — ARGV[6] leaseMs, then (id, token) pairs. Returns 1/0 per lease. */
const renew = `
local LEASE = tonumber(ARGV[6])
local out = {}
for j = 1, (#ARGV - 6) / 2 do
  local id = ARGV[5 + j * 2]
  local f = held(id, ARGV[6 + j * 2])
  if f and tonumber(f[5]) > NOW then
    local la = num(NOW + LEASE)
    redis.call('HSET', jk(id), 'la', la)
    redis.call('ZADD', B .. 'leases', la, id)
    out[j] = 1
  else
    out[j] = 0
  end
end
return out
`;

/** settle — per settlement: id, token, outcome, payload (output or error JSON), runAt. Returns 1 (ok) / 0 (stale). */
const settle = `
local CANCELLED = '{"code":"JOB_CANCELLED","message":"The job was cancelled."}'
local out = {}
for j = 1, (#ARGV - 5) / ${SETTLE_FIELDS} do
  local o = 5 + (j - 1) * ${SETTLE_FIELDS}
  local id, outcome, payload = ARGV[o + 1], ARGV[o + 3], ARGV[o + 4]
  local f = held(id, ARGV[o + 2])
  if not f then
    out[j] = 0
  else
    redis.call('HDEL', jk(id), 'ow')
    redis.call('ZREM', B .. 'leases', id)
    if outcome == 'completed' then
      finish(id, 'completed', payload ~= '' and payload or nil, nil)
    elseif outcome == 'retry' and not f[4] then
      redis.call('HSET', jk(id), 'e', payload)
      requeue(id, tonumber(ARGV[o + 5]), payload)
    elseif outcome == 'failed' then
      finish(id, 'failed', nil, payload)
    else
      finish(id, 'cancelled', nil, (outcome == 'cancelled' and payload) or f[4] or CANCELLED)
    end
    out[j] = 1
  end
end
trim_retention()
done()
return out
`;

/** setWaiting — ARGV[6] id, ARGV[7] token, ARGV[8] '1' to wait. */
const setWaiting = `
local id = ARGV[6]
local f = held(id, ARGV[7])
if not f then return 0 end
local target = ARGV[8] == '1' and 'waitingChildren' or 'running'
if f[2] ~= target then
  move(id, f[2], target)
  if target == 'waitingChildren' then emit(id, 'job.waiting', target)
  else emit(id, 'job.started', target, ',"attempt":' .. redis.call('HGET', jk(id), 'a')) end
end
done()
return 1
`;

/** progress — ARGV[6] id, ARGV[7] token, ARGV[8] value JSON. */
const progress = `
local id = ARGV[6]
local f = held(id, ARGV[7])
if not f then return 0 end
if ARGV[8] == '' then
  redis.call('HDEL', jk(id), 'pg')
  emit(id, 'job.progress', f[2])
else
  redis.call('HSET', jk(id), 'pg', ARGV[8])
  emit(id, 'job.progress', f[2], ',"progress":' .. ARGV[8])
end
done()
return 1
`;

/** cancel — ARGV[6] id, ARGV[7] reason JSON. Returns the CancelOutcome. */
const cancel = `
if not redis.call('HGET', jk(ARGV[6]), 's') then return 'not_found' end
local outcome = cancel_tree(ARGV[6], ARGV[7])
done()
return outcome
`;

/** Every script, each prefixed by the shared library; the names are those defined on the client. */
export const redisScripts = {
  scalableEnqueue: luaLibrary + enqueue,
  scalableClaim: luaLibrary + claim,
  scalableRenew: luaLibrary + renew,
  scalableSettle: luaLibrary + settle,
  scalableSetWaiting: luaLibrary + setWaiting,
  scalableProgress: luaLibrary + progress,
  scalableCancel: luaLibrary + cancel,
} as const;

export type RedisScriptName = keyof typeof redisScripts;
