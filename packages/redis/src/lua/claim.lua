-- claim: hands out ready jobs under a lease. Before that it moves delayed jobs that fell due to
-- their queues and takes back jobs whose lease ran out (their owner died or stalled).
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    owner (the claiming node)   ARGV[7] max jobs   ARGV[8] lease ms
--   ARGV[9]    a count of job names (-1: all names), then the names
--   then       a count of capacity entries, then (name, capacity) pairs
--   Returns {jobs, nextRunAt}: each job {id, token, name, input, attempt, priority, parentId,
--   rootId, createdAt, meta}; nextRunAt '' when nothing is delayed.
local lib = ...
local C = lib.C
local load, put, move, emit, jk, num, present, held_status = lib.load, lib.put, lib.move, lib.emit, lib.jk, lib.num, lib.present, lib.held_status

local function promote_due()
  local due = redis.call('ZRANGEBYSCORE', C.B .. 'delayed', '-inf', C.NOW_S, 'LIMIT', 0, 1000)
  if #due > 0 then lib.bulk('ZREM', C.B .. 'delayed', due) end
  for _, id in ipairs(due) do
    local rec = load(id)
    if rec and rec.s == 'delayed' then
      move(rec, 'queued')
      put(rec, 'ra', '')
      lib.push_ready(rec)
      emit(rec, 'job.queued', 'queued')
    end
  end
end

-- A lease that ran out means its owner died or stalled: the job goes back to the queue.
local function expire_leases()
  local expired = redis.call('ZRANGEBYSCORE', C.B .. 'leases', '-inf', C.NOW_S, 'LIMIT', 0, 1000)
  if #expired > 0 then lib.bulk('ZREM', C.B .. 'leases', expired) end
  for _, id in ipairs(expired) do
    local rec = load(id)
    if rec and held_status(rec.s) and present(rec.ow) then
      local stalls = tonumber(rec.st or 0) + 1
      put(rec, 'st', stalls)
      if rec.cr then
        lib.finish(rec, 'cancelled', nil, rec.cr)
      elseif stalls >= C.MAXST then
        lib.finish(rec, 'failed', nil, '{"code":"JOB_QUARANTINED","message":"The job lost its lease ' .. stalls .. ' times; it is not retried."}')
      else
        lib.requeue(rec, C.NOW, nil)
      end
    end
  end
end

lib.register('claim', function(keys, args)
  lib.begin(keys, args)
  local OWNER, MAX, LEASE = args[6], tonumber(args[7]), tonumber(args[8])
  local names = {}
  local i = 10
  local nn = tonumber(args[9])
  if nn < 0 then
    names = redis.call('SMEMBERS', C.B .. 'names')
  else
    for x = 1, nn do names[x] = args[i]; i = i + 1 end
  end
  local cap = {}
  local nc = tonumber(args[i]); i = i + 1
  for _ = 1, nc do cap[args[i]] = tonumber(args[i + 1]); i = i + 2 end

  promote_due()
  expire_leases()
  lib.flush_queues()

  local out = {}
  local la = num(C.NOW + LEASE)
  -- A job one lease loss away from quarantine is a suspect: it may be what takes its node down (a
  -- crash, an event loop blocked past the lease), or only a neighbour that went down with it
  -- before. A node holds at most one suspect at a time, so a culprit and the neighbours it already
  -- took down twice are never run side by side a third time, which would quarantine them all.
  -- Jobs that lost their lease once (every job of a node that simply died) are not held back, so
  -- a dead node's work recovers in parallel. A suspect left behind is claimed by another node or
  -- by this one shortly (nextRunAt), never by a storm of work.available signals.
  local SUSPECT_AT = math.max(1, C.MAXST - 1)
  local suspect_key = C.B .. 'suspect:' .. OWNER
  local suspect_out = false
  local suspect_id = nil
  do
    local held_id = redis.call('GET', suspect_key)
    local r = held_id and load(held_id)
    if r and r.ow == OWNER and held_status(r.s) then suspect_out = true end
  end
  local deferred = {}
  local function suspect(id, stalls, score, member, name)
    if tonumber(stalls or 0) < SUSPECT_AT then return false end
    if not suspect_out then
      suspect_out = true
      suspect_id = id
      return false
    end
    deferred[#deferred + 1] = { name, score, member }
    return true
  end
  local function hand_out(id, name, score, member)
    local rec = C.REC[id]
    if rec then
      -- Touched earlier in this call (promoted or requeued): go through the cached record.
      rec = load(id, { 'i', 'ca' })
      if suspect(id, rec.st, score, member, name) then return false end
      local attempt, token = tonumber(rec.a) + 1, tonumber(rec.t) + 1
      move(rec, 'running')
      put(rec, 'a', attempt)
      put(rec, 't', token)
      put(rec, 'ow', OWNER)
      put(rec, 'la', la)
      put(rec, 'sa', C.NOW_S)
      if present(rec.ra) then put(rec, 'ra', '') end
      emit(rec, 'job.started', 'running', ',"attempt":' .. attempt)
      out[#out + 1] = { id, token, name, rec.i or '', attempt, rec.p, rec.pa or '', rec.r, rec.ca, rec.m or '' }
    else
      -- The usual case: one read, one write.
      local f = redis.call('HMGET', jk(id), 'a', 't', 'i', 'p', 'pa', 'r', 'ca', 'm', 'es', 'ra', 'st')
      if suspect(id, f[11], score, member, name) then return false end
      local attempt, token, seq = tonumber(f[1]) + 1, tonumber(f[2]) + 1, tonumber(f[9]) + 1
      local ev = lib.event_json(id, name, f[5], f[6], seq, 'job.started', 'running', ',"attempt":' .. attempt)
      if present(f[10]) then
        redis.call('HSET', jk(id), 's', 'running', 'a', attempt, 't', token, 'ow', OWNER, 'la', la, 'sa', C.NOW_S, 'es', seq, 'v' .. seq, ev, 'ra', '')
      else
        redis.call('HSET', jk(id), 's', 'running', 'a', attempt, 't', token, 'ow', OWNER, 'la', la, 'sa', C.NOW_S, 'es', seq, 'v' .. seq, ev)
      end
      if seq > C.EVN then redis.call('HDEL', jk(id), 'v' .. (seq - C.EVN)) end
      lib.count('queued', -1)
      lib.count('running', 1)
      out[#out + 1] = { id, token, name, f[3] or '', attempt, f[4], f[5] or '', f[6], f[7], f[8] or '' }
    end
    C.LEASE_ADD[#C.LEASE_ADD + 1] = la
    C.LEASE_ADD[#C.LEASE_ADD + 1] = id
    return true
  end

  local only = #names == 1 and names[1]
  if only and (cap[only] == nil or cap[only] > 0) then
    -- One job name: the queue's own order is the answer, popped in one command.
    local popped = redis.call('ZPOPMIN', lib.qkey(only), math.min(MAX, cap[only] or MAX))
    for x = 1, #popped, 2 do hand_out(string.sub(popped[x], 17), only, popped[x + 1], popped[x]) end
  elseif not only then
    -- Several names: merge the heads of their queues, highest priority first, then oldest.
    local heads = {}
    local skipped = 0
    while #out < MAX and skipped < 1000 do
      local best, bn = nil, nil
      for _, name in ipairs(names) do
        local c = cap[name]
        if c == nil or c > 0 then
          local h = heads[name]
          if h == nil then
            local r = redis.call('ZRANGE', lib.qkey(name), 0, 0, 'WITHSCORES')
            h = r[1] and { tonumber(r[2]), r[1] } or false
            heads[name] = h
          end
          if h and (not best or h[1] < best[1] or (h[1] == best[1] and h[2] < best[2])) then best = h; bn = name end
        end
      end
      if not best then break end
      redis.call('ZREM', lib.qkey(bn), best[2])
      heads[bn] = nil
      if hand_out(string.sub(best[2], 17), bn, best[1], best[2]) then
        if cap[bn] then cap[bn] = cap[bn] - 1 end
      else
        skipped = skipped + 1
      end
    end
  end
  for _, d in ipairs(deferred) do redis.call('ZADD', lib.qkey(d[1]), d[2], d[3]) end
  -- Remembered per owner; it is checked against the job's owner and state, and expires on its own
  -- so that node ids of processes long gone leave nothing behind.
  if suspect_id then redis.call('SET', suspect_key, suspect_id, 'PX', math.max(LEASE * 10, 60000)) end
  local nxt = redis.call('ZRANGE', C.B .. 'delayed', 0, 0, 'WITHSCORES')[2]
  if #deferred > 0 and (not nxt or tonumber(nxt) > C.NOW + 250) then nxt = num(C.NOW + 250) end
  lib.commit(true)
  return { out, nxt or '' }
end, lib.RUN_WHEN_FULL)
