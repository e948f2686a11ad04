-- The context of one call, and jobs as cached records.
--
-- Every function works in three steps: it checks its arguments, it reads and decides (records
-- are read once, `load`, and changed in Lua tables, `put`), and only then does `commit`
-- (commit.lua) check the type of every key it is about to write and write them all. Redis does
-- not roll back a function that fails halfway, so nothing that can fail comes after the first
-- write. Reading each job once and writing it once is also what keeps a call cheap: each command
-- costs a few microseconds, and those bound throughput.
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
-- Job hash fields, short since a million queued jobs each carry them, and left out when they
-- hold their default (so a queued job is n, s, b and usually i): n name, s status, i input,
-- b its birth, '<created at>\t<seq>' (one field for two: each field of a hash costs every HSET,
-- HGETALL and listpack scan of the job's life ~7k instructions; listing.lua),
-- p priority (0), sa/fa started/finished at, ra run at, pg progress, o output,
-- e error, pa parent, r root (the job itself), ck child key, of on-failure ('fail-parent'),
-- cc/pc child count/pending (0), ik idempotency key, fp fingerprint, m meta, d declared,
-- sq ready-order seq (prioritised jobs), gk flow key, wh webhook URL (webhook.lua), gc the key a concurrency limit counts it
-- under while it runs (flow.lua), a attempt (0), t token (0), ow owner (its lease expiry is its
-- score in {p}:leases, nowhere else), cs the seq it was created with (its place in the listing,
-- listing.lua),
-- cr cancel reason, st stalls (0), es the seq of the last stored event (absent: implied; the
-- stored events are the hash `{p}:ev:<id>`, see events.lua), df/dfo/dfe the outcome of a parent
-- held back until its last child settles. JSON fields hold the JSON text Node produced; an empty field is the same
-- as an absent one. A job created by a version of the library before `b` has ca (created at) and
-- cs (seq) as fields of their own instead: every reader takes either (`load` unpacks `b` into
-- them). A job is held (by the node named in `ow`) while its status is running or
-- waitingChildren and `ow` is set.
local lib = ...

-- The call under way. Library-level state outlives a call, so `begin` resets every field.
local C = {}
lib.C = C

-- A call's working tables, reset by `begin`: records read (REC; false: known absent) and changed
-- (DIRTY); keys whose type a read already proved (TYPED); jobs the hot paths changed (FAST,
-- FASTLIST); queue keys by name (QKEYS); status count deltas (DELTA); grouped event lines
-- (events.lua: pieces by code and name, and where each goes); writes planned for commit (ready
-- queues, delayed, leases, roots, hashes, sets, dropped keys, strings); flow control (flow.lua:
-- keys known to be in their name's turns, turn counts, gates, held counts); listing buckets
-- (listing.lua) the call adds to and takes jobs out of; cascade work still to do (work.lua);
-- where the signal message is cut (SIG_CUTS, events.lua).
-- A table costs Lua more to make than to use (an allocation, then the collector's share of it:
-- ~1,200 instructions, and a call needs 26), so one the last call left empty is kept, and one it
-- used is replaced (not emptied: a table keeps the size it grew to, and walking a big empty one
-- costs as much as a full one).
local TABLES = {
  'REC', 'DIRTY', 'TYPED', 'FAST', 'FASTLIST', 'QKEYS', 'DELTA', 'GROUPS', 'GROUP_AT',
  'LIST_ADD', 'LIST_POP', 'LIST_BACK', 'ZSET_ADD', 'ZSET_REM', 'HASH', 'SET_ADD', 'DROP', 'STRING_SET',
  'JOINED', 'TURNS', 'GATES', 'RUNNING', 'BUCKET_ADD', 'BUCKET_REM', 'BUCKET_DROP', 'WORK', 'SIG_CUTS',
}
-- (A numeric loop: ipairs, like the string library, is not there while the library loads.)
for i = 1, #TABLES do C[TABLES[i]] = {} end

function lib.begin(keys, args)
  local B = keys[1]
  -- The store's own keys, named once (again when a call is for another store).
  if C.B ~= B then
    C.B = B
    C.LEASES, C.ROOTS, C.DELAYED, C.IDEM, C.COUNTS = B .. 'leases', B .. 'roots', B .. 'delayed', B .. 'idem', B .. 'counts'
    C.WORKKEY, C.NAMES, C.SIGNALS = B .. 'work', B .. 'names', B .. 'signals'
    C.LISTING = B .. 'listing'
  end
  C.NOW_S = args[1]
  C.NOW = tonumber(args[1])
  C.EVN = lib.tonum(args[2])
  C.RCOUNT = lib.tonum(args[3])
  C.RAGE = lib.tonum(args[4])
  C.MAXST = lib.tonum(args[5])
  lib.check(C.NOW and C.EVN and C.RCOUNT and C.RAGE and C.MAXST and type(C.B) == 'string', 'the common arguments')
  for i = 1, #TABLES do
    local name = TABLES[i]
    if next(C[name]) ~= nil then C[name] = {} end
  end
  -- The message to publish, as pieces joined once at commit (see lib.signal, events.lua): the
  -- time of the call, then each signal line after a '\n'; the line of jobs leaving retention;
  -- the bytes counted since the last cut (lib.signal_event).
  C.SIG, C.DROPPED, C.SIG_BYTES = { C.NOW_S }, nil, 0
  -- The counts read for the queue bound; the last seq taken.
  C.BASE, C.SEQ = nil, nil
  -- Whether the call made work available (a `w` signal).
  C.AVAIL = false
  C.WORK_HEAD, C.BUDGET = 1, lib.BUDGET
end

-- Units of work a call may do in cascades and retention (work.lua); a unit is about one job
-- read and written, so a call stays within a few milliseconds however big the tree.
lib.BUDGET = 200
lib.BUDGET_S = '200'

-- The leases (`{p}:leases`: running jobs scored by when their lease runs out) are written twice a
-- job, once by its claim and once by its settle. Kept as a listpack (Redis' encoding of a sorted
-- set up to 128 members of up to 64 bytes, so any node with fewer jobs running), each of those
-- writes scans every member: 12k instructions a job at 50 running (bench/redis-callgrind.ts,
-- callgrind_annotate: zzlFind, zzlInsert). This member, longer than 64 bytes, makes it a skip list
-- for good (a write then costs a lookup), and keeps the key from going with its last lease. It
-- is scored +inf, so no lapse scan (-inf to now) finds it; readers of the earliest lease exclude
-- it ('(+inf'); a tab keeps it from being a job id.
lib.LEASE_ANCHOR = 'anchor\tkeeps this sorted set a skip list, whose writes cost a lookup, not a scan (context.lua)'

function lib.jk(id) return C.B .. 'j:' .. id end
function lib.evk(id) return C.B .. 'ev:' .. id end
function lib.js(s) return cjson.encode(s) end
function lib.present(v) return v and v ~= '' end
function lib.terminal(s) return s == 'completed' or s == 'failed' or s == 'cancelled' end
function lib.held_status(s) return s == 'running' or s == 'waitingChildren' end
function lib.int(v) if not v or v == '' then return 0 end return tonumber(v) end

-- n + 1 as a string, for the small counters (attempts, tokens, event seqs) that are nearly
-- always below 100: a lookup instead of a number format, which costs Lua ~2,000 instructions.
local SUCC = {}
for i = 0, 98 do SUCC[i] = false end
function lib.succ(n)
  local s = SUCC[n]
  if s then return s end
  s = string.format('%d', n + 1)
  if n >= 0 and n < 99 then SUCC[n] = s end
  return s
end

-- A number passed to redis.call costs Redis a '%.17g' format (several thousand instructions:
-- Redis 7.0 turns each into a string with snprintf), a string nothing. Small counts and offsets
-- (ranges, LIMITs) go as strings from this cache instead.
local INTS = {}
function lib.int_s(n)
  local s = INTS[n]
  if s then return s end
  s = string.format('%d', n)
  if n >= -1 and n <= 4096 then INTS[n] = s end
  return s
end

-- tonumber of an argument that repeats from call to call (the common arguments, counts, tokens,
-- priorities): Lua parses with strtod, ~2,000 instructions for a long number, and a lookup of the
-- (interned) string costs a tenth of that. The first 1,000 distinct strings are kept; the clock
-- and other one-off values would only fill the cache, so they go to tonumber directly.
local NUMS, NUMS_N = {}, 0
function lib.tonum(s)
  local n = NUMS[s]
  if n then return n end
  n = tonumber(s)
  if n and NUMS_N < 1000 then
    NUMS[s] = n
    NUMS_N = NUMS_N + 1
  end
  return n
end

-- Numbers as Redis and the readers want them. Integers go through '%d': Lua's own number to
-- string conversion is a float format ('%.14g'), several times slower, and Redis applies it to
-- every number passed to redis.call.
function lib.num(x)
  if x == math.floor(x) then return string.format('%d', x) end
  return string.format('%.17g', x)
end

-- A read whose key is then known to have the type the command needs (else it fails here,
-- before any write).
function lib.read(cmd, key, ...)
  local reply = redis.call(cmd, key, ...)
  C.TYPED[key] = true
  return reply
end

-- Fields whose presence makes a job more than plain (see `k`): children, a key, meta, stored
-- events (an error is stored only with an event, except the final one).
local MARKS = { cc = true, pc = true, ik = true, m = true, es = true, df = true, d = true, gc = true }
lib.MARKS = MARKS

-- One read per job per call (HGETALL: defaults are left out and events live apart, so a job has
-- few fields); every later change goes to the cached table: the record, the job's fields,
-- `_w` its changes as HSET arguments, `_del` fields to remove, `_ev` its event count.
-- A job the hot paths touched (`fast`) has its changes in C.FAST and no record yet; loading it
-- makes one that carries on with the same changes.
function lib.load(id)
  local rec = C.REC[id]
  if rec ~= nil then return rec end
  local v = redis.call('HGETALL', C.B .. 'j:' .. id)
  local w = C.FAST[id]
  if #v == 0 and not w then
    C.REC[id] = false
    return false
  end
  rec = { _id = id }
  for x = 1, #v, 2 do rec[v[x]] = v[x + 1] end
  rec._ev = lib.event_count(rec)
  if w then
    for x = 1, #w, 2 do rec[w[x]] = w[x + 1] end
    rec._w, rec._ev, rec._new = w, w.ev or rec._ev, w.new
    C.FAST[id] = nil
    C.DIRTY[#C.DIRTY + 1] = rec
    rec._dirty = true
  end
  if rec.b then lib.unpack_birth(rec) end
  C.REC[id] = rec
  return rec
end

-- The hot paths (a claim handing out a plain job, a settle completing one, an enqueue) read
-- only the fields they decide on and build the job's changes as one HSET argument list `w`
-- (with `w.ev` its event count after them, and `w.key` its key when the path had it at hand:
-- each `..` makes a new string): no record table, which costs Lua more than the
-- commands themselves. Whether the job was touched already: then the general path decides.
function lib.touched(id) return C.REC[id] ~= nil or C.FAST[id] ~= nil end
function lib.fast(id, w)
  C.FAST[id] = w
  local list = C.FASTLIST
  list[#list + 1] = id
end

local function dirty(rec)
  if not rec._dirty then
    rec._dirty = true
    local list = C.DIRTY
    list[#list + 1] = rec
  end
end
lib.dirty = dirty

-- Changes a field. The changes of a record are kept as the HSET arguments commit sends (a field
-- changed twice is sent twice; the last wins); a removal after them goes out as an HDEL.
-- `k` marks a job that is not plain — it has or had children, a key, meta, stored events — so
-- the hot paths, which read `k` among few fields, know to leave it to the general path, and a
-- plain root leaves retention without a read.
function lib.put(rec, field, value)
  rec[field] = value
  local w = rec._w
  if not w then
    w = {}
    rec._w = w
  end
  w[#w + 1] = field
  w[#w + 1] = value
  if MARKS[field] and not rec.k then
    rec.k = '1'
    w[#w + 1] = 'k'
    w[#w + 1] = '1'
  end
  local del = rec._del
  if del then del[field] = nil end
  dirty(rec)
end

-- Removes a field (back to its default).
function lib.unset(rec, field)
  rec[field] = nil
  local del = rec._del
  if not del then
    del = {}
    rec._del = del
  end
  del[field] = true
  dirty(rec)
end

-- Status counts change in many places per call; they are summed here and written once.
function lib.count(status, d) C.DELTA[status] = (C.DELTA[status] or 0) + d end

function lib.current(status)
  if not C.BASE then
    local v = lib.read('HMGET', C.COUNTS, 'queued', 'delayed', 'seq', 'lx')
    C.BASE = { queued = lib.int(v[1]), delayed = lib.int(v[2]), seq = lib.int(v[3]), lx = v[4] == '1' }
  end
  return C.BASE[status] + (C.DELTA[status] or 0)
end

-- Whether the store keeps the listing index (listing.lua): from the first `list` on.
function lib.listing_on()
  if not C.BASE then lib.current('seq') end
  return C.BASE.lx
end

-- The next ready-order seq, as a string.
function lib.next_seq()
  if not C.SEQ then C.SEQ = lib.current('seq') end
  C.SEQ = C.SEQ + 1
  return string.format('%d', C.SEQ)
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

-- Function names are global on a server, so each carries the library's (versioned) name. An
-- argument check that fails raises before anything was written.
function lib.register(name, callback, flags)
  redis.register_function({ function_name = lib.name .. '_' .. name, callback = callback, flags = flags })
end

-- Refuses a call whose arguments are not what the function's header says (before any write).
-- `item` numbers the batch entry at fault; the message is built only on failure.
function lib.check(ok, what, item)
  if not ok then error({ err = 'ERR bad arguments: ' .. (item and ('entry ' .. item .. ': ') or '') .. what }) end
end
