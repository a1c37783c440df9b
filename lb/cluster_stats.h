/*
 * A cluster's stats (cluster.<name>.*), Envoy's names.  Workers, the health checker and the
 * outlier thread record them through the cluster's scope (stats/stats.h); membership,
 * circuit-breaker state and overflow counts are computed when read.
 */
#ifndef RW_LB_CLUSTER_STATS_H
#define RW_LB_CLUSTER_STATS_H

#include <stdbool.h>

struct rw_cluster;
struct rw_host;

enum rw_cluster_stat {
	RW_CS_UPSTREAM_CX_TOTAL,
	RW_CS_UPSTREAM_CX_ACTIVE, /* gauge */
	RW_CS_UPSTREAM_CX_HTTP1_TOTAL,
	RW_CS_UPSTREAM_CX_CONNECT_FAIL,
	RW_CS_UPSTREAM_CX_CONNECT_TIMEOUT,
	RW_CS_UPSTREAM_CX_DESTROY,
	RW_CS_UPSTREAM_CX_DESTROY_LOCAL,
	RW_CS_UPSTREAM_CX_DESTROY_REMOTE,
	RW_CS_UPSTREAM_CX_DESTROY_LOCAL_WITH_ACTIVE_RQ,
	RW_CS_UPSTREAM_CX_DESTROY_REMOTE_WITH_ACTIVE_RQ,
	RW_CS_UPSTREAM_CX_RX_BYTES_TOTAL,
	RW_CS_UPSTREAM_CX_TX_BYTES_TOTAL,
	RW_CS_UPSTREAM_CX_NONE_HEALTHY,
	RW_CS_UPSTREAM_CX_PROTOCOL_ERROR,
	RW_CS_UPSTREAM_CX_IDLE_TIMEOUT,
	RW_CS_UPSTREAM_RQ_TOTAL,
	RW_CS_UPSTREAM_RQ_ACTIVE, /* gauge */
	RW_CS_UPSTREAM_RQ_COMPLETED,
	RW_CS_UPSTREAM_RQ_1XX,
	RW_CS_UPSTREAM_RQ_2XX,
	RW_CS_UPSTREAM_RQ_3XX,
	RW_CS_UPSTREAM_RQ_4XX,
	RW_CS_UPSTREAM_RQ_5XX,
	RW_CS_UPSTREAM_RQ_PENDING_TOTAL,
	RW_CS_UPSTREAM_RQ_PENDING_ACTIVE, /* gauge */
	RW_CS_UPSTREAM_RQ_TIMEOUT,
	RW_CS_UPSTREAM_RQ_PER_TRY_TIMEOUT,
	RW_CS_UPSTREAM_RQ_PER_TRY_IDLE_TIMEOUT,
	RW_CS_UPSTREAM_RQ_RETRY,
	RW_CS_UPSTREAM_RQ_RETRY_SUCCESS,
	RW_CS_UPSTREAM_RQ_RETRY_LIMIT_EXCEEDED,
	RW_CS_UPSTREAM_RQ_RX_RESET,
	RW_CS_UPSTREAM_RQ_TX_RESET,
	RW_CS_UPSTREAM_RQ_CANCELLED, /* left the pending queue before a connection came */
	RW_CS_LB_HEALTHY_PANIC,
	RW_CS_HC_ATTEMPT,
	RW_CS_HC_SUCCESS,
	RW_CS_HC_FAILURE,
	RW_CS_HC_NETWORK_FAILURE,
	RW_CS_OD_EJECTIONS_TOTAL,
	RW_CS_OD_EJECTIONS_ENFORCED_TOTAL,
	RW_CS_OD_EJECTIONS_OVERFLOW,
	RW_CS_OD_ENFORCED_CONSECUTIVE_5XX,
	RW_CS_OD_DETECTED_CONSECUTIVE_5XX,
	RW_CS_OD_ENFORCED_CONSECUTIVE_GATEWAY_FAILURE,
	RW_CS_OD_DETECTED_CONSECUTIVE_GATEWAY_FAILURE,
	RW_CS_OD_ENFORCED_CONSECUTIVE_LOCAL_ORIGIN_FAILURE,
	RW_CS_OD_DETECTED_CONSECUTIVE_LOCAL_ORIGIN_FAILURE,
	RW_CS_OD_ENFORCED_SUCCESS_RATE,
	RW_CS_OD_DETECTED_SUCCESS_RATE,
	RW_CS_OD_ENFORCED_LOCAL_ORIGIN_SUCCESS_RATE,
	RW_CS_OD_DETECTED_LOCAL_ORIGIN_SUCCESS_RATE,
	RW_CS_OD_ENFORCED_FAILURE_PERCENTAGE,
	RW_CS_OD_DETECTED_FAILURE_PERCENTAGE,
	RW_CS_OD_ENFORCED_LOCAL_ORIGIN_FAILURE_PERCENTAGE,
	RW_CS_OD_DETECTED_LOCAL_ORIGIN_FAILURE_PERCENTAGE,
	RW_CS__N
};

/* Histograms (milliseconds, recorded in microseconds). */
enum rw_cluster_hist {
	RW_CH_UPSTREAM_RQ_TIME,       /* request start to the response's last byte */
	RW_CH_UPSTREAM_CX_CONNECT_MS, /* connect() to connected */
	RW_CH_UPSTREAM_CX_LENGTH_MS,  /* connection lifetime */
	/* ringway's request phases (see docs/ARCHITECTURE.md) */
	RW_CH_PHASE_DOWNSTREAM_HEADERS, /* first request byte -> headers parsed */
	RW_CH_PHASE_UPSTREAM_CX_NEW,    /* route chosen -> new connection connected */
	RW_CH_PHASE_UPSTREAM_CX_REUSED, /* route chosen -> pooled connection taken */
	RW_CH_PHASE_REQUEST_SENT,       /* connection obtained -> last request byte sent */
	RW_CH_PHASE_FIRST_BYTE,         /* request sent -> first response byte */
	RW_CH_PHASE_LAST_BYTE,          /* first -> last response byte */
	RW_CH__N
};

/*
 * Register c's scope (c->stats) and its computed stats (membership_*, circuit_breakers.*,
 * upstream_cx_overflow, upstream_rq_pending_overflow, upstream_rq_retry_overflow,
 * outlier_detection.ejections_active).  Start-up, before any thread attaches: 0 or -errno.
 */
int rw_cluster_stats_register(struct rw_cluster *c);

/* A connect to h, a host of c, failed (timeout: connect_timeout expired): the host's
   cx_connect_fail (/clusters) and the cluster's upstream_cx_connect_fail[/_timeout]. */
void rw_cluster_connect_failed(struct rw_cluster *c, struct rw_host *h, bool timeout);

#endif
