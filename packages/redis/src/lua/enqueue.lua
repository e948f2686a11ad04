-- enqueue: adds a batch of jobs, each refused with QUEUE_FULL past the bound.
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    the bound on queued plus delayed jobs
--   ARGV[7]    '1': all or nothing (refuse the whole batch if the bound cannot take it, or if
--              a job's idempotency key is held by a job of another name or fingerprint)
--   ARGV[8…]   per job a kind, then its fields:
--              'f' (full), 16 fields ('' for absent): id, name, input JSON, priority, runAt,
--                  idempotency key, fingerprint, parent id, root id, child key, on-failure,
--                  awaitChildren (a count), meta JSON, parent token (the spawning attempt's),
--                  flow key (flow.lua), webhook URL (webhook.lua)
--              'P' (a run of plain jobs, every other field at their default, of one name and
--                  priority: most batches' whole content): name, priority, a count (at least 1),
--                  then per job its id and input JSON. Every argument costs Redis (parsing it)
--                  and Lua (a string, a lookup) several hundred instructions: 2 per job here.
--                  (The jobs count one by one below.)
--   Returns per job its status (added: a string, no table per job) | {2, id, status, name,
--   fingerprint} (found by its idempotency key, its child key, or its id: a batch sent again) |
--   {0, code} (refused: QUEUE_FULL, JOB_NOT_FOUND, LEASE_LOST, BATCH_ABORTED); or, when every
--   job was added as queued (most batches), their count alone.
local lib = ...
local C = lib.C
local load, put, terminal, current, present = lib.load, lib.put, lib.terminal, lib.current, lib.present

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

-- A field of a new job's HSET arguments `w`, unless it holds its default.
local function opt(w, field, value, default)
  if value ~= '' and value ~= default then
    local n = #w
    w[n + 1] = field
    w[n + 2] = value
  end
end

-- Checks every job's fields; returns where each job's id is (`at[j]`) and, for a plain job, its
-- name (`plain[j]`), priority (`prios[j]`) and where its input is (`inputs[j]`).
local function check(args)
  lib.check(lib.tonum(args[6]) and (args[7] == '0' or args[7] == '1'), 'limit, atomic')
  local at, plain, prios, inputs, j, o, count = {}, {}, {}, {}, 0, 8, #args
  while o <= count do
    local kind = args[o]
    if kind == 'P' then
      lib.check(o + 3 <= count, 'name, priority, count', j + 1)
      local name, prio, k = args[o + 1], args[o + 2], lib.tonum(args[o + 3])
      lib.check(name ~= '' and lib.tonum(prio) and k and k >= 1 and o + 3 + 2 * k <= count, 'name, priority, count', j + 1)
      o = o + 4
      for _ = 1, k do
        j = j + 1
        lib.check(args[o] ~= '', 'id', j)
        at[j], plain[j], prios[j], inputs[j] = o, name, prio, o + 1
        o = o + 2
      end
    else
      j = j + 1
      lib.check(kind == 'f' and o + 16 <= count, "'P' with a run, or 'f' with 16 fields", j)
      lib.check(args[o + 1] ~= '' and args[o + 2] ~= '', 'id and name', j)
      lib.check(tonumber(args[o + 4]) and (args[o + 5] == '' or tonumber(args[o + 5])), 'priority, runAt', j)
      lib.check(ON_FAILURE[args[o + 11]] and tonumber(args[o + 12]), 'onFailure, awaitChildren', j)
      lib.check(args[o + 14] == '' or tonumber(args[o + 14]), 'parent token', j)
      at[j] = o + 1
      o = o + 17
    end
  end
  return j, at, plain, prios, inputs
end

-- A plain job's fields past its priority (see the header), by field number.
local PLAIN = { [4] = '', [5] = '', [6] = '', [7] = '', [8] = '', [9] = '', [10] = 'fail-parent', [11] = '0', [12] = '', [13] = '', [14] = '', [15] = '' }

lib.register('enqueue', function(keys, args)
  lib.begin(keys, args)
  local n, at, plain, prios, inputs = check(args)
  local LIMIT = lib.tonum(args[6])
  local function arg(j, f)
    local name = plain[j]
    if name then
      if f == 0 then return args[at[j]] end
      if f == 1 then return name end
      if f == 2 then return args[inputs[j]] end
      if f == 3 then return prios[j] end
      return PLAIN[f]
    end
    return args[at[j] + f]
  end
  local idem_key = C.IDEM
  PENDING = {}

  -- Ids already there (a batch sent again after a lost reply) answer as found, not overwritten.
  local ids = {}
  local base = C.B .. 'j:'
  for j = 1, n do ids[j] = base .. args[at[j]] end
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
  -- Jobs added as queued: all of them, and the reply is their count.
  local queued = 0
  local names = {}
  local REC, FAST = C.REC, C.FAST
  -- Room under the bound for plain jobs, kept as they are added (nil: to be read again).
  local room
  -- Plain jobs added, counted once at the end; each name's ready list, taken once.
  local added, lists = 0, {}
  for j = 1, n do
    local new_id = args[at[j]]
    if plain[j] and taken == 0 and REC[new_id] == nil and FAST[new_id] == nil then
      -- The usual case, a plain job with a new id: what the general path below does for it, in
      -- fewer steps (each Lua call and table lookup counts at this rate).
      if not room then room = LIMIT - current('queued') - current('delayed') end
      if room <= 0 then
        out[j] = { 0, 'QUEUE_FULL' }
      else
        room = room - 1
        local name, input, prio = plain[j], args[inputs[j]], prios[j]
        local w = { 'n', name, 's', 'queued', ev = 1, new = true, key = ids[j] }
        if input ~= '' then w[5], w[6] = 'i', input end
        if prio ~= '0' then
          local k = #w
          w[k + 1], w[k + 2] = 'p', prio
        end
        added = added + 1
        -- Its birth, and its place in the listing (listing.lua), sent with the batch's others.
        local seq = lib.index_created(new_id, w)
        if prio == '0' then
          -- (push_entry's usual case, without its calls.)
          local list = lists[name]
          if not list then
            list = lib.plan_list(C.LIST_ADD, lib.lkey(name))
            lists[name] = list
          end
          list[#list + 1] = seq .. ':' .. new_id
          C.AVAIL = true
        else
          lib.push_entry(name, new_id, prio, w, nil, seq)
        end
        lib.fast(new_id, w)
        lib.signal_plain('q', new_id, '1', name)
        if not names[name] then
          names[name] = true
          lib.set_add(C.NAMES, name)
        end
        out[j] = 'queued'
        queued = queued + 1
      end
    else
      room = nil
      -- The bound below reads the counts: the plain jobs before this one are in them.
      if added > 0 then
        lib.count('queued', added)
        added = 0
      end
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
        -- Defaults are left out: a queued job is usually n, s, b and i. Built as HSET arguments.
        -- (`ev` and `new` in the constructor: fields added later make Lua rebuild the table.)
        local w = { 'n', name, 's', status }
        if status == 'queued' then
          w = { 'n', name, 's', status, ev = 1, new = true, key = ids[j] }
        end
        local prio = arg(j, 3)
        opt(w, 'i', arg(j, 2))
        opt(w, 'p', prio, '0')
        if root ~= id then opt(w, 'r', root) end
        opt(w, 'of', arg(j, 10), 'fail-parent')
        opt(w, 'ik', idem)
        opt(w, 'fp', arg(j, 6))
        opt(w, 'pa', parent_id)
        opt(w, 'ck', ck)
        opt(w, 'm', arg(j, 12))
        if await > 0 then
          opt(w, 'pc', arg(j, 11))
          opt(w, 'd', '1')
        end
        if delayed then opt(w, 'ra', arg(j, 4)) end
        local key = arg(j, 14)
        opt(w, 'gk', key)
        opt(w, 'wh', arg(j, 15))
        -- Not plain (see `k`, context.lua): a key, meta, children to wait for, or a webhook.
        if idem ~= '' or arg(j, 12) ~= '' or await > 0 or arg(j, 15) ~= '' then opt(w, 'k', '1') end
        lib.count(status, 1)
        local seq = lib.index_created(id, w)
        if status == 'queued' then
          -- The usual case: no record (context.lua), and `job.queued` implied (events.lua).
          lib.push_entry(name, id, prio, w, key ~= '' and key or nil, seq)
          lib.fast(id, w)
          lib.signal_event('q', id, '1', name, parent_id, root ~= id and root or '')
        else
          local rec = { _id = id, _w = w, _new = true, _ev = 0 }
          for x = 1, #w, 2 do rec[w[x]] = w[x + 1] end
          lib.unpack_birth(rec)
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
        out[j] = status
        if status == 'queued' then queued = queued + 1 end
      end
    end
  end
  if added > 0 then lib.count('queued', added) end
  lib.commit()
  if queued == n then return n end
  return out
end, lib.REFUSE_WHEN_FULL)
