/*
 * The proxy's stats, Envoy's names: http.<stat_prefix>.* (connection manager and router),
 * listener.<address>.*, tcp.<stat_prefix>.*.  Scopes are registered at start-up (before any
 * worker attaches its stats block) and recorded into by the workers (stats/stats.h).
 */
#ifndef RW_PROXY_STATS_H
#define RW_PROXY_STATS_H

#include "stats/stats.h"

enum rw_http_stat {
	RW_HS_DOWNSTREAM_CX_TOTAL,
	RW_HS_DOWNSTREAM_CX_ACTIVE, /* gauge */
	RW_HS_DOWNSTREAM_CX_HTTP1_TOTAL,
	RW_HS_DOWNSTREAM_CX_HTTP1_ACTIVE, /* gauge */
	RW_HS_DOWNSTREAM_CX_DESTROY,
	RW_HS_DOWNSTREAM_CX_DESTROY_LOCAL,
	RW_HS_DOWNSTREAM_CX_DESTROY_REMOTE,
	RW_HS_DOWNSTREAM_CX_DESTROY_ACTIVE_RQ,
	RW_HS_DOWNSTREAM_CX_DESTROY_LOCAL_ACTIVE_RQ,
	RW_HS_DOWNSTREAM_CX_DESTROY_REMOTE_ACTIVE_RQ,
	RW_HS_DOWNSTREAM_CX_RX_BYTES_TOTAL,
	RW_HS_DOWNSTREAM_CX_TX_BYTES_TOTAL,
	RW_HS_DOWNSTREAM_CX_PROTOCOL_ERROR,
	RW_HS_DOWNSTREAM_CX_IDLE_TIMEOUT,
	RW_HS_DOWNSTREAM_CX_MAX_DURATION_REACHED,
	RW_HS_DOWNSTREAM_CX_MAX_REQUESTS_REACHED,
	RW_HS_DOWNSTREAM_CX_DRAIN_CLOSE,
	RW_HS_DOWNSTREAM_CX_UPGRADES_TOTAL,
	RW_HS_DOWNSTREAM_CX_UPGRADES_ACTIVE, /* gauge */
	RW_HS_DOWNSTREAM_RQ_TOTAL,
	RW_HS_DOWNSTREAM_RQ_HTTP1_TOTAL,
	RW_HS_DOWNSTREAM_RQ_ACTIVE, /* gauge */
	RW_HS_DOWNSTREAM_RQ_1XX,
	RW_HS_DOWNSTREAM_RQ_2XX,
	RW_HS_DOWNSTREAM_RQ_3XX,
	RW_HS_DOWNSTREAM_RQ_4XX,
	RW_HS_DOWNSTREAM_RQ_5XX,
	RW_HS_DOWNSTREAM_RQ_COMPLETED,
	RW_HS_DOWNSTREAM_RQ_TIMEOUT,
	RW_HS_DOWNSTREAM_RQ_IDLE_TIMEOUT,
	RW_HS_DOWNSTREAM_RQ_MAX_DURATION_REACHED,
	RW_HS_DOWNSTREAM_RQ_TOO_LARGE,
	RW_HS_DOWNSTREAM_RQ_RX_RESET,
	RW_HS_DOWNSTREAM_RQ_TX_RESET,
	RW_HS_DOWNSTREAM_RQ_RESPONSE_BEFORE_RQ_COMPLETE,
	RW_HS_RS_TOO_LARGE,
	RW_HS_NO_ROUTE,
	RW_HS_NO_CLUSTER,
	RW_HS_RQ_REDIRECT,
	RW_HS_RQ_DIRECT_RESPONSE,
	RW_HS_RQ_TOTAL,
	RW_HS_RQ_RESET_AFTER_DOWNSTREAM_RESPONSE_STARTED,
	RW_HS_FAULT_ABORTS_INJECTED,
	RW_HS_FAULT_DELAYS_INJECTED,
	RW_HS_FAULT_ACTIVE_FAULTS, /* gauge */
	RW_HS__N
};

enum rw_http_hist { RW_HH_DOWNSTREAM_RQ_TIME, RW_HH_DOWNSTREAM_CX_LENGTH_MS, RW_HH__N };

/* http.<prefix>.<filter prefix>.http_local_rate_limit.* */
enum rw_ratelimit_stat {
	RW_RLS_ENABLED,
	RW_RLS_ENFORCED,
	RW_RLS_RATE_LIMITED,
	RW_RLS_OK,
	RW_RLS__N
};

enum rw_listener_stat {
	RW_LS_DOWNSTREAM_CX_TOTAL,
	RW_LS_DOWNSTREAM_CX_ACTIVE, /* gauge */
	RW_LS_DOWNSTREAM_CX_DESTROY,
	RW_LS_DOWNSTREAM_CX_OVERFLOW,
	RW_LS_NO_FILTER_CHAIN_MATCH,
	RW_LS__N
};

enum rw_listener_hist { RW_LH_DOWNSTREAM_CX_LENGTH_MS, RW_LH__N };

enum rw_tcp_stat {
	RW_TS_DOWNSTREAM_CX_TOTAL,
	RW_TS_DOWNSTREAM_CX_NO_ROUTE,
	RW_TS_DOWNSTREAM_CX_RX_BYTES_TOTAL,
	RW_TS_DOWNSTREAM_CX_TX_BYTES_TOTAL,
	RW_TS_DOWNSTREAM_FLOW_CONTROL_PAUSED_READING_TOTAL,
	RW_TS_DOWNSTREAM_FLOW_CONTROL_RESUMED_READING_TOTAL,
	RW_TS_IDLE_TIMEOUT,
	RW_TS_UPSTREAM_FLUSH_TOTAL,
	RW_TS_UPSTREAM_FLUSH_ACTIVE, /* gauge */
	RW_TS__N
};

/* server.total_connections: kept by the workers as sessions come and go. */
enum rw_server_stat {
	RW_SS_TOTAL_CONNECTIONS, /* gauge */
	RW_SS__N
};

extern struct rw_stats_scope rw_proxy_server_stats;

/* filesystem.*: the access-log writers (Envoy's names, plus lines_dropped). */
enum rw_fs_stat {
	RW_FS_WRITE_BUFFERED,       /* lines added to a buffer */
	RW_FS_WRITE_COMPLETED,      /* writes the kernel finished */
	RW_FS_WRITE_FAILED,         /* writes that failed (the buffer's lines are lost) */
	RW_FS_WRITE_TOTAL_BUFFERED, /* gauge: bytes waiting or being written */
	RW_FS_LINES_DROPPED,        /* lines lost: buffers full, or out of memory */
	RW_FS__N
};

extern struct rw_stats_scope rw_proxy_fs_stats;

/* Each: 0 or a negative errno (see rw_stats_scope_add).  server.* and filesystem.*: */
int rw_proxy_server_stats_register(void);
int rw_http_stats_register(const char *stat_prefix, struct rw_stats_scope *out);
int rw_ratelimit_stats_register(const char *hcm_prefix, const char *rl_prefix,
                                struct rw_stats_scope *out);
/* address: "127.0.0.1_10000" (Envoy's form: ':' of ip:port becomes '_'). */
int rw_listener_stats_register(const char *address, struct rw_stats_scope *out);
int rw_tcp_stats_register(const char *stat_prefix, struct rw_stats_scope *out);

/* Status class counters: downstream_rq_2xx is RW_HS_DOWNSTREAM_RQ_1XX + 1. */
static inline unsigned rw_stats_class_of(unsigned status)
{
	unsigned c = status / 100;

	return c >= 1 && c <= 5 ? c - 1 : 4;
}

#endif
