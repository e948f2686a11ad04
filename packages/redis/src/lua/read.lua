-- Reads for `get`, `getMany` and `children`: many records in one call and one reply, where a
-- pipeline would cost a command (and a reply) per job. They write nothing, so they also run
-- when Redis is full, and on replicas. The fields to read are named by the caller (the one list
-- that decodes them, job-record.ts).
--
-- get_many
--   KEYS[1]    the store's key prefix
--   ARGV[1]    n, a count of fields   ARGV[2…n+1] the fields   ARGV[n+2…] the job ids
--   Returns per id the values of the fields (a missing job has nil for all).
--
-- children
--   KEYS[1]    the store's key prefix
--   ARGV[1]    the parent's id   ARGV[2] offset   ARGV[3] how many at most
--   ARGV[4]    n, a count of fields   ARGV[5…n+4] the fields
--   Returns {ids, values}: the children's ids from `offset` in spawn order, and per child the
--   values of the fields.
--
-- events
--   KEYS[1]    the store's key prefix
--   ARGV[1]    the job's id
--   Returns {job, events}: the job's hash and its stored events' hash, each as HGETALL gives it.
local lib = ...
local READ_ONLY = { 'no-writes' }

local function records(base, ids, fields)
  local out = {}
  for i, id in ipairs(ids) do out[i] = redis.call('HMGET', base .. 'j:' .. id, unpack(fields)) end
  return out
end

lib.register('get_many', function(keys, args)
  local n = tonumber(args[1])
  return records(keys[1], { unpack(args, n + 2) }, { unpack(args, 2, n + 1) })
end, READ_ONLY)

lib.register('events', function(keys, args)
  return { redis.call('HGETALL', keys[1] .. 'j:' .. args[1]), redis.call('HGETALL', keys[1] .. 'ev:' .. args[1]) }
end, READ_ONLY)

lib.register('children', function(keys, args)
  local offset, count, n = tonumber(args[2]), tonumber(args[3]), tonumber(args[4])
  local ids = redis.call('LRANGE', keys[1] .. 'c:' .. args[1], offset, offset + count - 1)
  return { ids, records(keys[1], ids, { unpack(args, 5, n + 4) }) }
end, READ_ONLY)
