/* libFuzzer target: arbitrary status, headers and body through the response
 * interpreter (mg_push_headers, then core.decode_response), as a hostile
 * server could send them. Input layout, so that seeds stay readable:
 *   "STATUS EXPECTED\n" then a raw header block up to "\r\n\r\n", then the body.
 * decode_response must never raise, whatever the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lualib.h>
#include "modelgates.h"

int luaopen_modelgates_core(lua_State *L);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *state;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    state = luaL_newstate();
    luaL_openlibs(state);
    lua_pushcfunction(state, luaopen_modelgates_core);
    lua_call(state, 0, 1);
    lua_getfield(state, -1, "decode_response");
    lua_setfield(state, LUA_REGISTRYINDEX, "fuzz.decode_response");
    lua_pop(state, 1);
    return 0;
}

static long leading_number(const char **p, const char *end)
{
    long n = 0;
    while (*p < end && **p == ' ')
        (*p)++;
    while (*p < end && **p >= '0' && **p <= '9' && n < 100000)
        n = n * 10 + (*(*p)++ - '0');
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    const char *head, *body;
    long status = leading_number(&p, end);
    long expected = leading_number(&p, end);
    int res;
    while (p < end && *p != '\n')
        p++;
    if (p < end)
        p++;
    head = p;
    body = end;
    for (; p + 3 < end; p++) {
        if (memcmp(p, "\r\n\r\n", 4) == 0) {
            body = p + 4;
            break;
        }
    }
    lua_settop(state, 0);
    lua_newtable(state);
    res = lua_gettop(state);
    lua_pushinteger(state, status);
    lua_setfield(state, res, "status");
    mg_push_headers(state, head, (size_t)(body - head), res);
    lua_pushlstring(state, body, (size_t)(end - body));
    lua_setfield(state, res, "body");
    lua_getfield(state, LUA_REGISTRYINDEX, "fuzz.decode_response");
    lua_pushvalue(state, res);
    lua_pushinteger(state, expected ? expected : 200);
    if (lua_pcall(state, 2, 2, 0) != 0)
        abort();
    lua_settop(state, 0);
    return 0;
}
