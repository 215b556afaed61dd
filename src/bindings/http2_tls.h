/* The TLS side of the http2 binding (http2_tls.c). */
#ifndef LODE_HTTP2_TLS_H
#define LODE_HTTP2_TLS_H

#include "lode.h"
#include "lode_core.h"

/* The lode_tls_config of the tls context userdata at |i| (NULL when nil). */
struct lode_tls_config *lode_h2_tls_config(lua_State *L, int i);
/* The Node-style code and text of the session's last TLS failure. */
void lode_h2_tls_error(lode_session *s, const char **code, const char **msg);
/* Pushes the session's TLS facts (a table), or nil for h2c. */
int lode_h2_push_tls_info(lua_State *L, lode_session *s);

/* box:h1_start(owner): puts the session (a TLS one handed to _onunknownprotocol) in raw mode
   behind llhttp; returns the lode.H1Conn userdata whose owner gets _onh1request(method, url,
   {name, value, ...}, keepAlive, major, minor), _onh1body(chunk), _onh1end(),
   _onh1error(code, reason). |sp| is the session box's pointer, |box| its stack index. */
int lode_h2_h1_start(lua_State *L, lode_session **sp, int box, int owner);

#endif
