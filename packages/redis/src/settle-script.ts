import { SETTLE_FIELDS } from './script-args.js';

/** settle — per settlement: id, token, outcome, payload (output or error JSON), runAt. Returns 1 (ok) / 0 (stale). */
export const settleScript = `
local CANCELLED = '{"code":"JOB_CANCELLED","message":"The job was cancelled."}'
-- The usual case, a completed attempt of a job not otherwise touched in this call: one read,
-- one write. Returns nil when the general path must decide.
local function complete_fast(id, token, output)
  if REC[id] ~= nil then return nil end
  local f = redis.call('HMGET', jk(id), 't', 's', 'n', 'pa', 'r', 'es', 'ow', 'pc')
  if not f[1] or tonumber(f[1]) ~= tonumber(token) or not held_status(f[2]) or not present(f[7]) then return 0 end
  -- A parent with children still running settles later, bottom-up: the general path.
  if tonumber(f[8]) > 0 then return nil end
  local seq = tonumber(f[6]) + 1
  local ev = event_json(id, f[3], f[4], f[5], seq, 'job.completed', 'completed', output ~= '' and (',"output":' .. output) or '')
  redis.call('HSET', jk(id), 's', 'completed', 'fa', NOW_S, 'o', output, 'e', '', 'ow', '', 'es', seq, 'v' .. seq, ev)
  if seq > EVN then redis.call('HDEL', jk(id), 'v' .. (seq - EVN)) end
  count(f[2], -1)
  count('completed', 1)
  LEASE_DEL[#LEASE_DEL + 1] = id
  if present(f[4]) then child_settled({ _id = id, pa = f[4], s = 'completed', n = f[3] })
  else ROOTS[#ROOTS + 1] = id end
  return 1
end

local out = {}
for j = 1, (#ARGV - 5) / ${SETTLE_FIELDS} do
  local o = 5 + (j - 1) * ${SETTLE_FIELDS}
  local outcome, payload = ARGV[o + 3], ARGV[o + 4]
  local fast = outcome == 'completed' and complete_fast(ARGV[o + 1], ARGV[o + 2], payload)
  if fast then
    out[j] = fast
  else
    local rec = held(ARGV[o + 1], ARGV[o + 2])
    if not rec then
      out[j] = 0
    else
      local cancel_reason = rec.cr
      LEASE_DEL[#LEASE_DEL + 1] = rec._id
      if outcome == 'completed' then
        finish(rec, 'completed', payload ~= '' and payload or nil, nil)
      elseif outcome == 'retry' and not present(cancel_reason) then
        put(rec, 'e', payload)
        requeue(rec, tonumber(ARGV[o + 5]), payload)
      elseif outcome == 'failed' then
        finish(rec, 'failed', nil, payload)
      else
        finish(rec, 'cancelled', nil, (outcome == 'cancelled' and payload) or cancel_reason or CANCELLED)
      end
      out[j] = 1
    end
  end
end
done(true)
return out
`;
