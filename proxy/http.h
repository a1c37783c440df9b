/*
 * envoy.filters.network.http_connection_manager: HTTP/1.1 downstream connections, one
 * stream per request, routing (router/), local replies, and per-worker upstream connection
 * pools, with Envoy's header handling, timeouts and error responses.
 *
 *   downstream rw_sock -> h1 request codec -> stream -> router -> cluster -> host
 *        ^                                        |                           |
 *        +------ h1 response encode <---- stream <- h1 response codec <- upstream conn (pool)
 *
 * The stream layer sees version-neutral header blocks (http_headers.h) and body chains, so
 * an HTTP/2 codec can sit under it later.
 */
#ifndef RW_PROXY_HTTP_H
#define RW_PROXY_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct rw_cluster;
struct rw_config_hcm;
struct rw_engine;
struct rw_http_config;
struct rw_proxy_worker;
struct rw_router_scratch;
struct rw_stats_scope;

/* Resolve a cluster name (route targets are resolved once, at build time). */
typedef struct rw_cluster *(*rw_http_cluster_lookup)(void *ctx, const char *name);

/*
 * Compile one HCM for serving: the router and every route's clusters.  hcm must outlive the
 * result.  0, or -EINVAL (message in err: a route names a cluster that does not exist) or
 * -ENOMEM.  Immutable afterwards; shared by all workers.
 */
int rw_http_config_build(const struct rw_config_hcm *hcm, const char *listener_name,
                         uint32_t down_buffer_limit, rw_http_cluster_lookup lookup,
                         void *lookup_ctx, struct rw_http_config **out, char *err, size_t errlen);
void rw_http_config_free(struct rw_http_config *c);
/* Where the server registers the listener's stats (listener.<address>.*), before workers
   start. */
struct rw_stats_scope *rw_http_config_listener_stats(struct rw_http_config *c);

/* One per worker per listener: the accept callback's context. */
struct rw_http_listener {
	struct rw_proxy_worker *worker;
	const struct rw_http_config *cfg;
	struct rw_router_scratch *scratch;
};

/* Set up l for worker w (per-worker matching scratch, upstream pools).  0 or -ENOMEM. */
int rw_http_listener_init(struct rw_http_listener *l, struct rw_proxy_worker *w,
                          const struct rw_http_config *cfg);
void rw_http_listener_fini(struct rw_http_listener *l);

/* Draining started: close idle upstream connections, keep none from now on. */
void rw_http_worker_drain(struct rw_proxy_worker *w);
/* Release the worker's HTTP state (idle upstream connections) once its loop ended. */
void rw_http_worker_fini(struct rw_proxy_worker *w);

/* rw_accept_cb for an HCM listener; ctx is a struct rw_http_listener. */
void rw_http_accept(struct rw_engine *e, void *ctx, int fd);

#endif
