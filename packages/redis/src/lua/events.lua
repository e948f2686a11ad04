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
  C.SIG[#C.SIG + 1] = 'e\t' .. code .. '\t' .. rec._id .. '\t' .. seq_s .. '\t' .. rec.n .. '\t' .. (rec.pa or '') .. '\t' ..
    (rec.r or '') .. '\t' .. (a or '') .. '\t' .. (b or '') .. '\t' .. (c or '')
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
  C.SIG[#C.SIG + 1] = 'e\t' .. code .. '\t' .. rec._id .. '\t1\t' .. rec.n .. '\t' .. (rec.pa or '') .. '\t' .. (rec.r or '') .. '\t' .. (a or '') .. '\t\t'
  if code == 'q' then return end
  put(rec, 'es', '1')
  lib.hash_set(lib.evk(rec._id), '1', event_json(rec, '1', C.NOW_S, code, a))
end

function lib.signal(line) C.SIG[#C.SIG + 1] = line end
