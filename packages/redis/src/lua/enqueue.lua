-- enqueue: adds a batch of jobs, each refused with QUEUE_FULL past the bound.
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    the bound on queued plus delayed jobs
--   ARGV[7]    '1': all or nothing (refuse the whole batch if the bound cannot take it)
--   ARGV[8…]   per job, 14 fields ('' for absent): id, name, input JSON, priority, runAt,
--              idempotency key, fingerprint, parent id, root id, child key, on-failure,
--              awaitChildren (a count), meta JSON, parent token (the spawning attempt's)
--   Returns per job {1, status} (added) | {2, id, status, name, fingerprint} (found by a key)
--   | {0, code} (refused: QUEUE_FULL, JOB_NOT_FOUND, LEASE_LOST).
local lib = ...
local C = lib.C
local load, put, jk, terminal, current = lib.load, lib.put, lib.jk, lib.terminal, lib.current

local W = 14

local function by_idem(key)
  if key == '' then return nil end
  local id = redis.call('HGET', C.B .. 'idem', key)
  return id and load(id) or nil
end

local function by_child_key(parent, key)
  if parent == '' or key == '' then return nil end
  local id = redis.call('HGET', C.B .. 'ck:' .. parent, key)
  return id and load(id) or nil
end

local function existing(rec)
  return { 2, rec._id, rec.s, rec.n, redis.call('HGET', jk(rec._id), 'fp') or '' }
end

lib.register('enqueue', function(keys, args)
  lib.begin(keys, args)
  local LIMIT = tonumber(args[6])
  local n = (#args - 7) / W
  local function arg(j, f) return args[8 + (j - 1) * W + f] end

  -- All or nothing: count what the batch would add against the bound before touching anything.
  if args[7] == '1' then
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
    local parent_token = arg(j, 13)
    -- A spawn from an attempt that no longer holds its parent (a zombie after a lapsed lease).
    local fenced = parent and not terminal(parent.s) and parent_token ~= '' and not lib.holds(parent, parent_token)
    if not found and parent and not terminal(parent.s) and not fenced then found = by_child_key(parent_id, ck) end
    if found then
      out[j] = existing(found)
    elseif parent_id ~= '' and (not parent or terminal(parent.s)) then
      out[j] = { 0, 'JOB_NOT_FOUND' }
    elseif fenced then
      out[j] = { 0, 'LEASE_LOST' }
    elseif await <= 0 and current('queued') + current('delayed') >= LIMIT then
      out[j] = { 0, 'QUEUE_FULL' }
    else
      local run_at = tonumber(arg(j, 4))
      local delayed = run_at ~= nil and run_at > C.NOW
      local status = (await > 0 and 'waitingChildren') or (delayed and 'delayed') or 'queued'
      -- A new job is written with one HSET, its first event included; a later load reads it back.
      local root = (parent and parent.r) or (arg(j, 8) ~= '' and arg(j, 8)) or id
      local prio = arg(j, 3)
      local h = { 'n', name, 's', status, 'p', prio, 'a', 0, 'ca', C.NOW_S, 'r', root, 'of', arg(j, 10), 'cc', 0,
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
        local sq = lib.next_seq()
        opt('sq', sq)
        local list = C.QADD[name]
        if not list then
          list = {}
          C.QADD[name] = list
        end
        list[#list + 1] = -tonumber(prio)
        list[#list + 1] = string.format('%016d', sq) .. id
        C.AVAIL = true
        ev = lib.event_json(id, name, parent_id, root, 1, 'job.queued', 'queued')
      elseif status == 'delayed' then
        opt('ra', arg(j, 4))
        redis.call('ZADD', C.B .. 'delayed', arg(j, 4), id)
        -- Announced too: the claim that follows reports when it falls due.
        C.AVAIL = true
        ev = lib.event_json(id, name, parent_id, root, 1, 'job.delayed', 'delayed', ',"runAt":' .. arg(j, 4))
      else
        opt('d', '1')
        ev = lib.event_json(id, name, parent_id, root, 1, 'job.waiting', 'waitingChildren')
      end
      opt('v1', ev)
      redis.call('HSET', jk(id), unpack(h))
      lib.count(status, 1)
      if idem ~= '' then redis.call('HSET', C.B .. 'idem', idem, id) end
      if parent then
        redis.call('RPUSH', C.B .. 'c:' .. parent_id, id)
        if ck ~= '' then redis.call('HSET', C.B .. 'ck:' .. parent_id, ck, id) end
        put(parent, 'cc', tonumber(parent.cc) + 1)
        -- A declared parent counted its children up front (awaitChildren).
        if parent.d ~= '1' then put(parent, 'pc', tonumber(parent.pc) + 1) end
      end
      if not names[name] then
        names[name] = true
        redis.call('SADD', C.B .. 'names', name)
      end
      out[j] = { 1, status }
    end
  end
  lib.commit(false)
  return out
end, lib.REFUSE_WHEN_FULL)
