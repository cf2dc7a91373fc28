/* benchclock: a monotonic wall clock for the benchmark's Lua scripts
 * (os.clock is CPU time and os.time has whole seconds).
 *   local now = require("benchclock").now  -- seconds, CLOCK_MONOTONIC */
#define _POSIX_C_SOURCE 200809L
#include <time.h>
#include <lua.h>
#include <lauxlib.h>

static int now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

int luaopen_benchclock(lua_State *L);
int luaopen_benchclock(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, now);
    lua_setfield(L, -2, "now");
    return 1;
}
