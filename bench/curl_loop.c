/* The limit: libcurl alone, making the module's requests in a C loop.
 *
 *   curl_loop URL [options]
 *     --count N      at most N timed calls (default 10000)
 *     --seconds S    and at most S seconds of them (default 2)
 *     --key K        sent as "Authorization: Bearer K"
 *     --ca FILE      CA certificate for https
 *     --ua TEXT      the User-Agent (default: the module's form)
 *     --parallel P   P keep-alive connections at once through curl_multi
 *                    (measures a server's ceiling); default 1: sequential
 *                    calls on one reused easy handle
 *     --buffer-size B libcurl's receive buffer (CURLOPT_BUFFERSIZE; the
 *                    module's is 512 KiB), for a large page's transfer
 *     --warmup N     untimed calls first (default 1: the connection and the
 *                    TLS handshake are not part of the loop)
 *
 * Prints one line: "calls=N seconds=S rate=R bytes=B". Every call must
 * answer 200 with a body; anything else exits 1.
 *
 * Built with -DWITH_CJSON_DECODE (and linked to liblua5.1), every answer's
 * body is also decoded by lua-cjson's cjson.decode in one lua_State, as any
 * Lua client that returns the JSON must do: the floor for such a client. A
 * body that does not decode to a table exits 1. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#ifdef WITH_CJSON_DECODE
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#endif

#define MAX_PARALLEL 64

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} buffer;

typedef struct {
    const char *url;
    const char *ca;
    long buffer_size;
    struct curl_slist *headers;
} settings;

static size_t on_body(char *data, size_t size, size_t count, void *userdata)
{
    buffer *buf = userdata;
    size_t len = size * count;
    if (buf->len + len > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 4096;
        char *grown;
        while (cap < buf->len + len)
            cap *= 2;
        grown = realloc(buf->data, cap);
        if (grown == NULL)
            return 0;
        buf->data = grown;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    return len;
}

#ifdef WITH_CJSON_DECODE
/* One lua_State for the whole run; cjson.decode stays at stack index 1. */
static lua_State *decoder;

static void decoder_open(void)
{
    decoder = luaL_newstate();
    if (decoder == NULL) {
        fprintf(stderr, "curl_loop: luaL_newstate failed\n");
        exit(1);
    }
    luaL_openlibs(decoder);
    lua_getglobal(decoder, "require");
    lua_pushliteral(decoder, "cjson");
    if (lua_pcall(decoder, 1, 1, 0) != 0) {
        fprintf(stderr, "curl_loop: %s\n", lua_tostring(decoder, -1));
        exit(1);
    }
    lua_getfield(decoder, -1, "decode");
    lua_remove(decoder, -2);
    if (!lua_isfunction(decoder, 1)) {
        fprintf(stderr, "curl_loop: cjson.decode is not a function\n");
        exit(1);
    }
}

static void decode_body(const buffer *body)
{
    lua_pushvalue(decoder, 1);
    lua_pushlstring(decoder, body->data, body->len);
    if (lua_pcall(decoder, 1, 1, 0) != 0) {
        fprintf(stderr, "curl_loop: cjson.decode: %s\n", lua_tostring(decoder, -1));
        exit(1);
    }
    if (!lua_istable(decoder, -1)) {
        fprintf(stderr, "curl_loop: the body decodes to a %s, not a table\n",
                luaL_typename(decoder, -1));
        exit(1);
    }
    lua_pop(decoder, 1);
}

static void decoder_close(void)
{
    lua_close(decoder);
}
#else
static void decoder_open(void) {}
static void decode_body(const buffer *body) { (void)body; }
static void decoder_close(void) {}
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static CURL *new_handle(const settings *s, buffer *body)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        fprintf(stderr, "curl_loop: curl_easy_init failed\n");
        exit(1);
    }
    curl_easy_setopt(curl, CURLOPT_URL, s->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    if (s->ca != NULL)
        curl_easy_setopt(curl, CURLOPT_CAINFO, s->ca);
    if (s->buffer_size > 0)
        curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, s->buffer_size);
    return curl;
}

static void check_answer(CURL *curl, CURLcode code, const buffer *body)
{
    long status = 0;
    if (code != CURLE_OK) {
        fprintf(stderr, "curl_loop: %s\n", curl_easy_strerror(code));
        exit(1);
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200 || body->len == 0) {
        fprintf(stderr, "curl_loop: HTTP %ld with %lu bytes\n", status, (unsigned long)body->len);
        exit(1);
    }
    decode_body(body);
}

static void one_call(CURL *curl, buffer *body)
{
    CURLcode code;
    body->len = 0;
    code = curl_easy_perform(curl);
    check_answer(curl, code, body);
}

static void run_sequential(const settings *s, long count, double seconds, long warmup)
{
    buffer body = {NULL, 0, 0};
    CURL *curl = new_handle(s, &body);
    unsigned long long bytes = 0;
    long calls = 0, i;
    double start, elapsed;
    for (i = 0; i < warmup; i++)
        one_call(curl, &body);
    start = now();
    elapsed = 0.0;
    while (calls < count && elapsed < seconds) {
        one_call(curl, &body);
        bytes += body.len;
        calls++;
        /* Reading the clock every call costs about 20 ns: negligible. */
        elapsed = now() - start;
    }
    printf("calls=%ld seconds=%.6f rate=%.1f bytes=%llu\n", calls, elapsed,
           (double)calls / elapsed, bytes);
    curl_easy_cleanup(curl);
    free(body.data);
}

static void run_parallel(const settings *s, int parallel, long count, double seconds)
{
    CURLM *multi = curl_multi_init();
    CURL *handles[MAX_PARALLEL];
    buffer bodies[MAX_PARALLEL];
    long started = 0, done = 0;
    int i, running = 0;
    double start, elapsed = 0.0;
    memset(bodies, 0, sizeof bodies);
    for (i = 0; i < parallel; i++) {
        handles[i] = new_handle(s, &bodies[i]);
        curl_easy_setopt(handles[i], CURLOPT_PRIVATE, (void *)&bodies[i]);
        curl_multi_add_handle(multi, handles[i]);
        started++;
    }
    start = now();
    while (running > 0 || started > done) {
        CURLMsg *msg;
        int queued;
        curl_multi_perform(multi, &running);
        while ((msg = curl_multi_info_read(multi, &queued)) != NULL) {
            buffer *body;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&body);
            check_answer(msg->easy_handle, msg->data.result, body);
            done++;
            curl_multi_remove_handle(multi, msg->easy_handle);
            elapsed = now() - start;
            if (started < count && elapsed < seconds) {
                body->len = 0;
                curl_multi_add_handle(multi, msg->easy_handle);
                started++;
            }
        }
        if (running > 0)
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
        else
            curl_multi_perform(multi, &running);
    }
    elapsed = now() - start;
    printf("calls=%ld seconds=%.6f rate=%.1f bytes=0\n", done, elapsed, (double)done / elapsed);
    for (i = 0; i < parallel; i++) {
        curl_easy_cleanup(handles[i]);
        free(bodies[i].data);
    }
    curl_multi_cleanup(multi);
}

int main(int argc, char **argv)
{
    settings s = {NULL, NULL, 0, NULL};
    const char *key = "bench-key";
    const char *ua = NULL;
    long count = 10000, warmup = 1;
    double seconds = 2.0;
    int parallel = 1, i;
    char line[1024];
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (arg[0] != '-') {
            s.url = arg;
            continue;
        }
        if (value == NULL) {
            fprintf(stderr, "curl_loop: %s needs a value\n", arg);
            return 2;
        }
        i++;
        if (strcmp(arg, "--count") == 0)
            count = atol(value);
        else if (strcmp(arg, "--seconds") == 0)
            seconds = atof(value);
        else if (strcmp(arg, "--key") == 0)
            key = value;
        else if (strcmp(arg, "--ca") == 0)
            s.ca = value;
        else if (strcmp(arg, "--ua") == 0)
            ua = value;
        else if (strcmp(arg, "--parallel") == 0)
            parallel = atoi(value);
        else if (strcmp(arg, "--warmup") == 0)
            warmup = atol(value);
        else if (strcmp(arg, "--buffer-size") == 0)
            s.buffer_size = atol(value);
        else {
            fprintf(stderr, "curl_loop: unknown option %s\n", arg);
            return 2;
        }
    }
    if (s.url == NULL || count < 1 || !(seconds > 0) || parallel < 1 || parallel > MAX_PARALLEL
        || warmup < 0 || s.buffer_size < 0) {
        fprintf(stderr, "usage: curl_loop URL [--count N] [--seconds S] [--key K] [--ca FILE]"
                        " [--ua TEXT] [--parallel P] [--warmup N] [--buffer-size B]\n");
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    /* The headers the module sends on a GET. */
    snprintf(line, sizeof line, "Authorization: Bearer %s", key);
    s.headers = curl_slist_append(s.headers, line);
    s.headers = curl_slist_append(s.headers, "Accept: application/json");
    if (ua != NULL) {
        snprintf(line, sizeof line, "User-Agent: %s", ua);
    } else {
        snprintf(line, sizeof line, "User-Agent: lua-modelgates/0.1.0 (Lua 5.1; libcurl/%s)",
                 curl_version_info(CURLVERSION_NOW)->version);
    }
    s.headers = curl_slist_append(s.headers, line);
    s.headers = curl_slist_append(s.headers, "Expect:");
    decoder_open();
    if (parallel == 1)
        run_sequential(&s, count, seconds, warmup);
    else
        run_parallel(&s, parallel, count, seconds);
    decoder_close();
    curl_slist_free_all(s.headers);
    curl_global_cleanup();
    return 0;
}
