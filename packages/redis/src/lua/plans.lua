-- The writes a call plans: kept in the call's tables (context.lua) and written by commit.lua once
-- every read and decision is done, so nothing that can fail comes after the first write.
local lib = ...
local C = lib.C

-- Planned writes, by key: appended to a list (or pushed back at its head), removed from its
-- head, added to or removed from a sorted set, set or deleted in a hash, added to a set.
local function plan(tbl, key)
  local list = tbl[key]
  if not list then
    list = {}
    tbl[key] = list
  end
  return list
end
-- (A hot path that appends to one key many times takes its list once.)
lib.plan_list = plan
function lib.list_add(key, value) local l = plan(C.LIST_ADD, key); l[#l + 1] = value end
function lib.list_back(key, value) local l = plan(C.LIST_BACK, key); l[#l + 1] = value end
function lib.list_pop(key, count) C.LIST_POP[key] = (C.LIST_POP[key] or 0) + count end
function lib.zset_add(key, score, member) local l = plan(C.ZSET_ADD, key); l[#l + 1] = score; l[#l + 1] = member end
function lib.zset_rem(key, member) local l = plan(C.ZSET_REM, key); l[#l + 1] = member end
-- Hash fields to set (a value) or delete (false); the last plan for a field wins.
function lib.hash_set(key, field, value) plan(C.HASH, key)[field] = value end
function lib.hash_del(key, field) plan(C.HASH, key)[field] = false end
function lib.set_add(key, member) local l = plan(C.SET_ADD, key); l[#l + 1] = member end
function lib.drop_key(key) C.DROP[#C.DROP + 1] = key end
function lib.string_set(key, value, px) C.STRING_SET[key] = { value, px } end
