/*
 * Shared by proxy/http_*.c only: the downstream connection, the stream, the upstream
 * connection and pool, and the calls between them.
 *
 * Ownership:
 *   http_conn    one per accepted socket; owns its rw_sock, its input chain and at most one
 *                stream (HTTP/1.1 serves requests one after the other; pipelined requests
 *                wait in the input chain, so responses leave in request order).
 *   http_stream  one per request, from its first byte to the end of its response; owns the
 *                request and response header blocks and, while attached, an upstream conn.
 *   up_conn      one per upstream socket; attached to one stream, or idle in its pool.
 *
 * Re-entrancy: any call into the stream layer may end the stream or the connection.  Entry
 * points from the engine bracket their work with conn_hold()/conn_release(); a connection
 * closed while held is freed by the outermost release.  After a call that may end the stream,
 * callers re-read c->s instead of keeping the pointer.
 */
#ifndef RW_PROXY_HTTP_INTERNAL_H
#define RW_PROXY_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/timer.h"
#include "proto/h1.h"
#include "proxy/access_log.h"
#include "proxy/http.h"
#include "proxy/http_headers.h"
#include "proxy/stats.h"
#include "proxy/worker.h"
#include "router/router.h"

struct rw_host;
struct rw_sock;

/* How an upstream exchange failed (retry_on and the local reply depend on it). */
enum http_up_failure {
	UPF_CONNECT = 1,     /* connect refused / unreachable */
	UPF_CONNECT_TIMEOUT, /* the cluster's connect_timeout */
	UPF_RESET,           /* closed or reset before the response ended */
	UPF_PROTOCOL,        /* malformed response */
	UPF_PER_TRY_TIMEOUT, /* the retry policy's per_try_timeout */
};

/* Route targets resolved at build time, indexed like the route config. */
/* A token bucket shared by every worker (local_ratelimit); see http_filters.c. */
struct rw_token_bucket {
	_Atomic int64_t tokens;
	_Atomic uint64_t next_fill_ms;
	uint32_t max_tokens;
	uint32_t tokens_per_fill;
	uint64_t fill_interval_ms;
};

/* One HTTP filter before the router, with its mutable shared state. */
struct http_filter_rt {
	const struct rw_config_http_filter *cfg;
	struct rw_token_bucket bucket;  /* local_ratelimit */
	struct rw_stats_scope rl_stats; /* local_ratelimit: ...http_local_rate_limit.* */
	_Atomic uint32_t active_faults; /* fault: max_active_faults */
	/* health_check: the clusters of cluster_min_healthy_percentages, by index (NULL: no
	   such cluster, which fails the check) */
	struct rw_cluster **hc_clusters;
};

struct http_route_target {
	struct rw_cluster *cluster;     /* CLUSTER specifier */
	struct rw_cluster **weighted;   /* WEIGHTED: one per weighted entry */
	struct rw_token_bucket *bucket; /* the route's local_ratelimit override, if any */
};

struct rw_http_config {
	const struct rw_config_hcm *hcm;
	struct rw_stats_scope stats;  /* http.<stat_prefix>.* (proxy/stats.h) */
	struct rw_stats_scope lstats; /* listener.<address>.*, set by the server */
	const char *listener_name;
	uint32_t down_buffer_limit;
	struct rw_router *router;
	struct http_route_target **targets; /* [vhost][route] */
	rw_http_cluster_lookup lookup;      /* cluster_header */
	void *lookup_ctx;
	struct rw_h1_config h1;
	struct http_filter_rt *filters; /* the HCM's filters before the router, in order */
	size_t n_filters;
	bool suppress_envoy_headers;
	bool health_check; /* has a health_check filter: x-envoy-immediate-health-check-fail */
	char hostname[64]; /* %HOSTNAME% */
	struct rw_access_log *logs;
	size_t n_logs;
	bool want_up_local; /* a log prints %UPSTREAM_LOCAL_ADDRESS%: fetch it on connect */
};

/* Per-worker HTTP state, created on first use (rw_proxy_worker.http). */
struct http_worker {
	struct rw_proxy_worker *w;
	struct up_pool **pools; /* hash table keyed by host */
	uint32_t n_buckets;
	uint32_t n_pools;
	uint64_t rng;                     /* xorshift state: weighted picks, request ids */
	uint64_t date_sec;                /* the second date_buf was formatted for */
	char date_buf[32];                /* "Sun, 29 Nov 2026 02:10:46 GMT" */
	struct http_stream *free_streams; /* a few streams kept for reuse */
	uint32_t n_free_streams;
	/* Every waiting stream of the worker, oldest first (http_stream.wq_next/wq_prev), so a
	   closed connection lets the oldest waiter of its cluster open a new one. */
	struct http_stream *wq_head, *wq_tail;
	uint32_t n_waiting;
	struct rw_timer wake_timer; /* runs the waiters after a connection closed */
	char scratch[8192];         /* %VAR% expansion, rewritten paths */
};

enum {
	CONN_HELD_CLOSED = 1u << 0,  /* closed while held: free at release */
	CONN_READ_PAUSED = 1u << 1,  /* reading stopped (backpressure or waiting) */
	CONN_EOF = 1u << 2,          /* the client half-closed */
	CONN_CLOSING = 1u << 3,      /* no more requests: close once flushed */
	CONN_SHUT = 1u << 4,         /* FIN sent, discarding input until EOF or the delay */
	CONN_TUNNEL = 1u << 5,       /* upgraded: bytes relayed as is */
	CONN_HAVE_ADDRS = 1u << 6,   /* peer/local fetched */
	CONN_DRAINING = 1u << 7,     /* server draining: "connection: close" on the next response */
	CONN_REMOTE_CLOSE = 1u << 8, /* the client closed or reset first (destroy_remote stats) */
};

struct http_conn {
	struct rw_session_link link; /* first: the worker's list points here */
	struct rw_http_listener *l;  /* l->worker->http: the worker's HTTP state */
	struct rw_sock *sock;
	struct rw_chain in;
	struct http_stream *s;
	struct rw_timer timer;
	uint64_t last_activity;
	uint64_t start_ms; /* max_connection_duration */
	uint64_t id;
	uint16_t flags;
	uint16_t hold;
	uint32_t requests;
	struct sockaddr_storage *addrs; /* [0] peer, [1] local, fetched on first use */
};

enum {
	S_HEAD_DONE = 1u << 0,      /* request head parsed and handled */
	S_REQ_DONE = 1u << 1,       /* request fully received */
	S_RSP_STARTED = 1u << 2,    /* response head queued downstream */
	S_RSP_DONE = 1u << 3,       /* response fully queued downstream */
	S_UP_CHUNKED = 1u << 4,     /* request body sent upstream chunked */
	S_DOWN_CHUNKED = 1u << 5,   /* response body sent downstream chunked */
	S_CLOSE_AFTER = 1u << 6,    /* close the downstream connection after this response */
	S_UPGRADE = 1u << 7,        /* upgrade request forwarded */
	S_TUNNEL = 1u << 8,         /* upgrade accepted: byte tunnel */
	S_DISCARD_BODY = 1u << 9,   /* answered locally: request body bytes are dropped */
	S_UP_PAUSED = 1u << 10,     /* upstream reading stopped (downstream backpressure) */
	S_HEAD_REQUEST = 1u << 11,  /* HEAD: the response has no body */
	S_REPLAYABLE = 1u << 12,    /* the request sent so far is kept in replay */
	S_UP_EOF = 1u << 13,        /* tunnel: upstream half-closed */
	S_CONNECT = 1u << 14,       /* CONNECT request */
	S_ABSOLUTE = 1u << 15,      /* absolute-form request target */
	S_RETRY_PENDING = 1u << 16, /* backing off before the next try (s->up is NULL) */
	S_IDLE_RETRIED = 1u << 17,  /* the one re-send after a pooled connection's idle close */
	S_FAULT_DELAYED = 1u << 18, /* the fault filter's delay was applied (or is running) */
	S_CB_RQ = 1u << 19,         /* counted in the cluster's rq_active (circuit breaker) */
	S_CB_RETRY = 1u << 20,      /* counted in the cluster's rq_retry */
	S_HEALTH_CHECK = 1u << 21,  /* the health_check filter matched: a health check */
	S_TRACE_FORCED = 1u << 22,  /* tracing decided "service forced" (traceable_filter) */
	S_UP_WAIT = 1u << 23,       /* in a pool's pending queue (s->up is NULL) */
};

/* What a stream sends once it has an upstream connection (struct http_stream.send_kind). */
enum http_send_kind {
	SEND_FIRST,  /* the request as received (head encoded now, held body, the rest) */
	SEND_RETRY,  /* a retry: the replay copy (with a new head for x-envoy-attempt-count) */
	SEND_REPLAY, /* the one re-send after a pooled connection's idle close: the replay copy */
};

/*
 * Where a request's time went: monotonic microseconds (rw_engine_now_us, so one value per
 * loop turn and no system call) of Envoy's stream points, 0 when the point was not reached.
 * The upstream points (us_*) are those of the last try: each try (a retry, or the re-send
 * on a fresh connection after a pooled one's idle close) clears them and counts in tries.
 *
 *   ds_rx_beg  first request byte (the stream was created)          %COMMON_DURATION% DS_RX_BEG
 *   rx_head    request headers parsed
 *   route      route chosen (matched)
 *   us_cx_beg  upstream connection requested (pool or connect)      US_CX_BEG
 *   us_cx_end  ... obtained: taken from the pool, or connected       US_CX_END
 *   us_tx_beg  first request byte queued upstream (the head)         US_TX_BEG
 *   us_tx_end  last request byte queued upstream                     US_TX_END
 *   us_rx_beg  first response byte received from the upstream        US_RX_BEG
 *   us_rx_end  last response byte received from the upstream         US_RX_END
 *   ds_tx_beg  response head queued downstream (also local replies)  DS_TX_BEG
 *   ds_tx_end  last response byte queued downstream                  DS_TX_END
 *   ds_rx_end  last request byte received                            DS_RX_END
 *
 * "Queued" is when the bytes joined the socket's outgoing chain (normally sent within the
 * same loop turn); bytes queued on a connection still connecting count from us_cx_end, so
 * us_cx_end <= us_tx_beg <= us_tx_end as in Envoy.  reused: the last try's connection came from the
 * pool.  tries: upstream tries started (0 when none was).
 */
struct http_timing {
	uint64_t ds_rx_beg;
	uint64_t rx_head;
	uint64_t route;
	uint64_t us_cx_beg;
	uint64_t us_cx_end;
	uint64_t us_tx_beg;
	uint64_t us_tx_end;
	uint64_t us_rx_beg;
	uint64_t us_rx_end;
	uint64_t ds_tx_beg;
	uint64_t ds_tx_end;
	uint64_t ds_rx_end;
	uint32_t tries;
	bool reused;
};

struct http_stream {
	struct http_conn *c;
	struct http_stream *next_free;
	struct rw_h1_parser parser;
	struct rw_h1_head head; /* the request head summary */
	struct rw_http_headers req;
	struct rw_http_headers rsp;
	struct rw_http_headers trailers; /* enable_trailers: the request's, then the response's */
	/* body bytes of the last parse, taken out of the input chain by the caller */
	size_t body_off;
	size_t body_len;
	bool got_head;
	bool got_end;
	bool got_body;

	struct rw_route_result route;
	const struct rw_config_weighted_cluster *wc;
	const char *cluster_name;
	struct rw_cluster *cluster;
	struct rw_host *host; /* ref held while set */
	struct up_conn *up;
	struct rw_chain replay; /* the request as sent, for one retry on a fresh connection */
	/* S_UP_WAIT: the pool whose pending queue holds the stream, its links there and in the
	   worker's queue, and what to send when a connection comes. */
	struct up_pool *wait_pool;
	struct http_stream *wait_next, *wait_prev;
	struct http_stream *wq_next, *wq_prev;
	enum http_send_kind send_kind;

	uint64_t id;
	uint64_t start_ms;
	uint64_t req_end_ms;
	uint64_t up_start_ms;
	uint64_t route_timeout_ms;
	uint64_t idle_timeout_ms;
	uint64_t req_bytes;
	uint64_t rsp_bytes;
	uint32_t flags;
	uint32_t rflags;
	uint16_t status;
	const struct rw_config_retry_policy *retry; /* route's (or vhost's) policy, or NULL */
	uint32_t retry_on;                          /* policy | x-envoy-retry-on */
	uint32_t retries_left; /* num_retries | x-envoy-max-retries, minus those done */
	uint32_t retries_done;
	uint64_t per_try_timeout_ms;
	uint64_t per_try_idle_ms; /* per_try_idle_timeout: no upstream byte for this long */
	uint64_t up_activity_ms;  /* the current try's last upstream byte (or its start) */
	uint64_t retry_at;        /* S_RETRY_PENDING: when the next try starts */
	size_t replay_limit;
	size_t head_len; /* bytes of the encoded request head at the front of replay */
	/* HTTP filters (http_filters.c) */
	uint32_t filter_index;        /* the next filter to run */
	struct http_filter_rt *fault; /* the fault filter whose delay is running */
	uint64_t fault_until;         /* a delay running: when the chain resumes */
	struct rw_chain held;         /* request body received while the chain waits */
	const struct rw_config_local_ratelimit *rl_config; /* it limited this request */
	bool rl_headers; /* x-ratelimit-* to add to the response */
	uint32_t rl_limit, rl_remaining;
	uint64_t rl_reset_s;
	/* hash_policy cookie generated for this request (set on the response) */
	const struct rw_config_hash_policy *cookie_policy;
	char cookie_value[17];
	bool have_remote;
	bool debug_header;      /* add x-ringway-debug to the response (route or request asked) */
	const char *details;    /* why it ended, for logs */
	const char *up_failure; /* %UPSTREAM_TRANSPORT_FAILURE_REASON%: the last try's, static */
	struct http_timing t;
	/* The last try's upstream local address (AF_UNSPEC unless cfg->want_up_local). */
	struct sockaddr_storage up_local;
	/* The trusted client address (XFF rules, see forwarding_headers()). */
	struct sockaddr_storage remote;
};

struct up_pool;

enum {
	UP_CONNECTED = 1u << 0,
	UP_IDLE = 1u << 1,
	UP_PAUSED = 1u << 2, /* the stream's request body paused (watermark) */
	UP_HOLD_CLOSED = 1u << 3,
	UP_TUNNEL = 1u << 4,
	UP_PENDING = 1u << 5,      /* counted in the cluster's rq_pending until connected */
	UP_REMOTE_CLOSE = 1u << 6, /* the upstream closed or reset first (destroy_remote) */
};

struct up_conn {
	struct rw_sock *sock;
	struct up_pool *pool;
	struct http_stream *s;
	struct rw_chain in;
	struct rw_h1_parser parser;
	struct rw_timer timer; /* connect timeout */
	struct up_conn *idle_next, *idle_prev;
	uint32_t flags;
	uint32_t served; /* responses received on it */
	uint32_t hold;
	struct rw_cluster *cluster;    /* circuit-breaker counts, stats */
	uint64_t start_us;             /* connect started (upstream_cx_connect_ms, _length_ms) */
	struct rw_h1_head head;        /* the response head being received */
	struct sockaddr_storage local; /* when the HCM's logs want it (want_up_local) */
	size_t body_off, body_len;
	bool got_head, got_body, got_end;
	bool got_bytes; /* bytes of the current response arrived */
};

struct up_pool {
	struct up_pool *hnext;
	struct http_worker *hw;
	struct rw_host *host; /* ref held by the pool */
	struct up_conn idle;  /* list head; most recently used first */
	uint32_t n_idle;
	uint32_t n_open;
	/* The pending queue: streams waiting for a connection of this pool, oldest first
	   (linked through http_stream.wait_next/wait_prev).  The pool lives while it has any. */
	struct http_stream *wait_head, *wait_tail;
	uint32_t n_waiting;
};

/* http_conn.c */
void rw__http_conn_hold(struct http_conn *c);
void rw__http_conn_release(struct http_conn *c);
void rw__http_conn_close(struct http_conn *c, const char *why);
/* The stream ended (its response is queued): serve the next request or close. */
void rw__http_conn_stream_done(struct http_conn *c);
/* Stop or resume reading from the client by the watermarks: the upstream's outgoing bytes
   (request body backpressure) and what waits unparsed in c->in. */
void rw__http_conn_update_read(struct http_conn *c);
/* Recompute the connection's timer (after a state change). */
void rw__http_conn_arm_timer(struct http_conn *c);
/* Peer (0) or local (1) address of the client connection; NULL if unknown. */
const struct sockaddr_storage *rw__http_conn_addr(struct http_conn *c, int which);
/* Append a parsed field (name lowercased) to h: 0 or -1 (out of memory). */
int rw__http_add_span_field(struct rw_http_headers *h, const struct rw_span *name,
                            const struct rw_span *value);
/* Tunnel: both sides half-closed?  Then close once flushed. */
void rw__http_conn_tunnel_check(struct http_conn *c);
/* Tunnel: relay what the client sent after the upgrade request. */
void rw__http_conn_start_tunnel(struct http_conn *c);

/* http_stream.c */
struct http_stream *rw__http_stream_new(struct http_conn *c);
void rw__http_stream_free(struct http_stream *s);
void rw__http_stream_request_head(struct http_stream *s);
void rw__http_stream_request_body(struct http_stream *s, struct rw_chain *data);
void rw__http_stream_request_end(struct http_stream *s);
/* The client went away or broke the protocol mid-request: abort (no response possible). */
void rw__http_stream_abort(struct http_stream *s, uint32_t rflag, const char *why);
/* The trusted client address (Envoy's XFF rules), computed on first use; NULL if unknown. */
const struct sockaddr_storage *rw__http_stream_remote(struct http_stream *s);

/* http_edge.c: before routing.  The HCM's request checks and rewrites (absolute URL, header
   names with underscores, path normalization, Host port): false when it answered.  Envoy's
   edge headers (x-forwarded-*, x-envoy-internal, x-request-id): 0 or -ENOMEM. */
bool rw__http_sanitize_request(struct http_stream *s);
int rw__http_edge_headers(struct http_stream *s);
/* Answer locally (status, optional text body) if no response has started, else abort. */
void rw__http_stream_local_reply(struct http_stream *s, uint16_t status, const char *body,
                                 uint32_t rflag, const char *details);
/* The stream's nearest deadline (UINT64_MAX: none); with act, an expired one is acted on
   (the stream ends) and UINT64_MAX returned.  Without act it never changes anything. */
uint64_t rw__http_stream_deadline(struct http_stream *s, uint64_t now, bool act);

/* http_response.c: shared with the request side. */
/* Apply the matched route's header mutations (weighted cluster, route, virtual host, route
   config levels) to the request or the response.  0 or -ENOMEM. */
int rw__http_mutate_levels(struct http_stream *s, bool response);
/* The regular (non-pseudo) fields of h as an encoder array (at most cap). */
struct rw_h1_field *rw__http_h1_fields(const struct rw_http_headers *h, struct rw_h1_field *f,
                                       size_t cap, size_t *n_out);
/* Remove hop-by-hop fields, and those the Connection header names; keep Upgrade if asked. */
void rw__http_strip_hop_by_hop(struct rw_http_headers *h, bool keep_upgrade);
/* A local reply with an optional body and Location; route_headers: apply the route's
   response mutations (direct responses and redirects). */
void rw__http_local_reply_full(struct http_stream *s, uint16_t status, const char *body,
                               size_t body_len, const char *location, bool route_headers,
                               uint32_t rflag, const char *details);

/* The last chunk with the collected trailers (enable_trailers).  The response's are kept
   for %TRAILER%; the caller clears the request's. */
int rw__http_encode_last_chunk(struct http_stream *s, struct rw_chain *out);
/* on_trailer for both parsers: kept when enable_trailers, else dropped (Envoy's default). */
int rw__http_on_trailer(void *stream, const struct rw_span *name, const struct rw_span *value);

/* Events from the upstream connection (http_upstream.c -> http_response.c). */
void rw__http_stream_upstream_ready(struct http_stream *s);
int rw__http_stream_response_head(struct http_stream *s, const struct rw_h1_head *head,
                                  const struct rw_span *reason);
void rw__http_stream_response_body(struct http_stream *s, struct rw_chain *data);
/* The response ended; reusable: the upstream connection may serve another request. */
void rw__http_stream_response_end(struct http_stream *s, bool reusable);
/* A waiting stream (S_UP_WAIT) got its connection (s->up set, the try counted): send what
   s->send_kind says.  Called by the pool outside acquire; may end the stream. */
void rw__http_stream_upstream_attached(struct http_stream *s);
/* Start an upstream try on s->host and send kind, now or (queued) from
   rw__http_stream_upstream_attached.  0, or a negative errno when nothing started (-EUSERS:
   a circuit breaker overflowed); the caller answers. */
int rw__http_stream_try(struct http_stream *s, bool fresh, enum http_send_kind kind);
/* What a retry sends on its new connection (http_retry.c): the replay copy. */
void rw__http_retry_send(struct http_stream *s);
/* The idle-close re-send on its new connection (http_response.c). */
void rw__http_stream_resend(struct http_stream *s);
/* The upstream exchange failed (s->up is already detached and closed).  idle_race: a reused
   connection closed before any answer byte, so the request can be sent again once. */
void rw__http_stream_upstream_failed(struct http_stream *s, int err, enum http_up_failure kind,
                                     bool idle_race);
void rw__http_stream_upstream_sent(struct http_stream *s);
/* Tunnel data/EOF from the upstream. */
void rw__http_stream_tunnel_data(struct http_stream *s, struct rw_chain *data);
void rw__http_stream_tunnel_eof(struct http_stream *s);

/* http_upstream.c */
struct http_worker *rw__http_worker_get(struct rw_proxy_worker *w);
/* acquire: s waits in the pool's pending queue. */
#define HTTP_UP_QUEUED 1
/* Attach an upstream connection to host for s (pooled or new; fresh: not pooled): 0 with *out
   set.  HTTP_UP_QUEUED: the cluster is at max_connections, s waits (S_UP_WAIT) and
   rw__http_stream_upstream_attached runs when a connection is free, never from inside this
   call.  -EUSERS: max_pending_requests overflowed.  Other negative errno: no socket. */
int rw__http_upstream_acquire(struct http_worker *hw, struct rw_host *host,
                              const struct rw_cluster *cluster, struct http_stream *s, bool fresh,
                              struct up_conn **out);
/* s leaves its pending queue (it ended or was answered); a no-op unless S_UP_WAIT. */
void rw__http_upstream_cancel_wait(struct http_stream *s);
/* Detach from the stream: back to the pool when reusable, else closed. */
void rw__http_upstream_release(struct up_conn *u, bool reusable);
struct rw_chain *rw__http_upstream_out(struct up_conn *u);
void rw__http_upstream_flush(struct up_conn *u);
size_t rw__http_upstream_out_bytes(struct up_conn *u);
void rw__http_upstream_read_pause(struct up_conn *u, bool pause);
void rw__http_upstream_shutdown_write(struct up_conn *u);
bool rw__http_upstream_reused(const struct up_conn *u);
/* The request goes out now: the response parser learns the method. */
void rw__http_upstream_expect(struct up_conn *u, enum rw_h1_method m);
/* Switch to tunnel mode and hand over bytes already received after the 101 head. */
void rw__http_upstream_tunnel(struct up_conn *u);

/* http_retry.c */
/* The effective retry policy of s: the route's p, then the x-envoy-retry-on /
   x-envoy-max-retries request headers (removed from the request). */
void rw__http_retry_setup(struct http_stream *s, const struct rw_config_retry_policy *p);
bool rw__http_retry_failure_retriable(const struct http_stream *s, enum http_up_failure kind);
/* Uses s->rsp for retriable-headers. */
bool rw__http_retry_response_retriable(const struct http_stream *s, uint16_t status);
/* Start the back-off towards another try if allowed (retries left, request replayable);
   releases s->up.  False (and URX noted when retries ran out) when not. */
bool rw__http_retry_schedule(struct http_stream *s);
/* The back-off passed: another host, a new exchange from the replay copy. */
void rw__http_retry_now(struct http_stream *s);
/* Clone src's slices onto dst by reference.  0 or -ENOMEM. */
int rw__http_chain_clone(struct rw_chain *dst, const struct rw_chain *src);

/* Circuit breakers (http_stream.c): 503 UO "... reset reason: overflow". */
void rw__http_stream_overflow(struct http_stream *s);
/* The retry budget (max_retries or retry_budget) allows one more retry?  Counts it until
   rw__http_cb_retry_end (the retry's answer arrived, or the stream ended). */
bool rw__http_cb_retry_begin(struct http_stream *s);
void rw__http_cb_retry_end(struct http_stream *s);

/* Encode the request head for the current try into out (x-envoy-attempt-count when the
   virtual host asks for it).  0 or negative errno. */
int rw__http_encode_request_head(struct http_stream *s, struct rw_chain *out);

/* http_hash.c */
/* The request's hash from the route's hash policies; false when none produced a value. */
bool rw__http_request_hash(struct http_stream *s, const struct rw_config_route_action *a,
                           uint64_t *out);
/* Set-Cookie for a generated hash cookie.  0 or -ENOMEM. */
int rw__http_hash_response_headers(struct http_stream *s);
/* Pick a host of s->cluster for this request (hash policy, avoid for retries) and make it
   s->host, counting it as an active request; false when the cluster has none. */
bool rw__http_stream_pick_host(struct http_stream *s, const struct rw_host *avoid);

/* http_filters.c */
void rw__http_bucket_init(struct rw_token_bucket *b, const struct rw_config_local_ratelimit *rl,
                          uint64_t now_ms);
/* Take a token: true when allowed; remaining tokens and ms to the next fill. */
bool rw__http_bucket_take(struct rw_token_bucket *b, uint64_t now, uint32_t *remaining,
                          uint64_t *reset_ms);
/* Run the filters from s->filter_index: 0 done (go on to the route's action), 1 the stream
   was answered, 2 it waits (a fault delay: s->fault_until). */
int rw__http_filters_run(struct http_stream *s);
void rw__http_filters_delay_done(struct http_stream *s);
/* Response headers the filters add (x-ratelimit-*, a limited reply's headers).  0/-ENOMEM. */
int rw__http_filters_response_headers(struct http_stream *s);
/* Whether h satisfies one route HeaderMatcher (regex matchers: never, see README). */
bool rw__http_header_matches(const struct rw_http_headers *h,
                             const struct rw_config_header_match *m);

/* http_vars.c: %VAR% expansion and header mutations. */
struct http_vars_ctx {
	struct http_stream *s;
	bool response;   /* evaluating response mutations: %RESP()% sees the response */
	bool access_log; /* access log operators allowed; a missing value prints "-" */
};
/* Expand value into out (cap bytes).  Returns the length, or -ENOSPC. */
int rw__http_expand(const struct http_vars_ctx *v, const char *value, char *out, size_t cap);
/* The operator resolver (rw_format_var_fn) behind rw__http_expand; ctx is an http_vars_ctx. */
void rw__http_vars_resolve(void *ctx, struct rw_format_out *o, const struct rw_format_op *op);
/* Apply one level's removals then additions to h.  0 or -ENOMEM. */
int rw__http_mutate(const struct http_vars_ctx *v, struct rw_http_headers *h,
                    const struct rw_config_header_add *add, size_t n_add, char *const *remove,
                    size_t n_remove);
/* Format a socket address "ip:port" (with_port) or "ip" into out; returns the length. */
size_t rw__http_addr_format(const struct sockaddr_storage *ss, bool with_port, char *out,
                            size_t cap);
/* Parse a numeric IPv4/IPv6 address (port 0). */
bool rw__http_addr_parse(const char *ip, struct sockaddr_storage *out);
/* RFC 1918 / loopback / ULA: Envoy's "internal" request sources. */
bool rw__http_addr_internal(const struct sockaddr_storage *ss);

/* http_stats.c: a stream's stats (http.*, cluster.*), counted where it begins, at each
   upstream try (after s->t.tries was counted) and once where it ends. */
void rw__http_stream_stats_begin(const struct http_stream *s);
void rw__http_stream_stats_try(const struct http_stream *s);
void rw__http_stream_stats_end(const struct http_stream *s);

/* http_access_log.c */
/* Open every access log of c's HCM (main thread, start-up).  0 or negative errno with the
   path in err. */
int rw__http_access_logs_open(struct rw_http_config *c, char *err, size_t errlen);
void rw__http_access_logs_close(struct rw_http_config *c);
/* The stream ends: write a line to each access log whose filter passes (never blocks). */
void rw__http_access_log(struct http_stream *s);
/* The stream's points indexed by enum rw_phase (%COMMON_DURATION%). */
void rw__http_timing_points(const struct http_stream *s, uint64_t points[RW_PHASE_N]);
/* x-ringway-debug on the response being built, when s->debug_header.  0 or -ENOMEM. */
int rw__http_debug_header(struct http_stream *s);

/* http_trace.c (the codecs are in http_trace.h) */
/* The HCM has a tracing block: continue the request's trace context or start one, and write
   this hop's context into its trace headers (README, "Tracing").  0 or -ENOMEM. */
int rw__http_trace_request(struct http_stream *s);
/* The trace id of h (a valid traceparent, else x-b3-*, else b3) in hex and a NUL; 0 when h
   carries none.  %TRACE_ID%. */
size_t rw__http_trace_id(const struct rw_http_headers *h, char out[33]);

/* http_util.c */
uint64_t rw__http_random(struct http_worker *hw);
/* A UUIDv4 string (36 chars + NUL) into out. */
void rw__http_uuid4(struct http_worker *hw, char out[37]);
/* The IMF-fixdate of now, cached per second. */
const char *rw__http_date(struct http_worker *hw);
const char *rw__http_reason(uint16_t status);
/*
 * Envoy's normalize_path (RFC 3986: %XX of unreserved characters decoded, other escapes kept
 * as sent, dot segments removed) and merge_slashes, in place on the path before '?'.
 * Returns the new length, or -1 when the path is not origin-form or holds %00.
 */
ssize_t rw__http_normalize_path(char *p, size_t len, bool normalize, bool merge_slashes);

#endif
