/* core.multi: one libcurl multi handle running many transfers (transfer.c)
 * on one thread, for hosts that must never block (modelgates.gather, the
 * Neovim loop). libcurl's callbacks here only record: the sockets to watch
 * and the timer libcurl asks for are queued in C, and the Lua host drains
 * the queue after the call returns. Every transfer and every queue lives in
 * the userdata, so an error raised at any point leaves it to __gc.
 *
 * Two ways to drive it, one per multi: `perform(wait)` waits on libcurl's
 * own sockets (curl_multi_poll) for a plain script; with { events = true },
 * the host's event loop watches the sockets and calls `socket_action`. */
#include <stdlib.h>
#include <string.h>
#include "transfer.h"

static const char MULTI_MT[] = "modelgates.core.multi";

enum slot_state { SLOT_FREE, SLOT_ACTIVE, SLOT_DONE };

typedef struct {
    mg_transfer transfer;
    enum slot_state state;
    CURLcode code;
} slot;

typedef struct {
    curl_socket_t fd;
    int what; /* CURL_POLL_IN, _OUT, _INOUT or _REMOVE */
} socket_change;

typedef struct {
    CURLM *multi;
    unsigned long generation;
    /* A transfer's id is its slot's index + 1; a free slot keeps its easy
     * handle (and its header list) for the next transfer. */
    slot **slots;
    int slot_count;
    int active;
    int events;
    int always_guard_sigpipe;
    long max_host_connections;
    long max_total_connections;
    /* Queued by the callbacks for the host, in order. */
    socket_change *changes;
    size_t change_count;
    size_t change_cap;
    int changes_lost;
    long timer_ms;
    int timer_changed;
} multi;

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    multi *m = userp;
    (void)easy;
    (void)socketp;
    if (m->change_count == m->change_cap) {
        size_t cap = m->change_cap ? m->change_cap * 2 : 16;
        socket_change *grown = realloc(m->changes, cap * sizeof *grown);
        if (grown == NULL) {
            m->changes_lost = 1;
            return -1;
        }
        m->changes = grown;
        m->change_cap = cap;
    }
    m->changes[m->change_count].fd = fd;
    m->changes[m->change_count].what = what;
    m->change_count++;
    return 0;
}

static int on_timer(CURLM *handle, long timeout_ms, void *userp)
{
    multi *m = userp;
    (void)handle;
    m->timer_ms = timeout_ms;
    m->timer_changed = 1;
    return 0;
}

static void check_code(lua_State *L, CURLMcode code)
{
    if (code != CURLM_OK)
        luaL_error(L, "libcurl multi: %s", curl_multi_strerror(code));
}

static void start_multi(lua_State *L, multi *m)
{
    m->multi = curl_multi_init();
    if (m->multi == NULL)
        luaL_error(L, "curl_multi_init failed");
    m->generation = mg_fork_generation();
    /* HTTP/2 is negotiated over TLS only (ALPN): cleartext HTTP/2 with
     * prior knowledge breaks with libcurl 7.88 when transfers wait to
     * multiplex. */
    curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, m->max_host_connections);
    curl_multi_setopt(m->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, m->max_total_connections);
    if (m->events) {
        curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
        curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    }
}

/* One close for close and __gc. In a forked child every handle belongs to
 * the parent's connections: abandoned, never cleaned up, so that nothing
 * is closed or shut down on a socket the parent still uses. */
static void release_multi(multi *m)
{
    int i, inherited = m->multi != NULL && m->generation != mg_fork_generation();
    for (i = 0; i < m->slot_count; i++) {
        slot *s = m->slots[i];
        if (inherited)
            mg_transfer_abandon(&s->transfer);
        else if (s->state == SLOT_ACTIVE)
            curl_multi_remove_handle(m->multi, s->transfer.curl);
        mg_transfer_release(&s->transfer);
        free(s);
    }
    free(m->slots);
    m->slots = NULL;
    m->slot_count = m->active = 0;
    if (m->multi != NULL && !inherited)
        curl_multi_cleanup(m->multi);
    m->multi = NULL;
    free(m->changes);
    m->changes = NULL;
    m->change_count = m->change_cap = 0;
}

static int multi_close(lua_State *L)
{
    release_multi(luaL_checkudata(L, 1, MULTI_MT));
    return 0;
}

static multi *check_multi(lua_State *L)
{
    multi *m = luaL_checkudata(L, 1, MULTI_MT);
    if (m->multi == NULL)
        luaL_argerror(L, 1, "multi is closed");
    /* Made before a fork: the child starts over with nothing in flight. */
    if (m->generation != mg_fork_generation()) {
        release_multi(m);
        start_multi(L, m);
    }
    return m;
}

static long opt_count_field(lua_State *L, const char *name)
{
    lua_Number n;
    lua_getfield(L, 1, name);
    n = lua_tonumber(L, -1);
    if (!lua_isnil(L, -1) && (lua_type(L, -1) != LUA_TNUMBER || !(n >= 0) || n > 1e6 || n != (long)n))
        luaL_error(L, "core.multi: options.%s: expected a whole number from 0 to 1000000 (0: no cap)", name);
    lua_pop(L, 1);
    return (long)n;
}

/* core.multi{ max_host_connections = n, max_total_connections = n,
 *             events = false, guard_sigpipe = false } */
int mg_multi_new(lua_State *L)
{
    multi *m;
    mg_curl_init(L);
    lua_settop(L, 1);
    if (lua_isnil(L, 1)) {
        lua_newtable(L);
        lua_replace(L, 1);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    m = lua_newuserdata(L, sizeof *m);
    memset(m, 0, sizeof *m);
    luaL_getmetatable(L, MULTI_MT);
    lua_setmetatable(L, -2);
    m->max_host_connections = opt_count_field(L, "max_host_connections");
    m->max_total_connections = opt_count_field(L, "max_total_connections");
    lua_getfield(L, 1, "events");
    m->events = lua_toboolean(L, -1);
    lua_getfield(L, 1, "guard_sigpipe");
    m->always_guard_sigpipe = lua_toboolean(L, -1);
    lua_pop(L, 2);
    m->timer_ms = -1;
    start_multi(L, m);
    return 1;
}

/* A free slot, or a new one: stored in the array before anything that may
 * raise, so that the userdata owns it from the start. */
static slot *free_slot(lua_State *L, multi *m, int *id)
{
    int i;
    slot **grown;
    for (i = 0; i < m->slot_count; i++)
        if (m->slots[i]->state == SLOT_FREE) {
            *id = i + 1;
            return m->slots[i];
        }
    grown = realloc(m->slots, (size_t)(m->slot_count + 1) * sizeof *grown);
    if (grown == NULL)
        luaL_error(L, "out of memory");
    m->slots = grown;
    m->slots[m->slot_count] = calloc(1, sizeof(slot));
    if (m->slots[m->slot_count] == NULL)
        luaL_error(L, "out of memory");
    *id = ++m->slot_count;
    return m->slots[m->slot_count - 1];
}

/* multi:add(request) -> id: starts a transfer of the request (as
 * transport:perform takes it); the request table must stay alive until
 * the transfer is done, for its body. */
static int multi_add(lua_State *L)
{
    multi *m = check_multi(L);
    int id;
    slot *s;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    s = free_slot(L, m, &id);
    if (s->transfer.curl == NULL) {
        s->transfer.always_guard_sigpipe = m->always_guard_sigpipe;
        mg_transfer_start(L, &s->transfer);
    }
    mg_transfer_configure(L, &s->transfer, 2);
    lua_getfield(L, 2, "url");
    /* Over TLS a transfer waits for a connection that can multiplex rather
     * than opening its own. */
    curl_easy_setopt(s->transfer.curl, CURLOPT_PIPEWAIT,
                     strncmp(lua_tostring(L, -1), "https://", 8) == 0 ? 1L : 0L);
    check_code(L, curl_multi_add_handle(m->multi, s->transfer.curl));
    s->state = SLOT_ACTIVE;
    m->active++;
    lua_pushinteger(L, id);
    return 1;
}

static slot *check_slot(lua_State *L, multi *m, int arg)
{
    lua_Integer id = luaL_checkinteger(L, arg);
    luaL_argcheck(L, id >= 1 && id <= m->slot_count && m->slots[id - 1]->state != SLOT_FREE, arg,
                  "no such transfer");
    return m->slots[id - 1];
}

/* Takes the transfer out of the multi as finished with `code`, and adds its
 * id to the array at the top of the stack (made at the first, in place of
 * the nil there), which holds `*n` ids. */
static void finish_slot(lua_State *L, multi *m, int index, CURLcode code, int *n)
{
    slot *s = m->slots[index];
    curl_multi_remove_handle(m->multi, s->transfer.curl);
    s->code = code;
    s->state = SLOT_DONE;
    m->active--;
    if (*n == 0) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    lua_pushinteger(L, index + 1);
    lua_rawseti(L, -2, ++*n);
}

/* Moves every finished transfer to DONE; pushes their ids as an array, or
 * nil when none finished. Driven by events, libcurl runs a transfer only
 * when its socket or timer fires, so one that went quiet is found stalled
 * here, by the clock. */
static int push_done(lua_State *L, multi *m)
{
    CURLMsg *msg;
    int i, left, n = 0;
    lua_pushnil(L);
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        slot *s = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        for (i = 0; i < m->slot_count && m->slots[i] != s; i++)
            ;
        if (i == m->slot_count)
            continue;
        finish_slot(L, m, i, msg->data.result, &n);
    }
    for (i = 0; m->events && i < m->slot_count; i++)
        if (m->slots[i]->state == SLOT_ACTIVE && mg_transfer_check_stall(&m->slots[i]->transfer))
            finish_slot(L, m, i, CURLE_ABORTED_BY_CALLBACK, &n);
    return 1;
}

static int needs_sigpipe_guard(const multi *m)
{
    int i;
    for (i = 0; i < m->slot_count; i++)
        if (m->slots[i]->state == SLOT_ACTIVE && m->slots[i]->transfer.guard_sigpipe)
            return 1;
    return 0;
}

/* Runs libcurl for the multi, with the SIGPIPE guard when a transfer needs
 * it: socket_action for an event (fd, or CURL_SOCKET_TIMEOUT), else
 * perform. */
static void run_multi(lua_State *L, multi *m, curl_socket_t fd, int events)
{
    int running, guarded = needs_sigpipe_guard(m);
    mg_sigpipe_guard guard;
    CURLMcode code;
    if (guarded)
        mg_sigpipe_block(&guard);
    code = m->events ? curl_multi_socket_action(m->multi, fd, events, &running)
                     : curl_multi_perform(m->multi, &running);
    if (guarded)
        mg_sigpipe_restore(&guard);
    check_code(L, code);
}

/* multi:perform(wait) -> ids of the transfers that finished, or nil: waits
 * up to `wait` seconds for activity on the transfers' sockets (or for
 * libcurl's own next timeout, if sooner), then lets libcurl run. */
static int multi_perform(lua_State *L)
{
    multi *m = check_multi(L);
    lua_Number wait = luaL_optnumber(L, 2, 0);
    luaL_argcheck(L, wait >= 0 && wait < 86400, 2, "expected seconds in [0, 86400)");
    if (m->events)
        luaL_argerror(L, 1, "an events multi is driven by socket_action");
    if (wait > 0)
        check_code(L, curl_multi_poll(m->multi, NULL, 0, (int)(wait * 1000.0 + 0.5), NULL));
    run_multi(L, m, CURL_SOCKET_TIMEOUT, 0);
    return push_done(L, m);
}

/* multi:socket_action(fd, readable, writable) -> ids finished, or nil;
 * fd nil: libcurl's timer fired. */
static int multi_socket_action(lua_State *L)
{
    multi *m = check_multi(L);
    curl_socket_t fd = CURL_SOCKET_TIMEOUT;
    int events = 0;
    if (!m->events)
        luaL_argerror(L, 1, "only a multi made with { events = true } takes socket events");
    if (!lua_isnoneornil(L, 2)) {
        fd = (curl_socket_t)luaL_checkinteger(L, 2);
        events = (lua_toboolean(L, 3) ? CURL_CSELECT_IN : 0) | (lua_toboolean(L, 4) ? CURL_CSELECT_OUT : 0);
    }
    run_multi(L, m, fd, events);
    return push_done(L, m);
}

/* multi:take_events() -> changes, timer: the socket changes libcurl asked
 * for since the last take, in order, as { fd, "in" | "out" | "inout" |
 * "remove" }, and the timer it asked for last (milliseconds; -1: none;
 * nil: unchanged). */
static int multi_take_events(lua_State *L)
{
    static const char *const names[] = {"none", "in", "out", "inout", "remove"};
    multi *m = check_multi(L);
    size_t i;
    if (m->changes_lost) {
        m->changes_lost = 0;
        luaL_error(L, "libcurl multi: out of memory for socket events");
    }
    lua_createtable(L, (int)m->change_count, 0);
    for (i = 0; i < m->change_count; i++) {
        lua_createtable(L, 2, 0);
        lua_pushinteger(L, (lua_Integer)m->changes[i].fd);
        lua_rawseti(L, -2, 1);
        lua_pushstring(L, names[m->changes[i].what]);
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, (int)i + 1);
    }
    m->change_count = 0;
    if (m->timer_changed)
        lua_pushinteger(L, m->timer_ms);
    else
        lua_pushnil(L);
    m->timer_changed = 0;
    return 2;
}

/* multi:result(id) -> response | nil, error, as transport:perform returns
 * them; the transfer's slot is free after. */
static int multi_result(lua_State *L)
{
    multi *m = check_multi(L);
    slot *s = check_slot(L, m, 2);
    luaL_argcheck(L, s->state == SLOT_DONE, 2, "transfer still running");
    s->state = SLOT_FREE;
    return mg_transfer_push_result(L, &s->transfer, s->code);
}

/* multi:cancel(id) -> whether a request may have been sent: the transfer
 * stops (its connection is closed, never reused) and its slot is free. */
static int multi_cancel(lua_State *L)
{
    multi *m = check_multi(L);
    slot *s = check_slot(L, m, 2);
    if (s->state == SLOT_ACTIVE) {
        curl_multi_remove_handle(m->multi, s->transfer.curl);
        m->active--;
    }
    s->state = SLOT_FREE;
    lua_pushboolean(L, s->transfer.requests_sent > 0);
    return 1;
}

static int multi_active(lua_State *L)
{
    lua_pushinteger(L, check_multi(L)->active);
    return 1;
}

static int multi_tostring(lua_State *L)
{
    multi *m = luaL_checkudata(L, 1, MULTI_MT);
    if (m->multi == NULL)
        lua_pushliteral(L, "modelgates.multi (closed)");
    else
        lua_pushfstring(L, "modelgates.multi (%d in flight)", m->active);
    return 1;
}

void mg_multi_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"add", multi_add},
        {"perform", multi_perform},
        {"socket_action", multi_socket_action},
        {"take_events", multi_take_events},
        {"result", multi_result},
        {"cancel", multi_cancel},
        {"active", multi_active},
        {NULL, NULL}
    };
    mg_register_class(L, MULTI_MT, methods, multi_close, multi_tostring);
}
