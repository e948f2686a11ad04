/**
 * The first half of the Lua prelude: the call's globals, and jobs as cached records. Each
 * Redis command a script issues costs a few microseconds, which is what bounds throughput; so a
 * job is read once (`load`), changed in a Lua table (`put`), and written once (`done`, in
 * lua-transitions.ts), and the sorted-set updates of a batch go out as one command each.
 */
export const luaRecords = `
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

`;
