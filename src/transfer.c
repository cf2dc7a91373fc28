/* One exchange on a libcurl easy handle; see transfer.h. libcurl's
 * callbacks only fill C buffers and counters: nothing touches the Lua API
 * while libcurl runs, because a Lua error raised inside a callback would
 * longjmp across libcurl. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <time.h>
#include <pthread.h>
#include "transfer.h"

#define DEFAULT_MAX_RESPONSE_BYTES (16u * 1024u * 1024u)
/* A buffer that grew past this for one large response is released after it. */
#define RETAINED_BUFFER_BYTES (1024u * 1024u)

static int buffer_reserve(mg_buffer *buf, size_t cap)
{
    char *grown;
    if (cap <= buf->cap)
        return 1;
    grown = realloc(buf->data, cap);
    if (grown == NULL)
        return 0;
    buf->data = grown;
    buf->cap = cap;
    return 1;
}

/* Growth stops at the limit: a body that inflates as it is decoded never
 * holds more memory than the limit allows. */
static int buffer_append(mg_buffer *buf, const char *data, size_t len)
{
    if (len > buf->limit - buf->len) {
        buf->overflowed = 1;
        return 0;
    }
    if (buf->len + len > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 4096;
        while (cap < buf->len + len)
            cap *= 2;
        if (cap > buf->limit)
            cap = buf->limit;
        if (!buffer_reserve(buf, cap))
            return 0;
    }
    memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    return 1;
}

static void buffer_restart(mg_buffer *buf, size_t limit)
{
    if (buf->cap > RETAINED_BUFFER_BYTES) {
        free(buf->data);
        buf->data = NULL;
        buf->cap = 0;
    }
    buf->len = 0;
    buf->limit = limit;
    buf->overflowed = 0;
}

static void buffer_free(mg_buffer *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

static int is_error_status(const mg_transfer *t)
{
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    return status >= 300;
}

/* The value of the response's header field of this lower-case name, and
 * its length; NULL when it has none. */
static const char *head_field(const mg_buffer *head, const char *name, size_t *value_len)
{
    size_t name_len = strlen(name), at = 0, i, end;
    while (at + name_len < head->len) {
        for (i = 0; i < name_len && tolower((unsigned char)head->data[at + i]) == name[i]; i++)
            ;
        for (end = at; end < head->len && head->data[end] != '\n'; end++)
            ;
        if (i == name_len && head->data[at + name_len] == ':') {
            at += name_len + 1;
            while (at < end && (head->data[at] == ' ' || head->data[at] == '\t'))
                at++;
            while (end > at && isspace((unsigned char)head->data[end - 1]))
                end--;
            *value_len = end - at;
            return head->data + at;
        }
        at = end + 1;
    }
    return NULL;
}

/* Whether the body is encoded (gzip, br, ...) rather than as it is. */
static int is_encoded(const mg_transfer *t)
{
    size_t len = 0;
    const char *value = head_field(&t->head, "content-encoding", &len);
    return value != NULL && len > 0 && !(len == 8 && strncasecmp(value, "identity", 8) == 0);
}

/* A body of announced length is received into a buffer of that size, at
 * once: growing by doubling would copy a large page several times over, and
 * one larger than the limit is refused before any of it is read. An encoded
 * body is the exception: its announced length is not what it decodes to,
 * and the limit counts decoded bytes, as they arrive. So is an error
 * status's body: what fits is kept, the rest is not read, and the typed
 * error of that status is raised all the same. */
static size_t on_body(char *data, size_t size, size_t count, void *userdata)
{
    mg_transfer *t = userdata;
    size_t len = size * count;
    if (t->body.len == 0 && !is_encoded(t)) {
        curl_off_t announced = -1;
        curl_easy_getinfo(t->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
        if (announced > (curl_off_t)t->body.limit) {
            if (!is_error_status(t)) {
                t->body.overflowed = 1;
                return 0;
            }
        } else if (announced > 0 && !buffer_reserve(&t->body, (size_t)announced)) {
            return 0;
        }
    }
    if (len > t->body.limit - t->body.len && is_error_status(t)) {
        buffer_append(&t->body, data, t->body.limit - t->body.len);
        t->body_truncated = 1;
        return 0;
    }
    return buffer_append(&t->body, data, len) ? len : 0;
}

/* Only the last response's headers count: an interim 100 Continue starts
 * its own block with a status line, which restarts the buffer. */
static size_t on_header(char *data, size_t size, size_t count, void *userdata)
{
    mg_transfer *t = userdata;
    size_t len = size * count;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0)
        t->head.len = 0;
    return buffer_append(&t->head, data, len) ? len : 0;
}

static long monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    mg_transfer *t = userdata;
    curl_off_t bytes = dlnow + ulnow;
    long now = monotonic_ms();
    (void)dltotal;
    (void)ultotal;
    if (bytes != t->last_progress_bytes) {
        t->last_progress_bytes = bytes;
        t->last_progress_ms = now;
    } else if (now - t->last_progress_ms >= t->stall_ms) {
        t->stalled = 1;
        return 1;
    }
    return 0;
}

int mg_transfer_check_stall(mg_transfer *t)
{
    if (t->stall_ms > 0 && monotonic_ms() - t->last_progress_ms >= t->stall_ms)
        t->stalled = 1;
    return t->stalled;
}

static int on_request_ready(void *userdata, char *conn_primary_ip, char *conn_local_ip,
                            int conn_primary_port, int conn_local_port)
{
    mg_transfer *t = userdata;
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    t->requests_sent++;
    return CURL_PREREQFUNC_OK;
}

/* Bumped in every child of a fork, so that a handle can tell it was made
 * before one without a system call per request (getpid is one). */
static volatile unsigned long fork_generation = 0;

static void count_fork(void)
{
    fork_generation++;
}

unsigned long mg_fork_generation(void)
{
    return fork_generation;
}

/* Whether libcurl writes to every socket, TLS records included, with
 * MSG_NOSIGNAL, so that no SIGPIPE can be raised during a transfer and the
 * guard's four system calls can be spared: plain http always; https from
 * libcurl 7.88.1 with OpenSSL 3, whose writes go through a BIO of libcurl's
 * own (checked with strace). Other TLS libraries may write to the socket
 * themselves. */
static int tls_writes_without_sigpipe = 0;
static int curl_init_failed = 0;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void init_curl_once(void)
{
    const curl_version_info_data *info;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        curl_init_failed = 1;
        return;
    }
    pthread_atfork(NULL, NULL, count_fork);
    info = curl_version_info(CURLVERSION_NOW);
    tls_writes_without_sigpipe = info->version_num >= 0x075801 && info->ssl_version != NULL
        && strncmp(info->ssl_version, "OpenSSL/3", 9) == 0;
}

void mg_curl_init(lua_State *L)
{
    pthread_once(&curl_once, init_curl_once);
    if (curl_init_failed)
        luaL_error(L, "curl_global_init failed");
}

/* The settings every request of the handle shares, set once per handle (and
 * again after a reset) rather than once per request. */
static void set_handle_defaults(mg_transfer *t)
{
    CURL *curl = t->curl;
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, t->error_text);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(curl, CURLOPT_PREREQFUNCTION, on_request_ready);
    curl_easy_setopt(curl, CURLOPT_PREREQDATA, t);
    curl_easy_setopt(curl, CURLOPT_PRIVATE, (void *)t);
}

static void forget_ca_settings(mg_transfer *t)
{
    free(t->ca_file);
    free(t->ca_path);
    t->ca_file = t->ca_path = NULL;
}

void mg_transfer_start(lua_State *L, mg_transfer *t)
{
    t->curl = curl_easy_init();
    if (t->curl == NULL)
        luaL_error(L, "curl_easy_init failed");
    t->generation = fork_generation;
    forget_ca_settings(t);
    set_handle_defaults(t);
}

int mg_transfer_inherited(const mg_transfer *t)
{
    return t->curl != NULL && t->generation != fork_generation;
}

/* The abandoned handle still points to the header list: it goes with it. */
void mg_transfer_abandon(mg_transfer *t)
{
    t->curl = NULL;
    t->request_headers = NULL;
    t->request_header_count = 0;
}

void mg_transfer_release(mg_transfer *t)
{
    if (t->curl != NULL) {
        curl_easy_cleanup(t->curl);
        t->curl = NULL;
    }
    curl_slist_free_all(t->request_headers);
    t->request_headers = NULL;
    t->request_header_count = 0;
    forget_ca_settings(t);
    buffer_free(&t->body);
    buffer_free(&t->head);
}

/* Reads the optional string field `name` of the request table, raw: no
 * __index can hand back a string that nothing else holds. */
static const char *opt_string_field(lua_State *L, int request, const char *name)
{
    const char *value;
    lua_pushstring(L, name);
    lua_rawget(L, request);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return NULL;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "request.%s: expected a string, got %s", name, luaL_typename(L, -1));
    value = lua_tostring(L, -1);
    lua_pop(L, 1); /* the request table holds the string, alive */
    return value;
}

/* Rounded up, never to 0: libcurl reads 0 as "no limit". */
static long opt_millis_field(lua_State *L, int request, const char *name)
{
    lua_Number seconds, millis;
    lua_getfield(L, request, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) > 0))
        luaL_error(L, "request.%s: expected a number of seconds > 0", name);
    seconds = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (seconds > 2147483.0)
        return 2147483000L;
    millis = seconds * 1000.0;
    return (long)millis < millis ? (long)millis + 1 : (long)millis;
}

static size_t opt_size_field(lua_State *L, int request, const char *name, size_t fallback)
{
    lua_Number n;
    lua_getfield(L, request, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return fallback;
    }
    n = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !(n >= 1) || n > 4294967295.0)
        luaL_error(L, "request.%s: expected a positive number of bytes", name);
    lua_pop(L, 1);
    return (size_t)n;
}

static int is_clean_header_line(const char *line, size_t len)
{
    return strlen(line) == len && strpbrk(line, "\r\n") == NULL;
}

/* Whether the handle's header list already holds these `n` lines (the
 * table at the top of the stack), as it does for every call of a client
 * whose headers do not change. */
static int same_header_lines(lua_State *L, const mg_transfer *t, int n)
{
    const struct curl_slist *node = t->request_headers;
    int i, same = n == t->request_header_count;
    for (i = 1; same && i <= n; i++, node = node->next) {
        size_t len;
        const char *line;
        lua_rawgeti(L, -1, i);
        line = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        same = line != NULL && strlen(node->data) == len && memcmp(node->data, line, len) == 0;
        lua_pop(L, 1);
    }
    return same;
}

/* The list is stored in the transfer as it grows, and a failed append
 * leaves the list as it was, so that an error raised half way leaves
 * nothing unowned. */
static void append_header(lua_State *L, mg_transfer *t, const char *line)
{
    struct curl_slist *grown = curl_slist_append(t->request_headers, line);
    if (grown == NULL)
        luaL_error(L, "out of memory");
    t->request_headers = grown;
}

static void set_request_headers(lua_State *L, mg_transfer *t, int request)
{
    int i, n;
    lua_getfield(L, request, "headers");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    luaL_checktype(L, -1, LUA_TTABLE);
    n = (int)mg_rawlen(L, -1);
    if (t->request_headers != NULL && same_header_lines(L, t, n)) {
        lua_pop(L, 1);
        return;
    }
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(t->request_headers);
    t->request_headers = NULL;
    /* Matches no request until the list is whole: one that failed half way
     * is never taken for the next request's. */
    t->request_header_count = -1;
    for (i = 1; i <= n; i++) {
        size_t len;
        const char *line;
        lua_rawgeti(L, -1, i);
        line = lua_tolstring(L, -1, &len);
        if (lua_type(L, -1) != LUA_TSTRING || !is_clean_header_line(line, len))
            luaL_error(L, "request.headers[%d]: expected a header line without CR, LF or NUL", i);
        append_header(L, t, line);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    /* libcurl would otherwise add its own for POST bodies over 1 KiB and
     * wait for 100 Continue. */
    append_header(L, t, "Expect:");
    t->request_header_count = n;
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, t->request_headers);
}

/* The body pointer is the request table's string, alive while the request
 * table is; a request without one clears it, so the handle never keeps a
 * stale one. */
static void set_method_and_body(lua_State *L, mg_transfer *t, int request)
{
    CURL *curl = t->curl;
    size_t body_len = 0;
    const char *method = opt_string_field(L, request, "method");
    const char *body;
    const char *c;
    int is_post;
    if (method == NULL || *method == '\0')
        luaL_error(L, "request.method: expected an HTTP method");
    for (c = method; *c; c++)
        if (!isupper((unsigned char)*c))
            luaL_error(L, "request.method: expected an upper-case HTTP method");
    lua_getfield(L, request, "body");
    body = lua_tolstring(L, -1, &body_len);
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "request.body: expected a string");
    lua_pop(L, 1);
    is_post = strcmp(method, "POST") == 0;
    if (body != NULL || is_post) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    } else {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST,
                     is_post || strcmp(method, "GET") == 0 ? NULL : method);
}

static int same_setting(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static char *copy_setting(lua_State *L, const char *value, char *to_free)
{
    char *copy;
    if (value == NULL)
        return NULL;
    copy = strdup(value);
    if (copy == NULL) {
        free(to_free);
        luaL_error(L, "out of memory");
    }
    return copy;
}

/* libcurl cannot put a CA setting back to its built-in default except by
 * curl_easy_reset, which keeps the live connections but drops every other
 * setting too; so a change of CA settings, and only that, resets. */
static void set_ca(lua_State *L, mg_transfer *t, const char *ca_file, const char *ca_path)
{
    char *file_copy, *path_copy;
    if (same_setting(ca_file, t->ca_file) && same_setting(ca_path, t->ca_path))
        return;
    file_copy = copy_setting(L, ca_file, NULL);
    path_copy = copy_setting(L, ca_path, file_copy);
    curl_easy_reset(t->curl);
    set_handle_defaults(t);
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, t->request_headers);
    forget_ca_settings(t);
    t->ca_file = file_copy;
    t->ca_path = path_copy;
    if (ca_file != NULL)
        curl_easy_setopt(t->curl, CURLOPT_CAINFO, ca_file);
    if (ca_path != NULL)
        curl_easy_setopt(t->curl, CURLOPT_CAPATH, ca_path);
}

/* Sets what differs from one request to the next; the rest was set once,
 * in set_handle_defaults.
 * request = { method, url, headers = { "Name: value", ... }, body,
 *             timeout, connect_timeout, stall_timeout (seconds),
 *             ca_file, ca_path, max_response_bytes,
 *             once (true: must not be sent twice),
 *             compressed (true: ask for compressed responses),
 *             proxy ("http://host:port"; absent: none) } */
void mg_transfer_configure(lua_State *L, mg_transfer *t, int request)
{
    CURL *curl = t->curl;
    const char *url = opt_string_field(L, request, "url");
    long timeout_ms = opt_millis_field(L, request, "timeout");
    long connect_timeout_ms = opt_millis_field(L, request, "connect_timeout");
    long stall_ms = opt_millis_field(L, request, "stall_timeout");
    size_t max_body = opt_size_field(L, request, "max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES);
    const char *proxy;
    if (url == NULL)
        luaL_error(L, "request.url: expected a string");
    set_ca(L, t, opt_string_field(L, request, "ca_file"), opt_string_field(L, request, "ca_path"));
    /* Plain http is written by libcurl alone, always with MSG_NOSIGNAL. */
    t->guard_sigpipe = t->always_guard_sigpipe
        || !(tls_writes_without_sigpipe || strncmp(url, "http://", 7) == 0);
    set_method_and_body(L, t, request);
    set_request_headers(L, t, request);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    t->timeout_ms = timeout_ms;
    t->stall_ms = stall_ms;
    t->stalled = 0;
    t->body_truncated = 0;
    t->requests_sent = 0;
    t->last_progress_ms = monotonic_ms();
    t->last_progress_bytes = 0;
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, stall_ms > 0 ? 0L : 1L);
    /* A request that must not be sent twice gets a connection of its own:
     * on a reused connection that died, libcurl silently sends it again. */
    lua_getfield(L, request, "once");
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, lua_toboolean(L, -1) ? 1L : 0L);
    lua_pop(L, 1);
    /* "" is every encoding the linked libcurl decodes; NULL asks for none. */
    lua_getfield(L, request, "compressed");
    t->compressed = lua_toboolean(L, -1);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, t->compressed ? "" : NULL);
    lua_pop(L, 1);
    /* Always set: "" means no proxy, so that libcurl never picks one from
     * the environment behind the caller's back (modelgates.proxy reads it). */
    proxy = opt_string_field(L, request, "proxy");
    curl_easy_setopt(curl, CURLOPT_PROXY, proxy != NULL ? proxy : "");
    /* Nor its no_proxy: the proxy given is the one that applies. */
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "");
    buffer_restart(&t->body, max_body);
    buffer_restart(&t->head, MG_MAX_HEADER_BYTES);
    t->error_text[0] = '\0';
}

/* Which limit a CURLE_OPERATION_TIMEDOUT hit: libcurl reports the whole
 * call's and the connect limit with the same code. */
static const char *timeout_limit(mg_transfer *t)
{
    curl_off_t total_us = 0;
    curl_easy_getinfo(t->curl, CURLINFO_TOTAL_TIME_T, &total_us);
    if (t->requests_sent == 0 && (t->timeout_ms == 0 || total_us / 1000 < t->timeout_ms - 5))
        return "connect_timeout";
    return "timeout";
}

/* Failures that another try may not meet: name resolution, connect, a
 * connection that broke or went quiet, a time limit. Certificate and
 * protocol errors, and a response over a limit, would fail the same way. */
static int is_transient(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        return 1;
    default:
        return 0;
    }
}

/* The error in the terms every transport reports (see ModelGatesTransportError
 * in types.lua); curl_code stays for diagnosis. */
static void push_transport_error(lua_State *L, mg_transfer *t, CURLcode code)
{
    const char *type = "ConnectionError";
    const char *reason = t->error_text[0] ? t->error_text : curl_easy_strerror(code);
    const char *limit = NULL;
    long proxy_status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_HTTP_CONNECTCODE, &proxy_status);
    lua_createtable(L, 0, 6);
    if (code == CURLE_OPERATION_TIMEDOUT) {
        type = "TimeoutError";
        limit = timeout_limit(t);
    } else if (code == CURLE_ABORTED_BY_CALLBACK && t->stalled) {
        type = "TimeoutError";
        limit = "stall_timeout";
        lua_pushfstring(L, "no byte received or sent for %f seconds", (lua_Number)t->stall_ms / 1000);
        lua_setfield(L, -2, "message");
    } else if (proxy_status >= 300) {
        lua_pushfstring(L, "the proxy refused the tunnel to the server: HTTP %d", (int)proxy_status);
        lua_setfield(L, -2, "message");
        lua_pushinteger(L, (lua_Integer)proxy_status);
        lua_setfield(L, -2, "proxy_status");
    } else if (code == CURLE_WRITE_ERROR && (t->body.overflowed || t->head.overflowed)) {
        type = "ResponseValidationError";
        limit = t->body.overflowed ? "max_response_bytes" : "max_header_bytes";
        char text[64];
        snprintf(text, sizeof text, "response %s %lu bytes", t->body.overflowed ? "body exceeds" : "headers exceed",
                 (unsigned long)(t->body.overflowed ? t->body.limit : t->head.limit));
        lua_pushstring(L, text);
        lua_setfield(L, -2, "message");
    }
    if (limit != NULL) {
        lua_pushstring(L, limit);
        lua_setfield(L, -2, "limit");
    }
    lua_getfield(L, -1, "message");
    if (lua_isnil(L, -1)) {
        lua_pushstring(L, reason);
        lua_setfield(L, -3, "message");
    }
    lua_pop(L, 1);
    /* Nothing was sent when libcurl never got as far as a request. */
    lua_pushboolean(L, t->requests_sent > 0);
    lua_setfield(L, -2, "request_sent");
    lua_pushinteger(L, t->requests_sent);
    lua_setfield(L, -2, "requests_sent");
    /* A proxy that refuses the tunnel (407, 403) will refuse it again; one
     * that could not reach the server (502, 503, 504) may not. */
    lua_pushboolean(L, proxy_status >= 300 ? proxy_status >= 500 : is_transient(code));
    lua_setfield(L, -2, "transient");
    lua_pushinteger(L, (lua_Integer)code);
    lua_setfield(L, -2, "curl_code");
    mg_push_error(L, type);
}

int mg_transfer_push_result(lua_State *L, mg_transfer *t, CURLcode code)
{
    long status = 0;
    if (code == CURLE_WRITE_ERROR && t->body_truncated)
        code = CURLE_OK;
    if (code != CURLE_OK) {
        lua_pushnil(L);
        push_transport_error(L, t, code);
        return 2;
    }
    if (!t->compressed && is_encoded(t) && !is_error_status(t)) {
        /* libcurl left it as it came: what the caller gets could not be
         * JSON. An error status keeps its typed error, its body raw. */
        lua_pushnil(L);
        lua_createtable(L, 0, 5);
        lua_pushliteral(L, "the response body is encoded (Content-Encoding), though no encoding was asked for");
        lua_setfield(L, -2, "message");
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "request_sent");
        lua_pushinteger(L, t->requests_sent);
        lua_setfield(L, -2, "requests_sent");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "transient");
        mg_push_error(L, "ResponseValidationError");
        buffer_restart(&t->body, t->body.limit);
        return 2;
    }
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, (lua_Integer)status);
    lua_setfield(L, -2, "status");
    mg_push_headers(L, t->head.data ? t->head.data : "", t->head.len, lua_gettop(L));
    lua_pushlstring(L, t->body.data ? t->body.data : "", t->body.len);
    lua_setfield(L, -2, "body");
    /* The body now lives in the Lua string: a large C copy goes before the
     * caller decodes it, not at the next request. */
    buffer_restart(&t->body, t->body.limit);
    lua_pushinteger(L, t->requests_sent);
    lua_setfield(L, -2, "requests_sent");
    if (t->body_truncated) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "body_truncated");
    }
    return 1;
}

/* libcurl avoids SIGPIPE on its own sockets, but a TLS library may still
 * write to a socket the peer closed. The signal is blocked for the
 * transfer and a pending one discarded, so it can never kill the host
 * process, and the host's own disposition is left as it was. */
void mg_sigpipe_block(mg_sigpipe_guard *guard)
{
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigpending(&pending);
    guard->was_pending = sigismember(&pending, SIGPIPE);
    sigprocmask(SIG_BLOCK, &pipe_only, &guard->previous);
}

/* sigwait, not sigtimedwait (which macOS lacks): it is called only while a
 * SIGPIPE is pending, so it returns at once; standard signals do not queue,
 * so one call drains it. */
void mg_sigpipe_restore(mg_sigpipe_guard *guard)
{
    sigset_t pipe_only, pending;
    int drained;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigpending(&pending);
    if (!guard->was_pending && sigismember(&pending, SIGPIPE))
        sigwait(&pipe_only, &drained);
    sigprocmask(SIG_SETMASK, &guard->previous, NULL);
}
