/**
 * The Lua shared by every script: the job state machine as it runs inside Redis. Each script is
 * this prelude followed by its own body, so a transition (a settle that queues a declared parent,
 * a cancel that sweeps a subtree) happens in one atomic step, whatever node calls it.
 *
 * Calling convention, common to all scripts:
 *   KEYS[1]  `{prefix}:counts`, the only key passed: every other key is derived from it, and all
 *            share the `{prefix}` hash tag, so on Redis Cluster they live in one slot.
 *   ARGV[1]  now (epoch ms, from the store's clock)   ARGV[2] events kept per job
 *   ARGV[3]  retention count   ARGV[4] retention age ms   ARGV[5] max stalls
 *   ARGV[6…] the script's own arguments.
 *
 * Job hash fields (short, since a million queued jobs each carry them): n name, s status,
 * i input, p priority, a attempt, ca/sa/fa created/started/finished at, ra run at, pg progress,
 * o output, e error, pa parent, r root, ck child key, of on-failure, cc/pc child count/pending,
 * ik idempotency key, fp fingerprint, m meta, d declared, sq ready-order seq, t token, ow owner,
 * la lease expiry, cr cancel reason, st stalls, es event seq. JSON fields hold the JSON text that
 * Node produced; an absent field is `undefined`.
 */
export const luaLibrary = `
local CNT = KEYS[1]
local B = string.sub(CNT, 1, #CNT - 6)
local NOW_S = ARGV[1]
local NOW = tonumber(NOW_S)
local EVN = tonumber(ARGV[2])
local RCOUNT = tonumber(ARGV[3])
local RAGE = tonumber(ARGV[4])
local MAXST = tonumber(ARGV[5])
local SIG = {}
local AVAIL = false
local DELTA = {}
local BASE = nil
local SEQ = nil

local function jk(id) return B .. 'j:' .. id end
local function js(s) return cjson.encode(s) end
local function num(x) return string.format('%.17g', x) end
local function terminal(s) return s == 'completed' or s == 'failed' or s == 'cancelled' end
local function held_status(s) return s == 'running' or s == 'waitingChildren' end

-- Status counts change in many places per call; they are summed here and written once.
local function count(status, d) DELTA[status] = (DELTA[status] or 0) + d end
local function current(status)
  if not BASE then
    local v = redis.call('HMGET', CNT, 'queued', 'delayed')
    BASE = { queued = tonumber(v[1] or 0), delayed = tonumber(v[2] or 0) }
  end
  return BASE[status] + (DELTA[status] or 0)
end
local function next_seq()
  if not SEQ then SEQ = tonumber(redis.call('HGET', CNT, 'seq') or 0) end
  SEQ = SEQ + 1
  return SEQ
end

local function move(id, from, to)
  count(from, -1)
  count(to, 1)
  redis.call('HSET', jk(id), 's', to)
end

-- Ready queues are one sorted set per job name: score -priority, member seq..id, so equal
-- priorities come out in the order they were queued.
local function qkey(name) return B .. 'q:' .. name end
local function push_ready(id, name, prio)
  local sq = next_seq()
  redis.call('HSET', jk(id), 'sq', sq)
  redis.call('ZADD', qkey(name), -tonumber(prio), string.format('%016d', sq) .. id)
  AVAIL = true
end
local function unqueue(id)
  local f = redis.call('HMGET', jk(id), 'n', 'sq')
  redis.call('ZREM', qkey(f[1]), string.format('%016d', tonumber(f[2])) .. id)
end

local function emit(id, typ, status, extra)
  local k = jk(id)
  local f = redis.call('HMGET', k, 'n', 'pa', 'r')
  local seq = redis.call('HINCRBY', k, 'es', 1)
  local ev = '{"type":"' .. typ .. '","status":"' .. status .. '"' .. (extra or '') .. ',"id":' .. js(id) ..
    ',"name":' .. js(f[1]) .. ',"seq":' .. seq .. ',"at":' .. NOW_S
  if f[2] then ev = ev .. ',"parentId":' .. js(f[2]) end
  ev = ev .. ',"rootId":' .. js(f[3]) .. '}'
  local ek = B .. 'e:' .. id
  if redis.call('RPUSH', ek, ev) > EVN then redis.call('LTRIM', ek, -EVN, -1) end
  SIG[#SIG + 1] = '{"type":"job.event","event":' .. ev .. '}'
end

local finish, cancel_tree

local function cancel_children(id, reason)
  for _, child in ipairs(redis.call('LRANGE', B .. 'c:' .. id, 0, -1)) do
    local s = redis.call('HGET', jk(child), 's')
    if s and not terminal(s) then cancel_tree(child, reason) end
  end
end

-- Declared parents have no code running while they wait, so the store decides for them.
local function child_settled(child, status, on_failure, err, parent)
  local pk = jk(parent)
  local pf = redis.call('HMGET', pk, 's', 'd')
  if not pf[1] or terminal(pf[1]) then return end
  local pending = redis.call('HINCRBY', pk, 'pc', -1)
  if pf[2] ~= '1' or pf[1] ~= 'waitingChildren' then return end
  if status ~= 'completed' and on_failure == 'fail-parent' then
    local name = redis.call('HGET', jk(child), 'n')
    local details = '{"childId":' .. js(child) .. (err and (',"childError":' .. err) or '') .. '}'
    finish(parent, 'failed', nil, '{"code":"CHILD_FAILED","message":' ..
      js('Child ' .. child .. ' (' .. name .. ') ' .. status .. '.') .. ',"details":' .. details .. '}')
  elseif pending == 0 then
    move(parent, 'waitingChildren', 'queued')
    push_ready(parent, redis.call('HGET', pk, 'n'), redis.call('HGET', pk, 'p'))
    emit(parent, 'job.queued', 'queued')
  end
end

finish = function(id, status, out, err)
  local k = jk(id)
  local f = redis.call('HMGET', k, 's', 'pc', 'pa', 'of')
  local from = f[1]
  if from == 'queued' then unqueue(id)
  elseif from == 'delayed' then redis.call('ZREM', B .. 'delayed', id)
  else redis.call('ZREM', B .. 'leases', id) end
  move(id, from, status)
  redis.call('HSET', k, 'fa', NOW_S)
  redis.call('HDEL', k, 'ow', 'o', 'e')
  if out then redis.call('HSET', k, 'o', out) end
  if err then redis.call('HSET', k, 'e', err) end
  if status == 'completed' then emit(id, 'job.completed', status, out and (',"output":' .. out) or '')
  elseif status == 'failed' then emit(id, 'job.failed', status, ',"error":' .. err)
  else emit(id, 'job.cancelled', status, ',"error":' .. err) end
  -- A parent that failed or was cancelled takes its unfinished subtree with it: nothing could
  -- use those results, and a tree must never leave work running for nobody.
  if status ~= 'completed' and tonumber(f[2] or 0) > 0 then
    cancel_children(id, '{"code":"JOB_CANCELLED","message":' .. js('Parent ' .. id .. ' ' .. status .. '.') .. '}')
  end
  if f[3] then child_settled(id, status, f[4], err, f[3])
  else redis.call('RPUSH', B .. 'roots', id) end
end

cancel_tree = function(id, reason)
  local f = redis.call('HMGET', jk(id), 's', 'ow')
  if terminal(f[1]) then return 'settled' end
  if f[2] then
    -- Running on some node: its owner aborts the attempt and settles it as cancelled. The
    -- children go now so that none starts in the meantime.
    redis.call('HSET', jk(id), 'cr', reason)
    SIG[#SIG + 1] = '{"type":"job.cancel.requested","id":' .. js(id) .. ',"owner":' .. js(f[2]) .. ',"reason":' .. reason .. '}'
    cancel_children(id, reason)
    return 'cancelling'
  end
  finish(id, 'cancelled', nil, reason)
  return 'cancelled'
end

local function requeue(id, run_at, err)
  local k = jk(id)
  local f = redis.call('HMGET', k, 's', 'n', 'p', 'a')
  local later = run_at > NOW
  local to = later and 'delayed' or 'queued'
  move(id, f[1], to)
  if later then
    redis.call('HSET', k, 'ra', run_at)
    redis.call('ZADD', B .. 'delayed', run_at, id)
  else
    redis.call('HDEL', k, 'ra')
    push_ready(id, f[2], f[3])
  end
  if err then
    emit(id, 'job.retrying', to, ',"attempt":' .. f[4] .. ',"runAt":' .. num(run_at) .. ',"error":' .. err)
  else
    emit(id, 'job.queued', 'queued')
  end
end

-- The lease token check every operation of a running attempt goes through (fencing).
local function held(id, token)
  local f = redis.call('HMGET', jk(id), 't', 's', 'ow', 'cr', 'la')
  if not f[1] or tonumber(f[1]) ~= tonumber(token) or not held_status(f[2]) or not f[3] then return nil end
  return f
end

local function drop_tree(root)
  local stack = { root }
  while #stack > 0 do
    local id = table.remove(stack)
    local k = jk(id)
    local f = redis.call('HMGET', k, 's', 'ik', 'm')
    -- A fire-and-forget child still running stays, and so does its subtree.
    if f[1] and terminal(f[1]) then
      local children = redis.call('LRANGE', B .. 'c:' .. id, 0, -1)
      redis.call('DEL', k, B .. 'c:' .. id, B .. 'ck:' .. id, B .. 'e:' .. id)
      count(f[1], -1)
      if f[2] and redis.call('HGET', B .. 'idem', f[2]) == id then redis.call('HDEL', B .. 'idem', f[2]) end
      SIG[#SIG + 1] = '{"type":"job.dropped","id":' .. js(id) .. (f[3] and (',"meta":' .. f[3]) or '') .. '}'
      for _, child in ipairs(children) do stack[#stack + 1] = child end
    end
  end
end

-- Bounded per call so one call never stalls Redis; the next claim or settle continues.
local function trim_retention()
  local rk = B .. 'roots'
  for _ = 1, 1000 do
    local head = redis.call('LINDEX', rk, 0)
    if not head then return end
    if redis.call('LLEN', rk) <= RCOUNT then
      local fa = redis.call('HGET', jk(head), 'fa')
      if fa and tonumber(fa) + RAGE > NOW then return end
    end
    redis.call('LPOP', rk)
    drop_tree(head)
  end
end

-- Everything a call changed is announced once, in one message, after the change is complete.
local function done()
  for status, d in pairs(DELTA) do
    if d ~= 0 then redis.call('HINCRBY', CNT, status, d) end
  end
  if SEQ then redis.call('HSET', CNT, 'seq', SEQ) end
  if AVAIL then SIG[#SIG + 1] = '{"type":"work.available"}' end
  if #SIG > 0 then redis.call('PUBLISH', B .. 'signals', '[' .. table.concat(SIG, ',') .. ']') end
end
`;
