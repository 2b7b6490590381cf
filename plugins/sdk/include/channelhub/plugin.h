/*
 * channelhub connector plugin ABI, version 1.
 *
 * A plugin is a shared library that exports one function, chub_plugin_entry_v1, returning a
 * description of the connectors it holds. The hub loads it with dlopen, checks abi_version,
 * and creates one connector instance per configured source or destination that names it.
 *
 * Connectors translate; the hub does the I/O. A connector never opens sockets, sleeps, retries
 * or writes files. The hub hands it a request and it says what the request means; the hub asks
 * it to build a request and it builds one; the hub gives it the answer and it judges it. Timers,
 * retries, back-off, durable cursors and tokens all live in the hub.
 *
 * Rules of the ABI:
 *  - Every chub_str the hub passes is valid for the duration of the call only; copy what you
 *    keep. Strings are byte ranges, not NUL-terminated.
 *  - Results go back through the sink passed to each call; the hub copies them during the
 *    sink call, so the connector may pass pointers to its own temporaries.
 *  - The hub calls one instance from one thread at a time (it serialises the calls), so an
 *    instance may keep state without locks. Different instances may run in parallel.
 *  - No C++ exception may cross the ABI; the C++ wrapper (plugin.hpp) catches them.
 *  - New fields are only ever added at the end of structs, with a new ABI version when a
 *    struct's meaning changes; the hub refuses a plugin whose abi_version it does not know.
 */
#ifndef CHANNELHUB_PLUGIN_H
#define CHANNELHUB_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CHUB_PLUGIN_ABI_VERSION 1u
#define CHUB_PLUGIN_ENTRY_SYMBOL "chub_plugin_entry_v1"

/* A byte range the receiver does not own. */
typedef struct chub_str {
  const char* data;
  size_t size;
} chub_str;

typedef struct chub_kv {
  chub_str key;
  chub_str value;
} chub_kv;

/* An HTTP request the hub received for a source (inbound). */
typedef struct chub_http_request {
  chub_str method;          /* "POST", "GET" */
  chub_str path;            /* "/webhooks/shop", without the query */
  chub_str query;           /* the raw query string without "?"; empty when none */
  const chub_kv* headers;   /* as received; compare names case-insensitively */
  size_t header_count;
  chub_str body;            /* the raw bytes, before any parsing */
  chub_str remote_address;  /* "203.0.113.7" */
} chub_http_request;

/* An HTTP response the hub received for a request a connector built. */
typedef struct chub_http_response {
  int status;
  const chub_kv* headers;
  size_t header_count;
  chub_str body;
} chub_http_response;

/* Capabilities (chub_connector.capabilities). */
#define CHUB_CAP_INBOUND 1u  /* verifies and unwraps webhook requests */
#define CHUB_CAP_OUTBOUND 2u /* delivers mapped payloads to a system */
#define CHUB_CAP_POLL 4u     /* pulls payloads from a system, from a cursor the hub keeps */
#define CHUB_CAP_TOKEN 8u    /* needs an access token or session, which the hub fetches and keeps */

/* Services of the hub, valid for the instance's lifetime. */
typedef struct chub_host {
  uint32_t abi_version;
  void* ctx;
  /* level: 0 debug, 1 info, 2 warning, 3 error. Never log secrets or personal data. */
  void (*log)(void* ctx, int level, chub_str message);
  /* The current time in Unix milliseconds (a test may fix it). */
  int64_t (*now_ms)(void* ctx);
  /* Cryptographically random bytes. */
  void (*random)(void* ctx, unsigned char* buffer, size_t size);
} chub_host;

/* The connector's settings: the "settings:" map of its source or destination, with secrets
 * (${env:NAME}, ${file:/path}) already resolved, plus "url" for destinations and pollers. */
typedef struct chub_settings {
  const chub_kv* items;
  size_t count;
} chub_settings;

/* ---- Inbound (CHUB_CAP_INBOUND) ---- */
typedef struct chub_inbound_sink {
  void* ctx;
  /* One payload to journal. event_id: unique within the source, used to drop redeliveries
   * ("" lets the hub use the SHA-256 of the body). kind: picks the mapping (a topic such as
   * "orders/create"; "" for none). content_type: "application/json" or "application/xml". */
  void (*payload)(void* ctx, chub_str event_id, chub_str kind, chub_str content_type, chub_str body);
  /* The answer the sender expects once every payload is durable (default: 200, empty body). */
  void (*respond)(void* ctx, int status, chub_str content_type, chub_str body);
  /* Refuses the request: nothing is journaled and the sender gets "status" (400, 401, 403, ...)
   * with "reason". For authentication failures, keep the reason generic. */
  void (*reject)(void* ctx, int status, chub_str reason);
} chub_inbound_sink;

/* ---- Requests the hub sends for a connector ---- */
typedef struct chub_request_sink {
  void* ctx;
  /* target: a path (and query) resolved against the configured url's scheme and host, or an
   * absolute http(s) URL. */
  void (*request)(void* ctx, chub_str method, chub_str target, const chub_kv* headers,
                  size_t header_count, chub_str body);
  /* The request cannot be built (bad payload, missing setting): a permanent failure. */
  void (*fail)(void* ctx, chub_str reason);
} chub_request_sink;

/* ---- Outbound (CHUB_CAP_OUTBOUND) ---- */
typedef struct chub_delivery {
  chub_str event_id;     /* the canonical event id: use it as the idempotency key */
  chub_str event_type;   /* "com.channelhub.order.upserted" */
  chub_str subject;      /* "order/webshop/1001" */
  chub_str content_type; /* of body */
  chub_str body;         /* the payload mapped to the system's format (or the CloudEvent) */
  int attempt;           /* 1 on the first attempt of this event */
  chub_str token;        /* the current token (CHUB_CAP_TOKEN), else empty */
  chub_str step;         /* empty for the first request of a delivery; else the step a
                            CHUB_VERDICT_NEXT verdict named */
} chub_delivery;

enum {
  CHUB_VERDICT_DONE = 0,          /* delivered */
  CHUB_VERDICT_RETRY = 1,         /* temporary: retry later (retry_after_ms > 0: not before) */
  CHUB_VERDICT_PERMANENT = 2,     /* refused for good: a dead letter with the message */
  CHUB_VERDICT_TOKEN_EXPIRED = 3, /* fetch a new token, then repeat this request */
  CHUB_VERDICT_NEXT = 4           /* this step worked: build the request for step "step" */
};

typedef struct chub_verdict_sink {
  void* ctx;
  void (*verdict)(void* ctx, int verdict, chub_str message, chub_str step, int64_t retry_after_ms);
} chub_verdict_sink;

/* ---- Polling (CHUB_CAP_POLL) ---- */
typedef struct chub_poll_sink {
  void* ctx;
  /* As chub_inbound_sink.payload. */
  void (*payload)(void* ctx, chub_str event_id, chub_str kind, chub_str content_type, chub_str body);
  /* The cursor to keep once the payloads are durable; more != 0: poll again at once. */
  void (*cursor)(void* ctx, chub_str next_cursor, int more);
  /* The poll failed: CHUB_VERDICT_RETRY (tried again with back-off), CHUB_VERDICT_TOKEN_EXPIRED
   * (a new token, then at once) or CHUB_VERDICT_PERMANENT (reported as an error; polling pauses
   * for ten intervals, time for an admin to fix a revoked authorisation). */
  void (*fail)(void* ctx, int verdict, chub_str message);
} chub_poll_sink;

/* ---- Tokens and sessions (CHUB_CAP_TOKEN) ---- */
typedef struct chub_token_sink {
  void* ctx;
  /* token: opaque text handed back in chub_delivery.token and build_poll's token.
   * expires_in_ms: its lifetime from now (the hub renews it a little before). */
  void (*token)(void* ctx, chub_str token, int64_t expires_in_ms);
  void (*fail)(void* ctx, chub_str message);
} chub_token_sink;

typedef struct chub_connector {
  const char* name;        /* what "connector:" names in the configuration, e.g. "shopify" */
  const char* description; /* one line for `channelhub plugins` */
  uint32_t capabilities;   /* CHUB_CAP_* */
  const char* const* settings; /* the settings keys it reads, NULL-terminated (for checks) */

  /* Creates an instance, or returns NULL and writes why into error (NUL-terminated). */
  void* (*create)(const chub_host* host, const chub_settings* settings, char* error,
                  size_t error_size);
  void (*destroy)(void* instance);

  void (*inbound)(void* instance, const chub_http_request* request, const chub_inbound_sink* out);

  void (*build_delivery)(void* instance, const chub_delivery* delivery, const chub_request_sink* out);
  void (*judge_delivery)(void* instance, const chub_delivery* delivery,
                         const chub_http_response* response, const chub_verdict_sink* out);

  void (*build_poll)(void* instance, chub_str cursor, chub_str token, const chub_request_sink* out);
  void (*parse_poll)(void* instance, chub_str cursor, const chub_http_response* response,
                     const chub_poll_sink* out);

  void (*build_token)(void* instance, const chub_request_sink* out);
  void (*parse_token)(void* instance, const chub_http_response* response, const chub_token_sink* out);
} chub_connector;

typedef struct chub_plugin {
  uint32_t abi_version;     /* CHUB_PLUGIN_ABI_VERSION as the plugin was built */
  const char* name;         /* "channelhub-ecommerce" */
  const char* version;      /* "1.0.0" */
  const chub_connector* connectors;
  size_t connector_count;
} chub_plugin;

/* The plugin's one exported function. */
typedef const chub_plugin* (*chub_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* CHANNELHUB_PLUGIN_H */
