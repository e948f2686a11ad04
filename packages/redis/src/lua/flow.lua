-- Flow control (docs/flow-control.md): fair turns between flow keys, rate limits and push-backs,
-- and a per-key concurrency limit, all held here so they hold whichever node claims. Mirrors the
-- memory store (fair-queue.ts, flow-gates.ts); the conformance suite holds both to it.
--
-- A job with a flow key (field `gk`) waits in its key's queues, `q:<name>\31<key>` (a list) and
-- `p:<name>\31<key>` (a sorted set, other priorities), instead of the name's. The keys of a name
-- that have jobs take turns: `g:<name>` is the list of them in turn order, each once, with ''
-- standing for the name's plain queue (jobs without a key) while any key has jobs; a claim serves
-- the key at the front up to its weight, then moves it to the back (claim.lua). A key joins when
-- its queues were empty; it leaves when a claim finds them empty. A name nobody keys has no
-- `g:<name>`, and its claims read one missing key more than before.
--
-- Gates: a rate limit of `max` per `perMs` is a token bucket kept as one number, GCRA's
-- theoretical arrival time `tat`; a push-back (`ctx.rateLimited`) is a time `until`. A gate is
-- "tat:until": the whole name's in the hash `fl` (field: the name; as many as there are names),
-- one key's in the string `fl:<name>\31<key>`, which expires once it holds nothing back, so keys
-- seen once leave nothing behind. Unkeyed jobs of a name limited per key share the key ''.
--
-- Held counts: `run:<name>` (a hash, field: the key) counts the running jobs of each key of a
-- name with a per-key concurrency limit; a job counted carries its key in `gc` until it stops
-- running (`lib.move`, below).
local lib = ...
local C = lib.C

local SEP = '\31'

function lib.qname(name, key) return name .. SEP .. key end

-- Called by push_ready/push_entry for a keyed job: its key joins the turns when its queues were
-- empty. Returns the queue name (`<name>\31<key>`).
function lib.join(name, key)
  local q = name .. SEP .. key
  local joined = C.JOINED[q]
  if joined == nil then joined = redis.call('EXISTS', lib.lkey(q), lib.zkey(q)) > 0 end
  if not joined then
    local g = C.B .. 'g:' .. name
    if lib.turn_count(name) == 0 then
      -- The plain queue keeps its place in line: it had its jobs before this key came.
      lib.list_add(g, '')
      C.TURNS[name] = 1
    end
    lib.list_add(g, key)
    C.TURNS[name] = C.TURNS[name] + 1
    C.JOINED[q] = true
  end
  return q
end

-- Entries of `g:<name>` once this call's planned writes are done.
function lib.turn_count(name)
  local n = C.TURNS[name]
  if n == nil then
    n = lib.read('LLEN', C.B .. 'g:' .. name) + #(C.LIST_ADD[C.B .. 'g:' .. name] or {})
    C.TURNS[name] = n
  end
  return n
end

-- ---- gates ----------------------------------------------------------------------------------

local function parse_gate(v)
  if not v then return { tat = 0, til = 0 } end
  local tat, til = string.match(v, '^([^:]*):(.*)$')
  return { tat = tonumber(tat) or 0, til = tonumber(til) or 0 }
end

-- A name's gate as the claim read it for all its names at once (HMGET).
function lib.preload_gate(name, v)
  if C.GATES[name] then return end
  local g = parse_gate(v)
  g.name = name
  C.GATES[name] = g
end

-- The gate of a name (key nil) or of one of its keys, read once per call.
local function gate(name, key)
  local id = key and (name .. SEP .. key) or name
  local g = C.GATES[id]
  if g then return g end
  if key then
    g = parse_gate(lib.read('GET', C.B .. 'fl:' .. id))
  else
    g = parse_gate(lib.read('HGET', C.B .. 'fl', name))
  end
  g.name, g.key = name, key
  C.GATES[id] = g
  return g
end
lib.gate = gate

-- When the gate lets its next job go (<= now: now). Whole ms, up, as the memory store.
function lib.gate_ready(g, rate)
  local at = g.til
  if rate then
    local r = math.ceil(g.tat + rate.per / rate.max - rate.per)
    if r > at then at = r end
  end
  return at
end

function lib.gate_take(g, rate)
  g.tat = math.max(g.tat, C.NOW) + rate.per / rate.max
  g.dirty = true
end

function lib.push_back(name, key, til)
  local g = gate(name, key)
  if til > g.til then
    g.til = til
    g.dirty = true
  end
end

-- Planned writes of the gates changed in this call (before commit).
function lib.write_gates()
  for id, g in pairs(C.GATES) do
    if g.dirty then
      local v = lib.num(g.tat) .. ':' .. lib.num(g.til)
      if g.key then
        -- Kept until it holds nothing back (a full bucket is the same as no gate), then a minute.
        local ttl = math.max(g.tat, g.til) - C.NOW
        lib.string_set(C.B .. 'fl:' .. id, v, math.max(math.ceil(ttl), 0) + 60000)
      else
        lib.hash_set(C.B .. 'fl', g.name, v)
      end
    end
  end
end

-- ---- held counts ----------------------------------------------------------------------------

local function running(name, key)
  local id = name .. SEP .. key
  local n = C.RUNNING[id]
  if n == nil then
    n = lib.int(lib.read('HGET', C.B .. 'run:' .. name, key))
    C.RUNNING[id] = n
  end
  return n
end
lib.running = running

function lib.count_running(name, key, d)
  local n = running(name, key) + d
  C.RUNNING[name .. SEP .. key] = n
  if n > 0 then lib.hash_set(C.B .. 'run:' .. name, key, lib.num(n)) else lib.hash_del(C.B .. 'run:' .. name, key) end
end

-- A job counted by its key's concurrency limit stops running: the key's next job may go, on any
-- node (a signal, since no enqueue announces it).
local move = lib.move
function lib.move(rec, to)
  if rec.gc and rec.gc ~= '' and rec.s == 'running' and to ~= 'running' then
    lib.count_running(rec.n, rec.gc, -1)
    lib.unset(rec, 'gc')
    C.AVAIL = true
  end
  move(rec, to)
end

-- ---- the claim's side -----------------------------------------------------------------------

-- Reads the claim's flow entries from args[i] on (claim.lua's header); returns them by name and
-- the index after them. Absent: no flow control.
function lib.parse_flow(args, i)
  local flow = {}
  if not args[i] then return flow, i end
  local nf = tonumber(args[i])
  lib.check(nf, 'a count of flow entries')
  i = i + 1
  for x = 1, nf do
    local f, max, per, nw = {}, args[i + 1], args[i + 2], tonumber(args[i + 5])
    lib.check((max == '' or (tonumber(max) and tonumber(max) > 0 and tonumber(per) and tonumber(per) > 0)) and nw, 'a flow entry', x)
    if max ~= '' then f.rate = { max = tonumber(max), per = tonumber(per), per_key = args[i + 3] == '1' } end
    if args[i + 4] ~= '' then
      f.conc = tonumber(args[i + 4])
      lib.check(f.conc, 'a concurrency per key', x)
    end
    if nw > 0 then
      f.weights = {}
      for k = 1, nw do
        local key, weight = args[i + 4 + k * 2], tonumber(args[i + 5 + k * 2])
        lib.check(weight, 'a weight', x)
        f.weights[key] = weight
      end
    end
    flow[args[i]] = f
    i = i + 6 + nw * 2
  end
  return flow, i
end

-- What one claim checks: whether a name may hand out a job now (its gate: a rate limit for the
-- whole name, a push-back), whether one of its keys may (the key's gate, its concurrency limit),
-- and, for a job handed out, a token of each rate limit and a place under its key's limit. Every
-- name's gate is read with one HMGET; a key's only when the name is limited per key.
function lib.claim_gates(flow, names)
  if #names > 0 then
    local values = lib.read('HMGET', C.B .. 'fl', unpack(names))
    for x, name in ipairs(names) do lib.preload_gate(name, values[x]) end
  end
  local held_until
  local function held_back(at)
    if not held_until or at < held_until then held_until = at end
  end
  local gates = {}
  function gates.name_open(name)
    local rate = flow[name] and flow[name].rate
    local at = lib.gate_ready(gate(name, nil), rate and not rate.per_key and rate or nil)
    if at <= C.NOW then return true end
    held_back(at)
    return false
  end
  function gates.key_blocked(name, key)
    local f = flow[name]
    if not f then return false end
    if f.conc and key and running(name, key) >= f.conc then return true end
    local rate = f.rate
    if not (rate and rate.per_key) then return false end
    -- Unkeyed jobs of a name limited per key share the key ''.
    local at = lib.gate_ready(gate(name, key or ''), rate)
    if at <= C.NOW then return false end
    held_back(at)
    return true
  end
  -- The job then carries its key in `gc` until it stops running (lib.move); a job handed out by
  -- the claim's fast path has its changes in `C.FAST` and no record.
  function gates.pass(name, key, id, rec)
    local f = flow[name]
    if not f then return end
    local rate = f.rate
    if rate then lib.gate_take(gate(name, rate.per_key and (key or '') or nil), rate) end
    if f.conc and key then
      lib.count_running(name, key, 1)
      if rec then
        lib.put(rec, 'gc', key)
      else
        local w = C.FAST[id]
        local n = #w
        w[n + 1], w[n + 2], w[n + 3], w[n + 4] = 'gc', key, 'k', '1'
      end
    end
  end
  function gates.held_until() return held_until end
  return gates
end
