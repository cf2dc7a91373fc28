/* luaopen_modelgates_core: the C core of lua-modelgates. */
#include <curl/curl.h>
#include "modelgates.h"

static int push_curl_version(lua_State *L)
{
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    lua_pushstring(L, info->version);
    return 1;
}

int luaopen_modelgates_core(lua_State *L);
int luaopen_modelgates_core(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"transport", mg_transport_new},
        {"decode_response", mg_decode_response_lua},
        {"json_decode", mg_json_decode_lua},
        {"json_encode", mg_json_encode_lua},
        {NULL, NULL}
    };
    mg_errors_init(L);
    mg_json_init(L);
    mg_transport_register(L);
    lua_newtable(L);
    mg_setfuncs(L, functions, 0);
    mg_json_push_null(L);
    lua_setfield(L, -2, "null");
    lua_pushliteral(L, MODELGATES_VERSION);
    lua_setfield(L, -2, "version");
    push_curl_version(L);
    lua_setfield(L, -2, "curl_version");
    return 1;
}
