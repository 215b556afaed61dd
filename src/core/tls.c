/*
 * The TLS engine on mbedTLS 2.28 (see lode_tls.h): configs, memory-BIO connections, Node's
 * names for what was negotiated and for verification failures.
 */
#ifdef LODE_HAVE_TLS

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_internal.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>

#include "lode_tls.h"

#define SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#define MAX_CERTS 8
#define MAX_ALPN 16
#define MAX_SUITES 64

typedef struct {
  mbedtls_x509_crt chain;
  mbedtls_pk_context key;
} cert_pair;

struct lode_tls_config {
  int refs;
  int is_server;
  mbedtls_ssl_config conf;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  cert_pair *certs[MAX_CERTS];
  int ncerts;
  mbedtls_x509_crt ca;
  int has_ca;
  int uses_system_ca;
  char *alpn_store[MAX_ALPN + 1];
  const char *alpn[MAX_ALPN + 1];
  int suites[MAX_SUITES + 1];
  mbedtls_ssl_ticket_context ticket;
  int has_ticket;
  int hold_sni;
  int keylog;
  int authmode;
  lode_tls_conn *active;   /* the conn inside mbedtls_ssl_handshake_step (for the keylog) */
};

struct lode_tls_conn {
  lode_tls_config *cfg;
  lode_tls_config *sni_cfg;
  mbedtls_ssl_context ssl;
  char *in;                /* received ciphertext: in[in_off..in_len) not yet consumed */
  size_t in_off, in_len, in_cap;
  char *out;               /* ciphertext to send */
  size_t out_len, out_cap;
  char *keylog;            /* pending key log lines */
  size_t keylog_len;
  char *servername;
  int done;
  int resumed;
  int failed;
  int sni_state;           /* 0: not looked at, 1: reported (waiting), 2: settled */
  int err;                 /* the mbedTLS code of the fatal error */
  int alert;               /* the alert received, when err is FATAL_ALERT_MESSAGE */
  char errbuf[LODE_TLS_ERRLEN];
};

static void set_err(char *err, const char *what, int rc) {
  char buf[160];
  if (err == NULL) return;
  if (rc != 0) {
    mbedtls_strerror(rc, buf, sizeof buf);
    snprintf(err, LODE_TLS_ERRLEN, "%s: %s (-0x%04X)", what, buf, (unsigned)-rc);
  } else {
    snprintf(err, LODE_TLS_ERRLEN, "%s", what);
  }
}

/* ---- the default suites and names ---- */

typedef struct {
  const char *openssl;
  int id;
} suite_name;

static const suite_name suite_names[] = {
  {"ECDHE-ECDSA-AES128-GCM-SHA256", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
  {"ECDHE-RSA-AES128-GCM-SHA256", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
  {"ECDHE-ECDSA-AES256-GCM-SHA384", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
  {"ECDHE-RSA-AES256-GCM-SHA384", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
  {"ECDHE-ECDSA-CHACHA20-POLY1305", MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
  {"ECDHE-RSA-CHACHA20-POLY1305", MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
  /* Not in the default list (RFC 9113 forbids them for h2), accepted by name. */
  {"ECDHE-ECDSA-AES128-SHA256", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256},
  {"ECDHE-RSA-AES128-SHA256", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256},
  {"ECDHE-ECDSA-AES256-SHA384", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384},
  {"ECDHE-RSA-AES256-SHA384", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384},
  {"ECDHE-RSA-AES128-SHA", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA},
  {"ECDHE-RSA-AES256-SHA", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA},
  {"DHE-RSA-AES128-GCM-SHA256", MBEDTLS_TLS_DHE_RSA_WITH_AES_128_GCM_SHA256},
  {"DHE-RSA-AES256-GCM-SHA384", MBEDTLS_TLS_DHE_RSA_WITH_AES_256_GCM_SHA384},
  {"AES128-GCM-SHA256", MBEDTLS_TLS_RSA_WITH_AES_128_GCM_SHA256},
  {"AES256-GCM-SHA384", MBEDTLS_TLS_RSA_WITH_AES_256_GCM_SHA384},
  {NULL, 0}
};
#define DEFAULT_SUITES 6

static void default_suites(int *out) {
  int i;
  for (i = 0; i < DEFAULT_SUITES; i++) out[i] = suite_names[i].id;
  out[i] = 0;
}

/* ---- configs ---- */

static cert_pair *new_pair(void) {
  cert_pair *p = malloc(sizeof *p);
  if (p == NULL) return NULL;
  mbedtls_x509_crt_init(&p->chain);
  mbedtls_pk_init(&p->key);
  return p;
}

static void free_pair(cert_pair *p) {
  mbedtls_x509_crt_free(&p->chain);
  mbedtls_pk_free(&p->key);
  free(p);
}

static int on_sni(void *ud, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len);
static int on_export_keys(void *ud, const unsigned char *ms, const unsigned char *kb,
                          size_t maclen, size_t keylen, size_t ivlen,
                          const unsigned char client_random[32],
                          const unsigned char server_random[32], mbedtls_tls_prf_types prf);

int lode_tls_config_new(lode_tls_config **out, int is_server, char *err) {
  static const char pers[] = "lode tls";
  lode_tls_config *cfg = calloc(1, sizeof *cfg);
  int rc;
  *out = NULL;
  if (cfg == NULL) {
    set_err(err, "out of memory", 0);
    return LODE_TLS_ERR_NOMEM;
  }
  cfg->refs = 1;
  cfg->is_server = is_server;
  mbedtls_ssl_config_init(&cfg->conf);
  mbedtls_entropy_init(&cfg->entropy);
  mbedtls_ctr_drbg_init(&cfg->drbg);
  mbedtls_x509_crt_init(&cfg->ca);
  mbedtls_ssl_ticket_init(&cfg->ticket);
  rc = mbedtls_ctr_drbg_seed(&cfg->drbg, mbedtls_entropy_func, &cfg->entropy,
                             (const unsigned char *)pers, sizeof pers - 1);
  if (rc == 0) {
    rc = mbedtls_ssl_config_defaults(&cfg->conf,
                                     is_server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                     MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  }
  if (rc != 0) {
    set_err(err, "TLS setup failed", rc);
    lode_tls_config_unref(cfg);
    return LODE_TLS_ERR_CONFIG;
  }
  mbedtls_ssl_conf_rng(&cfg->conf, mbedtls_ctr_drbg_random, &cfg->drbg);
  mbedtls_ssl_conf_min_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_max_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  default_suites(cfg->suites);
  mbedtls_ssl_conf_ciphersuites(&cfg->conf, cfg->suites);
  cfg->authmode = is_server ? MBEDTLS_SSL_VERIFY_NONE : MBEDTLS_SSL_VERIFY_OPTIONAL;
  mbedtls_ssl_conf_authmode(&cfg->conf, cfg->authmode);
  mbedtls_ssl_conf_renegotiation(&cfg->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
  mbedtls_ssl_conf_export_keys_ext_cb(&cfg->conf, on_export_keys, cfg);
  if (is_server) {
    mbedtls_ssl_conf_sni(&cfg->conf, on_sni, cfg);
  } else {
    /* The system bundle until a CA is given (Node's default root store). */
    if (mbedtls_x509_crt_parse_file(&cfg->ca, SYSTEM_CA_FILE) >= 0 && cfg->ca.version != 0) {
      cfg->uses_system_ca = 1;
      mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->ca, NULL);
    }
  }
  *out = cfg;
  return 0;
}

void lode_tls_config_ref(lode_tls_config *cfg) { cfg->refs++; }

void lode_tls_config_unref(lode_tls_config *cfg) {
  int i;
  if (cfg == NULL || --cfg->refs > 0) return;
  mbedtls_ssl_config_free(&cfg->conf);
  for (i = 0; i < cfg->ncerts; i++) free_pair(cfg->certs[i]);
  mbedtls_x509_crt_free(&cfg->ca);
  mbedtls_ssl_ticket_free(&cfg->ticket);
  mbedtls_ctr_drbg_free(&cfg->drbg);
  mbedtls_entropy_free(&cfg->entropy);
  for (i = 0; cfg->alpn_store[i] != NULL; i++) free(cfg->alpn_store[i]);
  free(cfg);
}

static int has_pem_header(const char *s, size_t len) {
  size_t i;
  for (i = 0; i + 10 <= len; i++) {
    if (s[i] == '-' && memcmp(s + i, "-----BEGIN", 10) == 0) return 1;
  }
  return 0;
}

/* mbedTLS detects PEM by a NUL at buf[len - 1]: gives a NUL-terminated copy when it is PEM. */
static unsigned char *pem_copy(const char *s, size_t len, size_t *out_len) {
  unsigned char *p = malloc(len + 1);
  if (p == NULL) return NULL;
  memcpy(p, s, len);
  p[len] = 0;
  *out_len = (len > 0 && has_pem_header(s, len)) ? len + 1 : len;
  return p;
}

int lode_tls_config_add_cert(lode_tls_config *cfg, const char *cert, size_t cert_len,
                             const char *key, size_t key_len, const char *pass, char *err) {
  cert_pair *p;
  unsigned char *buf;
  size_t n;
  int rc;
  if (cfg->ncerts == MAX_CERTS) {
    set_err(err, "too many certificates", 0);
    return LODE_TLS_ERR_CONFIG;
  }
  if ((p = new_pair()) == NULL) return LODE_TLS_ERR_NOMEM;
  if ((buf = pem_copy(cert, cert_len, &n)) == NULL) {
    free_pair(p);
    return LODE_TLS_ERR_NOMEM;
  }
  rc = mbedtls_x509_crt_parse(&p->chain, buf, n);
  free(buf);
  if (rc != 0 || p->chain.version == 0) {
    set_err(err, "Invalid certificate", rc < 0 ? rc : MBEDTLS_ERR_X509_INVALID_FORMAT);
    free_pair(p);
    return LODE_TLS_ERR_CONFIG;
  }
  if ((buf = pem_copy(key, key_len, &n)) == NULL) {
    free_pair(p);
    return LODE_TLS_ERR_NOMEM;
  }
  rc = mbedtls_pk_parse_key(&p->key, buf, n, (const unsigned char *)pass, pass ? strlen(pass) : 0);
  mbedtls_platform_zeroize(buf, n);
  free(buf);
  if (rc != 0) {
    set_err(err, rc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED || rc == MBEDTLS_ERR_PK_PASSWORD_MISMATCH
                     ? "Invalid private key or passphrase" : "Invalid private key", rc);
    free_pair(p);
    return LODE_TLS_ERR_CONFIG;
  }
  rc = mbedtls_pk_check_pair(&p->chain.pk, &p->key);
  if (rc != 0) {
    set_err(err, "Private key does not match the certificate", rc);
    free_pair(p);
    return LODE_TLS_ERR_CONFIG;
  }
  rc = mbedtls_ssl_conf_own_cert(&cfg->conf, &p->chain, &p->key);
  if (rc != 0) {
    set_err(err, "Cannot use the certificate", rc);
    free_pair(p);
    return LODE_TLS_ERR_CONFIG;
  }
  cfg->certs[cfg->ncerts++] = p;
  return 0;
}

int lode_tls_config_add_ca(lode_tls_config *cfg, const char *pem, size_t len, char *err) {
  unsigned char *buf;
  size_t n;
  int rc;
  if (cfg->uses_system_ca) {
    mbedtls_x509_crt_free(&cfg->ca);
    mbedtls_x509_crt_init(&cfg->ca);
    cfg->uses_system_ca = 0;
  }
  if ((buf = pem_copy(pem, len, &n)) == NULL) return LODE_TLS_ERR_NOMEM;
  rc = mbedtls_x509_crt_parse(&cfg->ca, buf, n);
  free(buf);
  if (rc != 0) {
    set_err(err, "Invalid CA certificate", rc < 0 ? rc : MBEDTLS_ERR_X509_INVALID_FORMAT);
    return LODE_TLS_ERR_CONFIG;
  }
  cfg->has_ca = 1;
  mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->ca, NULL);
  return 0;
}

int lode_tls_config_set_alpn(lode_tls_config *cfg, const char *const *protos, size_t n) {
  size_t i;
  for (i = 0; cfg->alpn_store[i] != NULL; i++) {
    free(cfg->alpn_store[i]);
    cfg->alpn_store[i] = NULL;
  }
  if (n > MAX_ALPN) n = MAX_ALPN;
  for (i = 0; i < n; i++) {
    cfg->alpn_store[i] = strdup(protos[i]);
    if (cfg->alpn_store[i] == NULL) return LODE_TLS_ERR_NOMEM;
    cfg->alpn[i] = cfg->alpn_store[i];
  }
  cfg->alpn[n] = NULL;
  if (n > 0 && mbedtls_ssl_conf_alpn_protocols(&cfg->conf, cfg->alpn) != 0) {
    return LODE_TLS_ERR_CONFIG;
  }
  if (n == 0) cfg->conf.alpn_list = NULL;
  return 0;
}

static int add_suite(int *suites, int *n, int id) {
  int i;
  if (id == 0 || mbedtls_ssl_ciphersuite_from_id(id) == NULL) return 0;
  for (i = 0; i < *n; i++) {
    if (suites[i] == id) return 1;
  }
  if (*n < MAX_SUITES) suites[(*n)++] = id;
  return 1;
}

int lode_tls_config_set_ciphers(lode_tls_config *cfg, const char *list, char *err) {
  int suites[MAX_SUITES + 1], n = 0, i;
  const char *p = list;
  while (*p) {
    char tok[96];
    size_t len = strcspn(p, ":, ");
    if (len > 0 && len < sizeof tok) {
      memcpy(tok, p, len);
      tok[len] = 0;
      if (strcmp(tok, "DEFAULT") == 0 || strcmp(tok, "HIGH") == 0) {
        for (i = 0; i < DEFAULT_SUITES; i++) add_suite(suites, &n, suite_names[i].id);
      } else if (tok[0] != '!' && tok[0] != '-' && tok[0] != '+' && tok[0] != '@') {
        int found = 0;
        for (i = 0; suite_names[i].openssl != NULL; i++) {
          if (strcmp(suite_names[i].openssl, tok) == 0) {
            found = add_suite(suites, &n, suite_names[i].id);
            break;
          }
        }
        if (!found) add_suite(suites, &n, mbedtls_ssl_get_ciphersuite_id(tok));
      }
    }
    p += len;
    if (*p) p++;
  }
  if (n == 0) {
    set_err(err, "No cipher match", 0);
    return LODE_TLS_ERR_CONFIG;
  }
  memcpy(cfg->suites, suites, (size_t)n * sizeof *suites);
  cfg->suites[n] = 0;
  return 0;
}

static int version_minor(const char *v) {
  if (strcmp(v, "TLSv1") == 0) return MBEDTLS_SSL_MINOR_VERSION_1;
  if (strcmp(v, "TLSv1.1") == 0) return MBEDTLS_SSL_MINOR_VERSION_2;
  if (strcmp(v, "TLSv1.2") == 0) return MBEDTLS_SSL_MINOR_VERSION_3;
  if (strcmp(v, "TLSv1.3") == 0) return MBEDTLS_SSL_MINOR_VERSION_4;
  return -1;
}

int lode_tls_config_set_versions(lode_tls_config *cfg, const char *min, const char *max,
                                 char *err) {
  int lo = min ? version_minor(min) : MBEDTLS_SSL_MINOR_VERSION_3;
  int hi = max ? version_minor(max) : MBEDTLS_SSL_MINOR_VERSION_3;
  if (lo < 0 || hi < 0) {
    set_err(err, "not a valid TLS protocol version", 0);
    return LODE_TLS_ERR_CONFIG;
  }
  if (lo > MBEDTLS_SSL_MINOR_VERSION_3) {
    set_err(err, "TLSv1.3 is not supported by this build (mbedTLS 2.28: TLS 1.2 at most)", 0);
    return LODE_TLS_ERR_CONFIG;
  }
  if (hi > MBEDTLS_SSL_MINOR_VERSION_3) hi = MBEDTLS_SSL_MINOR_VERSION_3;
  if (lo > hi) {
    set_err(err, "minVersion is above maxVersion", 0);
    return LODE_TLS_ERR_CONFIG;
  }
  mbedtls_ssl_conf_min_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3, lo);
  mbedtls_ssl_conf_max_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3, hi);
  return 0;
}

void lode_tls_config_request_cert(lode_tls_config *cfg, int request) {
  if (!cfg->is_server) return;
  cfg->authmode = request ? MBEDTLS_SSL_VERIFY_OPTIONAL : MBEDTLS_SSL_VERIFY_NONE;
  mbedtls_ssl_conf_authmode(&cfg->conf, cfg->authmode);
  if (request) mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->ca, NULL);
}

void lode_tls_config_hold_sni(lode_tls_config *cfg, int hold) { cfg->hold_sni = hold; }

int lode_tls_config_enable_tickets(lode_tls_config *cfg, uint32_t lifetime_s, char *err) {
  int rc;
  if (!cfg->is_server || cfg->has_ticket) return 0;
  rc = mbedtls_ssl_ticket_setup(&cfg->ticket, mbedtls_ctr_drbg_random, &cfg->drbg,
                                MBEDTLS_CIPHER_AES_256_GCM, lifetime_s);
  if (rc != 0) {
    set_err(err, "session tickets", rc);
    return LODE_TLS_ERR_CONFIG;
  }
  mbedtls_ssl_conf_session_tickets_cb(&cfg->conf, mbedtls_ssl_ticket_write,
                                      mbedtls_ssl_ticket_parse, &cfg->ticket);
  cfg->has_ticket = 1;
  return 0;
}

void lode_tls_config_keylog(lode_tls_config *cfg, int on) { cfg->keylog = on; }

/* ---- mbedTLS callbacks ---- */

static int bio_send(void *ud, const unsigned char *buf, size_t len) {
  lode_tls_conn *c = ud;
  if (c->out_len + len > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 16384;
    char *p;
    while (cap < c->out_len + len) cap *= 2;
    p = realloc(c->out, cap);
    if (p == NULL) return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    c->out = p;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, buf, len);
  c->out_len += len;
  return (int)len;
}

static int bio_recv(void *ud, unsigned char *buf, size_t len) {
  lode_tls_conn *c = ud;
  size_t avail = c->in_len - c->in_off;
  if (avail == 0) return MBEDTLS_ERR_SSL_WANT_READ;
  if (len > avail) len = avail;
  memcpy(buf, c->in + c->in_off, len);
  c->in_off += len;
  if (c->in_off == c->in_len) c->in_off = c->in_len = 0;
  return (int)len;
}

/* The server's SNI hook: records the name, and serves a config chosen for it. */
static int on_sni(void *ud, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len) {
  lode_tls_config *cfg = ud;
  lode_tls_conn *c = cfg->active;
  lode_tls_config *use;
  int i;
  if (c == NULL || &c->ssl != ssl) return 0;
  if (c->servername == NULL) {
    c->servername = malloc(len + 1);
    if (c->servername == NULL) return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    memcpy(c->servername, name, len);
    c->servername[len] = 0;
  }
  use = c->sni_cfg;
  if (use == NULL || use == cfg) return 0;
  for (i = 0; i < use->ncerts; i++) {
    if (mbedtls_ssl_set_hs_own_cert(ssl, &use->certs[i]->chain, &use->certs[i]->key) != 0) {
      return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    }
  }
  if (use->has_ca) mbedtls_ssl_set_hs_ca_chain(ssl, &use->ca, NULL);
  if (use->authmode != cfg->authmode) mbedtls_ssl_set_hs_authmode(ssl, use->authmode);
  return 0;
}

static void hex(char *dst, const unsigned char *src, size_t n) {
  static const char digits[] = "0123456789abcdef";
  size_t i;
  for (i = 0; i < n; i++) {
    dst[2 * i] = digits[src[i] >> 4];
    dst[2 * i + 1] = digits[src[i] & 15];
  }
}

/* The TLS 1.2 key export: one NSS key log line, "CLIENT_RANDOM <random> <master secret>". */
static int on_export_keys(void *ud, const unsigned char *ms, const unsigned char *kb,
                          size_t maclen, size_t keylen, size_t ivlen,
                          const unsigned char client_random[32],
                          const unsigned char server_random[32], mbedtls_tls_prf_types prf) {
  lode_tls_config *cfg = ud;
  lode_tls_conn *c = cfg->active;
  size_t line = 14 + 64 + 1 + 96 + 1;
  char *p;
  (void)kb, (void)maclen, (void)keylen, (void)ivlen, (void)server_random, (void)prf;
  if (c == NULL || !cfg->keylog) return 0;
  p = realloc(c->keylog, c->keylog_len + line + 1);
  if (p == NULL) return 0;
  c->keylog = p;
  p += c->keylog_len;
  memcpy(p, "CLIENT_RANDOM ", 14);
  hex(p + 14, client_random, 32);
  p[78] = ' ';
  hex(p + 79, ms, 48);
  p[175] = '\n';
  p[176] = 0;
  c->keylog_len += line;
  return 0;
}

/* ---- connections ---- */

static int is_ip(const char *s) {
  return strchr(s, ':') != NULL || strspn(s, "0123456789.") == strlen(s);
}

int lode_tls_conn_new(lode_tls_conn **out, lode_tls_config *cfg, const char *servername,
                      char *err) {
  lode_tls_conn *c = calloc(1, sizeof *c);
  int rc;
  *out = NULL;
  if (c == NULL) return LODE_TLS_ERR_NOMEM;
  mbedtls_ssl_init(&c->ssl);
  c->cfg = cfg;
  lode_tls_config_ref(cfg);
  rc = mbedtls_ssl_setup(&c->ssl, &cfg->conf);
  if (rc == 0 && !cfg->is_server && servername != NULL && *servername) {
    c->servername = strdup(servername);
    if (c->servername == NULL) rc = MBEDTLS_ERR_SSL_ALLOC_FAILED;
    /* SNI carries host names only, never addresses (RFC 6066). */
    else if (!is_ip(servername)) rc = mbedtls_ssl_set_hostname(&c->ssl, servername);
  }
  if (rc != 0) {
    set_err(err, "TLS connection setup failed", rc);
    lode_tls_conn_free(c);
    return rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? LODE_TLS_ERR_NOMEM : LODE_TLS_ERR_CONFIG;
  }
  mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
  *out = c;
  return 0;
}

void lode_tls_conn_free(lode_tls_conn *c) {
  if (c == NULL) return;
  mbedtls_ssl_free(&c->ssl);
  lode_tls_config_unref(c->cfg);
  if (c->sni_cfg) lode_tls_config_unref(c->sni_cfg);
  free(c->in);
  free(c->out);
  free(c->keylog);
  free(c->servername);
  free(c);
}

int lode_tls_conn_set_session(lode_tls_conn *c, const unsigned char *buf, size_t len) {
  mbedtls_ssl_session s;
  int rc;
  mbedtls_ssl_session_init(&s);
  rc = mbedtls_ssl_session_load(&s, buf, len);
  if (rc == 0) rc = mbedtls_ssl_set_session(&c->ssl, &s);
  mbedtls_ssl_session_free(&s);
  return rc == 0 ? 0 : LODE_TLS_ERR_CONFIG;
}

int lode_tls_conn_get_session(lode_tls_conn *c, unsigned char **buf, size_t *len) {
  mbedtls_ssl_session s;
  size_t n = 0;
  int rc;
  *buf = NULL;
  *len = 0;
  if (!c->done) return LODE_TLS_ERR_STATE;
  mbedtls_ssl_session_init(&s);
  rc = mbedtls_ssl_get_session(&c->ssl, &s);
  if (rc == 0) {
    mbedtls_ssl_session_save(&s, NULL, 0, &n);
    *buf = malloc(n ? n : 1);
    if (*buf == NULL) {
      rc = LODE_TLS_ERR_NOMEM;
    } else if ((rc = mbedtls_ssl_session_save(&s, *buf, n, len)) != 0) {
      free(*buf);
      *buf = NULL;
    }
  }
  mbedtls_ssl_session_free(&s);
  return rc == 0 ? 0 : rc == LODE_TLS_ERR_NOMEM ? rc : LODE_TLS_ERR_STATE;
}

char *lode_tls_conn_input_space(lode_tls_conn *c, size_t want, size_t *len) {
  if (c->in_off > 0) {
    memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
    c->in_len -= c->in_off;
    c->in_off = 0;
  }
  if (c->in_cap - c->in_len < want) {
    size_t cap = c->in_len + want;
    char *p = realloc(c->in, cap);
    if (p == NULL) {
      *len = 0;
      return NULL;
    }
    c->in = p;
    c->in_cap = cap;
  }
  *len = c->in_cap - c->in_len;
  return c->in + c->in_len;
}

void lode_tls_conn_input_commit(lode_tls_conn *c, size_t n) { c->in_len += n; }

int lode_tls_conn_feed(lode_tls_conn *c, const char *data, size_t len) {
  size_t room;
  char *p = lode_tls_conn_input_space(c, len, &room);
  if (p == NULL) return LODE_TLS_ERR_NOMEM;
  memcpy(p, data, len);
  c->in_len += len;
  return 0;
}

static int fail(lode_tls_conn *c, int rc) {
  c->failed = 1;
  c->err = rc;
  if (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && c->ssl.in_msg != NULL) {
    c->alert = c->ssl.in_msg[1];
  }
  return LODE_TLS_ERR_PROTO;
}

/*
 * Reads the server name from a ClientHello at the start of the input, before mbedTLS sees it
 * (Node's ClientHelloParser): 1 found (copied into |name|), 0 none or not parseable, -1 more
 * bytes are needed.
 */
static int peek_sni(const unsigned char *p, size_t n, char *name, size_t cap) {
  size_t rec, pos, end, len;
  if (n < 5) return -1;
  if (p[0] != 22) return 0;
  rec = (size_t)p[3] << 8 | p[4];
  if (n < 5 + rec) return -1;
  p += 5;
  if (rec < 4 || p[0] != 1) return 0;
  end = 4 + ((size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]);
  if (end > rec) return 0;       /* a ClientHello over several records: let mbedTLS cope */
  pos = 4 + 2 + 32;
  if (pos + 1 > end) return 0;
  pos += 1 + p[pos];                                          /* session id */
  if (pos + 2 > end) return 0;
  pos += 2 + ((size_t)p[pos] << 8 | p[pos + 1]);              /* cipher suites */
  if (pos + 1 > end) return 0;
  pos += 1 + p[pos];                                          /* compression */
  if (pos + 2 > end) return 0;
  pos += 2;                                                   /* extensions length */
  while (pos + 4 <= end) {
    size_t type = (size_t)p[pos] << 8 | p[pos + 1];
    len = (size_t)p[pos + 2] << 8 | p[pos + 3];
    pos += 4;
    if (pos + len > end) return 0;
    if (type == 0 && len >= 5 && p[pos + 2] == 0) {
      size_t nlen = (size_t)p[pos + 3] << 8 | p[pos + 4];
      if (nlen + 5 > len || nlen >= cap) return 0;
      memcpy(name, p + pos + 5, nlen);
      name[nlen] = 0;
      return 1;
    }
    pos += len;
  }
  return 0;
}

int lode_tls_conn_handshake(lode_tls_conn *c) {
  int rc = 0;
  if (c->done) return 0;
  if (c->failed) return LODE_TLS_ERR_PROTO;
  if (c->cfg->is_server && c->cfg->hold_sni && c->sni_state == 0) {
    char name[256];
    int r = peek_sni((const unsigned char *)c->in + c->in_off, c->in_len - c->in_off, name,
                     sizeof name);
    if (r < 0) return LODE_TLS_ERR_AGAIN;
    c->sni_state = 1;
    if (r == 1) {
      c->servername = strdup(name);
      if (c->servername == NULL) return LODE_TLS_ERR_NOMEM;
    }
    return LODE_TLS_ERR_SNI;
  }
  if (c->sni_state == 1) return LODE_TLS_ERR_SNI;
  c->cfg->active = c;
  while (c->ssl.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
    rc = mbedtls_ssl_handshake_step(&c->ssl);
    if (c->ssl.handshake != NULL && c->ssl.handshake->resume) c->resumed = 1;
    if (rc != 0) break;
  }
  c->cfg->active = NULL;
  if (rc == 0) {
    c->done = 1;
    return 0;
  }
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
    return LODE_TLS_ERR_AGAIN;
  }
  return fail(c, rc);
}

void lode_tls_conn_use_config(lode_tls_conn *c, lode_tls_config *cfg) {
  if (c->sni_cfg) lode_tls_config_unref(c->sni_cfg);
  c->sni_cfg = cfg;
  if (cfg) lode_tls_config_ref(cfg);
  if (c->sni_state == 1) c->sni_state = 2;
}

int lode_tls_conn_read(lode_tls_conn *c, char *buf, size_t cap, size_t *n) {
  int rc;
  *n = 0;
  if (c->failed) return LODE_TLS_ERR_PROTO;
  if (!c->done) return LODE_TLS_ERR_STATE;
  rc = mbedtls_ssl_read(&c->ssl, (unsigned char *)buf, cap);
  if (rc > 0) {
    *n = (size_t)rc;
    return 0;
  }
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
    return LODE_TLS_ERR_AGAIN;
  }
  if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) return LODE_TLS_ERR_EOF;
  return fail(c, rc);
}

int lode_tls_conn_write(lode_tls_conn *c, const char *data, size_t len) {
  size_t off = 0;
  if (c->failed) return LODE_TLS_ERR_PROTO;
  if (!c->done) return LODE_TLS_ERR_STATE;
  while (off < len) {
    int rc = mbedtls_ssl_write(&c->ssl, (const unsigned char *)data + off, len - off);
    if (rc < 0) return rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? LODE_TLS_ERR_NOMEM : fail(c, rc);
    off += (size_t)rc;
  }
  return 0;
}

int lode_tls_conn_close_notify(lode_tls_conn *c) {
  if (!c->done || c->failed) return LODE_TLS_ERR_STATE;
  return mbedtls_ssl_close_notify(&c->ssl) == 0 ? 0 : LODE_TLS_ERR_PROTO;
}

size_t lode_tls_conn_pending(const lode_tls_conn *c) { return c->out_len; }

char *lode_tls_conn_take_output(lode_tls_conn *c, size_t *len) {
  char *p = c->out;
  *len = c->out_len;
  if (c->out_len == 0) return NULL;
  c->out = NULL;
  c->out_len = c->out_cap = 0;
  return p;
}

char *lode_tls_conn_take_keylog(lode_tls_conn *c) {
  char *p = c->keylog;
  c->keylog = NULL;
  c->keylog_len = 0;
  return p;
}

/* ---- what was negotiated ---- */

int lode_tls_conn_is_server(const lode_tls_conn *c) { return c->cfg->is_server; }
int lode_tls_conn_handshake_done(const lode_tls_conn *c) { return c->done; }

const char *lode_tls_conn_alpn(const lode_tls_conn *c) {
  return c->done ? mbedtls_ssl_get_alpn_protocol(&c->ssl) : NULL;
}

const char *lode_tls_conn_version(const lode_tls_conn *c) {
  return c->done ? mbedtls_ssl_get_version(&c->ssl) : NULL;
}

const char *lode_tls_conn_cipher(const lode_tls_conn *c, const char **standard_name) {
  const char *name;
  int id, i;
  if (standard_name) *standard_name = NULL;
  if (!c->done) return NULL;
  name = mbedtls_ssl_get_ciphersuite(&c->ssl);
  if (standard_name) *standard_name = name;
  id = name ? mbedtls_ssl_get_ciphersuite_id(name) : 0;
  for (i = 0; suite_names[i].openssl != NULL; i++) {
    if (suite_names[i].id == id) return suite_names[i].openssl;
  }
  return name;
}

const char *lode_tls_conn_servername(const lode_tls_conn *c) { return c->servername; }
int lode_tls_conn_session_reused(const lode_tls_conn *c) { return c->resumed; }

static int same_name(const mbedtls_x509_buf *a, const mbedtls_x509_buf *b) {
  return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

const char *lode_tls_conn_verify_error(const lode_tls_conn *c, const char **message) {
  uint32_t flags;
  const mbedtls_x509_crt *chain, *x;
  int n = 0, root_in_chain = 0;
  const char *code = NULL, *msg = NULL;
  if (!c->done) {
    code = "ERR_TLS_INVALID_STATE", msg = "handshake not complete";
    goto out;
  }
  chain = mbedtls_ssl_get_peer_cert(&c->ssl);
  flags = mbedtls_ssl_get_verify_result(&c->ssl);
  if (chain == NULL) {
    if (c->cfg->is_server && c->cfg->authmode == MBEDTLS_SSL_VERIFY_NONE) return NULL;
    code = "UNABLE_TO_GET_ISSUER_CERT", msg = "unable to get issuer certificate";
    goto out;
  }
  flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
  if (flags == 0) return NULL;
  for (x = chain; x != NULL && x->version != 0; x = x->next) {
    if (n > 0 && same_name(&x->subject_raw, &x->issuer_raw)) root_in_chain = 1;
    n++;
  }
  if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
    if (n == 1 && same_name(&chain->subject_raw, &chain->issuer_raw)) {
      code = "DEPTH_ZERO_SELF_SIGNED_CERT", msg = "self-signed certificate";
    } else if (root_in_chain) {
      code = "SELF_SIGNED_CERT_IN_CHAIN", msg = "self-signed certificate in certificate chain";
    } else if (n == 1) {
      code = "UNABLE_TO_VERIFY_LEAF_SIGNATURE", msg = "unable to verify the first certificate";
    } else {
      code = "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", msg = "unable to get local issuer certificate";
    }
  } else if (flags & MBEDTLS_X509_BADCERT_EXPIRED) {
    code = "CERT_HAS_EXPIRED", msg = "certificate has expired";
  } else if (flags & MBEDTLS_X509_BADCERT_FUTURE) {
    code = "CERT_NOT_YET_VALID", msg = "certificate is not yet valid";
  } else if (flags & MBEDTLS_X509_BADCERT_REVOKED) {
    code = "CERT_REVOKED", msg = "certificate revoked";
  } else if (flags & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
                      MBEDTLS_X509_BADCERT_NS_CERT_TYPE)) {
    code = "INVALID_PURPOSE", msg = "unsupported certificate purpose";
  } else if (flags & (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK |
                      MBEDTLS_X509_BADCERT_BAD_KEY)) {
    code = "CERT_SIGNATURE_FAILURE", msg = "certificate signature failure";
  } else {
    code = "UNSPECIFIED", msg = "unspecified certificate verification error";
  }
out:
  if (message) *message = msg;
  return code;
}

typedef struct {
  int code;
  const char *name;
  const char *text;
} err_name;

static const err_name alert_names[] = {
  {MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE, "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE",
   "sslv3 alert handshake failure"},
  {MBEDTLS_SSL_ALERT_MSG_BAD_CERT, "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
   "sslv3 alert bad certificate"},
  {MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN, "ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN",
   "sslv3 alert certificate unknown"},
  {MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA, "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", "tlsv1 alert unknown ca"},
  {MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION, "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION",
   "tlsv1 alert protocol version"},
  {MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR, "ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR",
   "tlsv1 alert decrypt error"},
  {MBEDTLS_SSL_ALERT_MSG_INTERNAL_ERROR, "ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR",
   "tlsv1 alert internal error"},
  {MBEDTLS_SSL_ALERT_MSG_UNRECOGNIZED_NAME, "ERR_SSL_TLSV1_UNRECOGNIZED_NAME",
   "tlsv1 unrecognized name"},
  {MBEDTLS_SSL_ALERT_MSG_NO_APPLICATION_PROTOCOL, "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL",
   "tlsv1 alert no application protocol"},
  {116, "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", "tlsv13 alert certificate required"},
  {0, NULL, NULL}
};

static const err_name mbed_names[] = {
  {MBEDTLS_ERR_SSL_INVALID_RECORD, "ERR_SSL_WRONG_VERSION_NUMBER", "wrong version number"},
  {MBEDTLS_ERR_SSL_BAD_HS_CLIENT_HELLO, "ERR_SSL_WRONG_VERSION_NUMBER", "wrong version number"},
  {MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION, "ERR_SSL_UNSUPPORTED_PROTOCOL",
   "unsupported protocol"},
  {MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN, "ERR_SSL_NO_SHARED_CIPHER", "no shared cipher"},
  {MBEDTLS_ERR_SSL_INVALID_MAC, "ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC",
   "decryption failed or bad record mac"},
  {MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE, "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE",
   "peer did not return a certificate"},
  {MBEDTLS_ERR_SSL_PRIVATE_KEY_REQUIRED, "ERR_SSL_NO_SHARED_CIPHER", "no shared cipher"},
  {0, NULL, NULL}
};

const char *lode_tls_conn_error(const lode_tls_conn *c, const char **message, int *mbed_code) {
  lode_tls_conn *m = (lode_tls_conn *)c;
  const err_name *e;
  char buf[160];
  if (mbed_code) *mbed_code = c->err;
  if (!c->failed) {
    if (message) *message = NULL;
    return NULL;
  }
  if (c->err == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
    for (e = alert_names; e->name != NULL; e++) {
      if (e->code == c->alert) break;
    }
    if (e->name == NULL) {
      snprintf(m->errbuf, sizeof m->errbuf, "tls alert number %d", c->alert);
      if (message) *message = m->errbuf;
      return "ERR_SSL_TLS_ALERT";
    }
  } else {
    for (e = mbed_names; e->name != NULL; e++) {
      if (e->code == c->err) break;
    }
    if (e->name == NULL) {
      mbedtls_strerror(c->err, buf, sizeof buf);
      snprintf(m->errbuf, sizeof m->errbuf, "%s (mbedTLS -0x%04X)", buf, (unsigned)-c->err);
      if (message) *message = m->errbuf;
      return "ERR_SSL_MBEDTLS";
    }
  }
  mbedtls_strerror(c->err, buf, sizeof buf);
  snprintf(m->errbuf, sizeof m->errbuf, "%s (%s)", e->text, buf);
  if (message) *message = m->errbuf;
  return e->name;
}

int lode_tls_conn_peer_cert(const lode_tls_conn *c, int depth, const unsigned char **der,
                            size_t *len) {
  const mbedtls_x509_crt *x = c->done ? mbedtls_ssl_get_peer_cert(&c->ssl) : NULL;
  while (x != NULL && depth-- > 0) x = x->next;
  if (x == NULL || x->version == 0) return LODE_TLS_ERR_STATE;
  *der = x->raw.p;
  *len = x->raw.len;
  return 0;
}

/* ---- certificate fields ---- */

static void cat(char *dst, size_t cap, const char *fmt, const char *a, size_t alen) {
  size_t n = strlen(dst);
  if (n < cap) snprintf(dst + n, cap - n, fmt, (int)alen, a);
}

static void format_dn(char *dst, size_t cap, const mbedtls_x509_name *name) {
  dst[0] = 0;
  for (; name != NULL; name = name->next) {
    const char *sn = NULL;
    char oid[64];
    if (name->oid.p == NULL) continue;
    if (mbedtls_oid_get_attr_short_name(&name->oid, &sn) != 0) {
      mbedtls_oid_get_numeric_string(oid, sizeof oid, &name->oid);
      sn = oid;
    }
    if (dst[0]) cat(dst, cap, "%.*s", "\n", 1);
    cat(dst, cap, "%.*s", sn, strlen(sn));
    cat(dst, cap, "%.*s", "=", 1);
    cat(dst, cap, "%.*s", (const char *)name->val.p, name->val.len);
  }
}

static void format_time(char *dst, size_t cap, const mbedtls_x509_time *t) {
  static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int mon = t->mon >= 1 && t->mon <= 12 ? t->mon - 1 : 0;
  snprintf(dst, cap, "%s %2d %02d:%02d:%02d %d GMT", months[mon], t->day, t->hour, t->min,
           t->sec, t->year);
}

static void format_fingerprint(char *dst, const unsigned char *md, size_t n) {
  static const char digits[] = "0123456789ABCDEF";
  size_t i;
  for (i = 0; i < n; i++) {
    dst[3 * i] = digits[md[i] >> 4];
    dst[3 * i + 1] = digits[md[i] & 15];
    dst[3 * i + 2] = i + 1 < n ? ':' : 0;
  }
}

static void format_san(char *dst, size_t cap, const mbedtls_x509_sequence *seq) {
  char item[128];
  dst[0] = 0;
  for (; seq != NULL; seq = seq->next) {
    int tag = seq->buf.tag & 0x1F;
    const unsigned char *p = seq->buf.p;
    size_t len = seq->buf.len;
    if (p == NULL) continue;
    item[0] = 0;
    if (tag == 2) {
      snprintf(item, sizeof item, "DNS:%.*s", (int)len, p);
    } else if (tag == 1) {
      snprintf(item, sizeof item, "email:%.*s", (int)len, p);
    } else if (tag == 6) {
      snprintf(item, sizeof item, "URI:%.*s", (int)len, p);
    } else if (tag == 7 && len == 4) {
      snprintf(item, sizeof item, "IP Address:%d.%d.%d.%d", p[0], p[1], p[2], p[3]);
    } else if (tag == 7 && len == 16) {
      int i, n = snprintf(item, sizeof item, "IP Address:");
      for (i = 0; i < 8; i++) {
        n += snprintf(item + n, sizeof item - (size_t)n, i ? ":%X" : "%X",
                      (unsigned)(p[2 * i] << 8 | p[2 * i + 1]));
      }
    } else {
      continue;
    }
    if (dst[0]) cat(dst, cap, "%.*s", ", ", 2);
    cat(dst, cap, "%.*s", item, strlen(item));
  }
}

int lode_tls_cert_parse(const unsigned char *der, size_t len, lode_tls_cert_info *out) {
  mbedtls_x509_crt crt;
  unsigned char md[32];
  size_t i, n = 0;
  int rc;
  memset(out, 0, sizeof *out);
  mbedtls_x509_crt_init(&crt);
  rc = mbedtls_x509_crt_parse_der(&crt, der, len);
  if (rc != 0) {
    mbedtls_x509_crt_free(&crt);
    return LODE_TLS_ERR_CONFIG;
  }
  format_dn(out->subject, sizeof out->subject, &crt.subject);
  format_dn(out->issuer, sizeof out->issuer, &crt.issuer);
  format_san(out->subjectaltname, sizeof out->subjectaltname, &crt.subject_alt_names);
  format_time(out->valid_from, sizeof out->valid_from, &crt.valid_from);
  format_time(out->valid_to, sizeof out->valid_to, &crt.valid_to);
  for (i = 0; i < crt.serial.len && crt.serial.p[i] == 0 && i + 1 < crt.serial.len; i++) {}
  for (; i < crt.serial.len && n + 3 < sizeof out->serial; i++) {
    n += (size_t)snprintf(out->serial + n, sizeof out->serial - n, "%02X", crt.serial.p[i]);
  }
  mbedtls_sha1_ret(crt.raw.p, crt.raw.len, md);
  format_fingerprint(out->fingerprint, md, 20);
  mbedtls_sha256_ret(crt.raw.p, crt.raw.len, md, 0);
  format_fingerprint(out->fingerprint256, md, 32);
  out->bits = (int)mbedtls_pk_get_bitlen(&crt.pk);
  out->ca = crt.ca_istrue;
  out->self_signed = same_name(&crt.subject_raw, &crt.issuer_raw);
  mbedtls_x509_crt_free(&crt);
  return 0;
}

#else
typedef int lode_tls_unused; /* ISO C wants something in a translation unit */
#endif
