/* Percent-encoding of path segments and query values, in C because a Lua
 * 5.1 pattern over a 64-byte hash costs about 19,000 instructions, on every
 * call. */
#include "modelgates.h"

/* RFC 3986's unreserved characters less ".": libcurl would resolve a
 * segment of ".." as a dot segment. */
static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        || c == '-' || c == '_' || c == '~';
}

/* core.percent_encode(text) -> text with every other byte as %XX; the very
 * string when nothing needs encoding. */
int mg_percent_encode_lua(lua_State *L)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len, i;
    const unsigned char *text = (const unsigned char *)luaL_checklstring(L, 1, &len);
    luaL_Buffer b;
    for (i = 0; i < len && is_unreserved(text[i]); i++)
        ;
    if (i == len) {
        lua_settop(L, 1);
        return 1;
    }
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, (const char *)text, i);
    for (; i < len; i++) {
        if (is_unreserved(text[i])) {
            luaL_addchar(&b, (char)text[i]);
        } else {
            luaL_addchar(&b, '%');
            luaL_addchar(&b, hex[text[i] >> 4]);
            luaL_addchar(&b, hex[text[i] & 15]);
        }
    }
    luaL_pushresult(&b);
    return 1;
}
