/* libFuzzer target: arbitrary status, headers and body through the response
 * interpreter (mg_push_headers, then core.decode_response), as a hostile
 * server could send them, and the same bytes through the HTTP/1.1 reader
 * of the cosocket transport (core.http1_head, core.http1_framing, then
 * core.http1_chunk_size on the body read as chunks). Input layout, so that
 * seeds stay readable:
 *   "STATUS EXPECTED [HEAD]\n" then a raw header block up to "\r\n\r\n",
 *   then the body; HEAD is the request method http1_framing is told.
 * None of these functions may raise, whatever the input. */
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
    lua_getfield(state, -1, "http1_head");
    lua_setfield(state, LUA_REGISTRYINDEX, "fuzz.http1_head");
    lua_getfield(state, -1, "http1_framing");
    lua_setfield(state, LUA_REGISTRYINDEX, "fuzz.http1_framing");
    lua_getfield(state, -1, "http1_chunk_size");
    lua_setfield(state, LUA_REGISTRYINDEX, "fuzz.http1_chunk_size");
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

/* Calls the core function stored under `name` in the registry with the
 * `nargs` values on the stack, leaving `nresults`; aborts if it raises. */
static void call(const char *name, int nargs, int nresults)
{
    lua_getfield(state, LUA_REGISTRYINDEX, name);
    lua_insert(state, -(nargs + 1));
    if (lua_pcall(state, nargs, nresults, 0) != 0)
        abort();
}

/* The head ends at its first empty line, CRLF or bare LF. */
static const char *end_of_head(const char *p, const char *end)
{
    for (; p < end; p++) {
        if (*p != '\n')
            continue;
        if (p + 1 < end && p[1] == '\n')
            return p + 2;
        if (p + 2 < end && p[1] == '\r' && p[2] == '\n')
            return p + 3;
    }
    return end;
}

/* Reads body as chunks the way the cosocket transport does, each size line
 * through core.http1_chunk_size, until the last chunk or a refusal. */
static void read_chunks(const char *p, const char *end)
{
    while (p < end) {
        const char *eol = p;
        lua_Number chunk;
        while (eol + 1 < end && !(eol[0] == '\r' && eol[1] == '\n'))
            eol++;
        if (eol + 1 >= end)
            eol = end;
        lua_pushlstring(state, p, (size_t)(eol - p));
        call("fuzz.http1_chunk_size", 1, 2);
        if (lua_isnil(state, -2)) {
            if (lua_type(state, -1) != LUA_TSTRING)
                abort();
            lua_pop(state, 2);
            return;
        }
        chunk = lua_tonumber(state, -2);
        lua_pop(state, 2);
        if (chunk < 0 || chunk != chunk)
            abort();
        if (chunk == 0 || eol == end || chunk > (lua_Number)(end - eol - 2))
            return;
        p = eol + 2 + (size_t)chunk;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return;
        p += 2;
    }
}

/* core.http1_head on the head, core.http1_framing on what it returns. */
static void read_http1(const char *head, const char *end, int is_head)
{
    const char *head_end = end_of_head(head, end);
    int res;
    lua_settop(state, 0);
    lua_pushlstring(state, head, (size_t)(head_end - head));
    call("fuzz.http1_head", 1, 2);
    if (lua_isnil(state, 1)) {
        if (lua_type(state, 2) != LUA_TSTRING)
            abort();
    } else {
        res = 1;
        lua_pushstring(state, is_head ? "HEAD" : "GET");
        lua_getfield(state, res, "status");
        lua_getfield(state, res, "headers");
        call("fuzz.http1_framing", 3, 2);
        if (lua_type(state, -2) != LUA_TSTRING && lua_type(state, -1) != LUA_TSTRING)
            abort();
    }
    lua_settop(state, 0);
    read_chunks(head_end, end);
    lua_settop(state, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    const char *head, *body;
    long status = leading_number(&p, end);
    long expected = leading_number(&p, end);
    int is_head, res;
    while (p < end && *p == ' ')
        p++;
    is_head = end - p >= 4 && memcmp(p, "HEAD", 4) == 0;
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
    read_http1(head, end, is_head);
    return 0;
}
