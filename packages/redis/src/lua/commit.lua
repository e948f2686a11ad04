-- The end of every call that changes jobs: retention, then one write per changed record, the
-- queue and lease updates of the batch, the counts, and one message with all its signals.
local lib = ...
local C = lib.C
local jk, js, present, terminal, bulk = lib.jk, lib.js, lib.present, lib.terminal, lib.bulk

local function drop_tree(root)
  local stack = { root }
  while #stack > 0 do
    local id = table.remove(stack)
    local rec = C.REC[id]
    if rec == nil then
      local v = redis.call('HMGET', jk(id), 's', 'cc', 'ik', 'm')
      rec = v[1] and { s = v[1], cc = v[2], ik = v[3], m = v[4] }
    end
    -- A fire-and-forget child still running stays, and so does its subtree.
    if rec and terminal(rec.s) then
      local children = {}
      if tonumber(rec.cc or 0) > 0 then
        children = redis.call('LRANGE', C.B .. 'c:' .. id, 0, -1)
        redis.call('DEL', jk(id), C.B .. 'c:' .. id, C.B .. 'ck:' .. id)
      else
        redis.call('DEL', jk(id))
      end
      rec._dropped = true
      C.REC[id] = false
      lib.count(rec.s, -1)
      if present(rec.ik) and redis.call('HGET', C.B .. 'idem', rec.ik) == id then redis.call('HDEL', C.B .. 'idem', rec.ik) end
      C.SIG[#C.SIG + 1] = '{"type":"job.dropped","id":' .. js(id) .. (present(rec.m) and (',"meta":' .. rec.m) or '') .. '}'
      for _, child in ipairs(children) do stack[#stack + 1] = child end
    end
  end
end

-- Bounded per call so one call never stalls Redis; the next claim or settle continues.
local function trim_retention()
  local rk = C.B .. 'roots'
  local excess = math.min(redis.call('LLEN', rk) - C.RCOUNT, 1000)
  if excess > 0 then
    for _, id in ipairs(redis.call('LPOP', rk, excess)) do drop_tree(id) end
  end
  for _ = 1, 1000 do
    local head = redis.call('LINDEX', rk, 0)
    if not head then return end
    local rec = C.REC[head]
    local fa = rec and rec.fa or (rec == nil and redis.call('HGET', jk(head), 'fa'))
    if fa and tonumber(fa) + C.RAGE > C.NOW then return end
    redis.call('LPOP', rk)
    drop_tree(head)
  end
end

-- Writes what the call changed, then announces it once, in one message.
function lib.commit(retention)
  if #C.ROOTS > 0 then bulk('RPUSH', C.B .. 'roots', C.ROOTS) end
  if retention then trim_retention() end
  for _, rec in ipairs(C.DIRTY) do
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
  lib.flush_queues()
  -- Removals first: a lease that expired and was claimed again in the same call is kept.
  if #C.LEASE_DEL > 0 then bulk('ZREM', C.B .. 'leases', C.LEASE_DEL) end
  if #C.LEASE_ADD > 0 then bulk('ZADD', C.B .. 'leases', C.LEASE_ADD) end
  local counts = C.B .. 'counts'
  for status, d in pairs(C.DELTA) do
    if d ~= 0 then redis.call('HINCRBY', counts, status, d) end
  end
  if C.SEQ then redis.call('HSET', counts, 'seq', C.SEQ) end
  if C.AVAIL then C.SIG[#C.SIG + 1] = '{"type":"work.available"}' end
  -- Sharded pub/sub (Redis 7): on a Cluster the message stays within the master that owns the
  -- store's slot instead of being broadcast over the cluster bus to every node.
  if #C.SIG > 0 then redis.call('SPUBLISH', C.B .. 'signals', '[' .. table.concat(C.SIG, ',') .. ']') end
end
