/* One HTTP exchange on a libcurl easy handle: the settings of a request,
 * the buffers its answer fills, and the answer (or error) it becomes. The
 * blocking transport (transport.c) performs one at a time; the multi
 * (multi.c) runs many at once. Both configure and report through these
 * functions only, so that every per-request promise holds on both. */
#ifndef MODELGATES_TRANSFER_H
#define MODELGATES_TRANSFER_H

#include <signal.h>
#include <curl/curl.h>
#include "modelgates.h"

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    size_t limit;
    int overflowed;
} mg_buffer;

typedef struct {
    CURL *curl;
    /* The fork generation the handle was made in: after a fork (nginx's
     * master to its workers) the child must not use, nor close, the
     * parent's connections. */
    unsigned long generation;
    /* The CA settings the handle has: changing them needs curl_easy_reset,
     * which every other request is spared. */
    char *ca_file;
    char *ca_path;
    long timeout_ms;
    /* libcurl's stall limit averages over seconds of history, so a body that
     * stops after a burst is noticed late: the progress callback watches
     * for the time since the last byte instead. */
    long stall_ms;
    long last_progress_ms;
    curl_off_t last_progress_bytes;
    int stalled;
    /* An error status's body cut at max_response_bytes: the answer stands,
     * with what fits of its body. */
    int body_truncated;
    /* Requests libcurl sent for this exchange: more than one when it
     * silently re-sent a request whose reused connection had died. */
    int requests_sent;
    /* The signal guard even where libcurl needs none, so that the guarded
     * path is tested too. */
    int always_guard_sigpipe;
    /* Whether this request asked for a compressed response. */
    int compressed;
    /* Whether this request needs the guard: see mg_transfer_configure. */
    int guard_sigpipe;
    /* Kept on the handle while the request's header lines stay the same. */
    struct curl_slist *request_headers;
    int request_header_count;
    mg_buffer body;
    mg_buffer head;
    char error_text[CURL_ERROR_SIZE];
} mg_transfer;

/* libcurl's global state, once per process, whichever thread asks first. */
void mg_curl_init(lua_State *L);
unsigned long mg_fork_generation(void);

/* Makes the easy handle (raises on failure; `t` keeps what it holds). */
void mg_transfer_start(lua_State *L, mg_transfer *t);
/* Whether the handle was made before a fork, in the parent. */
int mg_transfer_inherited(const mg_transfer *t);
/* Sets everything of the request table at index `request` on the handle;
 * raises a plain error for a malformed request, leaving all to `t`. */
void mg_transfer_configure(lua_State *L, mg_transfer *t, int request);
/* Pushes the answer { status, reason, headers, body, requests_sent } and
 * returns 1, or pushes nil and the error object and returns 2. */
int mg_transfer_push_result(lua_State *L, mg_transfer *t, CURLcode code);
/* Whether the stall limit has passed since the last byte, by the clock
 * rather than in the progress callback, which libcurl calls only when it
 * runs the transfer; marks the transfer stalled if so. */
int mg_transfer_check_stall(mg_transfer *t);
/* Frees the handle and the buffers; safe to call twice. */
void mg_transfer_release(mg_transfer *t);
/* In a forked child: forgets the parent's handle without closing it. */
void mg_transfer_abandon(mg_transfer *t);

/* SIGPIPE blocked around a libcurl call, a pending one discarded after:
 * see transfer.c. */
typedef struct {
    sigset_t previous;
    int was_pending;
} mg_sigpipe_guard;
void mg_sigpipe_block(mg_sigpipe_guard *guard);
void mg_sigpipe_restore(mg_sigpipe_guard *guard);

#endif
