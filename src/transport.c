/* The blocking transport: one transfer (transfer.c) owned by a userdata and
 * performed with curl_easy_perform, reused across calls so that the
 * connection is kept alive. Every C resource lives in the userdata, so an
 * error raised at any point leaves it to __gc. */
#include <string.h>
#include "transfer.h"

static const char TRANSPORT_MT[] = "modelgates.core.transport";

static mg_transfer *check_transport(lua_State *L, int idx)
{
    mg_transfer *t = luaL_checkudata(L, idx, TRANSPORT_MT);
    if (t->curl == NULL)
        luaL_argerror(L, idx, "transport is closed");
    return t;
}

/* One close for close and __gc. In a forked child the inherited handle's
 * connections belong to the parent: it is abandoned, not closed. */
static int transport_close(lua_State *L)
{
    mg_transfer *t = luaL_checkudata(L, 1, TRANSPORT_MT);
    if (mg_transfer_inherited(t))
        mg_transfer_abandon(t);
    mg_transfer_release(t);
    return 0;
}

static int transport_tostring(lua_State *L)
{
    mg_transfer *t = luaL_checkudata(L, 1, TRANSPORT_MT);
    lua_pushfstring(L, "modelgates.transport (%s)", t->curl ? "open" : "closed");
    return 1;
}

/* core.transport{ guard_sigpipe = true }: guard_sigpipe forces the SIGPIPE
 * guard even where libcurl needs none, so that the guarded path is tested. */
int mg_transport_new(lua_State *L)
{
    mg_transfer *t;
    mg_curl_init(L);
    lua_settop(L, 1);
    if (!lua_isnoneornil(L, 1))
        luaL_checktype(L, 1, LUA_TTABLE);
    t = lua_newuserdata(L, sizeof *t);
    memset(t, 0, sizeof *t);
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "guard_sigpipe");
        t->always_guard_sigpipe = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    luaL_getmetatable(L, TRANSPORT_MT);
    lua_setmetatable(L, -2);
    mg_transfer_start(L, t);
    return 1;
}

/* transport:perform(request) -> response | nil, error; see
 * mg_transfer_configure for the request. In a forked child the parent's
 * handle is left behind (a bounded, once-per-fork cost) for a fresh one. */
static int transport_perform(lua_State *L)
{
    mg_transfer *t = check_transport(L, 1);
    CURLcode code;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    if (mg_transfer_inherited(t)) {
        mg_transfer_abandon(t);
        mg_transfer_start(L, t);
    }
    mg_transfer_configure(L, t, 2);
    if (t->guard_sigpipe) {
        mg_sigpipe_guard guard;
        mg_sigpipe_block(&guard);
        code = curl_easy_perform(t->curl);
        mg_sigpipe_restore(&guard);
    } else {
        code = curl_easy_perform(t->curl);
    }
    return mg_transfer_push_result(L, t, code);
}

void mg_transport_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"perform", transport_perform},
        {NULL, NULL}
    };
    mg_register_class(L, TRANSPORT_MT, methods, transport_close, transport_tostring);
}
