/* The few Lua C API differences between 5.1 (and LuaJIT), 5.2, 5.3 and 5.4
 * that the module touches. Everything here is static and carries the mg_
 * prefix: LuaJIT 2.1 reports 501 yet exports some 5.2 functions, so a
 * non-static luaL_setfuncs would clash with it. */
#ifndef MODELGATES_COMPAT_H
#define MODELGATES_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM == 501

static inline void mg_setfuncs(lua_State *L, const luaL_Reg *reg, int nup)
{
    luaL_checkstack(L, nup + 1, "too many upvalues");
    for (; reg->name != NULL; reg++) {
        int i;
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, reg->func, nup);
        lua_setfield(L, -(nup + 2), reg->name);
    }
    lua_pop(L, nup);
}

static inline int mg_absindex(lua_State *L, int idx)
{
    return (idx > 0 || idx <= LUA_REGISTRYINDEX) ? idx : lua_gettop(L) + idx + 1;
}

#define mg_rawlen(L, idx) lua_objlen((L), (idx))

#else

#define mg_setfuncs(L, reg, nup) luaL_setfuncs((L), (reg), (nup))
#define mg_absindex(L, idx) lua_absindex((L), (idx))
#define mg_rawlen(L, idx) lua_rawlen((L), (idx))

#endif

#endif
