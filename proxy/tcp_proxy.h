/*
 * envoy.filters.network.tcp_proxy: a terminal network filter that relays bytes between the
 * downstream connection and one upstream host of a cluster, both directions streaming
 * through zero-copy chains, half-close passed through, with Envoy's backpressure and idle
 * timeout semantics.
 */
#ifndef RW_PROXY_TCP_PROXY_H
#define RW_PROXY_TCP_PROXY_H

#include "stats/stats.h"
#include <stddef.h>
#include <stdint.h>

struct rw_access_log;
struct rw_cluster;
struct rw_config_tcp_proxy;
struct rw_engine;
struct rw_proxy_worker;

/* Immutable, shared by all workers. */
struct rw_tcp_proxy_config {
	const char *stat_prefix;
	const char *listener_name;
	struct rw_cluster *cluster;
	uint64_t idle_timeout_ms;   /* 0 = none */
	uint32_t down_buffer_limit; /* listener per_connection_buffer_limit_bytes */
	struct rw_access_log *logs; /* access_log: one line per connection, at its end */
	size_t n_logs;
	char hostname[64];            /* %HOSTNAME% */
	struct rw_stats_scope stats;  /* tcp.<stat_prefix>.* (proxy/stats.h) */
	struct rw_stats_scope lstats; /* listener.<address>.* */
};

/* Open tp's access logs into c (main thread, start-up).  0, or a negative errno with a
   message in err. */
int rw_tcp_proxy_config_logs(struct rw_tcp_proxy_config *c, const struct rw_config_tcp_proxy *tp,
                             char *err, size_t errlen);
/* Close what rw_tcp_proxy_config_logs opened (harmless on a zeroed c). */
void rw_tcp_proxy_config_fini(struct rw_tcp_proxy_config *c);

/* One per worker per listener: the accept callback's context. */
struct rw_tcp_proxy_listener {
	struct rw_proxy_worker *worker;
	const struct rw_tcp_proxy_config *cfg;
};

/* rw_accept_cb for a listener whose filter chain is a tcp_proxy; ctx is a
 * struct rw_tcp_proxy_listener. */
void rw_tcp_proxy_accept(struct rw_engine *e, void *ctx, int fd);

#endif
