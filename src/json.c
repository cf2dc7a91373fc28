/* The JSON bridge. lua-cjson is loaded through the Lua API as a private
 * instance (cjson.new()), so the settings chosen here never leak into other
 * code of the same Lua state; inside Neovim, where cjson may be missing,
 * vim.json serves. Decoded values are normalized for Lua callers: JSON null
 * becomes an absent field (cjson.null is truthy), and on 5.3+ whole numbers
 * become integers whatever the decoder's build does. */
#include <math.h>
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
    lua_getfield(L, -1, "encode");
    lua_setfield(L, bridge, "encode");
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

#if LUA_VERSION_NUM >= 503
static int is_whole_float(lua_State *L, int idx, lua_Integer *whole)
{
    lua_Number n;
    if (lua_type(L, idx) != LUA_TNUMBER || lua_isinteger(L, idx))
        return 0;
    n = lua_tonumber(L, idx);
    return floor(n) == n && lua_numbertointeger(n, whole);
}
#endif

static void normalize_table(lua_State *L, int table, int null_value);

/* Normalizes the value in stack slot `slot` in place; returns whether it
 * replaced it (a table is changed inside, never replaced). */
static int normalize_slot(lua_State *L, int slot, int null_value)
{
#if LUA_VERSION_NUM >= 503
    lua_Integer whole;
    if (is_whole_float(L, slot, &whole)) {
        lua_pushinteger(L, whole);
        lua_replace(L, slot);
        return 1;
    }
#endif
    if (lua_rawequal(L, slot, null_value)) {
        lua_pushnil(L);
        lua_replace(L, slot);
        return 1;
    }
    if (lua_type(L, slot) == LUA_TTABLE)
        normalize_table(L, slot, null_value);
    return 0;
}

/* Replacing or clearing an existing field is allowed during lua_next. The
 * depth is bounded by the decoder's own nesting limit. */
static void normalize_table(lua_State *L, int table, int null_value)
{
    luaL_checkstack(L, 4, "JSON nested too deep");
    lua_pushnil(L);
    while (lua_next(L, table)) {
        if (normalize_slot(L, lua_gettop(L), null_value)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, table);
        } else {
            lua_pop(L, 1);
        }
    }
}

int mg_json_decode(lua_State *L, const char *text, size_t len)
{
    int value;
    push_bridge_field(L, "decode");
    lua_pushlstring(L, text, len);
    if (lua_pcall(L, 1, 1, 0) != 0) {
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            lua_pushliteral(L, "invalid JSON");
        }
        return 0;
    }
    value = lua_gettop(L);
    mg_json_push_null(L);
    normalize_slot(L, value, value + 1);
    lua_pop(L, 1);
    return 1;
}

/* core.json_decode(text) -> value | nil, message */
int mg_json_decode_lua(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    if (mg_json_decode(L, text, len))
        return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* core.json_encode(value) -> text; raises for values JSON cannot hold. */
int mg_json_encode_lua(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    push_bridge_field(L, "encode");
    lua_insert(L, 1);
    lua_call(L, 1, 1);
    return 1;
}
