/* Error objects are built in C but typed by the Lua module modelgates.errors,
 * so that one class hierarchy serves the C core and the Lua engine alike. */
#include "modelgates.h"

static const char ERRORS_NEW_KEY[] = "modelgates.core.errors.new";

/* errors.new, kept: whoever watches every error uses errors.on_new, which
 * errors.new calls for the errors made in C too. */
void mg_errors_init(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "modelgates.errors");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "new");
    lua_setfield(L, LUA_REGISTRYINDEX, ERRORS_NEW_KEY);
    lua_pop(L, 1);
}

void mg_push_error(lua_State *L, const char *type_name)
{
    lua_getfield(L, LUA_REGISTRYINDEX, ERRORS_NEW_KEY);
    lua_pushstring(L, type_name);
    lua_pushvalue(L, -3);
    lua_call(L, 2, 1);
    lua_replace(L, -2);
}

void mg_push_error_message(lua_State *L, const char *type_name, const char *message)
{
    lua_createtable(L, 0, 1);
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    mg_push_error(L, type_name);
}
