-- enqueue: adds a batch of jobs, each refused with QUEUE_FULL past the bound.
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    the bound on queued plus delayed jobs
--   ARGV[7]    '1': all or nothing (refuse the whole batch if the bound cannot take it, or if
--              a job's idempotency key is held by a job of another name or fingerprint)
--   ARGV[8…]   per job, 15 fields ('' for absent): id, name, input JSON, priority, runAt,
--              idempotency key, fingerprint, parent id, root id, child key, on-failure,
--              awaitChildren (a count), meta JSON, parent token (the spawning attempt's),
--              flow key (flow.lua)
--   Returns per job {1, status} (added) | {2, id, status, name, fingerprint} (found by its
--   idempotency key, its child key, or its id: a batch sent again) | {0, code} (refused:
--   QUEUE_FULL, JOB_NOT_FOUND, LEASE_LOST, BATCH_ABORTED).
local lib = ...
local C = lib.C
local load, put, terminal, current, present = lib.load, lib.put, lib.terminal, lib.current, lib.present

local W = 15
local ON_FAILURE = { ['fail-parent'] = true, continue = true, ignore = true }

-- Keys given to jobs earlier in this batch (written only at commit).
local PENDING = {}

local function by_key(hash, field)
  if field == '' then return nil end
  local id = PENDING[hash .. '\0' .. field] or lib.read('HGET', hash, field)
  return id and load(id) or nil
end

local function give_key(hash, field, id)
  PENDING[hash .. '\0' .. field] = id
  lib.hash_set(hash, field, id)
end

local function existing(rec)
  return { 2, rec._id, rec.s, rec.n, redis.call('HGET', lib.jk(rec._id), 'fp') or '' }
end

local function check(args, n)
  lib.check(tonumber(args[6]) and (args[7] == '0' or args[7] == '1'), 'limit, atomic')
  lib.check(n >= 0 and n == math.floor(n), '15 fields per job')
  for j = 1, n do
    local o = 7 + (j - 1) * W
    lib.check(args[o + 1] ~= '' and args[o + 2] ~= '', 'id and name', j)
    lib.check(tonumber(args[o + 4]) and (args[o + 5] == '' or tonumber(args[o + 5])), 'priority, runAt', j)
    lib.check(ON_FAILURE[args[o + 11]] and tonumber(args[o + 12]), 'onFailure, awaitChildren', j)
    lib.check(args[o + 14] == '' or tonumber(args[o + 14]), 'parent token', j)
  end
end

lib.register('enqueue', function(keys, args)
  lib.begin(keys, args)
  local n = (#args - 7) / W
  check(args, n)
  local LIMIT = tonumber(args[6])
  local function arg(j, f) return args[8 + (j - 1) * W + f] end
  local idem_key = C.IDEM
  PENDING = {}

  -- Ids already there (a batch sent again after a lost reply) answer as found, not overwritten.
  local ids = {}
  for j = 1, n do ids[j] = lib.jk(arg(j, 0)) end
  local taken = n > 0 and redis.call('EXISTS', unpack(ids)) or 0

  -- All or nothing: count what the batch would add against the bound before touching anything.
  if args[7] == '1' then
    local new = 0
    for j = 1, n do
      local parent = arg(j, 7) ~= '' and load(arg(j, 7))
      if tonumber(arg(j, 11)) <= 0 and not by_key(idem_key, arg(j, 5)) and not (parent and by_key(C.B .. 'ck:' .. arg(j, 7), arg(j, 9)))
        and not (taken > 0 and load(arg(j, 0))) then
        new = new + 1
      end
    end
    if current('queued') + current('delayed') + new > LIMIT then
      local out = {}
      for j = 1, n do out[j] = { 0, 'QUEUE_FULL' } end
      return out
    end
    -- A key held by a job of another name or input refuses the whole batch: that job answers as
    -- found (the caller sees whose key it is), the others BATCH_ABORTED.
    local refused
    for j = 1, n do
      local held = by_key(idem_key, arg(j, 5))
      if held then
        local found = existing(held)
        if found[4] ~= arg(j, 1) or found[5] ~= arg(j, 6) then
          if not refused then
            refused = {}
            for k = 1, n do refused[k] = { 0, 'BATCH_ABORTED' } end
          end
          refused[j] = found
        end
      end
    end
    if refused then return refused end
  end

  local out = {}
  local names = {}
  for j = 1, n do
    local id, name, parent_id, ck, idem = arg(j, 0), arg(j, 1), arg(j, 7), arg(j, 9), arg(j, 5)
    local await = tonumber(arg(j, 11))
    -- (An id twice in one batch: the second finds the first.)
    local found = (lib.touched(id) or taken > 0) and load(id) or by_key(idem_key, idem)
    local parent = parent_id ~= '' and load(parent_id)
    local parent_token = arg(j, 13)
    -- A spawn from an attempt that no longer holds its parent (a zombie after a lapsed lease).
    local fenced = parent and not terminal(parent.s) and parent_token ~= '' and not lib.holds(parent, parent_token)
    if not found and ck ~= '' and parent and not terminal(parent.s) and not fenced then found = by_key(C.B .. 'ck:' .. parent_id, ck) end
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
      local root = (parent and (present(parent.r) and parent.r or parent_id)) or arg(j, 8)
      -- Defaults are left out: a queued job is usually n, s, ca and i. Built as HSET arguments.
      local w = { 'n', name, 's', status, 'ca', C.NOW_S }
      local function opt(field, value, default)
        if value ~= '' and value ~= default then
          w[#w + 1] = field
          w[#w + 1] = value
        end
      end
      local prio = arg(j, 3)
      opt('i', arg(j, 2))
      opt('p', prio, '0')
      opt('r', root == id and '' or root)
      opt('of', arg(j, 10), 'fail-parent')
      opt('ik', idem)
      opt('fp', arg(j, 6))
      opt('pa', parent_id)
      opt('ck', ck)
      opt('m', arg(j, 12))
      opt('pc', await > 0 and arg(j, 11) or '')
      opt('d', await > 0 and '1' or '')
      opt('ra', delayed and arg(j, 4) or '')
      local key = arg(j, 14)
      opt('gk', key)
      -- Not plain (see `k`, context.lua): a key, meta, or children to wait for.
      if idem ~= '' or arg(j, 12) ~= '' or await > 0 then opt('k', '1') end
      lib.count(status, 1)
      if status == 'queued' then
        -- The usual case: no record (context.lua), and `job.queued` implied (events.lua).
        lib.push_entry(name, id, prio, w, key ~= '' and key or nil)
        w.ev, w.new = 1, true
        lib.fast(id, w)
        lib.signal('e\tq\t' .. id .. '\t1\t' .. name .. '\t' .. parent_id .. '\t' .. (root == id and '' or root) .. '\t\t\t')
      else
        local rec = { _id = id, _w = w, _new = true, _ev = 0 }
        for x = 1, #w, 2 do rec[w[x]] = w[x + 1] end
        C.REC[id] = rec
        lib.dirty(rec)
        if status == 'delayed' then
          lib.zset_add(C.DELAYED, arg(j, 4), id)
          -- Announced too: the claim that follows reports when it falls due.
          C.AVAIL = true
          lib.emit_first(rec, 'd', arg(j, 4))
        else
          lib.emit_first(rec, 'w')
        end
      end
      if idem ~= '' then give_key(idem_key, idem, id) end
      if parent then
        lib.list_add(C.B .. 'c:' .. parent_id, id)
        if ck ~= '' then give_key(C.B .. 'ck:' .. parent_id, ck, id) end
        put(parent, 'cc', lib.num(lib.int(parent.cc) + 1))
        -- A declared parent counted its children up front (awaitChildren).
        if parent.d ~= '1' then put(parent, 'pc', lib.num(lib.int(parent.pc) + 1)) end
      end
      if not names[name] then
        names[name] = true
        lib.set_add(C.NAMES, name)
      end
      out[j] = { 1, status }
    end
  end
  lib.commit()
  return out
end, lib.REFUSE_WHEN_FULL)
