-- Runs the store's function library in a standalone Lua 5.1 over fake-redis.lua, replays the
-- FCALLs a real server received (bench/lua-profile.ts captures them with MONITOR), and counts Lua
-- VM instructions by source line and function with a count hook. Counting starts at the replay
-- file's measure mark. Output, one fact a line, tab-separated, for lua-profile.ts to aggregate:
--   fn <function> <calls> <instructions> <bytes>      per registered function (enqueue, claim, …)
--   line <line> <instructions> <bytes> <C calls>      per line of the joined library source
--   func <line defined> <self> <sampled incl> <bytes> per Lua function (incl.: every SAMPLE-th
--                                                     instruction credits each function on the stack)
--   ccall <C function> <calls>                        string.format, unpack, next, …
--   glue <function> <what> <strings> <bytes>          see `glue` below
--   cmd <function> <COMMAND> <calls>                  redis.call by registered function and command
--   check <calls> <same> <first difference>           FCALLs whose redis.calls matched Redis' own
--   errors <count> <first message>
-- Usage: lua5.1 harness.lua <library.lua> <replay file> <dir of fake-redis.lua>
-- luacheck: globals redis cjson
local library_path, replay_path, here = arg[1], arg[2], arg[3]
package.path = here .. '/?.lua;' .. package.path
local fake = require('fake-redis')

local function slurp(path)
  local f = assert(io.open(path, 'rb'))
  local s = f:read('*a')
  f:close()
  return s
end

-- The hook: off inside the fake commands, so only the library's own instructions count. The
-- collector is stopped while a call runs, so that the memory in use only grows: what it grew by
-- between two hooks was allocated by the instruction the first one saw (the hook's own garbage
-- is left out by reading the count again as it returns), and a full collection between calls
-- frees it all. A 'call' hook counts the C functions the library calls, by name.
local getinfo, sethook, gc = debug.getinfo, debug.sethook, collectgarbage
local LIB = '=library'
local SAMPLE = 13
local total, alloc, outside, tick = 0, 0, 0, 0
local lines, line_bytes, line_c, self, self_bytes, incl, c_calls = {}, {}, {}, {}, {}, {}, {}
local last_kb, last_line, last_f
local C_NAMES = {}
C_NAMES[ipairs({})] = 'ipairs (its iterator)'
C_NAMES[pairs({})] = 'pairs (its iterator)'
for _, lib in ipairs({ 'string', 'table', 'math' }) do
  for name, f in pairs(_G[lib]) do C_NAMES[f] = lib .. '.' .. name end
end
for name, f in pairs(_G) do if type(f) == 'function' then C_NAMES[f] = name end end
-- Credits what was allocated since the last reading to the instruction seen last.
local function settle()
  local kb = gc('count')
  if last_line then
    local b = (kb - last_kb) * 1024
    line_bytes[last_line] = (line_bytes[last_line] or 0) + b
    self_bytes[last_f] = (self_bytes[last_f] or 0) + b
    alloc = alloc + b
  end
end
local function hook(event)
  settle()
  if event == 'call' then
    local info = getinfo(2, 'Sf')
    if info.what == 'C' then
      local caller = getinfo(3, 'Sl')
      if caller and caller.source == LIB then
        local name = C_NAMES[info.func] or '?'
        c_calls[name] = (c_calls[name] or 0) + 1
        line_c[caller.currentline] = (line_c[caller.currentline] or 0) + 1
      end
    end
    last_kb = gc('count')
    return
  end
  local info = getinfo(2, 'Sl')
  if info.source ~= LIB then
    outside = outside + 1
    last_line = nil
    last_kb = gc('count')
    return
  end
  total = total + 1
  local l = info.currentline
  lines[l] = (lines[l] or 0) + 1
  local f = info.linedefined
  self[f] = (self[f] or 0) + 1
  last_line, last_f = l, f
  tick = tick + 1
  if tick == SAMPLE then
    tick = 0
    local seen, level = {}, 2
    while true do
      local up = getinfo(level, 'S')
      if not up then break end
      if up.source == LIB and not seen[up.linedefined] then
        seen[up.linedefined] = true
        incl[up.linedefined] = (incl[up.linedefined] or 0) + SAMPLE
      end
      level = level + 1
    end
  end
  last_kb = gc('count')
end
local measuring = false
local function hook_on()
  if measuring then
    last_kb = gc('count')
    sethook(hook, 'c', 1)
  end
end
local function hook_off()
  sethook()
  if measuring then settle() end
end

-- What crosses between Redis and Lua, per registered function: the strings Redis makes Lua
-- strings (FCALL arguments, redis.call replies) and those Lua hands Redis (redis.call arguments,
-- the function's reply), as { count, bytes } — work the VM instruction counts do not show.
local glue = {}
local function sizes(v, into)
  if type(v) == 'table' then
    if v.ok or v.err then
      into[1], into[2] = into[1] + 1, into[2] + #(v.ok or v.err)
    else
      for i = 1, #v do sizes(v[i], into) end
    end
  elseif type(v) == 'string' then
    into[1], into[2] = into[1] + 1, into[2] + #v
  else
    into[1] = into[1] + 1
  end
  return into
end
local function add_glue(fn, what, count, bytes)
  local g = glue[fn] or {}
  glue[fn] = g
  local t = g[what] or { 0, 0 }
  g[what] = t
  t[1], t[2] = t[1] + count, t[2] + bytes
end

-- redis.* and cjson as Redis 7 gives them to a library.
local functions = {}
local current, cmds, seen_calls = nil, {}, nil
local function as_arg(v)
  if type(v) == 'number' then return string.format('%.17g', v) end
  if type(v) ~= 'string' then error({ err = 'ERR Lua redis lib command arguments must be strings or integers' }, 0) end
  return v
end
redis = {
  register_function = function(a, b)
    if type(a) == 'table' then functions[a.function_name] = a.callback else functions[a] = b end
  end,
  call = function(...)
    hook_off()
    local argv = { ... }
    for i = 1, #argv do argv[i] = as_arg(argv[i]) end
    local name = string.upper(argv[1])
    if current then
      local by = cmds[current] or {}
      cmds[current] = by
      by[name] = (by[name] or 0) + 1
    end
    if seen_calls then seen_calls[#seen_calls + 1] = table.concat(argv, '\0') end
    local ok, reply = pcall(fake.run, argv)
    if current then
      local a = sizes(argv, { 0, 0 })
      add_glue(current, 'call_args', a[1], a[2])
      if ok then
        local r = sizes(reply, { 0, 0 })
        add_glue(current, 'call_replies', r[1], r[2])
      end
    end
    hook_on()
    if not ok then error(reply, 0) end
    return reply
  end,
  error_reply = function(msg) return { err = msg } end,
  status_reply = function(msg) return { ok = msg } end,
}
-- The library encodes JSON only on cold paths (messages of cascades, webhooks); strings suffice.
cjson = {
  encode = function(v)
    if type(v) ~= 'string' then error('cjson stub: strings only') end
    return '"' .. string.gsub(v, '[%c"\\]', function(c) return string.format('\\u%04x', string.byte(c)) end) .. '"'
  end,
  decode = function() error('cjson stub: no decode') end,
}

-- The library, its '#!lua' line blanked so that line numbers stay those of the joined source.
local source = string.gsub(slurp(library_path), '^#![^\n]*', '')
assert(loadstring(source, LIB))()

-- The replay: records 'M' (start measuring), or 'F <n>' / 'X <n>' followed by n arguments, each
-- '<bytes>\n<bytes of it>\n': an FCALL's argv, then the redis.calls Redis made for it.
local replay = slurp(replay_path)
local pos = 1
local function line()
  local e = string.find(replay, '\n', pos, true)
  local s = string.sub(replay, pos, e - 1)
  pos = e + 1
  return s
end
local function argv_of(n)
  local out = {}
  for i = 1, n do
    local len = tonumber(line())
    out[i] = string.sub(replay, pos, pos + len - 1)
    pos = pos + len + 1
  end
  return out
end

local per_fn, checked, same, diff = {}, 0, 0, ''
local errors, first_error = 0, ''
local pending
local function compare(expected)
  if not pending then return end
  local got = pending
  pending = nil
  if not measuring then return end
  checked = checked + 1
  for i = 1, math.max(#got, #expected) do
    if got[i] ~= expected[i] then
      if diff == '' then
        diff = string.format('call %d, command %d: Redis %s, here %s', checked, i,
          string.gsub(expected[i] or '(none)', '%z', ' '), string.gsub(got[i] or '(none)', '%z', ' '))
      end
      return
    end
  end
  same = same + 1
end
while pos <= #replay do
  local kind, n = string.match(line(), '^(%a) ?(%d*)$')
  if kind == 'M' then
    measuring = true
  elseif kind == 'X' then
    local expected = {}
    for i, a in ipairs(argv_of(tonumber(n))) do expected[i] = a end
    compare(expected)
  elseif kind == 'F' then
    compare({})
    local argv = argv_of(tonumber(n))
    local fn, nkeys = argv[1], tonumber(argv[2])
    local keys, args = {}, {}
    for i = 3, 2 + nkeys do keys[#keys + 1] = argv[i] end
    for i = 3 + nkeys, #argv do args[#args + 1] = argv[i] end
    local short = string.match(fn, '^scalable_api_%x+_(.+)$') or fn
    local callback = assert(functions[fn], 'no function ' .. fn)
    current = measuring and short or nil
    seen_calls = {}
    local before, before_alloc = total, alloc
    if measuring then gc('stop') end
    last_line = nil
    hook_on()
    local ok, err = pcall(callback, keys, args)
    hook_off()
    gc('collect')
    pending = seen_calls
    seen_calls = nil
    if measuring then
      local a, r = sizes(argv, { 0, 0 }), sizes(ok and err or {}, { 0, 0 })
      add_glue(short, 'fcall_args', a[1] - 2, a[2] - #argv[1] - #argv[2])
      add_glue(short, 'fcall_reply', r[1], r[2])
      local f = per_fn[short] or { calls = 0, n = 0, bytes = 0 }
      per_fn[short] = f
      f.calls, f.n, f.bytes = f.calls + 1, f.n + total - before, f.bytes + alloc - before_alloc
    end
    if not ok then
      errors = errors + 1
      if first_error == '' then first_error = short .. ': ' .. tostring(type(err) == 'table' and err.err or err) end
    end
  else
    error('bad replay record at byte ' .. pos)
  end
end
compare({})

for fn, f in pairs(per_fn) do print(string.format('fn\t%s\t%d\t%d\t%d', fn, f.calls, f.n, f.bytes)) end
for l, n in pairs(lines) do print(string.format('line\t%d\t%d\t%d\t%d', l, n, line_bytes[l] or 0, line_c[l] or 0)) end
for f, n in pairs(self) do print(string.format('func\t%d\t%d\t%d\t%d', f, n, incl[f] or 0, self_bytes[f] or 0)) end
for f, n in pairs(incl) do if not self[f] then print(string.format('func\t%d\t0\t%d\t0', f, n)) end end
for fn, g in pairs(glue) do
  for what, t in pairs(g) do print(string.format('glue\t%s\t%s\t%d\t%d', fn, what, t[1], t[2])) end
end
for name, n in pairs(c_calls) do print(string.format('ccall\t%s\t%d', name, n)) end
for fn, by in pairs(cmds) do for name, n in pairs(by) do print(string.format('cmd\t%s\t%s\t%d', fn, name, n)) end end
print(string.format('check\t%d\t%d\t%s', checked, same, diff))
print(string.format('errors\t%d\t%s', errors, first_error))
print(string.format('outside\t%d', outside))
