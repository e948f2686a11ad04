import { ENQUEUE_FIELDS } from './script-args.js';

/**
 * enqueue — ARGV[6] limit, ARGV[7] atomic ('1'), then per job: id, name, input, priority, runAt,
 * idempotencyKey, fingerprint, parentId, rootId, childKey, onFailure, awaitChildren, meta
 * ('' for absent). Returns per job {1, status} | {2, id, status, name, fingerprint} | {0, code}.
 */
export const enqueueScript = `
local LIMIT = tonumber(ARGV[6])
local W = ${ENQUEUE_FIELDS}
local n = (#ARGV - 7) / W
local function arg(j, f) return ARGV[8 + (j - 1) * W + f] end
local function by_idem(key)
  if key == '' then return nil end
  local id = redis.call('HGET', B .. 'idem', key)
  return id and load(id) or nil
end
local function by_child_key(parent, key)
  if parent == '' or key == '' then return nil end
  local id = redis.call('HGET', B .. 'ck:' .. parent, key)
  return id and load(id) or nil
end
local function existing(rec)
  return { 2, rec._id, rec.s, rec.n, redis.call('HGET', jk(rec._id), 'fp') or '' }
end

-- All or nothing: count what the batch would add against the bound before touching anything.
if ARGV[7] == '1' then
  local new = 0
  for j = 1, n do
    if tonumber(arg(j, 11)) <= 0 and not by_idem(arg(j, 5)) and not by_child_key(arg(j, 7), arg(j, 9)) then new = new + 1 end
  end
  if current('queued') + current('delayed') + new > LIMIT then
    local out = {}
    for j = 1, n do out[j] = { 0, 'QUEUE_FULL' } end
    return out
  end
end

local out = {}
local names = {}
for j = 1, n do
  local id, name, parent_id, ck, idem = arg(j, 0), arg(j, 1), arg(j, 7), arg(j, 9), arg(j, 5)
  local await = tonumber(arg(j, 11))
  local found = by_idem(idem)
  local parent = parent_id ~= '' and load(parent_id)
  if not found and parent and not terminal(parent.s) then found = by_child_key(parent_id, ck) end
  if found then
    out[j] = existing(found)
  elseif parent_id ~= '' and (not parent or terminal(parent.s)) then
    out[j] = { 0, 'JOB_NOT_FOUND' }
  elseif await <= 0 and current('queued') + current('delayed') >= LIMIT then
    out[j] = { 0, 'QUEUE_FULL' }
  else
    local run_at = tonumber(arg(j, 4))
    local delayed = run_at ~= nil and run_at > NOW
    local status = (await > 0 and 'waitingChildren') or (delayed and 'delayed') or 'queued'
    -- A new job is written with one HSET, its first event included; a later load reads it back.
    local root = (parent and parent.r) or (arg(j, 8) ~= '' and arg(j, 8)) or id
    local prio = arg(j, 3)
    local h = { 'n', name, 's', status, 'p', prio, 'a', 0, 'ca', NOW_S, 'r', root, 'of', arg(j, 10), 'cc', 0,
      'pc', await > 0 and await or 0, 't', 0, 'st', 0, 'es', 1 }
    local function opt(field, value)
      if value ~= '' then
        h[#h + 1] = field
        h[#h + 1] = value
      end
    end
    opt('i', arg(j, 2))
    opt('ik', idem)
    opt('fp', arg(j, 6))
    opt('pa', parent_id)
    opt('ck', ck)
    opt('m', arg(j, 12))
    local ev
    if status == 'queued' then
      local sq = next_seq()
      opt('sq', sq)
      local list = QADD[name]
      if not list then
        list = {}
        QADD[name] = list
      end
      list[#list + 1] = -tonumber(prio)
      list[#list + 1] = string.format('%016d', sq) .. id
      AVAIL = true
      ev = event_json(id, name, parent_id, root, 1, 'job.queued', 'queued')
    elseif status == 'delayed' then
      opt('ra', arg(j, 4))
      redis.call('ZADD', B .. 'delayed', arg(j, 4), id)
      -- Announced too: the claim that follows reports when it falls due.
      AVAIL = true
      ev = event_json(id, name, parent_id, root, 1, 'job.delayed', 'delayed', ',"runAt":' .. arg(j, 4))
    else
      opt('d', '1')
      ev = event_json(id, name, parent_id, root, 1, 'job.waiting', 'waitingChildren')
    end
    opt('v1', ev)
    redis.call('HSET', jk(id), unpack(h))
    count(status, 1)
    if idem ~= '' then redis.call('HSET', B .. 'idem', idem, id) end
    if parent then
      redis.call('RPUSH', B .. 'c:' .. parent_id, id)
      if ck ~= '' then redis.call('HSET', B .. 'ck:' .. parent_id, ck, id) end
      put(parent, 'cc', tonumber(parent.cc) + 1)
      -- A declared parent counted its children up front (awaitChildren).
      if parent.d ~= '1' then put(parent, 'pc', tonumber(parent.pc) + 1) end
    end
    if not names[name] then
      names[name] = true
      redis.call('SADD', B .. 'names', name)
    end
    out[j] = { 1, status }
  end
end
done(false)
return out
`;
