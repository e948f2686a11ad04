-- luacheck for the Redis function library (packages/redis/src/lua): Lua 5.1 as Redis embeds it,
-- with the globals Redis provides to functions.
std = 'lua51'
read_globals = { 'redis', 'cjson', 'cmsgpack', 'bit', 'struct' }
max_line_length = 160
