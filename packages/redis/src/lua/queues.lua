-- Ready queues, per job name. Priority 0, the usual case, is a list of "<seq>:<id>" in the order
-- jobs became ready (a list entry is a few bytes; a sorted-set entry is ~80). Other priorities
-- are a sorted set, score -priority, member the seq (16 digits) and the id, so equal priorities
-- come out in the order they were queued. The seq, one counter per store, orders jobs across
-- names. A list entry is not removed when its job leaves the queue early (cancelled): the claim
-- that reaches it sees the job is no longer queued and drops it.
local lib = ...
local C = lib.C

function lib.lkey(name)
  local key = C.QKEYS[name]
  if not key then
    key = C.B .. 'q:' .. name
    C.QKEYS[name] = key
  end
  return key
end
function lib.zkey(name) return C.B .. 'p:' .. name end
function lib.zmember(seq, id) return string.format('%016d', seq) .. id end

-- A job with a flow key waits in its key's queues instead (flow.lua); `q` names them.
function lib.push_ready(rec)
  local seq = lib.next_seq()
  local prio = lib.int(rec.p)
  local q = lib.present(rec.gk) and lib.join(rec.n, rec.gk) or rec.n
  if prio == 0 then
    lib.list_add(lib.lkey(q), seq .. ':' .. rec._id)
  else
    lib.put(rec, 'sq', seq)
    lib.zset_add(lib.zkey(q), -prio, lib.zmember(seq, rec._id))
  end
  C.AVAIL = true
end

-- The same for a job created in this call without a record: `w` its HSET arguments, `seq` the
-- one it was created with (its place in the listing, listing.lua, is its first place in the queue).
function lib.push_entry(name, id, prio, w, key, seq)
  local q = key and lib.join(name, key) or name
  if prio == '0' or prio == '' then
    lib.list_add(lib.lkey(q), seq .. ':' .. id)
  else
    w[#w + 1] = 'sq'
    w[#w + 1] = seq
    lib.zset_add(lib.zkey(q), -tonumber(prio), lib.zmember(seq, id))
  end
  C.AVAIL = true
end

function lib.unqueue(rec)
  if lib.int(rec.p) ~= 0 then
    local q = lib.present(rec.gk) and lib.qname(rec.n, rec.gk) or rec.n
    lib.zset_rem(lib.zkey(q), lib.zmember(tonumber(rec.sq), rec._id))
  end
end
