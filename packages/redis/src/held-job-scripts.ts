/** The calls of a node about jobs it holds (and cancel, which may reach them): each one small script. */

/** renew — ARGV[6] leaseMs, then (id, token) pairs. Returns 1/0 per lease. */
export const renewScript = `
local la = num(NOW + tonumber(ARGV[6]))
local out = {}
for j = 1, (#ARGV - 6) / 2 do
  local id = ARGV[5 + j * 2]
  local rec = held(id, ARGV[6 + j * 2])
  if rec and tonumber(rec.la) > NOW then
    put(rec, 'la', la)
    LEASE_ADD[#LEASE_ADD + 1] = la
    LEASE_ADD[#LEASE_ADD + 1] = id
    out[j] = 1
  else
    out[j] = 0
  end
end
done(false)
return out
`;

/** setWaiting — ARGV[6] id, ARGV[7] token, ARGV[8] '1' to wait. */
export const setWaitingScript = `
local rec = held(ARGV[6], ARGV[7])
if not rec then return 0 end
local target = ARGV[8] == '1' and 'waitingChildren' or 'running'
if rec.s ~= target then
  move(rec, target)
  if target == 'waitingChildren' then emit(rec, 'job.waiting', target)
  else emit(rec, 'job.started', target, ',"attempt":' .. rec.a) end
end
done(false)
return 1
`;

/** progress — ARGV[6] id, ARGV[7] token, ARGV[8] value JSON. */
export const progressScript = `
local rec = held(ARGV[6], ARGV[7])
if not rec then return 0 end
if ARGV[8] == '' then
  put(rec, 'pg', '')
  emit(rec, 'job.progress', rec.s)
else
  put(rec, 'pg', ARGV[8])
  emit(rec, 'job.progress', rec.s, ',"progress":' .. ARGV[8])
end
done(false)
return 1
`;

/** cancel — ARGV[6] id, ARGV[7] reason JSON. Returns the CancelOutcome. */
export const cancelScript = `
local rec = load(ARGV[6])
if not rec then return 'not_found' end
local outcome = cancel_tree(rec, ARGV[7])
done(false)
return outcome
`;
