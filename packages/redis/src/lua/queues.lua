-- Ready queues: one sorted set per job name, score -priority, member seq..id, so equal
-- priorities come out in the order they were queued. Additions of a call are collected and
-- written with one ZADD per name.
local lib = ...
local C = lib.C

function lib.qkey(name) return C.B .. 'q:' .. name end

function lib.qmember(rec) return string.format('%016d', tonumber(rec.sq)) .. rec._id end

function lib.push_ready(rec)
  lib.put(rec, 'sq', lib.next_seq())
  local list = C.QADD[rec.n]
  if not list then
    list = {}
    C.QADD[rec.n] = list
  end
  list[#list + 1] = -tonumber(rec.p)
  list[#list + 1] = lib.qmember(rec)
  C.AVAIL = true
end

function lib.flush_queues()
  for name, list in pairs(C.QADD) do lib.bulk('ZADD', lib.qkey(name), list) end
  C.QADD = {}
end

function lib.unqueue(rec)
  lib.flush_queues()
  redis.call('ZREM', lib.qkey(rec.n), lib.qmember(rec))
end
