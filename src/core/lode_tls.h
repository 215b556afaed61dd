/*
 * lode's TLS engine: mbedTLS 2.28 in memory-BIO style, with no sockets, no libuv and no Lua.
 *
 * A config (Node's SecureContext) holds the certificates, keys, CA, ALPN list, cipher suites,
 * versions, verification mode, session tickets and one entropy + CTR-DRBG shared by its
 * connections. A conn is one TLS connection over a config. The caller moves bytes:
 *
 *   ciphertext in:   lode_tls_conn_input_space() + lode_tls_conn_input_commit() (read straight
 *                    into the conn's buffer), or lode_tls_conn_feed() (a copy)
 *   progress:        lode_tls_conn_handshake() until 0, then lode_tls_conn_read() until AGAIN
 *   plaintext out:   lode_tls_conn_write(), lode_tls_conn_close_notify()
 *   ciphertext out:  lode_tls_conn_take_output(): everything produced since the last call, in one
 *                    malloc'd buffer the caller owns (one socket write per loop turn)
 *
 * mbedTLS's BIO callbacks only touch the conn's own buffers, so the same conn sits between a
 * uv_tcp_t and nghttp2 (or the Lua TLSSocket) without copies beyond mbedTLS's own.
 *
 * Every function returns 0 or a negative LODE_TLS_ERR_*; functions taking |err| write a
 * human-readable reason there (mbedtls_strerror text included) on failure.
 */
#ifndef LODE_TLS_H
#define LODE_TLS_H

#include <stddef.h>
#include <stdint.h>

#define LODE_TLS_ERR_AGAIN (-1)   /* more ciphertext is needed */
#define LODE_TLS_ERR_SNI (-2)     /* server: the ClientHello's server name is known; choose a
                                     config with lode_tls_conn_use_config(), then call
                                     lode_tls_conn_handshake() again */
#define LODE_TLS_ERR_EOF (-3)     /* the peer sent close_notify */
#define LODE_TLS_ERR_NOMEM (-4)
#define LODE_TLS_ERR_PROTO (-5)   /* a fatal TLS error: lode_tls_conn_error() says which */
#define LODE_TLS_ERR_CONFIG (-6)  /* a bad certificate, key or option (the |err| text says why) */
#define LODE_TLS_ERR_STATE (-7)   /* not possible in the conn's state */

#define LODE_TLS_ERRLEN 256

typedef struct lode_tls_config lode_tls_config;
typedef struct lode_tls_conn lode_tls_conn;

/* ---- configs (secure contexts) ---- */

/*
 * Creates a config for a server (|is_server|) or a client, seeded from the system's entropy,
 * with Node's defaults: TLS 1.2, the ECDHE + AEAD suites RFC 9113 allows, clients verify (the
 * result is reported, the caller decides), servers ask for no client certificate. *|out| has one
 * reference.
 */
int lode_tls_config_new(lode_tls_config **out, int is_server, char *err);
void lode_tls_config_ref(lode_tls_config *cfg);
/* Drops a reference; the last one frees the config (conns hold their own references). */
void lode_tls_config_unref(lode_tls_config *cfg);

/*
 * Adds a certificate chain (PEM, leaf first) and its private key (PEM or DER; |pass| may be
 * NULL). Several pairs may be added (e.g. an RSA and an ECDSA one). The buffers are copied.
 */
int lode_tls_config_add_cert(lode_tls_config *cfg, const char *cert, size_t cert_len,
                             const char *key, size_t key_len, const char *pass, char *err);
/* Adds trusted CA certificates (PEM, several allowed; calling again adds more). Until the first
   call, clients trust the system bundle (/etc/ssl/certs/ca-certificates.crt). */
int lode_tls_config_add_ca(lode_tls_config *cfg, const char *pem, size_t len, char *err);
/* Sets the ALPN protocols in preference order (copied); |n| == 0 removes ALPN. */
int lode_tls_config_set_alpn(lode_tls_config *cfg, const char *const *protos, size_t n);
/* Sets the suites from an OpenSSL-style list ("ECDHE-RSA-AES128-GCM-SHA256:...", mbedTLS names
   work too); names nothing supports are skipped, none left is LODE_TLS_ERR_CONFIG. */
int lode_tls_config_set_ciphers(lode_tls_config *cfg, const char *list, char *err);
/* Sets the versions as Node names them ("TLSv1.1", "TLSv1.2", "TLSv1.3"; NULL keeps the
   default). This build speaks TLS 1.2 at most: a minimum of TLSv1.3 is LODE_TLS_ERR_CONFIG. */
int lode_tls_config_set_versions(lode_tls_config *cfg, const char *min, const char *max,
                                 char *err);
/* Server: asks clients for a certificate (verified against the CA; the caller decides). */
void lode_tls_config_request_cert(lode_tls_config *cfg, int request);
/* Server: makes handshakes stop with LODE_TLS_ERR_SNI once the client's name is read. */
void lode_tls_config_hold_sni(lode_tls_config *cfg, int hold);
/* Server: issues and accepts RFC 5077 session tickets (keys from the config's DRBG, rotated
   every |lifetime_s| seconds). */
int lode_tls_config_enable_tickets(lode_tls_config *cfg, uint32_t lifetime_s, char *err);
/* Keeps NSS key log lines for the conns of this config (lode_tls_conn_take_keylog). */
void lode_tls_config_keylog(lode_tls_config *cfg, int on);

/* ---- connections ---- */

/*
 * Creates a connection over |cfg| (which it references). For a client, |servername| (may be
 * NULL) is sent as SNI unless it is an IP address.
 */
int lode_tls_conn_new(lode_tls_conn **out, lode_tls_config *cfg, const char *servername,
                      char *err);
void lode_tls_conn_free(lode_tls_conn *c);

/* Client: offers a session saved by lode_tls_conn_get_session() (before the handshake). */
int lode_tls_conn_set_session(lode_tls_conn *c, const unsigned char *buf, size_t len);
/* Saves the established session (with its ticket) into a malloc'd buffer the caller frees. */
int lode_tls_conn_get_session(lode_tls_conn *c, unsigned char **buf, size_t *len);

/* Returns writable space of at least |want| bytes at the end of the input; *|len| its size. */
char *lode_tls_conn_input_space(lode_tls_conn *c, size_t want, size_t *len);
/* Marks |n| bytes written into the input space as received. */
void lode_tls_conn_input_commit(lode_tls_conn *c, size_t n);
/* Appends received ciphertext (a copy). */
int lode_tls_conn_feed(lode_tls_conn *c, const char *data, size_t len);

/*
 * Advances the handshake over the input received so far. Returns 0 once it is complete (and on
 * every later call), LODE_TLS_ERR_AGAIN (send the output, wait for input), LODE_TLS_ERR_SNI,
 * or LODE_TLS_ERR_PROTO (the output may hold an alert: send it, then close).
 */
int lode_tls_conn_handshake(lode_tls_conn *c);
/* Server, after LODE_TLS_ERR_SNI: serve this handshake with |cfg|'s certificates, CA and
   client-certificate mode (NULL: the conn's own config). |cfg| must outlive the handshake. */
void lode_tls_conn_use_config(lode_tls_conn *c, lode_tls_config *cfg);

/* Decrypts into |buf|: 0 with *|n| > 0, LODE_TLS_ERR_AGAIN, LODE_TLS_ERR_EOF or _PROTO. */
int lode_tls_conn_read(lode_tls_conn *c, char *buf, size_t cap, size_t *n);
/* Encrypts all of |data| into the output (after the handshake). */
int lode_tls_conn_write(lode_tls_conn *c, const char *data, size_t len);
/* Queues a close_notify alert. */
int lode_tls_conn_close_notify(lode_tls_conn *c);

/* Bytes of output waiting. */
size_t lode_tls_conn_pending(const lode_tls_conn *c);
/* Hands the output over (NULL when empty); the caller frees it with free(). */
char *lode_tls_conn_take_output(lode_tls_conn *c, size_t *len);
/* The next NSS key log line ("CLIENT_RANDOM <hex> <hex>\n"), malloc'd, or NULL. */
char *lode_tls_conn_take_keylog(lode_tls_conn *c);

/* ---- what was negotiated ---- */

int lode_tls_conn_is_server(const lode_tls_conn *c);
int lode_tls_conn_handshake_done(const lode_tls_conn *c);
/* The ALPN protocol or NULL; the protocol version ("TLSv1.2"); the suite's OpenSSL name and its
   IANA name (NULL before the handshake). */
const char *lode_tls_conn_alpn(const lode_tls_conn *c);
const char *lode_tls_conn_version(const lode_tls_conn *c);
const char *lode_tls_conn_cipher(const lode_tls_conn *c, const char **standard_name);
/* Server: the name the client asked for (SNI), or NULL. Client: the name sent. */
const char *lode_tls_conn_servername(const lode_tls_conn *c);
/* Whether the handshake resumed a session. */
int lode_tls_conn_session_reused(const lode_tls_conn *c);
/* The chain verification result as OpenSSL names it (Node's authorizationError code, e.g.
   "DEPTH_ZERO_SELF_SIGNED_CERT"), with its message, or NULL when the peer is trusted. The host
   name is not checked here (that is checkServerIdentity's job). */
const char *lode_tls_conn_verify_error(const lode_tls_conn *c, const char **message);
/* The last fatal error: Node-style code ("ERR_SSL_WRONG_VERSION_NUMBER"), text, mbedTLS code. */
const char *lode_tls_conn_error(const lode_tls_conn *c, const char **message, int *mbed_code);

/* The peer's certificate at |depth| (0: the leaf) as DER; LODE_TLS_ERR_STATE when absent. */
int lode_tls_conn_peer_cert(const lode_tls_conn *c, int depth, const unsigned char **der,
                            size_t *len);

/* A certificate's fields, formatted as Node's getPeerCertificate() shows them. */
typedef struct {
  char subject[512];        /* "CN=localhost\nO=lode": one KEY=value per line, in order */
  char issuer[512];
  char subjectaltname[1024];/* "DNS:localhost, IP Address:127.0.0.1" */
  char valid_from[32];      /* "Nov 20 05:18:56 2046 GMT" */
  char valid_to[32];
  char serial[128];         /* upper-case hex */
  char fingerprint[96];     /* SHA-1, "AB:CD:..." */
  char fingerprint256[160]; /* SHA-256 */
  int bits;                 /* key size */
  int ca;                   /* basicConstraints CA */
  int self_signed;          /* subject == issuer */
} lode_tls_cert_info;

int lode_tls_cert_parse(const unsigned char *der, size_t len, lode_tls_cert_info *out);

#endif
