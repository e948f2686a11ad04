-- claim: hands out ready jobs under a lease. Before that it moves delayed jobs that fell due to
-- their queues and takes back jobs whose lease ran out (their owner died or stalled); after, it
-- does cascade work and retention.
--   KEYS[1]    the store's key prefix     ARGV[1…5] the common arguments (context.lua)
--   ARGV[6]    owner (the claiming node)   ARGV[7] max jobs   ARGV[8] lease ms
--   ARGV[9]    a count of job names (-1: all names), then the names
--   then       a count of capacity entries, then (name, capacity) pairs
--   then       optionally, a count of lost claims of this owner (late.lua), then per claim its
--              now, its lease expiry, a count of ids to keep, the ids
--   then       optionally, a count of job names under flow control (flow.lua), then per name:
--              name, rate max ('' for none), rate per ms, '1' when the rate holds per key,
--              concurrency per key ('' for none), a count of weights, then (key, weight) pairs
--   Returns {jobs, nextRunAt, pending}: jobs flat, 10 values each (id, token, name, input,
--   attempt, priority, parentId, rootId, createdAt, meta: a table per job would cost Lua one
--   more allocation, and the reply one more level; createdAt may be followed by a tab and the
--   job's seq: its birth `b` handed on as stored, context.lua), or 5 for a job on its first
--   attempt with everything else at its default (priority 0, no parent, its own root, no meta:
--   most jobs), its token negated to say so (id, -token, name, input, createdAt); nextRunAt ''
--   when nothing is delayed;
--   pending, the cascade items left for later calls.
local lib = ...
local C = lib.C
local load, put, int, present, held_status = lib.load, lib.put, lib.int, lib.present, lib.held_status
local head, take = lib.head, lib.take

-- Queue entries that turn out stale (their job left the queue early) skipped per call at most:
-- each costs a read (1,000: about 5 ms), and a cancelled 100,000-child tree leaves as many
-- behind. A claim that stopped at the bound by stale entries asks to be called again at once
-- (nextRunAt: now) rather than at its node's next poll.
local MAX_SKIPPED = 1000

-- A claimed job's 10 values (see the header), appended to the flat reply.
local function row(out, id, token, name, input, attempt, priority, parent, root, created, meta)
  local n = #out
  out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5] = id, token, name, input, attempt
  out[n + 6], out[n + 7], out[n + 8], out[n + 9], out[n + 10] = priority, parent, root, created, meta
end

-- The usual case: a queued job on its first attempt, untouched so far in this call, with nothing
-- stored about it but its fields (no events, no stalls). One read, its changes in one table, no
-- record (see context.lua). Returns true (handed out), false (a stale entry, skipped) or nil
-- (the general path decides).
local function hand_out_fast(id, name, src, from, entry, la, owner, out)
  local key = C.B .. 'j:' .. id
  local v = redis.call('HGETALL', key)
  local s, b, a, t, i, p, pa, r, ca, m, other
  for x = 1, #v, 2 do
    local f, value = v[x], v[x + 1]
    if f == 's' then s = value
    elseif f == 'i' then i = value
    elseif f == 'b' then b = value
    elseif f == 'n' then name = value
    elseif f == 'ca' then ca = value
    elseif f == 'a' then a = value
    elseif f == 't' then t = value
    elseif f == 'p' then p = value
    elseif f == 'pa' then pa = value
    elseif f == 'r' then r = value
    elseif f == 'm' then m = value
    elseif f == 'es' or f == 'st' or f == 'ra' or f == 'k' then other = true end
  end
  if s ~= 'queued' then
    take(src, from, entry, nil, true)
    return false
  end
  if other or (a and a ~= '0') then return nil end
  take(src, from, entry)
  local tn = t and int(t) or 0
  local token = lib.succ(tn)
  -- `ev` in the constructor: a field added afterwards makes Lua rebuild the table.
  local w = { 's', 'running', 'a', '1', 't', token, 'ow', owner, 'sa', C.NOW_S, ev = 2, key = key }
  lib.fast(id, w)
  -- (Counted by the caller: `lib.count` per job is two calls and four lookups.)
  local leases = C.LEASES_ADD
  if not leases then
    leases = lib.plan_list(C.ZSET_ADD, C.LEASES)
    C.LEASES_ADD = leases
  end
  local nl = #leases
  leases[nl + 1], leases[nl + 2] = la, id
  -- Its `job.started` is implied (events.lua): published, not stored.
  local related = present(pa) or present(r)
  if related then lib.signal_event('s', id, '2', name, pa, r, '1') else lib.signal_plain('s', id, '2', name, '1') end
  local n = #out
  if (p == nil or p == '0') and not related and not present(m) then
    -- The short row (see the header): every value left out costs Redis a conversion and the node
    -- a parse.
    out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5] = id, -(tn + 1), name, i or '', b or ca or ''
  else
    out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5] = id, tn + 1, name, i or '', 1
    out[n + 6], out[n + 7], out[n + 8], out[n + 9], out[n + 10] = p or '0', pa or '', r or id, b or ca or '', m or ''
  end
  return true
end

lib.register('claim', function(keys, args)
  lib.begin(keys, args)
  local tonum = lib.tonum
  local OWNER, MAX, LEASE = args[6], tonum(args[7]), tonum(args[8])
  lib.check(OWNER and OWNER ~= '' and MAX and MAX >= 0 and LEASE and LEASE > 0, 'owner, max, leaseMs')
  local nn = tonum(args[9])
  lib.check(nn, 'a count of names')
  local names, i = {}, 10
  if nn < 0 then
    names = lib.read('SMEMBERS', C.NAMES)
  else
    for x = 1, nn do names[x] = args[i]; i = i + 1 end
  end
  local cap, nc = {}, tonum(args[i])
  lib.check(nc and #args >= i + nc * 2, 'capacity pairs')
  i = i + 1
  for _ = 1, nc do
    cap[args[i]] = tonum(args[i + 1])
    lib.check(cap[args[i]], 'a capacity')
    i = i + 2
  end
  local lost, nl = {}, 0
  if args[i] then
    nl = tonum(args[i])
    lib.check(nl, 'a count of lost claims')
    i = i + 1
  end
  for x = 1, nl do
    local claim = { at = tonumber(args[i]), la = tonumber(args[i + 1]), keep = {} }
    local nk = tonumber(args[i + 2])
    lib.check(claim.at and claim.la and nk, 'a lost claim', x)
    for k = 1, nk do claim.keep[args[i + 2 + k]] = true end
    lost[x] = claim
    i = i + 3 + nk
  end
  local flow
  flow, i = lib.parse_flow(args, i)
  lib.check(#args == i - 1, 'nothing after the flow entries')
  lib.fresh(LEASE)

  lib.release_lost(OWNER, lost)

  -- Each bounded per call; what is left, the next claim (nextRunAt: now) takes on.
  local due = lib.promote_due()
  local lapsed = lib.expire_leases()

  local out = {}
  local la = lib.num(C.NOW + LEASE)
  -- A job one lease loss away from quarantine is a suspect: it may be what takes its node down (a
  -- crash, an event loop blocked past the lease), or only a neighbour that went down with it
  -- before. A node holds at most one suspect at a time, so a culprit and the neighbours it already
  -- took down twice are never run side by side a third time, which would quarantine them all.
  -- Jobs that lost their lease once (every job of a node that simply died) are not held back, so
  -- a dead node's work recovers in parallel. A suspect left behind is claimed by another node or
  -- by this one shortly (nextRunAt), never by a storm of work.available signals.
  local SUSPECT_AT = math.max(1, C.MAXST - 1)
  local suspect_key = C.B .. 'suspect:' .. OWNER
  local suspect_out, suspect_id, deferred = false, nil, 0
  do
    local held_id = lib.read('GET', suspect_key)
    local r = held_id and load(held_id)
    if r and r.ow == OWNER and held_status(r.s) then suspect_out = true end
  end

  -- The names with something to hand out. A paused name (schedule.lua) is left out: its jobs
  -- stay queued. So is a name with empty queues, before anything else is read about it: a node
  -- that runs many names (the quickstart: 13) finds most of them empty at every claim, and each
  -- one kept would cost its reads and a turn at every job handed out (measured at claims of 50
  -- over 13 names, one with work: +39k instructions per job, a sixth of a job's Redis cost).
  local live = {}
  if MAX > 0 then
    local paused = {}
    for _, name in ipairs(lib.read('SMEMBERS', C.B .. 'paused')) do paused[name] = true end
    for _, name in ipairs(names) do
      local c = cap[name]
      if (c == nil or c > 0) and not paused[name] and lib.claim_sources.any(name) then live[#live + 1] = name end
    end
  end

  -- Flow control (flow.lua): the names' gates, read at once; what holds a name or a key back.
  local gates = lib.claim_gates(flow, live)
  local open = {}

  -- Several names: merge the heads of their queues, highest priority first, then oldest. A name
  -- whose keys take turns offers one head, its turn's (fair.lua).
  local sources = {}
  for _, name in ipairs(live) do
    local window = math.min(math.max(math.min(MAX, cap[name] or MAX), 8), 1000)
    local f = flow[name]
    local weights = f and f.weights
    local fair = lib.fair_source(name, window, lib.claim_sources, function(key) return gates.key_blocked(name, key) end, weights)
    if fair then
      sources[#sources + 1] = fair
    else
      local list, zset = lib.claim_sources.list(name, window), lib.claim_sources.zset(name, window)
      list.name, zset.name = name, name
      -- (Nothing joins a ready queue once the hand-out loop starts: an empty one is left out.)
      if #list.items > 0 or #list.pending > 0 then sources[#sources + 1] = list end
      -- Most queues have no prioritised jobs at all.
      if #zset.items > 0 or #zset.added > 0 then sources[#sources + 1] = zset end
    end
  end
  -- (A fair source merges its keys' queues itself.)
  lib.merging(#sources > 1 or (sources[1] ~= nil and sources[1].kind == 'f'))
  -- Jobs handed out by the fast path and by the general one.
  local skipped, fast_n, slow_n = 0, 0, 0
  C.LEASES_ADD = nil
  while fast_n + slow_n < MAX and skipped < MAX_SKIPPED do
    local best, best_from, best_src
    for s = 1, #sources do
      local src = sources[s]
      local c = cap[src.name]
      local o = open[src.name]
      if o == nil then
        o = gates.name_open(src.name) and (src.kind == 'f' or not gates.key_blocked(src.name, nil))
        open[src.name] = o
      end
      if (c == nil or c > 0) and o then
        local h, from = head(src)
        if h and (not best or h[1] < best[1] or (h[1] == best[1] and h[2] < best[2])) then
          best, best_from, best_src = h, from, src
        end
      end
    end
    if not best then break end
    local id, name = best[3], best_src.name
    local key = best_src.kind == 'f' and lib.fair_key(best_src) or nil
    local fast
    if not lib.touched(id) then fast = hand_out_fast(id, name, best_src, best_from, best, la, OWNER, out) end
    if fast then
      fast_n = fast_n + 1
      if cap[name] then cap[name] = cap[name] - 1 end
      if flow[name] then
        gates.pass(name, key, id, nil)
        open[name] = nil
      end
    elseif fast == false then
      skipped = skipped + 1
    else
      local rec = load(id)
      if not rec or rec.s ~= 'queued' then
        take(best_src, best_from, best, nil, true)
        skipped = skipped + 1
      elseif int(rec.st) >= SUSPECT_AT and suspect_out then
        take(best_src, best_from, best, true)
        deferred = deferred + 1
        skipped = skipped + 1
      else
        take(best_src, best_from, best)
        if int(rec.st) >= SUSPECT_AT then
          suspect_out = true
          suspect_id = id
        end
        if cap[name] then cap[name] = cap[name] - 1 end
        if flow[name] then
          gates.pass(name, key, id, rec)
          open[name] = nil
        end
        local attempt_n, token_n = int(rec.a) + 1, int(rec.t) + 1
        local attempt = lib.succ(attempt_n - 1)
        lib.emit(rec, 's', attempt)
        lib.count('queued', -1)
        lib.count('running', 1)
        put(rec, 's', 'running')
        put(rec, 'a', attempt)
        put(rec, 't', lib.succ(token_n - 1))
        put(rec, 'ow', OWNER)
        put(rec, 'sa', C.NOW_S)
        if present(rec.ra) then put(rec, 'ra', '') end
        lib.zset_add(C.LEASES, la, id)
        slow_n = slow_n + 1
        row(out, id, token_n, name, rec.i or '', attempt_n, rec.p or '0', rec.pa or '', present(rec.r) and rec.r or id, rec.b or rec.ca or '', rec.m or '')
      end
    end
  end
  lib.settle_sources(sources)
  if fast_n > 0 then
    lib.count('queued', -fast_n)
    lib.count('running', fast_n)
  end
  -- Remembered per owner; it is checked against the job's owner and state, and expires on its own
  -- so that node ids of processes long gone leave nothing behind.
  if suspect_id then lib.string_set(suspect_key, suspect_id, math.max(LEASE * 10, 60000)) end

  local nxt
  -- (Stale entries are popped as they are skipped, so calling again moves on; deferred suspects
  -- stay where they are, so a claim stopped by them waits a little instead, below.)
  if due == lib.BUDGET or lapsed == lib.BUDGET or (skipped >= MAX_SKIPPED and deferred == 0) then
    nxt = C.NOW_S
  elseif C.NEXT_DUE ~= nil then
    nxt = C.NEXT_DUE or nil
  else
    nxt = lib.read('ZRANGEBYSCORE', C.DELAYED, '(' .. C.NOW_S, '+inf', 'WITHSCORES', 'LIMIT', '0', '1')[2]
  end
  if deferred > 0 and (not nxt or tonumber(nxt) > C.NOW + 250) then nxt = lib.num(C.NOW + 250) end
  -- Held back by a rate limit or a push-back: the node wakes when the gate opens.
  local held_until = gates.held_until()
  if held_until and (not nxt or held_until < tonumber(nxt)) then nxt = lib.num(held_until) end

  lib.run_work()
  lib.trim_retention()
  lib.run_work()
  return { out, nxt or '', lib.commit() }
end, lib.RUN_WHEN_FULL)
