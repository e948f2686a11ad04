-- Late calls. A call can reach Redis long after it was sent: a silent partition holds it in the
-- network (TCP delivers it once the path heals), a client that gave up on it (a command timeout)
-- leaves it queued on its socket, a reconnecting client sends it again. It then runs with the
-- `now` it was sent with, and a claim run that way hands out leases that ran out before it
-- arrived, to a node that no longer waits for the answer: the next claim counts a lapse against
-- each job, and a few such claims in a row quarantine a job that never ran (the `blackhole`
-- chaos scenario, docs/reliability.md). Two defences:
--
-- The store keeps a high-water mark of the `now` its calls brought (`{p}:now`; claim, renew and
-- the sweep's `cascade` move it, at most every MARK_GRAIN ms so that it costs a write a few times
-- a second rather than one per call). A claim or renew whose `now` is more than its lease behind
-- the mark is refused before any write (a `LATE` error): every lease it would hand out or extend
-- has run out already. The mark moves with a simulated clock as with a real one; the nodes'
-- clocks must agree within a lease, which leases need anyway.
--
-- A claim whose answer never reached its node may still have run. The node's next claims name
-- it (its `now` and lease expiry: `release_lost`), and what it leased that is untouched since
-- goes back to the queue at once, instead of waiting a lease and counting a lapse.
local lib = ...
local C = lib.C

local MARK_GRAIN = 100
-- A mark nobody moved for a day belongs to an idle store; forgetting it only makes the check lax.
local MARK_TTL = 86400000

-- Refuses the call (before any write) when its `now` is more than `tolerance` ms behind the mark,
-- and moves the mark forward.
function lib.fresh(tolerance)
  local key = C.B .. 'now'
  local mark = tonumber(lib.read('GET', key))
  if mark and C.NOW < mark - tolerance then
    error({ err = 'LATE call: its now is ' .. lib.num(mark - C.NOW) .. ' ms behind the store, more than ' .. lib.num(tolerance) })
  end
  if not mark or C.NOW >= mark + MARK_GRAIN then lib.string_set(key, C.NOW_S, MARK_TTL) end
end

-- Moves the mark without a check (the sweep).
function lib.mark_now()
  lib.fresh(math.huge)
end

-- `lost`: per lost claim of `owner`, {at = its now, la = its lease expiry, keep = ids its node
-- holds that another claim of the same `now` handed out}. A job still as that claim left it —
-- running, owned by `owner`, started at `at`, its lease not renewed since (`la`) — goes back to
-- its queue, the attempt not counted and no lapse recorded (a cancel asked for meanwhile ends it).
-- (Its lease is the score it is found by: the expiry is kept nowhere else.)
function lib.release_lost(owner, lost)
  for _, claim in ipairs(lost) do
    local ids = lib.read('ZRANGEBYSCORE', C.LEASES, lib.num(claim.la), lib.num(claim.la), 'LIMIT', '0', lib.BUDGET_S)
    for _, id in ipairs(ids) do
      local rec = not claim.keep[id] and lib.load(id)
      if rec and rec.s == 'running' and rec.ow == owner and tonumber(rec.sa) == claim.at then
        if lib.present(rec.cr) then
          lib.finish(rec, 'cancelled', nil, rec.cr)
        else
          lib.release(rec)
        end
        lib.run_work()
      end
    end
  end
end
