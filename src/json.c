/* The JSON bridge. lua-cjson is loaded through the Lua API as a private
 * instance (cjson.new()), so the settings chosen here never leak into other
 * code of the same Lua state; inside Neovim, where cjson may be missing,
 * vim.json serves. Decoded values are normalized for Lua callers: a JSON
 * null field becomes an absent field (cjson.null is truthy), a null in an
 * array stays the null sentinel so that no element moves, and on 5.3+
 * whole numbers become integers whatever the decoder's build does. */
#include <string.h>
#include "modelgates.h"

static const char JSON_KEY[] = "modelgates.core.json";

static void load_cjson_instance(lua_State *L)
{
    lua_getfield(L, -1, "new");
    if (lua_isfunction(L, -1)) {
        lua_call(L, 0, 1);
        lua_replace(L, -2);
    } else {
        lua_pop(L, 1);
    }
    /* Strict: NaN, Infinity and hex numbers are not JSON. */
    lua_getfield(L, -1, "decode_invalid_numbers");
    if (lua_isfunction(L, -1)) {
        lua_pushboolean(L, 0);
        lua_call(L, 1, 0);
    } else {
        lua_pop(L, 1);
    }
}

static int load_vim_json(lua_State *L)
{
    lua_getglobal(L, "vim");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    lua_getfield(L, -1, "json");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 2);
        return 0;
    }
    lua_getfield(L, -2, "NIL");
    lua_setfield(L, -2, "null");
    lua_replace(L, -2);
    return 1;
}

void mg_json_init(lua_State *L)
{
    int bridge;
    lua_createtable(L, 0, 3);
    bridge = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson");
    if (lua_pcall(L, 1, 1, 0) == 0 && lua_istable(L, -1)) {
        load_cjson_instance(L);
    } else {
        lua_pop(L, 1);
        if (!load_vim_json(L))
            luaL_error(L, "modelgates needs lua-cjson (or Neovim's vim.json)");
    }
    lua_getfield(L, -1, "decode");
    lua_setfield(L, bridge, "decode");
    lua_getfield(L, -1, "null");
    lua_setfield(L, bridge, "null");
    lua_pop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, JSON_KEY);
}

static void push_bridge_field(lua_State *L, const char *field)
{
    lua_getfield(L, LUA_REGISTRYINDEX, JSON_KEY);
    lua_getfield(L, -1, field);
    lua_replace(L, -2);
}

void mg_json_push_null(lua_State *L)
{
    push_bridge_field(L, "null");
}

static void normalize_table(lua_State *L, int table, int null_value);

/* Normalizes the value at the top of the stack, in place where it is a
 * table; returns whether it replaced it. Strings and booleans, most of a
 * page, cost one lua_type. A null is cleared only as an object's field
 * (`in_object`): cleared from an array it would leave a hole that `#` and
 * ipairs read as the array's end, hiding what follows. */
static int normalize_top(lua_State *L, int null_value, int in_object)
{
    switch (lua_type(L, -1)) {
#if LUA_VERSION_NUM >= 503
    case LUA_TNUMBER: {
        /* Exact conversions only: 2.5 stays a float. */
        int is_whole;
        lua_Integer whole;
        if (lua_isinteger(L, -1))
            return 0;
        whole = lua_tointegerx(L, -1, &is_whole);
        if (!is_whole)
            return 0;
        lua_pop(L, 1);
        lua_pushinteger(L, whole);
        return 1;
    }
#endif
    case LUA_TLIGHTUSERDATA: /* cjson.null */
    case LUA_TUSERDATA:      /* vim.NIL */
        if (!in_object || !lua_rawequal(L, -1, null_value))
            return 0;
        lua_pop(L, 1);
        lua_pushnil(L);
        return 1;
    case LUA_TTABLE:
        normalize_table(L, lua_gettop(L), null_value);
        return 0;
    default:
        return 0;
    }
}

/* Replacing or clearing an existing field is allowed during lua_next. The
 * depth is bounded by the decoder's own nesting limit. */
static void normalize_table(lua_State *L, int table, int null_value)
{
    luaL_checkstack(L, 4, "JSON nested too deep");
    lua_pushnil(L);
    while (lua_next(L, table)) {
        if (normalize_top(L, null_value, lua_type(L, -2) == LUA_TSTRING)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, table);
        } else {
            lua_pop(L, 1);
        }
    }
}

int mg_json_decode(lua_State *L, int text)
{
    size_t len;
    const char *bytes;
    text = mg_absindex(L, text);
    /* The decoder would stop at a NUL and take what came before it for the
     * whole body. */
    bytes = lua_tolstring(L, text, &len);
    if (bytes != NULL && memchr(bytes, '\0', len) != NULL) {
        lua_pushliteral(L, "invalid JSON: a NUL byte in the body");
        return 0;
    }
    push_bridge_field(L, "decode");
    lua_pushvalue(L, text);
    if (lua_pcall(L, 1, 1, 0) != 0) {
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            lua_pushliteral(L, "invalid JSON");
        }
        return 0;
    }
    mg_json_push_null(L);
    lua_insert(L, -2);
    if (normalize_top(L, lua_gettop(L) - 1, 1)) {
        lua_replace(L, -2);
    } else {
        lua_remove(L, -2);
    }
    return 1;
}

/* core.json_decode(text) -> value | nil, message */
int mg_json_decode_lua(lua_State *L)
{
    luaL_checkstring(L, 1);
    if (mg_json_decode(L, 1))
        return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}
