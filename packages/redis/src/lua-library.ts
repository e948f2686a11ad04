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
 * la lease expiry, cr cancel reason, st stalls, es event seq, v<seq> the job's last events,
 * df/dfo/dfe the outcome of a parent held back until its last child settles. JSON
 * fields hold the JSON text that Node produced; an absent or empty field is `undefined` (a
 * cleared field is written as '' rather than deleted, to save a command). A job is held (by the
 * node named in `ow`) while its status is running or waitingChildren and `ow` is set.
 *
 * Each Redis command a script issues costs a few microseconds, which is what bounds throughput;
 * so a job is read once (`load`), changed in a Lua table, and written once (`done`), and the
 * sorted-set updates of a batch go out as one command each.
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
local SIG, DELTA, REC, DIRTY = {}, {}, {}, {}
local QADD, LEASE_ADD, LEASE_DEL, ROOTS = {}, {}, {}, {}
local AVAIL, BASE, SEQ = false, nil, nil
local FIELDS = { 's', 'n', 'pa', 'r', 'es', 't', 'ow', 'cr', 'la', 'pc', 'cc', 'of', 'a', 'p', 'd', 'sq', 'ra', 'st', 'fa', 'ik', 'm', 'e', 'df' }

local function jk(id) return B .. 'j:' .. id end
local function js(s) return cjson.encode(s) end
-- Ids, names and roots are checked in Node to need no escaping, so quoting them is enough.
local function q(s) return '"' .. s .. '"' end
local function num(x) return string.format('%.17g', x) end
local function present(v) return v and v ~= '' end
local function terminal(s) return s == 'completed' or s == 'failed' or s == 'cancelled' end
local function held_status(s) return s == 'running' or s == 'waitingChildren' end

-- Sends a long argument list in slices: Lua's unpack has a stack limit.
local function bulk(cmd, key, args)
  for i = 1, #args, 1000 do
    redis.call(cmd, key, unpack(args, i, math.min(i + 999, #args)))
  end
end

-- One read per job per call; every later change goes to the cached table. \`extra\` names
-- fields beyond the usual ones (the input, when a job is handed out).
local function load(id, extra)
  local rec = REC[id]
  if rec == false then return false end
  if rec == nil then
    local fields = FIELDS
    if extra then
      fields = { unpack(FIELDS) }
      for _, f in ipairs(extra) do fields[#fields + 1] = f end
    end
    local v = redis.call('HMGET', jk(id), unpack(fields))
    if not v[1] then
      REC[id] = false
      return false
    end
    rec = { _id = id, _set = {}, _del = {} }
    for x, f in ipairs(fields) do rec[f] = v[x] end
    REC[id] = rec
  elseif extra then
    local v = redis.call('HMGET', jk(id), unpack(extra))
    for x, f in ipairs(extra) do
      if rec[f] == nil then rec[f] = v[x] end
    end
  end
  return rec
end

local function touch(rec)
  if not rec._dirty then
    rec._dirty = true
    DIRTY[#DIRTY + 1] = rec
  end
end
local function put(rec, field, value)
  rec[field] = value
  rec._set[field] = value
  rec._del[field] = nil
  touch(rec)
end
local function create(id)
  local rec = { _id = id, _set = {}, _del = {} }
  for _, f in ipairs(FIELDS) do rec[f] = false end
  REC[id] = rec
  return rec
end

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

local function move(rec, to)
  count(rec.s, -1)
  count(to, 1)
  put(rec, 's', to)
end

-- Ready queues are one sorted set per job name: score -priority, member seq..id, so equal
-- priorities come out in the order they were queued.
local function qkey(name) return B .. 'q:' .. name end
local function qmember(rec) return string.format('%016d', tonumber(rec.sq)) .. rec._id end
local function push_ready(rec)
  put(rec, 'sq', next_seq())
  local list = QADD[rec.n]
  if not list then
    list = {}
    QADD[rec.n] = list
  end
  list[#list + 1] = -tonumber(rec.p)
  list[#list + 1] = qmember(rec)
  AVAIL = true
end
local function flush_queues()
  for name, list in pairs(QADD) do bulk('ZADD', qkey(name), list) end
  QADD = {}
end
local function unqueue(rec)
  flush_queues()
  redis.call('ZREM', qkey(rec.n), qmember(rec))
end

local function event_json(id, name, parent, root, seq, typ, status, extra)
  local ev = '{"type":"' .. typ .. '","status":"' .. status .. '"' .. (extra or '') .. ',"id":"' .. id ..
    '","name":"' .. name .. '","seq":' .. seq .. ',"at":' .. NOW_S ..
    (present(parent) and (',"parentId":"' .. parent .. '"') or '') .. ',"rootId":"' .. root .. '"}'
  -- Published bare; the subscriber tells events (they have a seq) from other signals.
  SIG[#SIG + 1] = ev
  return ev
end

local function emit(rec, typ, status, extra)
  local seq = tonumber(rec.es or 0) + 1
  put(rec, 'es', seq)
  -- Events live in the job's own hash, so recording one costs no command of its own.
  put(rec, 'v' .. seq, event_json(rec._id, rec.n, rec.pa, rec.r, seq, typ, status, extra))
  if seq > EVN then
    rec._del['v' .. (seq - EVN)] = true
  end
end

local finish, cancel_tree

local function cancel_children(rec, reason)
  for _, child in ipairs(redis.call('LRANGE', B .. 'c:' .. rec._id, 0, -1)) do
    local c = load(child)
    if c and not terminal(c.s) then cancel_tree(c, reason) end
  end
end

-- Declared parents have no code running while they wait, so the store decides for them.
local function child_settled(child)
  local parent = load(child.pa)
  if not parent or terminal(parent.s) then return end
  put(parent, 'pc', tonumber(parent.pc) - 1)
  if present(parent.df) then
    -- The parent already ended and waited only for this subtree: now it settles.
    if tonumber(parent.pc) == 0 then
      load(parent._id, { 'dfo', 'dfe' })
      finish(parent, parent.df, present(parent.dfo) and parent.dfo or nil, present(parent.dfe) and parent.dfe or nil)
    end
    return
  end
  if parent.d ~= '1' or parent.s ~= 'waitingChildren' then return end
  if child.s ~= 'completed' and child.of == 'fail-parent' then
    local err = present(child.e) and child.e
    local details = '{"childId":' .. js(child._id) .. (err and (',"childError":' .. err) or '') .. '}'
    finish(parent, 'failed', nil, '{"code":"CHILD_FAILED","message":' ..
      js('Child ' .. child._id .. ' (' .. child.n .. ') ' .. child.s .. '.') .. ',"details":' .. details .. '}')
  elseif tonumber(parent.pc) == 0 then
    move(parent, 'queued')
    push_ready(parent)
    emit(parent, 'job.queued', 'queued')
  end
end

finish = function(rec, status, out, err)
  local from = rec.s
  if from == 'queued' then unqueue(rec)
  elseif from == 'delayed' then redis.call('ZREM', B .. 'delayed', rec._id)
  else LEASE_DEL[#LEASE_DEL + 1] = rec._id end
  if present(rec.ow) then put(rec, 'ow', '') end
  if tonumber(rec.pc or 0) > 0 then
    -- A job tree settles bottom-up: the parent's outcome waits for its last child. A parent
    -- that failed or was cancelled takes its unfinished subtree with it (nobody could use those
    -- results); one that completed early lets its children finish.
    put(rec, 'df', status)
    put(rec, 'dfo', out or '')
    put(rec, 'dfe', err or '')
    if from ~= 'waitingChildren' then
      move(rec, 'waitingChildren')
      emit(rec, 'job.waiting', 'waitingChildren')
    end
    if status ~= 'completed' then
      cancel_children(rec, '{"code":"JOB_CANCELLED","message":' .. js('Parent ' .. rec._id .. ' ' .. status .. '.') .. '}')
    end
    return
  end
  if present(rec.df) then put(rec, 'df', '') end
  move(rec, status)
  put(rec, 'fa', NOW_S)
  -- An output is written once, at the end, so there is never an old one to remove.
  if out then put(rec, 'o', out) end
  if err then put(rec, 'e', err) elseif present(rec.e) then put(rec, 'e', '') end
  if status == 'completed' then emit(rec, 'job.completed', status, out and (',"output":' .. out) or '')
  elseif status == 'failed' then emit(rec, 'job.failed', status, ',"error":' .. err)
  else emit(rec, 'job.cancelled', status, ',"error":' .. err) end
  if rec.pa then child_settled(rec)
  else ROOTS[#ROOTS + 1] = rec._id end
end

cancel_tree = function(rec, reason)
  if terminal(rec.s) then return 'settled' end
  if present(rec.df) then
    -- Already ending, waiting for its children: hurry them along, keep its outcome.
    cancel_children(rec, reason)
    return 'cancelling'
  end
  if held_status(rec.s) and present(rec.ow) then
    -- Running on some node: its owner aborts the attempt and settles it as cancelled. The
    -- children go now so that none starts in the meantime.
    put(rec, 'cr', reason)
    SIG[#SIG + 1] = '{"type":"job.cancel.requested","id":' .. js(rec._id) .. ',"owner":' .. js(rec.ow) .. ',"reason":' .. reason .. '}'
    cancel_children(rec, reason)
    return 'cancelling'
  end
  finish(rec, 'cancelled', nil, reason)
  return terminal(rec.s) and 'cancelled' or 'cancelling'
end

local function requeue(rec, run_at, err)
  local later = run_at > NOW
  local to = later and 'delayed' or 'queued'
  move(rec, to)
  if later then
    put(rec, 'ra', num(run_at))
    redis.call('ZADD', B .. 'delayed', run_at, rec._id)
  else
    if present(rec.ra) then put(rec, 'ra', '') end
    push_ready(rec)
  end
  if err then
    emit(rec, 'job.retrying', to, ',"attempt":' .. rec.a .. ',"runAt":' .. num(run_at) .. ',"error":' .. err)
  else
    emit(rec, 'job.queued', 'queued')
  end
end

-- The lease token check every operation of a running attempt goes through (fencing).
local function held(id, token)
  local rec = load(id)
  if not rec or tonumber(rec.t) ~= tonumber(token) or not held_status(rec.s) or not present(rec.ow) then return nil end
  return rec
end

local function drop_tree(root)
  local stack = { root }
  while #stack > 0 do
    local id = table.remove(stack)
    local rec = REC[id]
    if rec == nil then
      local v = redis.call('HMGET', jk(id), 's', 'cc', 'ik', 'm')
      rec = v[1] and { s = v[1], cc = v[2], ik = v[3], m = v[4] }
    end
    -- A fire-and-forget child still running stays, and so does its subtree.
    if rec and terminal(rec.s) then
      local children = {}
      if tonumber(rec.cc or 0) > 0 then
        children = redis.call('LRANGE', B .. 'c:' .. id, 0, -1)
        redis.call('DEL', jk(id), B .. 'c:' .. id, B .. 'ck:' .. id)
      else
        redis.call('DEL', jk(id))
      end
      rec._dropped = true
      REC[id] = false
      count(rec.s, -1)
      if present(rec.ik) and redis.call('HGET', B .. 'idem', rec.ik) == id then redis.call('HDEL', B .. 'idem', rec.ik) end
      SIG[#SIG + 1] = '{"type":"job.dropped","id":' .. js(id) .. (present(rec.m) and (',"meta":' .. rec.m) or '') .. '}'
      for _, child in ipairs(children) do stack[#stack + 1] = child end
    end
  end
end

-- Bounded per call so one call never stalls Redis; the next claim or settle continues.
local function trim_retention()
  local rk = B .. 'roots'
  local excess = math.min(redis.call('LLEN', rk) - RCOUNT, 1000)
  if excess > 0 then
    for _, id in ipairs(redis.call('LPOP', rk, excess)) do drop_tree(id) end
  end
  for _ = 1, 1000 do
    local head = redis.call('LINDEX', rk, 0)
    if not head then return end
    local rec = REC[head]
    local fa = rec and rec.fa or (rec == nil and redis.call('HGET', jk(head), 'fa'))
    if fa and tonumber(fa) + RAGE > NOW then return end
    redis.call('LPOP', rk)
    drop_tree(head)
  end
end

-- Writes what the call changed, then announces it once, in one message.
local function done(retention)
  if #ROOTS > 0 then bulk('RPUSH', B .. 'roots', ROOTS) end
  if retention then trim_retention() end
  for _, rec in ipairs(DIRTY) do
    if not rec._dropped then
      local args = {}
      for f, v in pairs(rec._set) do
        args[#args + 1] = f
        args[#args + 1] = v
      end
      if #args > 0 then redis.call('HSET', jk(rec._id), unpack(args)) end
      local del = {}
      for f in pairs(rec._del) do del[#del + 1] = f end
      if #del > 0 then redis.call('HDEL', jk(rec._id), unpack(del)) end
    end
  end
  flush_queues()
  -- Removals first: a lease that expired and was claimed again in the same call is kept.
  if #LEASE_DEL > 0 then bulk('ZREM', B .. 'leases', LEASE_DEL) end
  if #LEASE_ADD > 0 then bulk('ZADD', B .. 'leases', LEASE_ADD) end
  for status, d in pairs(DELTA) do
    if d ~= 0 then redis.call('HINCRBY', CNT, status, d) end
  end
  if SEQ then redis.call('HSET', CNT, 'seq', SEQ) end
  if AVAIL then SIG[#SIG + 1] = '{"type":"work.available"}' end
  if #SIG > 0 then redis.call('PUBLISH', B .. 'signals', '[' .. table.concat(SIG, ',') .. ']') end
end
`;
