-- Job events: JSON built here (ids, names and roots never need escaping: the store refuses
-- those that would), kept in the job's own hash as v<seq>, and published with the call's other
-- signals.
local lib = ...
local C = lib.C
local present, put = lib.present, lib.put

function lib.event_json(id, name, parent, root, seq, typ, status, extra)
  local ev = '{"type":"' .. typ .. '","status":"' .. status .. '"' .. (extra or '') .. ',"id":"' .. id ..
    '","name":"' .. name .. '","seq":' .. seq .. ',"at":' .. C.NOW_S ..
    (present(parent) and (',"parentId":"' .. parent .. '"') or '') .. ',"rootId":"' .. root .. '"}'
  -- Published bare; the subscriber tells events (they have a seq) from other signals.
  C.SIG[#C.SIG + 1] = ev
  return ev
end

function lib.emit(rec, typ, status, extra)
  local seq = tonumber(rec.es or 0) + 1
  put(rec, 'es', seq)
  -- Events live in the job's own hash, so recording one costs no command of its own.
  put(rec, 'v' .. seq, lib.event_json(rec._id, rec.n, rec.pa, rec.r, seq, typ, status, extra))
  if seq > C.EVN then
    rec._del['v' .. (seq - C.EVN)] = true
  end
end
