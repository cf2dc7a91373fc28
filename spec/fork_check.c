/* Run by spec/fork_spec.lua: a host that loads the module, makes a call,
 * then forks, as nginx does from its master to its workers. The child must
 * open a connection of its own; the parent's must keep working. Exits 0
 * when both calls after the fork succeed. With FORK_CHECK_MODE=gather each
 * "call" is a modelgates.gather of two; with FORK_CHECK_MODE=multi, a run
 * on one scheduler (and its core.multi) made before the fork; with
 * FORK_CHECK_MODE=close, the child makes no call and ends with lua_close,
 * which collects the client and the parent's handle with it. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/* Runs a chunk; an error object is reported through its tostring. */
static int run(lua_State *L, const char *chunk)
{
    lua_getglobal(L, "tostring");
    if (luaL_dostring(L, chunk) != 0) {
        lua_call(L, 1, 1);
        fprintf(stderr, "fork_check: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_settop(L, 0);
    return 0;
}

int main(void)
{
    static const char *const setup =
        "local ca = os.getenv('FORK_CHECK_CA')"
        " client = require('modelgates').new{ api_key = os.getenv('FORK_CHECK_KEY'),"
        " server_url = os.getenv('FORK_CHECK_URL'), ca_file = ca ~= '' and ca or nil, retries = false }"
        " local function list() assert(#client.keys.list().data == 0) end"
        " local mode = os.getenv('FORK_CHECK_MODE')"
        " call = list"
        " if mode == 'gather' then call = function()"
        "   for _, result in ipairs(require('modelgates').gather{ list, list }) do"
        "     assert(result.ok, tostring(result.error)) end end"
        " elseif mode == 'multi' then"
        "   local runs = require('modelgates.scheduler').poll()"
        "   call = function()"
        "     local outcome"
        "     runs:spawn(list, function(ok, err) outcome = { ok, err } end)"
        "     runs.loop.run_until(function() return outcome ~= nil end)"
        "     assert(outcome[1], tostring(outcome[2])) end end"
        " call()";
    static const char *const call = "call()";
    lua_State *L = luaL_newstate();
    pid_t child;
    int status = 0;
    luaL_openlibs(L);
    if (run(L, setup) != 0)
        return 2;
    child = fork();
    if (child < 0)
        return 2;
    if (child == 0) {
        const char *mode = getenv("FORK_CHECK_MODE");
        if (mode != NULL && strcmp(mode, "close") == 0) {
            lua_close(L);
            _exit(0);
        }
        _exit(run(L, call) == 0 ? 0 : 3);
    }
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 3;
    if (run(L, call) != 0)
        return 4;
    lua_close(L);
    return 0;
}
