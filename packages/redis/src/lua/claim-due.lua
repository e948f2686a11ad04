-- Claim's recovery before it hands out work: delayed jobs that fell due go to their queues, and
-- jobs whose lease ran out (their owner died or stalled) are taken back. Each bounded per call
-- (lib.BUDGET); what is left, the next claim (nextRunAt: now) takes on.
local lib = ...
local C = lib.C
local load, put, move, int, present, held_status = lib.load, lib.put, lib.move, lib.int, lib.present, lib.held_status

-- Usually nothing is delayed, or nothing is due: the head of the set says so, and is also the
-- next run at the claim reports (C.NEXT_DUE; false: none, nil: read it again after promoting).
-- Writes wait for commit, so the set read here is the set the claim would read at its end.
function lib.promote_due()
  local key = C.DELAYED
  local first = lib.read('ZRANGE', key, '0', '0', 'WITHSCORES')
  if not first[2] then
    C.NEXT_DUE = false
    return 0
  end
  if tonumber(first[2]) > C.NOW then
    C.NEXT_DUE = first[2]
    return 0
  end
  C.NEXT_DUE = nil
  local due = lib.read('ZRANGEBYSCORE', key, '-inf', C.NOW_S, 'LIMIT', '0', lib.BUDGET_S)
  for _, id in ipairs(due) do
    lib.zset_rem(key, id)
    local rec = load(id)
    if rec and rec.s == 'delayed' then
      move(rec, 'queued')
      put(rec, 'ra', '')
      lib.push_ready(rec)
      lib.emit(rec, 'q')
    end
  end
  return #due
end

-- A lease that ran out means its owner died or stalled: the job goes back to the queue, or ends
-- as cancelled when a cancel was asked for, or quarantined after too many lapses.
function lib.expire_leases()
  local key = C.LEASES
  local expired = lib.read('ZRANGEBYSCORE', key, '-inf', C.NOW_S, 'LIMIT', '0', lib.BUDGET_S)
  for _, id in ipairs(expired) do
    lib.zset_rem(key, id)
    local rec = load(id)
    if rec and held_status(rec.s) and present(rec.ow) then
      local stalls = int(rec.st) + 1
      put(rec, 'st', lib.num(stalls))
      if present(rec.cr) then
        lib.finish(rec, 'cancelled', nil, rec.cr)
      elseif stalls >= C.MAXST then
        lib.finish(rec, 'failed', nil, '{"code":"JOB_QUARANTINED","message":"The job lost its lease ' .. stalls .. ' times; it is not retried."}')
      else
        put(rec, 'ow', '')
        lib.requeue(rec, C.NOW, nil)
      end
      -- What it set off (a parent that may settle) comes before the next lapse, as it would
      -- have had the two happened one after the other.
      lib.run_work()
    end
  end
  return #expired
end
