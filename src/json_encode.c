/* core.json_encode: request bodies written here rather than by the JSON
 * library, because lua-cjson 2.1 writes numbers with at most 14 significant
 * digits (123456789012345 became 1.2345678901234e+14) and vim.json has its
 * own rules. Whole numbers are written as integers, others with the fewest
 * digits that read back to the same double: every number is sent exactly.
 * The text grows in a buffer owned by a userdata, so an error raised half
 * way (a bad value, no memory) leaves it to __gc. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "modelgates.h"

static const char ENCODER_MT[] = "modelgates.core.json_encoder";

#define MAX_DEPTH 100
/* Past 2^53 a double no longer holds every whole number. */
#define MAX_EXACT 9007199254740992.0

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} text_buffer;

static int encoder_gc(lua_State *L)
{
    text_buffer *out = luaL_checkudata(L, 1, ENCODER_MT);
    free(out->data);
    out->data = NULL;
    return 0;
}

static void append(lua_State *L, text_buffer *out, const char *data, size_t len)
{
    if (len > out->cap - out->len) {
        size_t cap = out->cap ? out->cap : 256;
        char *grown;
        while (cap - out->len < len)
            cap *= 2;
        grown = realloc(out->data, cap);
        if (grown == NULL)
            luaL_error(L, "core.json_encode: out of memory");
        out->data = grown;
        out->cap = cap;
    }
    memcpy(out->data + out->len, data, len);
    out->len += len;
}

static void append_string(lua_State *L, text_buffer *out, const char *s, size_t len)
{
    size_t i, from = 0;
    append(L, out, "\"", 1);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char escaped[8];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        append(L, out, s + from, i - from);
        snprintf(escaped, sizeof escaped, c == '"' || c == '\\' ? "\\%c" : "\\u%04x", c);
        append(L, out, escaped, strlen(escaped));
        from = i + 1;
    }
    append(L, out, s + from, len - from);
    append(L, out, "\"", 1);
}

static void append_number(lua_State *L, text_buffer *out, int idx)
{
    char text[32];
    lua_Number n = lua_tonumber(L, idx);
    int precision;
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx)) {
        lua_Integer i = lua_tointeger(L, idx);
        if ((lua_Number)i > MAX_EXACT || (lua_Number)i < -MAX_EXACT)
            luaL_error(L, "core.json_encode: a whole number beyond 2^53, which JSON does not carry exactly");
        snprintf(text, sizeof text, LUA_INTEGER_FMT, i);
        append(L, out, text, strlen(text));
        return;
    }
#endif
    if (n != n || n == HUGE_VAL || n == -HUGE_VAL)
        luaL_error(L, "core.json_encode: NaN and infinities are not JSON numbers");
    if (floor(n) == n && fabs(n) <= MAX_EXACT) {
        snprintf(text, sizeof text, "%.0f", n);
    } else {
        for (precision = 15; precision <= 17; precision++) {
            snprintf(text, sizeof text, "%.*g", precision, n);
            if (strtod(text, NULL) == n)
                break;
        }
    }
    append(L, out, text, strlen(text));
}

static void append_value(lua_State *L, text_buffer *out, int idx, int depth);

/* A table with the keys 1..n and no other is an array; one with string
 * keys only, an object; an empty one, an object. */
static void append_table(lua_State *L, text_buffer *out, int idx, int depth)
{
    size_t n = mg_rawlen(L, idx), count = 0;
    int is_array = n > 0, first = 1;
    if (depth > MAX_DEPTH)
        luaL_error(L, "core.json_encode: nested deeper than %d", MAX_DEPTH);
    luaL_checkstack(L, 3, "core.json_encode: nested too deep");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        if (lua_type(L, -2) != LUA_TSTRING && !is_array)
            luaL_error(L, "core.json_encode: a table with keys other than strings, or a sparse array");
        if (lua_type(L, -2) == LUA_TSTRING && is_array)
            luaL_error(L, "core.json_encode: a table that is both an array and an object");
        lua_pop(L, 1);
    }
    if (is_array && count != n)
        luaL_error(L, "core.json_encode: a sparse array");
    append(L, out, is_array ? "[" : "{", 1);
    if (is_array) {
        size_t i;
        for (i = 1; i <= n; i++) {
            if (i > 1)
                append(L, out, ",", 1);
            lua_rawgeti(L, idx, (int)i);
            append_value(L, out, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
    } else {
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            size_t len;
            const char *key = lua_tolstring(L, -2, &len);
            if (!first)
                append(L, out, ",", 1);
            first = 0;
            append_string(L, out, key, len);
            append(L, out, ":", 1);
            append_value(L, out, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
    }
    append(L, out, is_array ? "]" : "}", 1);
}

static void append_value(lua_State *L, text_buffer *out, int idx, int depth)
{
    size_t len;
    const char *s;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        append(L, out, "null", 4);
        break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx))
            append(L, out, "true", 4);
        else
            append(L, out, "false", 5);
        break;
    case LUA_TNUMBER:
        append_number(L, out, idx);
        break;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        append_string(L, out, s, len);
        break;
    case LUA_TTABLE:
        append_table(L, out, idx, depth);
        break;
    default:
        /* The null sentinel (cjson.null or vim.NIL); anything else is refused. */
        mg_json_push_null(L);
        if (!lua_rawequal(L, -1, idx))
            luaL_error(L, "core.json_encode: a %s is not JSON", luaL_typename(L, idx));
        lua_pop(L, 1);
        append(L, out, "null", 4);
    }
}

/* core.json_encode(value) -> text */
int mg_json_encode_lua(lua_State *L)
{
    text_buffer *out;
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    out = lua_newuserdata(L, sizeof *out);
    memset(out, 0, sizeof *out);
    if (luaL_newmetatable(L, ENCODER_MT)) {
        lua_pushcfunction(L, encoder_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    append_value(L, out, 1, 0);
    lua_pushlstring(L, out->data, out->len);
    free(out->data);
    out->data = NULL;
    return 1;
}
