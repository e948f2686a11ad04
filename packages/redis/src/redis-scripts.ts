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
local function by_idem(key)
  if key == '' then return nil end
  local id = redis.call('HGET', B .. 'idem', key)
  return id and load(id) or nil
end
local function by_child_key(parent, key)
  if parent == '' or key == '' then return nil end
  local id = redis.call('HGET', B .. 'ck:' .. parent, key)
  return id and load(id) or nil
end
local function existing(rec)
  return { 2, rec._id, rec.s, rec.n, redis.call('HGET', jk(rec._id), 'fp') or '' }
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
  local id, name, parent_id, ck, idem = arg(j, 0), arg(j, 1), arg(j, 7), arg(j, 9), arg(j, 5)
  local await = tonumber(arg(j, 11))
  local found = by_idem(idem)
  local parent = parent_id ~= '' and load(parent_id)
  if not found and parent and not terminal(parent.s) then found = by_child_key(parent_id, ck) end
  if found then
    out[j] = existing(found)
  elseif parent_id ~= '' and (not parent or terminal(parent.s)) then
    out[j] = { 0, 'JOB_NOT_FOUND' }
  elseif await <= 0 and current('queued') + current('delayed') >= LIMIT then
    out[j] = { 0, 'QUEUE_FULL' }
  else
    local run_at = tonumber(arg(j, 4))
    local delayed = run_at ~= nil and run_at > NOW
    local status = (await > 0 and 'waitingChildren') or (delayed and 'delayed') or 'queued'
    -- A new job is written with one HSET, its first event included; a later load reads it back.
    local root = (parent and parent.r) or (arg(j, 8) ~= '' and arg(j, 8)) or id
    local prio = arg(j, 3)
    local h = { 'n', name, 's', status, 'p', prio, 'a', 0, 'ca', NOW_S, 'r', root, 'of', arg(j, 10), 'cc', 0,
      'pc', await > 0 and await or 0, 't', 0, 'st', 0, 'es', 1 }
    local function opt(field, value)
      if value ~= '' then
        h[#h + 1] = field
        h[#h + 1] = value
      end
    end
    opt('i', arg(j, 2))
    opt('ik', idem)
    opt('fp', arg(j, 6))
    opt('pa', parent_id)
    opt('ck', ck)
    opt('m', arg(j, 12))
    local ev
    if status == 'queued' then
      local sq = next_seq()
      opt('sq', sq)
      local list = QADD[name]
      if not list then
        list = {}
        QADD[name] = list
      end
      list[#list + 1] = -tonumber(prio)
      list[#list + 1] = string.format('%016d', sq) .. id
      AVAIL = true
      ev = event_json(id, name, parent_id, root, 1, 'job.queued', 'queued')
    elseif status == 'delayed' then
      opt('ra', arg(j, 4))
      redis.call('ZADD', B .. 'delayed', arg(j, 4), id)
      -- Announced too: the claim that follows reports when it falls due.
      AVAIL = true
      ev = event_json(id, name, parent_id, root, 1, 'job.delayed', 'delayed', ',"runAt":' .. arg(j, 4))
    else
      opt('d', '1')
      ev = event_json(id, name, parent_id, root, 1, 'job.waiting', 'waitingChildren')
    end
    opt('v1', ev)
    redis.call('HSET', jk(id), unpack(h))
    count(status, 1)
    if idem ~= '' then redis.call('HSET', B .. 'idem', idem, id) end
    if parent then
      redis.call('RPUSH', B .. 'c:' .. parent_id, id)
      if ck ~= '' then redis.call('HSET', B .. 'ck:' .. parent_id, ck, id) end
      put(parent, 'cc', tonumber(parent.cc) + 1)
      -- A declared parent counted its children up front (awaitChildren).
      if parent.d ~= '1' then put(parent, 'pc', tonumber(parent.pc) + 1) end
    end
    if not names[name] then
      names[name] = true
      redis.call('SADD', B .. 'names', name)
    end
    out[j] = { 1, status }
  end
end
done(false)
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

local due = redis.call('ZRANGEBYSCORE', B .. 'delayed', '-inf', NOW_S, 'LIMIT', 0, 1000)
if #due > 0 then bulk('ZREM', B .. 'delayed', due) end
for _, id in ipairs(due) do
  local rec = load(id)
  if rec and rec.s == 'delayed' then
    move(rec, 'queued')
    put(rec, 'ra', '')
    push_ready(rec)
    emit(rec, 'job.queued', 'queued')
  end
end

-- A lease that ran out means its owner died or stalled: the job goes back to the queue.
local expired = redis.call('ZRANGEBYSCORE', B .. 'leases', '-inf', NOW_S, 'LIMIT', 0, 1000)
if #expired > 0 then bulk('ZREM', B .. 'leases', expired) end
for _, id in ipairs(expired) do
  local rec = load(id)
  if rec and held_status(rec.s) and present(rec.ow) then
    local stalls = tonumber(rec.st or 0) + 1
    put(rec, 'st', stalls)
    if rec.cr then
      finish(rec, 'cancelled', nil, rec.cr)
    elseif stalls >= MAXST then
      finish(rec, 'failed', nil, '{"code":"JOB_QUARANTINED","message":"The job lost its lease ' .. stalls .. ' times; it is not retried."}')
    else
      requeue(rec, NOW, nil)
    end
  end
end
flush_queues()

local out = {}
local la = num(NOW + LEASE)
local function hand_out(id, name)
  local rec = REC[id]
  if rec then
    -- Touched earlier in this call (promoted or requeued): go through the cached record.
    rec = load(id, { 'i', 'ca' })
    local attempt, token = tonumber(rec.a) + 1, tonumber(rec.t) + 1
    move(rec, 'running')
    put(rec, 'a', attempt)
    put(rec, 't', token)
    put(rec, 'ow', OWNER)
    put(rec, 'la', la)
    put(rec, 'sa', NOW_S)
    if present(rec.ra) then put(rec, 'ra', '') end
    emit(rec, 'job.started', 'running', ',"attempt":' .. attempt)
    out[#out + 1] = { id, token, name, rec.i or '', attempt, rec.p, rec.pa or '', rec.r, rec.ca, rec.m or '' }
  else
    -- The usual case: one read, one write.
    local f = redis.call('HMGET', jk(id), 'a', 't', 'i', 'p', 'pa', 'r', 'ca', 'm', 'es', 'ra')
    local attempt, token, seq = tonumber(f[1]) + 1, tonumber(f[2]) + 1, tonumber(f[9]) + 1
    local ev = event_json(id, name, f[5], f[6], seq, 'job.started', 'running', ',"attempt":' .. attempt)
    if present(f[10]) then
      redis.call('HSET', jk(id), 's', 'running', 'a', attempt, 't', token, 'ow', OWNER, 'la', la, 'sa', NOW_S, 'es', seq, 'v' .. seq, ev, 'ra', '')
    else
      redis.call('HSET', jk(id), 's', 'running', 'a', attempt, 't', token, 'ow', OWNER, 'la', la, 'sa', NOW_S, 'es', seq, 'v' .. seq, ev)
    end
    if seq > EVN then redis.call('HDEL', jk(id), 'v' .. (seq - EVN)) end
    count('queued', -1)
    count('running', 1)
    out[#out + 1] = { id, token, name, f[3] or '', attempt, f[4], f[5] or '', f[6], f[7], f[8] or '' }
  end
  LEASE_ADD[#LEASE_ADD + 1] = la
  LEASE_ADD[#LEASE_ADD + 1] = id
end

local only = #names == 1 and names[1]
if only and (cap[only] == nil or cap[only] > 0) then
  -- One job name: the queue's own order is the answer, popped in one command.
  local popped = redis.call('ZPOPMIN', qkey(only), math.min(MAX, cap[only] or MAX))
  for x = 1, #popped, 2 do hand_out(string.sub(popped[x], 17), only) end
elseif not only then
  -- Several names: merge the heads of their queues, highest priority first, then oldest.
  local heads = {}
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
    hand_out(string.sub(best[2], 17), bn)
  end
end
local nxt = redis.call('ZRANGE', B .. 'delayed', 0, 0, 'WITHSCORES')
done(true)
return { out, nxt[2] or '' }
`;

/** renew — ARGV[6] leaseMs, then (id, token) pairs. Returns 1/0 per lease. */
const renew = `
local la = num(NOW + tonumber(ARGV[6]))
local out = {}
for j = 1, (#ARGV - 6) / 2 do
  local id = ARGV[5 + j * 2]
  local rec = held(id, ARGV[6 + j * 2])
  if rec and tonumber(rec.la) > NOW then
    put(rec, 'la', la)
    LEASE_ADD[#LEASE_ADD + 1] = la
    LEASE_ADD[#LEASE_ADD + 1] = id
    out[j] = 1
  else
    out[j] = 0
  end
end
done(false)
return out
`;

/** settle — per settlement: id, token, outcome, payload (output or error JSON), runAt. Returns 1 (ok) / 0 (stale). */
const settle = `
local CANCELLED = '{"code":"JOB_CANCELLED","message":"The job was cancelled."}'
-- The usual case, a completed attempt of a job not otherwise touched in this call: one read,
-- one write. Returns nil when the general path must decide.
local function complete_fast(id, token, output)
  if REC[id] ~= nil then return nil end
  local f = redis.call('HMGET', jk(id), 't', 's', 'n', 'pa', 'r', 'es', 'ow', 'pc')
  if not f[1] or tonumber(f[1]) ~= tonumber(token) or not held_status(f[2]) or not present(f[7]) then return 0 end
  -- A parent with children still running settles later, bottom-up: the general path.
  if tonumber(f[8]) > 0 then return nil end
  local seq = tonumber(f[6]) + 1
  local ev = event_json(id, f[3], f[4], f[5], seq, 'job.completed', 'completed', output ~= '' and (',"output":' .. output) or '')
  redis.call('HSET', jk(id), 's', 'completed', 'fa', NOW_S, 'o', output, 'e', '', 'ow', '', 'es', seq, 'v' .. seq, ev)
  if seq > EVN then redis.call('HDEL', jk(id), 'v' .. (seq - EVN)) end
  count(f[2], -1)
  count('completed', 1)
  LEASE_DEL[#LEASE_DEL + 1] = id
  if present(f[4]) then child_settled({ _id = id, pa = f[4], s = 'completed', n = f[3] })
  else ROOTS[#ROOTS + 1] = id end
  return 1
end

local out = {}
for j = 1, (#ARGV - 5) / ${SETTLE_FIELDS} do
  local o = 5 + (j - 1) * ${SETTLE_FIELDS}
  local outcome, payload = ARGV[o + 3], ARGV[o + 4]
  local fast = outcome == 'completed' and complete_fast(ARGV[o + 1], ARGV[o + 2], payload)
  if fast then
    out[j] = fast
  else
    local rec = held(ARGV[o + 1], ARGV[o + 2])
    if not rec then
      out[j] = 0
    else
      local cancel_reason = rec.cr
      LEASE_DEL[#LEASE_DEL + 1] = rec._id
      if outcome == 'completed' then
        finish(rec, 'completed', payload ~= '' and payload or nil, nil)
      elseif outcome == 'retry' and not present(cancel_reason) then
        put(rec, 'e', payload)
        requeue(rec, tonumber(ARGV[o + 5]), payload)
      elseif outcome == 'failed' then
        finish(rec, 'failed', nil, payload)
      else
        finish(rec, 'cancelled', nil, (outcome == 'cancelled' and payload) or cancel_reason or CANCELLED)
      end
      out[j] = 1
    end
  end
end
done(true)
return out
`;

/** setWaiting — ARGV[6] id, ARGV[7] token, ARGV[8] '1' to wait. */
const setWaiting = `
local rec = held(ARGV[6], ARGV[7])
if not rec then return 0 end
local target = ARGV[8] == '1' and 'waitingChildren' or 'running'
if rec.s ~= target then
  move(rec, target)
  if target == 'waitingChildren' then emit(rec, 'job.waiting', target)
  else emit(rec, 'job.started', target, ',"attempt":' .. rec.a) end
end
done(false)
return 1
`;

/** progress — ARGV[6] id, ARGV[7] token, ARGV[8] value JSON. */
const progress = `
local rec = held(ARGV[6], ARGV[7])
if not rec then return 0 end
if ARGV[8] == '' then
  put(rec, 'pg', '')
  emit(rec, 'job.progress', rec.s)
else
  put(rec, 'pg', ARGV[8])
  emit(rec, 'job.progress', rec.s, ',"progress":' .. ARGV[8])
end
done(false)
return 1
`;

/** cancel — ARGV[6] id, ARGV[7] reason JSON. Returns the CancelOutcome. */
const cancel = `
local rec = load(ARGV[6])
if not rec then return 'not_found' end
local outcome = cancel_tree(rec, ARGV[7])
done(false)
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
