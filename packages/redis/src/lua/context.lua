-- The context of one call, and jobs as cached records.
--
-- Each Redis command a function issues costs a few microseconds, which is what bounds
-- throughput; so a job is read once (`load`), changed in a Lua table (`put`) and written once
-- (`commit`, in commit.lua), and the sorted-set updates of a batch go out as one command each.
--
-- Every function of the library is called the same way (see `begin`):
--   KEYS[1]  the store's key prefix `{p}:`. Not a key of its own: every key a function touches is
--            this prefix and a suffix, so all share its hash tag (one Cluster slot), and naming it
--            routes the call to that slot.
--   ARGV[1]  now, epoch ms from the store's clock (so a simulated clock drives leases and delays)
--   ARGV[2]  events kept per job   ARGV[3] finished trees kept   ARGV[4] their maximum age, ms
--   ARGV[5]  lease losses before a job is quarantined
--   ARGV[6…] the function's own arguments, named in its file.
--
-- Job hash fields (short, since a million queued jobs each carry them): n name, s status,
-- i input, p priority, a attempt, ca/sa/fa created/started/finished at, ra run at, pg progress,
-- o output, e error, pa parent, r root, ck child key, of on-failure, cc/pc child count/pending,
-- ik idempotency key, fp fingerprint, m meta, d declared, sq ready-order seq, t token, ow owner,
-- la lease expiry, cr cancel reason, st stalls, es event seq, v<seq> the job's last events,
-- df/dfo/dfe the outcome of a parent held back until its last child settles. JSON fields hold
-- the JSON text that Node produced; an absent or empty field is `undefined` (a cleared field is
-- written as '' rather than deleted, to save a command). A job is held (by the node named in
-- `ow`) while its status is running or waitingChildren and `ow` is set.
local lib = ...

-- The call under way. Library-level state outlives a call, so `begin` resets every field.
local C = {}
lib.C = C

-- The fields `load` reads by default: those the transitions look at.
local FIELDS = { 's', 'n', 'pa', 'r', 'es', 't', 'ow', 'cr', 'la', 'pc', 'cc', 'of', 'a', 'p', 'd', 'sq', 'ra', 'st', 'fa', 'ik', 'm', 'e', 'df' }

function lib.begin(keys, args)
  C.B = keys[1]
  C.NOW_S = args[1]
  C.NOW = tonumber(args[1])
  C.EVN = tonumber(args[2])
  C.RCOUNT = tonumber(args[3])
  C.RAGE = tonumber(args[4])
  C.MAXST = tonumber(args[5])
  -- Signals to publish; status count deltas; records read (false: known absent) and changed.
  C.SIG, C.DELTA, C.REC, C.DIRTY = {}, {}, {}, {}
  -- Ready-queue entries to add per job name; lease entries to add and remove; finished roots.
  C.QADD, C.LEASE_ADD, C.LEASE_DEL, C.ROOTS = {}, {}, {}, {}
  C.AVAIL, C.BASE, C.SEQ = false, nil, nil
end

function lib.jk(id) return C.B .. 'j:' .. id end
function lib.js(s) return cjson.encode(s) end
function lib.num(x) return string.format('%.17g', x) end
function lib.present(v) return v and v ~= '' end
function lib.terminal(s) return s == 'completed' or s == 'failed' or s == 'cancelled' end
function lib.held_status(s) return s == 'running' or s == 'waitingChildren' end

-- Sends a long argument list in slices: Lua's unpack has a stack limit.
function lib.bulk(cmd, key, args)
  for i = 1, #args, 1000 do
    redis.call(cmd, key, unpack(args, i, math.min(i + 999, #args)))
  end
end

-- One read per job per call; every later change goes to the cached table. `extra` names
-- fields beyond the usual ones (the input, when a job is handed out).
function lib.load(id, extra)
  local rec = C.REC[id]
  if rec == false then return false end
  if rec == nil then
    local fields = FIELDS
    if extra then
      fields = { unpack(FIELDS) }
      for _, f in ipairs(extra) do fields[#fields + 1] = f end
    end
    local v = redis.call('HMGET', lib.jk(id), unpack(fields))
    if not v[1] then
      C.REC[id] = false
      return false
    end
    rec = { _id = id, _set = {}, _del = {} }
    for x, f in ipairs(fields) do rec[f] = v[x] end
    C.REC[id] = rec
  elseif extra then
    local v = redis.call('HMGET', lib.jk(id), unpack(extra))
    for x, f in ipairs(extra) do
      if rec[f] == nil then rec[f] = v[x] end
    end
  end
  return rec
end

function lib.put(rec, field, value)
  rec[field] = value
  rec._set[field] = value
  rec._del[field] = nil
  if not rec._dirty then
    rec._dirty = true
    C.DIRTY[#C.DIRTY + 1] = rec
  end
end

-- Status counts change in many places per call; they are summed here and written once.
function lib.count(status, d) C.DELTA[status] = (C.DELTA[status] or 0) + d end

function lib.current(status)
  if not C.BASE then
    local v = redis.call('HMGET', C.B .. 'counts', 'queued', 'delayed')
    C.BASE = { queued = tonumber(v[1] or 0), delayed = tonumber(v[2] or 0) }
  end
  return C.BASE[status] + (C.DELTA[status] or 0)
end

function lib.next_seq()
  if not C.SEQ then C.SEQ = tonumber(redis.call('HGET', C.B .. 'counts', 'seq') or 0) end
  C.SEQ = C.SEQ + 1
  return C.SEQ
end

function lib.move(rec, to)
  lib.count(rec.s, -1)
  lib.count(to, 1)
  lib.put(rec, 's', to)
end

-- With `noeviction`, a full Redis refuses writes. New work is refused before its function starts
-- (so a batch is never half added, and submitters learn at once); everything that moves accepted
-- work along may still write, because settling jobs is what lets retention free memory again —
-- otherwise a full Redis would stall the system for good.
lib.REFUSE_WHEN_FULL = {}
lib.RUN_WHEN_FULL = { 'allow-oom' }

-- Function names are global on a server, so each carries the library's (versioned) name.
function lib.register(name, callback, flags)
  redis.register_function({ function_name = lib.name .. '_' .. name, callback = callback, flags = flags })
end
