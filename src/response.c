/* Interpreting a response: the success status yields the decoded JSON
 * object; anything else yields an error object carrying the status,
 * headers, raw body and, where the body has one, the API's error object.
 * Kept apart from the transport so that other transports (libuv, cosockets)
 * can share it. */
#include <stdarg.h>
#include <string.h>
#include <ctype.h>
#include "modelgates.h"

static const struct {
    int status;
    const char *reason;
} standard_reasons[] = {
    {400, "Bad Request"}, {401, "Unauthorized"}, {402, "Payment Required"},
    {403, "Forbidden"}, {404, "Not Found"}, {405, "Method Not Allowed"},
    {408, "Request Timeout"}, {409, "Conflict"}, {413, "Payload Too Large"},
    {422, "Unprocessable Entity"}, {429, "Too Many Requests"},
    {500, "Internal Server Error"}, {502, "Bad Gateway"},
    {503, "Service Unavailable"}, {504, "Gateway Timeout"},
};

static const char *standard_reason(lua_Integer status)
{
    size_t i;
    for (i = 0; i < sizeof standard_reasons / sizeof standard_reasons[0]; i++)
        if (standard_reasons[i].status == status)
            return standard_reasons[i].reason;
    return NULL;
}

/* Lower-cased on the C stack, 64 bytes at a time: a header name is one
 * piece, and no luaL_Buffer is set up for it. */
static void push_lower(lua_State *L, const char *s, size_t len)
{
    char piece[64];
    int joined = 0;
    do {
        size_t n = len < sizeof piece ? len : sizeof piece;
        size_t i;
        for (i = 0; i < n; i++)
            piece[i] = (char)tolower((unsigned char)s[i]);
        lua_pushlstring(L, piece, n);
        if (joined)
            lua_concat(L, 2);
        joined = 1;
        s += n;
        len -= n;
    } while (len > 0);
}

static const char *trim(const char *start, const char **end)
{
    while (start < *end && (*start == ' ' || *start == '\t'))
        start++;
    while (*end > start && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
        (*end)--;
    return start;
}

static void set_reason(lua_State *L, const char *line, const char *line_end, int res)
{
    const char *reason = memchr(line, ' ', (size_t)(line_end - line));
    const char *reason_end = line_end;
    if (reason == NULL)
        return;
    reason = memchr(reason + 1, ' ', (size_t)(line_end - reason - 1));
    if (reason == NULL)
        return;
    reason = trim(reason, &reason_end);
    lua_pushlstring(L, reason, (size_t)(reason_end - reason));
    lua_setfield(L, res, "reason");
}

static void add_header(lua_State *L, const char *line, const char *colon, const char *line_end)
{
    const char *value_end = line_end;
    const char *value = trim(colon + 1, &value_end);
    push_lower(L, line, (size_t)(colon - line));
    lua_pushvalue(L, -1);
    lua_rawget(L, -3);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushlstring(L, value, (size_t)(value_end - value));
    } else {
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, value, (size_t)(value_end - value));
        lua_concat(L, 3);
    }
    lua_rawset(L, -3);
}

/* The table is made at its final size: one slot a line is at most one
 * too many (the status line), and growing it would rehash each time. */
static int count_lines(const char *p, const char *stop)
{
    int lines = 0;
    while ((p = memchr(p, '\n', (size_t)(stop - p))) != NULL) {
        lines++;
        p++;
    }
    return lines;
}

void mg_push_headers(lua_State *L, const char *head, size_t len, int res)
{
    const char *p = head, *stop = head + len;
    int first = 1;
    lua_createtable(L, 0, count_lines(head, stop));
    while (p < stop) {
        const char *eol = memchr(p, '\n', (size_t)(stop - p));
        const char *line_end = eol ? eol : stop;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (first)
            set_reason(L, p, line_end, res);
        else if (colon != NULL && colon > p && *p != ' ' && *p != '\t')
            add_header(L, p, colon, line_end);
        first = 0;
        p = line_end + 1;
    }
    lua_setfield(L, res, "headers");
}

static void copy_field(lua_State *L, int from, const char *from_name, const char *to_name)
{
    lua_getfield(L, from, from_name);
    lua_setfield(L, -2, to_name);
}

/* Pushes a table with the response's status_code, headers and body. */
static void push_response_fields(lua_State *L, int res)
{
    lua_createtable(L, 0, 8);
    copy_field(L, res, "status", "status_code");
    copy_field(L, res, "headers", "headers");
    copy_field(L, res, "body", "body");
}

static void push_response_validation_error(lua_State *L, int res, const char *message)
{
    push_response_fields(L, res);
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    mg_push_error(L, "ResponseValidationError");
}

/* Takes message, code and metadata from a body (the string at index body)
 * of the API's error shape into the fields table at the top of the stack. */
static void take_error_object(lua_State *L, int body)
{
    if (!mg_json_decode(L, body) || !lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_getfield(L, -1, "error");
    if (lua_istable(L, -1)) {
        int error_object = lua_gettop(L);
        lua_pushvalue(L, error_object);
        lua_setfield(L, -4, "error");
        lua_getfield(L, error_object, "message");
        if (lua_type(L, -1) == LUA_TSTRING)
            lua_setfield(L, -4, "message");
        else
            lua_pop(L, 1);
        lua_pushvalue(L, -3);
        copy_field(L, error_object, "code", "code");
        copy_field(L, error_object, "metadata", "metadata");
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}

/* Without a message in the body (an HTML page from a proxy, an empty body),
 * the status line's reason phrase, else the standard one, says what failed.
 * A 404 without the API's error JSON is no missing key: the API answers
 * every 404 of its own with that JSON, so the URL is what is wrong. */
static void set_fallback_message(lua_State *L, int res, lua_Integer status)
{
    const char *reason;
    lua_getfield(L, -1, "message");
    if (!lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_getfield(L, res, "reason");
    if (lua_type(L, -1) != LUA_TSTRING || mg_rawlen(L, -1) == 0) {
        lua_pop(L, 1);
        reason = standard_reason(status);
        if (reason != NULL)
            lua_pushstring(L, reason);
        else
            lua_pushfstring(L, "HTTP %d", (int)status);
    }
    if (status == 404) {
        lua_pushfstring(L, "%s; the answer is not the API's, so server_url is likely wrong "
                        "(it ends in /api/v1, e.g. https://modelgates.ai/api/v1)", lua_tostring(L, -1));
        lua_replace(L, -2);
    }
    lua_setfield(L, -2, "message");
}

void mg_push_api_error(lua_State *L, int res)
{
    lua_Integer status;
    int body;
    lua_getfield(L, res, "status");
    status = lua_tointeger(L, -1);
    lua_getfield(L, res, "body");
    body = lua_gettop(L);
    push_response_fields(L, res);
    if (lua_type(L, body) == LUA_TSTRING)
        take_error_object(L, body);
    set_fallback_message(L, res, status);
    mg_push_error(L, "APIError");
    lua_replace(L, body - 1);
    lua_pop(L, 1);
}

static int starts_like_object(const char *body, size_t len)
{
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", body[i]) != NULL && body[i] != '\0')
        i++;
    return i < len && body[i] == '{';
}

static void push_validation_message(lua_State *L, int res, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    lua_pushvfstring(L, format, args);
    va_end(args);
    push_response_validation_error(L, res, lua_tostring(L, -1));
    lua_replace(L, -2);
}

/* core.decode_response(res, success_status) -> object | nil, error */
int mg_decode_response_lua(lua_State *L)
{
    lua_Integer status, success = luaL_checkinteger(L, 2);
    size_t len;
    const char *body;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    lua_getfield(L, 1, "status");
    status = lua_tointeger(L, -1);
    lua_getfield(L, 1, "body");
    body = lua_tolstring(L, -1, &len);
    if (status == success) {
        if (body == NULL || !starts_like_object(body, len))
            push_validation_message(L, 1, "expected a JSON object in the response body");
        else if (mg_json_decode(L, 4))
            return 1;
        else
            push_validation_message(L, 1, "response body is not valid JSON: %s", lua_tostring(L, -1));
    } else if (status >= 300) {
        mg_push_api_error(L, 1);
    } else {
        push_validation_message(L, 1, "expected HTTP %d, got HTTP %d", (int)success, (int)status);
    }
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}
