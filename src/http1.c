/* HTTP/1.1 response framing for transports that read a socket themselves
 * (OpenResty cosockets): the status line and headers, how the body is
 * delimited, and chunk-size lines. In C so that what is accepted is
 * written down once, tested and fuzzed, and is the same whatever Lua runs
 * it. Strict where a lenient reading could make this client and a proxy in
 * front of it disagree on where a response ends (request smuggling, RFC
 * 9112 section 11.2). Messages never quote the input: a header may carry a
 * secret. */
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include "modelgates.h"

/* The largest body or chunk length handed to Lua: every integer up to 2^53
 * is exact in a double, which is what 5.1 and LuaJIT have. */
#define MAX_LENGTH ((uint64_t)1 << 53)

static int fail(lua_State *L, const char *message)
{
    lua_pushnil(L);
    lua_pushstring(L, message);
    return 2;
}

static void push_length(lua_State *L, uint64_t n)
{
#if LUA_VERSION_NUM >= 503 && defined(LUA_MAXINTEGER) && LUA_MAXINTEGER >= 9007199254740992
    lua_pushinteger(L, (lua_Integer)n);
#else
    lua_pushnumber(L, (lua_Number)n);
#endif
}

/* RFC 9110 section 5.6.2. */
static int is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Visible characters, obs-text, space and tab: what a reason phrase or a
 * field value may hold. A bare CR is refused here, since some parsers end
 * a line on it. */
static int is_text(unsigned char c)
{
    return c == '\t' || (c >= ' ' && c != 0x7f);
}

static int all_text(const unsigned char *p, const unsigned char *end)
{
    for (; p < end; p++)
        if (!is_text(*p))
            return 0;
    return 1;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The line's content (without LF and one CR before it) is [p, *end);
 * returns where the next line starts, or NULL when there is no LF. */
static const unsigned char *next_line(const unsigned char *p, const unsigned char *stop,
                                      const unsigned char **end)
{
    const unsigned char *eol = memchr(p, '\n', (size_t)(stop - p));
    if (eol == NULL)
        return NULL;
    *end = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;
    return eol + 1;
}

static const char *check_status_line(const unsigned char *p, const unsigned char *end, int *status)
{
    size_t len = (size_t)(end - p);
    const unsigned char *space = memchr(p, ' ', len);
    size_t version_len = space ? (size_t)(space - p) : len;
    if (version_len != 8 || (memcmp(p, "HTTP/1.0", 8) != 0 && memcmp(p, "HTTP/1.1", 8) != 0))
        return len >= 5 && memcmp(p, "HTTP/", 5) == 0 ? "unsupported HTTP version in the status line"
                                                      : "malformed status line";
    if (len < 12 || !is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]) || (len > 12 && p[12] != ' '))
        return "status code in the status line is not three digits";
    *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (*status < 100 || *status > 599)
        return "status code in the status line is not in [100, 599]";
    if (!all_text(p + 12, end))
        return "invalid character in the reason phrase";
    return NULL;
}

static const char *check_header_line(const unsigned char *p, const unsigned char *end)
{
    const unsigned char *name = p;
    if (*p == ' ' || *p == '\t')
        return "obsolete line folding in the headers";
    while (p < end && is_tchar(*p))
        p++;
    if (p == end)
        return "header line without a colon";
    if (*p == ' ' || *p == '\t')
        return "whitespace before the colon in a header line";
    if (*p != ':')
        return "invalid character in a header name";
    if (p == name)
        return "empty header name";
    if (!all_text(p + 1, end))
        return "invalid character in a header value";
    return NULL;
}

/* Checks the whole head before anything is built, so that mg_push_headers
 * only ever sees lines it reads the way this function does. */
static const char *check_head(const unsigned char *head, size_t len, int *status)
{
    const unsigned char *p = head, *stop = head + len, *end, *next;
    const char *message;
    if (memchr(head, '\0', len) != NULL)
        return "NUL byte in the response head";
    next = next_line(p, stop, &end);
    if (next == NULL)
        return "response head does not end with an empty line";
    if ((message = check_status_line(p, end, status)) != NULL)
        return message;
    for (p = next; (next = next_line(p, stop, &end)) != NULL; p = next) {
        if (end == p)
            return next == stop ? NULL : "data after the empty line that ends the head";
        if ((message = check_header_line(p, end)) != NULL)
            return message;
    }
    return "response head does not end with an empty line";
}

/* core.http1_head(raw) -> { status, reason, headers } | nil, message
 * raw is the status line and header lines through the empty line. */
int mg_http1_head_lua(lua_State *L)
{
    size_t len;
    const char *raw = luaL_checklstring(L, 1, &len);
    const char *message;
    int status = 0;
    if (len > MG_MAX_HEADER_BYTES) {
        lua_pushnil(L);
        lua_pushfstring(L, "response headers exceed %d bytes", (int)MG_MAX_HEADER_BYTES);
        return 2;
    }
    if ((message = check_head((const unsigned char *)raw, len, &status)) != NULL)
        return fail(L, message);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    mg_push_headers(L, raw, len, lua_gettop(L));
    return 1;
}

/* The value of header `name` of the table at index headers, or NULL; the
 * string stays on the stack, which keeps it alive. */
static const char *header_value(lua_State *L, int headers, const char *name, size_t *len)
{
    lua_getfield(L, headers, name);
    if (lua_isnil(L, -1))
        return NULL;
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_argerror(L, headers, lua_pushfstring(L, "expected a string or nil at headers[\"%s\"]", name));
    return lua_tolstring(L, -1, len);
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int is_chunked(const char *te, size_t len)
{
    static const char chunked[] = "chunked";
    size_t i;
    while (len > 0 && is_ows(*te)) {
        te++;
        len--;
    }
    while (len > 0 && is_ows(te[len - 1]))
        len--;
    if (len != sizeof chunked - 1)
        return 0;
    for (i = 0; i < len; i++)
        if ((te[i] | 0x20) != chunked[i])
            return 0;
    return 1;
}

/* A Content-Length value, or a comma-separated list of equal ones (what
 * mg_push_headers makes of a repeated header, RFC 9110 section 8.6). */
static const char *parse_content_length(const char *p, size_t len, uint64_t *length)
{
    const char *stop = p + len;
    int first = 1;
    for (;;) {
        uint64_t n = 0;
        const char *digits;
        while (p < stop && is_ows(*p))
            p++;
        digits = p;
        for (; p < stop && is_digit((unsigned char)*p); p++) {
            unsigned d = (unsigned)(*p - '0');
            if (n > (MAX_LENGTH - d) / 10)
                return "Content-Length is too large";
            n = n * 10 + d;
        }
        if (p == digits)
            return "Content-Length is not a decimal number";
        while (p < stop && is_ows(*p))
            p++;
        if (!first && n != *length)
            return "conflicting Content-Length values";
        *length = n;
        first = 0;
        if (p == stop)
            return NULL;
        if (*p != ',')
            return "Content-Length is not a decimal number";
        p++;
    }
}

/* core.http1_framing(method, status, headers) -> kind[, length] | nil, message
 * kind is "none", "chunked", "length" (then length, the byte count) or
 * "close" (the body runs until the connection closes): RFC 9112 section
 * 6.3. headers is a table as core.http1_head makes it. */
int mg_http1_framing_lua(lua_State *L)
{
    const char *method = luaL_checkstring(L, 1);
    lua_Integer status = luaL_checkinteger(L, 2);
    const char *te, *cl, *message;
    size_t te_len = 0, cl_len = 0;
    uint64_t length = 0;
    luaL_argcheck(L, status >= 100 && status <= 599, 2, "expected an HTTP status in [100, 599]");
    luaL_checktype(L, 3, LUA_TTABLE);
    te = header_value(L, 3, "transfer-encoding", &te_len);
    cl = header_value(L, 3, "content-length", &cl_len);
    /* Methods are case-sensitive: "head" is not HEAD. */
    if (strcmp(method, "HEAD") == 0 || status < 200 || status == 204 || status == 304) {
        lua_pushliteral(L, "none");
        return 1;
    }
    if (te != NULL && cl != NULL)
        return fail(L, "both Transfer-Encoding and Content-Length in the response");
    if (te != NULL) {
        /* Any other coding would need decoding, and a last coding other
         * than chunked means the length is unknown (section 6.3, item 4). */
        if (!is_chunked(te, te_len))
            return fail(L, "unsupported Transfer-Encoding (only chunked is)");
        lua_pushliteral(L, "chunked");
        return 1;
    }
    if (cl != NULL) {
        if ((message = parse_content_length(cl, cl_len, &length)) != NULL)
            return fail(L, message);
        lua_pushliteral(L, "length");
        push_length(L, length);
        return 2;
    }
    lua_pushliteral(L, "close");
    return 1;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* core.http1_chunk_size(line) -> size | nil, message
 * line is a chunk-size line without its CRLF: hex digits, optional
 * whitespace, optional extensions after ";" (ignored). 0 is the last chunk. */
int mg_http1_chunk_size_lua(lua_State *L)
{
    size_t len, i = 0;
    const unsigned char *line = (const unsigned char *)luaL_checklstring(L, 1, &len);
    uint64_t size = 0;
    int d;
    for (; i < len && (d = hex_value(line[i])) >= 0; i++) {
        if (size > (MAX_LENGTH - (unsigned)d) / 16)
            return fail(L, "chunk size is too large");
        size = size * 16 + (unsigned)d;
    }
    if (i == 0)
        return fail(L, len == 0 ? "empty chunk size line" : "chunk size is not hexadecimal");
    while (i < len && is_ows((char)line[i]))
        i++;
    if (i < len && line[i] != ';')
        return fail(L, "chunk size is not hexadecimal");
    /* The extensions are skipped, but a NUL or a line end inside them
     * means the caller's line and a proxy's could differ. */
    for (; i < len; i++)
        if (line[i] == '\0' || line[i] == '\r' || line[i] == '\n')
            return fail(L, "invalid character in a chunk extension");
    push_length(L, size);
    return 1;
}
