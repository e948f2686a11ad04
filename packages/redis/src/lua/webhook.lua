-- Webhooks: a job submitted with a callback URL (field `wh`, which marks it not plain, so it
-- settles by the general path with its whole record read) gets, in the same call that settles
-- it, a delivery job — the built-in `webhook.deliver` (webhook-delivery.ts in the core) — so a
-- node that dies right after the settlement cannot lose the webhook. A job without `wh` costs
-- nothing: `finish` tests a field of the record it has already read.
--
-- The delivery job is queued like a plain job created by `enqueue` (no record, `job.queued`
-- implied), past the queue bound (a settlement is never refused), with the settled job's meta
-- (its tenant), its id `<id>.webhook` (on a sharded store, the same shard) and as input the
-- outcome, copied: {"url", "jobId", "name", "status", "finishedAt", "output"?, "error"?}. It
-- checks nothing that can fail: the writes are planned for commit like every other.
local lib = ...
local C = lib.C

local NAME = 'webhook.deliver'

-- `out` and `err` are JSON text or nil, as `finish` has them.
function lib.webhook(rec, status, out, err)
  local id = rec._id .. '.webhook'
  local input = '{"url":' .. lib.js(rec.wh) .. ',"jobId":"' .. rec._id .. '","name":"' .. rec.n .. '","status":"' .. status ..
    '","finishedAt":' .. C.NOW_S .. (out and (',"output":' .. out) or '') .. (err and (',"error":' .. err) or '') .. '}'
  local w = { 'n', NAME, 's', 'queued', 'i', input, ev = 1, new = true, key = lib.jk(id) }
  if lib.present(rec.m) then
    local n = #w
    w[n + 1], w[n + 2], w[n + 3], w[n + 4] = 'm', rec.m, 'k', '1'
  end
  lib.count('queued', 1)
  local seq = lib.index_created(id, w)
  lib.push_entry(NAME, id, '0', w, nil, seq)
  lib.fast(id, w)
  lib.signal_event('q', id, '1', NAME, '', '')
  lib.set_add(C.NAMES, NAME)
end
