-- Job events. Each is published as one compact line (the subscriber builds the event object:
-- signal-lines.ts), and kept as JSON in the hash `{p}:ev:<id>`, field <seq>, for readers that
-- resume (apart from the job's own hash, which every transition reads whole) — except
-- the three almost every job has (queued, started, its end): the record already says when it was
-- created, started and finished and how it ended, so those stay implied (counted, not stored) and
-- readers rebuild them (job-events.ts). The first event the record cannot explain (a retry, a
-- wait for children, progress) writes the implied ones out first. Without `es` a job's events
-- are implied and their count follows from its state: queued 1, running 2, ended 3.
--
-- A line is tab-separated: `e`, a code, id, seq, name, parent ('' none), root ('' the job
-- itself), then the code's own fields. Codes: q queued, d delayed (runAt), s started (attempt),
-- p / P progress while running / waiting (JSON), w waiting, u resumed (attempt: a parent that
-- waited runs on), r / R retrying into queued / delayed
-- (attempt, runAt, error JSON), l released, c completed (output JSON), f failed (error JSON),
-- x cancelled (error JSON). Ids, names and JSON never contain a tab or a newline.
local lib = ...
local C = lib.C
local present, put = lib.present, lib.put

local TYPES = {
  q = { 'job.queued', 'queued' }, d = { 'job.delayed', 'delayed' }, s = { 'job.started', 'running' },
  p = { 'job.progress', 'running' }, P = { 'job.progress', 'waitingChildren' }, w = { 'job.waiting', 'waitingChildren' },
  u = { 'job.resumed', 'running' },
  r = { 'job.retrying', 'queued' }, R = { 'job.retrying', 'delayed' }, l = { 'job.released', 'queued' },
  c = { 'job.completed', 'completed' }, f = { 'job.failed', 'failed' }, x = { 'job.cancelled', 'cancelled' },
}

-- The JSON a stored event holds; keys in the order signal-lines.ts builds them.
local function event_json(rec, seq, at, code, a, b, c)
  local t = TYPES[code]
  local extra = ''
  if code == 'd' then extra = ',"runAt":' .. a
  elseif code == 's' or code == 'u' then extra = ',"attempt":' .. a
  elseif code == 'p' or code == 'P' then extra = present(a) and (',"progress":' .. a) or ''
  elseif code == 'r' or code == 'R' then extra = ',"attempt":' .. a .. ',"runAt":' .. b .. ',"error":' .. c
  elseif code == 'c' then extra = present(a) and (',"output":' .. a) or ''
  elseif code == 'f' or code == 'x' then extra = ',"error":' .. a end
  return '{"type":"' .. t[1] .. '","status":"' .. t[2] .. '"' .. extra .. ',"id":"' .. rec._id .. '","name":"' .. rec.n ..
    '","seq":' .. seq .. ',"at":' .. at .. (present(rec.pa) and (',"parentId":"' .. rec.pa .. '"') or '') ..
    ',"rootId":"' .. (present(rec.r) and rec.r or rec._id) .. '"}'
end

-- How many events a job has had, from its record as read (`load` keeps it in `_ev`, since the
-- call may change the status the implied count follows from).
function lib.event_count(rec)
  if present(rec.es) then return tonumber(rec.es) end
  if rec.s == 'queued' then return 1 elseif rec.s == 'running' then return 2 end
  return 3
end

-- Whether an event the record explains on its own follows `count` implied ones (and is among
-- the events kept at all).
local function implied(count, code, a)
  if count >= C.EVN then return false end
  return (count == 1 and code == 's' and a == '1') or (count == 2 and (code == 'c' or code == 'f' or code == 'x'))
end

-- Records an event of `rec`: `a`, `b`, `c` are the code's own fields (see the header).
function lib.emit(rec, code, a, b, c)
  local count = rec._ev
  local seq = count + 1
  rec._ev = seq
  local seq_s = string.format('%d', seq)
  lib.signal_event(code, rec._id, seq_s, rec.n, rec.pa, rec.r, a, b, c)
  if not present(rec.es) and implied(count, code, a) then return end
  local oldest = seq - C.EVN
  local key = lib.evk(rec._id)
  if not present(rec.es) then
    -- The story so far was implied; the record will not explain it once this event changes it.
    if oldest < 1 then lib.hash_set(key, '1', event_json(rec, '1', rec.ca, 'q')) end
    if count >= 2 and oldest < 2 then lib.hash_set(key, '2', event_json(rec, '2', rec.sa, 's', '1')) end
  elseif oldest >= 1 then
    lib.hash_del(key, string.format('%d', oldest))
  end
  put(rec, 'es', seq_s)
  lib.hash_set(key, seq_s, event_json(rec, seq_s, C.NOW_S, code, a, b, c))
end

-- The first event of a job created by this call (not the implied `job.queued`).
function lib.emit_first(rec, code, a)
  rec._ev = 1
  lib.signal_event(code, rec._id, '1', rec.n, rec.pa, rec.r, a)
  if code == 'q' then return end
  put(rec, 'es', '1')
  lib.hash_set(lib.evk(rec._id), '1', event_json(rec, '1', C.NOW_S, code, a))
end

-- A signal line. The message is kept as pieces, joined once at commit: a line built with `..`
-- is a new Lua string (allocated, hashed, interned, collected) only to be copied again.
function lib.signal(line)
  local S = C.SIG
  local n = #S
  S[n + 1] = '\n'
  S[n + 2] = line
end

-- Each code's line start (a table literal: the string library is not there while the library
-- loads); a code missing here is joined on the spot.
local CODES = {
  q = '\ne\tq\t', d = '\ne\td\t', s = '\ne\ts\t', u = '\ne\tu\t', p = '\ne\tp\t', P = '\ne\tP\t',
  w = '\ne\tw\t', r = '\ne\tr\t', R = '\ne\tR\t', l = '\ne\tl\t', c = '\ne\tc\t', f = '\ne\tf\t',
  x = '\ne\tx\t',
}

-- A shared line's place among this call's signals: an empty piece now, the line itself when the
-- call commits (commit.lua joins each GROUP_AT entry into its place), so it stays where its first
-- event was.
-- `first`: the group's first piece of its line (commit.lua).
local function hold_place(g, first)
  local S = C.SIG
  local at = #S + 1
  S[at] = ''
  C.GROUP_AT[#C.GROUP_AT + 1] = { at, g, first }
end

-- The usual events of plain roots (no parent, root itself, no b or c) share a line per code and
-- name in a call: `G <code> <seq> <name>`, then per job `<id> <a>`, all tab-separated (4 pieces a
-- job instead of 16, and a message a third the size). The line goes where the group's first
-- event was, so each job's own events stay in order. Its first piece is the time of the call: a
-- long line goes out as messages of its own (commit.lua), and each message starts with it.
function lib.signal_plain(code, id, seq, name, a)
  local by_name = C.GROUPS[code]
  if not by_name then
    by_name = {}
    C.GROUPS[code] = by_name
  end
  local g = by_name[name]
  if not g then
    g = { C.NOW_S, '\nG\t', code, '\t', seq, '\t', name }
    by_name[name] = g
    hold_place(g, 2)
  end
  local n = #g
  g[n + 1] = '\t'
  g[n + 2] = id
  g[n + 3] = '\t'
  g[n + 4] = a or ''
end

-- Plain jobs (no meta) leaving retention share a line too: `X`, then their ids.
function lib.signal_dropped(id)
  local g = C.DROPPED
  if not g then
    g = { '\nX' }
    C.DROPPED = g
    hold_place(g, 1)
  end
  local n = #g
  g[n + 1] = '\t'
  g[n + 2] = id
end

-- The bytes a signal message is kept within: why, and how the message is cut, in commit.lua.
local SIGNAL_CHUNK = 8000
lib.SIGNAL_CHUNK = SIGNAL_CHUNK

-- A job event's line (see the header), piece by piece; absent fields are nil or ''.
function lib.signal_event(code, id, seq, name, parent, root, a, b, c)
  local S = C.SIG
  local n = #S
  S[n + 1] = CODES[code] or ('\ne\t' .. code .. '\t')
  S[n + 2] = id
  S[n + 3] = '\t'
  S[n + 4] = seq
  S[n + 5] = '\t'
  S[n + 6] = name
  S[n + 7] = '\t'
  S[n + 8] = parent or ''
  S[n + 9] = '\t'
  S[n + 10] = root or ''
  S[n + 11] = '\t'
  a, c = a or '', c or ''
  S[n + 12] = a
  S[n + 13] = '\t'
  S[n + 14] = b or ''
  S[n + 15] = '\t'
  S[n + 16] = c
  -- Where the message is cut (commit.lua): a line that would take it past SIGNAL_CHUNK bytes
  -- starts a new one. Only the fields that can be long (JSON: output, error, progress) are
  -- counted, the rest of a line taken at 96 bytes (the id, parent and root of 21, and the rest)
  -- and other lines left out: a cut in the wrong place costs a join or a message, never an event.
  local len = #a + #c + 96
  local at = C.SIG_BYTES + len
  if at > SIGNAL_CHUNK then
    local cuts = C.SIG_CUTS
    cuts[#cuts + 1] = n + 1
    at = len
  end
  C.SIG_BYTES = at
end
