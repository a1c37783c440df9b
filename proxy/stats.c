/* The proxy's stat tables (see stats.h). */
#include "proxy/stats.h"

#include <stdio.h>

#define C RW_STAT_C
#define G RW_STAT_G
#define H RW_STAT_H

static const struct rw_stat_def http_scalars[RW_HS__N] = {
    [RW_HS_DOWNSTREAM_CX_TOTAL] = C("downstream_cx_total"),
    [RW_HS_DOWNSTREAM_CX_ACTIVE] = G("downstream_cx_active"),
    [RW_HS_DOWNSTREAM_CX_HTTP1_TOTAL] = C("downstream_cx_http1_total"),
    [RW_HS_DOWNSTREAM_CX_HTTP1_ACTIVE] = G("downstream_cx_http1_active"),
    [RW_HS_DOWNSTREAM_CX_DESTROY] = C("downstream_cx_destroy"),
    [RW_HS_DOWNSTREAM_CX_DESTROY_LOCAL] = C("downstream_cx_destroy_local"),
    [RW_HS_DOWNSTREAM_CX_DESTROY_REMOTE] = C("downstream_cx_destroy_remote"),
    [RW_HS_DOWNSTREAM_CX_DESTROY_ACTIVE_RQ] = C("downstream_cx_destroy_active_rq"),
    [RW_HS_DOWNSTREAM_CX_DESTROY_LOCAL_ACTIVE_RQ] = C("downstream_cx_destroy_local_active_rq"),
    [RW_HS_DOWNSTREAM_CX_DESTROY_REMOTE_ACTIVE_RQ] = C("downstream_cx_destroy_remote_active_rq"),
    [RW_HS_DOWNSTREAM_CX_RX_BYTES_TOTAL] = C("downstream_cx_rx_bytes_total"),
    [RW_HS_DOWNSTREAM_CX_TX_BYTES_TOTAL] = C("downstream_cx_tx_bytes_total"),
    [RW_HS_DOWNSTREAM_CX_PROTOCOL_ERROR] = C("downstream_cx_protocol_error"),
    [RW_HS_DOWNSTREAM_CX_IDLE_TIMEOUT] = C("downstream_cx_idle_timeout"),
    [RW_HS_DOWNSTREAM_CX_MAX_DURATION_REACHED] = C("downstream_cx_max_duration_reached"),
    [RW_HS_DOWNSTREAM_CX_MAX_REQUESTS_REACHED] = C("downstream_cx_max_requests_reached"),
    [RW_HS_DOWNSTREAM_CX_DRAIN_CLOSE] = C("downstream_cx_drain_close"),
    [RW_HS_DOWNSTREAM_CX_UPGRADES_TOTAL] = C("downstream_cx_upgrades_total"),
    [RW_HS_DOWNSTREAM_CX_UPGRADES_ACTIVE] = G("downstream_cx_upgrades_active"),
    [RW_HS_DOWNSTREAM_RQ_TOTAL] = C("downstream_rq_total"),
    [RW_HS_DOWNSTREAM_RQ_HTTP1_TOTAL] = C("downstream_rq_http1_total"),
    [RW_HS_DOWNSTREAM_RQ_ACTIVE] = G("downstream_rq_active"),
    [RW_HS_DOWNSTREAM_RQ_1XX] = C("downstream_rq_1xx"),
    [RW_HS_DOWNSTREAM_RQ_2XX] = C("downstream_rq_2xx"),
    [RW_HS_DOWNSTREAM_RQ_3XX] = C("downstream_rq_3xx"),
    [RW_HS_DOWNSTREAM_RQ_4XX] = C("downstream_rq_4xx"),
    [RW_HS_DOWNSTREAM_RQ_5XX] = C("downstream_rq_5xx"),
    [RW_HS_DOWNSTREAM_RQ_COMPLETED] = C("downstream_rq_completed"),
    [RW_HS_DOWNSTREAM_RQ_TIMEOUT] = C("downstream_rq_timeout"),
    [RW_HS_DOWNSTREAM_RQ_IDLE_TIMEOUT] = C("downstream_rq_idle_timeout"),
    [RW_HS_DOWNSTREAM_RQ_MAX_DURATION_REACHED] = C("downstream_rq_max_duration_reached"),
    [RW_HS_DOWNSTREAM_RQ_TOO_LARGE] = C("downstream_rq_too_large"),
    [RW_HS_DOWNSTREAM_RQ_RX_RESET] = C("downstream_rq_rx_reset"),
    [RW_HS_DOWNSTREAM_RQ_TX_RESET] = C("downstream_rq_tx_reset"),
    [RW_HS_DOWNSTREAM_RQ_RESPONSE_BEFORE_RQ_COMPLETE] =
	C("downstream_rq_response_before_rq_complete"),
    [RW_HS_RS_TOO_LARGE] = C("rs_too_large"),
    [RW_HS_NO_ROUTE] = C("no_route"),
    [RW_HS_NO_CLUSTER] = C("no_cluster"),
    [RW_HS_RQ_REDIRECT] = C("rq_redirect"),
    [RW_HS_RQ_DIRECT_RESPONSE] = C("rq_direct_response"),
    [RW_HS_RQ_TOTAL] = C("rq_total"),
    [RW_HS_RQ_RESET_AFTER_DOWNSTREAM_RESPONSE_STARTED] =
	C("rq_reset_after_downstream_response_started"),
    [RW_HS_FAULT_ABORTS_INJECTED] = C("fault.aborts_injected"),
    [RW_HS_FAULT_DELAYS_INJECTED] = C("fault.delays_injected"),
    [RW_HS_FAULT_ACTIVE_FAULTS] = G("fault.active_faults"),
};

static const struct rw_stat_def http_hists[RW_HH__N] = {
    [RW_HH_DOWNSTREAM_RQ_TIME] = H("downstream_rq_time"),
    [RW_HH_DOWNSTREAM_CX_LENGTH_MS] = H("downstream_cx_length_ms"),
};

static const struct rw_stat_def rl_scalars[RW_RLS__N] = {
    [RW_RLS_ENABLED] = C("enabled"),
    [RW_RLS_ENFORCED] = C("enforced"),
    [RW_RLS_RATE_LIMITED] = C("rate_limited"),
    [RW_RLS_OK] = C("ok"),
};

static const struct rw_stat_def listener_scalars[RW_LS__N] = {
    [RW_LS_DOWNSTREAM_CX_TOTAL] = C("downstream_cx_total"),
    [RW_LS_DOWNSTREAM_CX_ACTIVE] = G("downstream_cx_active"),
    [RW_LS_DOWNSTREAM_CX_DESTROY] = C("downstream_cx_destroy"),
    [RW_LS_DOWNSTREAM_CX_OVERFLOW] = C("downstream_cx_overflow"),
    [RW_LS_NO_FILTER_CHAIN_MATCH] = C("no_filter_chain_match"),
};

static const struct rw_stat_def listener_hists[RW_LH__N] = {
    [RW_LH_DOWNSTREAM_CX_LENGTH_MS] = H("downstream_cx_length_ms"),
};

static const struct rw_stat_def tcp_scalars[RW_TS__N] = {
    [RW_TS_DOWNSTREAM_CX_TOTAL] = C("downstream_cx_total"),
    [RW_TS_DOWNSTREAM_CX_NO_ROUTE] = C("downstream_cx_no_route"),
    [RW_TS_DOWNSTREAM_CX_RX_BYTES_TOTAL] = C("downstream_cx_rx_bytes_total"),
    [RW_TS_DOWNSTREAM_CX_TX_BYTES_TOTAL] = C("downstream_cx_tx_bytes_total"),
    [RW_TS_DOWNSTREAM_FLOW_CONTROL_PAUSED_READING_TOTAL] =
	C("downstream_flow_control_paused_reading_total"),
    [RW_TS_DOWNSTREAM_FLOW_CONTROL_RESUMED_READING_TOTAL] =
	C("downstream_flow_control_resumed_reading_total"),
    [RW_TS_IDLE_TIMEOUT] = C("idle_timeout"),
    [RW_TS_UPSTREAM_FLUSH_TOTAL] = C("upstream_flush_total"),
    [RW_TS_UPSTREAM_FLUSH_ACTIVE] = G("upstream_flush_active"),
};

struct rw_stats_scope rw_proxy_server_stats;

static const struct rw_stat_def server_scalars[RW_SS__N] = {
    [RW_SS_TOTAL_CONNECTIONS] = G("total_connections"),
};

struct rw_stats_scope rw_proxy_fs_stats;

static const struct rw_stat_def fs_scalars[RW_FS__N] = {
    [RW_FS_WRITE_BUFFERED] = C("write_buffered"),
    [RW_FS_WRITE_COMPLETED] = C("write_completed"),
    [RW_FS_WRITE_FAILED] = C("write_failed"),
    [RW_FS_WRITE_TOTAL_BUFFERED] = G("write_total_buffered"),
    [RW_FS_LINES_DROPPED] = C("lines_dropped"),
};

int rw_proxy_server_stats_register(void)
{
	struct rw_stats_scope_spec spec = {
	    .name = "server", .prom = "server", .scalars = server_scalars, .n_scalars = RW_SS__N};
	struct rw_stats_scope_spec fs = {.name = "filesystem",
	                                 .prom = "filesystem",
	                                 .scalars = fs_scalars,
	                                 .n_scalars = RW_FS__N};
	int r = rw_stats_scope_add(&spec, &rw_proxy_server_stats);

	return r ? r : rw_stats_scope_add(&fs, &rw_proxy_fs_stats);
}

int rw_http_stats_register(const char *stat_prefix, struct rw_stats_scope *out)
{
	char name[300];
	struct rw_stats_scope_spec spec = {.name = name,
	                                   .prom = "http",
	                                   .tag_name = "envoy_http_conn_manager_prefix",
	                                   .tag_value = stat_prefix,
	                                   .scalars = http_scalars,
	                                   .n_scalars = RW_HS__N,
	                                   .hists = http_hists,
	                                   .n_hists = RW_HH__N};

	snprintf(name, sizeof(name), "http.%s", stat_prefix);
	return rw_stats_scope_add(&spec, out);
}

int rw_ratelimit_stats_register(const char *hcm_prefix, const char *rl_prefix,
                                struct rw_stats_scope *out)
{
	char name[400], prom[300];
	struct rw_stats_scope_spec spec = {.name = name,
	                                   .prom = prom,
	                                   .tag_name = "envoy_http_conn_manager_prefix",
	                                   .tag_value = hcm_prefix,
	                                   .scalars = rl_scalars,
	                                   .n_scalars = RW_RLS__N};

	snprintf(name, sizeof(name), "http.%s.%s.http_local_rate_limit", hcm_prefix, rl_prefix);
	snprintf(prom, sizeof(prom), "http_%s_http_local_rate_limit", rl_prefix);
	return rw_stats_scope_add(&spec, out);
}

int rw_listener_stats_register(const char *address, struct rw_stats_scope *out)
{
	char name[300];
	struct rw_stats_scope_spec spec = {.name = name,
	                                   .prom = "listener",
	                                   .tag_name = "envoy_listener_address",
	                                   .tag_value = address,
	                                   .scalars = listener_scalars,
	                                   .n_scalars = RW_LS__N,
	                                   .hists = listener_hists,
	                                   .n_hists = RW_LH__N};

	snprintf(name, sizeof(name), "listener.%s", address);
	return rw_stats_scope_add(&spec, out);
}

int rw_tcp_stats_register(const char *stat_prefix, struct rw_stats_scope *out)
{
	char name[300];
	struct rw_stats_scope_spec spec = {.name = name,
	                                   .prom = "tcp",
	                                   .tag_name = "envoy_tcp_prefix",
	                                   .tag_value = stat_prefix,
	                                   .scalars = tcp_scalars,
	                                   .n_scalars = RW_TS__N};

	snprintf(name, sizeof(name), "tcp.%s", stat_prefix);
	return rw_stats_scope_add(&spec, out);
}
