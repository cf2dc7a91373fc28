/* luaopen_modelgates_core: the C core of lua-modelgates. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <time.h>
#include <curl/curl.h>
#include "modelgates.h"

/* core.now() -> seconds on a monotonic clock, for deadlines and waits:
 * Lua's own clocks are whole seconds (os.time) or CPU time (os.clock). */
static int monotonic_now(lua_State *L)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    lua_pushnumber(L, (lua_Number)now.tv_sec + (lua_Number)now.tv_nsec / 1e9);
    return 1;
}

/* core.sleep(seconds): the wait between two tries. */
static int sleep_seconds(lua_State *L)
{
    lua_Number seconds = luaL_checknumber(L, 1);
    struct timespec wait;
    luaL_argcheck(L, seconds >= 0 && seconds < 86400, 1, "expected seconds in [0, 86400)");
    wait.tv_sec = (time_t)seconds;
    wait.tv_nsec = (long)((seconds - (lua_Number)wait.tv_sec) * 1e9);
    while (nanosleep(&wait, &wait) != 0 && errno == EINTR)
        ;
    return 0;
}

/* Sets core.curl_version, and core.curl_ssl_version and core.curl_http2
 * (what :checkhealth reports) on the table at the top of the stack. */
static void set_curl_info(lua_State *L)
{
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    lua_pushstring(L, info->version);
    lua_setfield(L, -2, "curl_version");
    lua_pushstring(L, info->ssl_version);
    lua_setfield(L, -2, "curl_ssl_version");
    lua_pushboolean(L, (info->features & CURL_VERSION_HTTP2) != 0);
    lua_setfield(L, -2, "curl_http2");
}

void mg_register_class(lua_State *L, const char *name, const luaL_Reg *methods,
                       lua_CFunction close, lua_CFunction tostring)
{
    luaL_newmetatable(L, name);
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
    lua_newtable(L);
    mg_setfuncs(L, methods, 0);
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "close");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

int luaopen_modelgates_core(lua_State *L);
int luaopen_modelgates_core(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"transport", mg_transport_new},
        {"multi", mg_multi_new},
        {"decode_response", mg_decode_response_lua},
        {"json_decode", mg_json_decode_lua},
        {"json_encode", mg_json_encode_lua},
        {"percent_encode", mg_percent_encode_lua},
        {"http1_head", mg_http1_head_lua},
        {"http1_framing", mg_http1_framing_lua},
        {"http1_chunk_size", mg_http1_chunk_size_lua},
        {"now", monotonic_now},
        {"sleep", sleep_seconds},
        {NULL, NULL}
    };
    mg_errors_init(L);
    mg_json_init(L);
    mg_transport_register(L);
    mg_multi_register(L);
    lua_newtable(L);
    mg_setfuncs(L, functions, 0);
    mg_json_push_null(L);
    lua_setfield(L, -2, "null");
    lua_pushliteral(L, MODELGATES_VERSION);
    lua_setfield(L, -2, "version");
    set_curl_info(L);
    return 1;
}
