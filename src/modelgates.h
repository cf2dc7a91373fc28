/* Declarations shared by the files of modelgates.core. */
#ifndef MODELGATES_H
#define MODELGATES_H

#include <stddef.h>
#include "compat.h"

#define MODELGATES_VERSION "0.1.0"
/* The most header bytes one response may have, whatever the transport. */
#define MG_MAX_HEADER_BYTES (256u * 1024u)

/* errors.c: error objects are tables whose metatable is one of the classes
 * of the Lua module modelgates.errors. */
void mg_errors_init(lua_State *L);
/* Pushes a new error object of class `type_name` whose fields are those of
 * the table at the top of the stack (which it pops). */
void mg_push_error(lua_State *L, const char *type_name);
/* Shorthand for an error with only a message. */
void mg_push_error_message(lua_State *L, const char *type_name, const char *message);

/* json.c: a private lua-cjson instance (or vim.json inside Neovim). */
void mg_json_init(lua_State *L);
/* Decodes the string at stack index `text`, passed on as it is: a page of
 * keys is megabytes, not to be copied again. On success pushes the value,
 * with JSON nulls removed and, on 5.3+, whole numbers as integers, and
 * returns 1. On failure pushes the decoder's message and returns 0. Never
 * raises for bad input. */
int mg_json_decode(lua_State *L, int text);
int mg_json_decode_lua(lua_State *L);
/* json_encode.c: request bodies, every number exactly. */
int mg_json_encode_lua(lua_State *L);
void mg_json_push_null(lua_State *L);

/* core.c: registers the metatable `name` of a userdata class: `close` as
 * its close, __gc and __close (one close for all three), `tostring` as
 * __tostring, and `methods` as its __index. */
void mg_register_class(lua_State *L, const char *name, const luaL_Reg *methods,
                       lua_CFunction close, lua_CFunction tostring);

/* transport.c: one blocking transfer owned by a userdata. */
void mg_transport_register(lua_State *L);
int mg_transport_new(lua_State *L);

/* multi.c: many transfers at once on a libcurl multi handle. */
void mg_multi_register(lua_State *L);
int mg_multi_new(lua_State *L);

/* url.c */
int mg_percent_encode_lua(lua_State *L);

/* http1.c: HTTP/1.1 response framing for transports that read a socket
 * themselves (OpenResty cosockets). */
int mg_http1_head_lua(lua_State *L);
int mg_http1_framing_lua(lua_State *L);
int mg_http1_chunk_size_lua(lua_State *L);

/* response.c: turning status, headers and body into a value or an error. */
/* Sets res.reason from the status line and res.headers from the header
 * lines of a raw header block (names lower-cased, repeats joined with ", ")
 * in the response table at index res. */
void mg_push_headers(lua_State *L, const char *head, size_t len, int res);
int mg_decode_response_lua(lua_State *L);
/* Pushes the API error object for an error status; `res` is the response
 * table (status, reason, headers, body) at index res_idx. */
void mg_push_api_error(lua_State *L, int res_idx);

#endif
