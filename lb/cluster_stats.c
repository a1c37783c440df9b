/* cluster.<name>.* (see cluster_stats.h). */
#include "lb/cluster_stats.h"

#include <stdatomic.h>
#include <stdio.h>

#include "lb/cluster.h"
#include "lb/epoch.h"
#include "stats/stats.h"

#define C RW_STAT_C
#define G RW_STAT_G
#define H RW_STAT_H

static const struct rw_stat_def scalars[RW_CS__N] = {
    [RW_CS_UPSTREAM_CX_TOTAL] = C("upstream_cx_total"),
    [RW_CS_UPSTREAM_CX_ACTIVE] = G("upstream_cx_active"),
    [RW_CS_UPSTREAM_CX_HTTP1_TOTAL] = C("upstream_cx_http1_total"),
    [RW_CS_UPSTREAM_CX_CONNECT_FAIL] = C("upstream_cx_connect_fail"),
    [RW_CS_UPSTREAM_CX_CONNECT_TIMEOUT] = C("upstream_cx_connect_timeout"),
    [RW_CS_UPSTREAM_CX_DESTROY] = C("upstream_cx_destroy"),
    [RW_CS_UPSTREAM_CX_DESTROY_LOCAL] = C("upstream_cx_destroy_local"),
    [RW_CS_UPSTREAM_CX_DESTROY_REMOTE] = C("upstream_cx_destroy_remote"),
    [RW_CS_UPSTREAM_CX_DESTROY_LOCAL_WITH_ACTIVE_RQ] =
	C("upstream_cx_destroy_local_with_active_rq"),
    [RW_CS_UPSTREAM_CX_DESTROY_REMOTE_WITH_ACTIVE_RQ] =
	C("upstream_cx_destroy_remote_with_active_rq"),
    [RW_CS_UPSTREAM_CX_RX_BYTES_TOTAL] = C("upstream_cx_rx_bytes_total"),
    [RW_CS_UPSTREAM_CX_TX_BYTES_TOTAL] = C("upstream_cx_tx_bytes_total"),
    [RW_CS_UPSTREAM_CX_NONE_HEALTHY] = C("upstream_cx_none_healthy"),
    [RW_CS_UPSTREAM_CX_PROTOCOL_ERROR] = C("upstream_cx_protocol_error"),
    [RW_CS_UPSTREAM_CX_IDLE_TIMEOUT] = C("upstream_cx_idle_timeout"),
    [RW_CS_UPSTREAM_RQ_TOTAL] = C("upstream_rq_total"),
    [RW_CS_UPSTREAM_RQ_ACTIVE] = G("upstream_rq_active"),
    [RW_CS_UPSTREAM_RQ_COMPLETED] = C("upstream_rq_completed"),
    [RW_CS_UPSTREAM_RQ_1XX] = C("upstream_rq_1xx"),
    [RW_CS_UPSTREAM_RQ_2XX] = C("upstream_rq_2xx"),
    [RW_CS_UPSTREAM_RQ_3XX] = C("upstream_rq_3xx"),
    [RW_CS_UPSTREAM_RQ_4XX] = C("upstream_rq_4xx"),
    [RW_CS_UPSTREAM_RQ_5XX] = C("upstream_rq_5xx"),
    [RW_CS_UPSTREAM_RQ_PENDING_TOTAL] = C("upstream_rq_pending_total"),
    [RW_CS_UPSTREAM_RQ_PENDING_ACTIVE] = G("upstream_rq_pending_active"),
    [RW_CS_UPSTREAM_RQ_TIMEOUT] = C("upstream_rq_timeout"),
    [RW_CS_UPSTREAM_RQ_PER_TRY_TIMEOUT] = C("upstream_rq_per_try_timeout"),
    [RW_CS_UPSTREAM_RQ_PER_TRY_IDLE_TIMEOUT] = C("upstream_rq_per_try_idle_timeout"),
    [RW_CS_UPSTREAM_RQ_RETRY] = C("upstream_rq_retry"),
    [RW_CS_UPSTREAM_RQ_RETRY_SUCCESS] = C("upstream_rq_retry_success"),
    [RW_CS_UPSTREAM_RQ_RETRY_LIMIT_EXCEEDED] = C("upstream_rq_retry_limit_exceeded"),
    [RW_CS_UPSTREAM_RQ_RX_RESET] = C("upstream_rq_rx_reset"),
    [RW_CS_UPSTREAM_RQ_TX_RESET] = C("upstream_rq_tx_reset"),
    [RW_CS_UPSTREAM_RQ_CANCELLED] = C("upstream_rq_cancelled"),
    [RW_CS_LB_HEALTHY_PANIC] = C("lb_healthy_panic"),
    [RW_CS_HC_ATTEMPT] = C("health_check.attempt"),
    [RW_CS_HC_SUCCESS] = C("health_check.success"),
    [RW_CS_HC_FAILURE] = C("health_check.failure"),
    [RW_CS_HC_NETWORK_FAILURE] = C("health_check.network_failure"),
    [RW_CS_OD_EJECTIONS_TOTAL] = C("outlier_detection.ejections_total"),
    [RW_CS_OD_EJECTIONS_ENFORCED_TOTAL] = C("outlier_detection.ejections_enforced_total"),
    [RW_CS_OD_EJECTIONS_OVERFLOW] = C("outlier_detection.ejections_overflow"),
    [RW_CS_OD_ENFORCED_CONSECUTIVE_5XX] = C("outlier_detection.ejections_enforced_consecutive_5xx"),
    [RW_CS_OD_DETECTED_CONSECUTIVE_5XX] = C("outlier_detection.ejections_detected_consecutive_5xx"),
    [RW_CS_OD_ENFORCED_CONSECUTIVE_GATEWAY_FAILURE] =
	C("outlier_detection.ejections_enforced_consecutive_gateway_failure"),
    [RW_CS_OD_DETECTED_CONSECUTIVE_GATEWAY_FAILURE] =
	C("outlier_detection.ejections_detected_consecutive_gateway_failure"),
    [RW_CS_OD_ENFORCED_CONSECUTIVE_LOCAL_ORIGIN_FAILURE] =
	C("outlier_detection.ejections_enforced_consecutive_local_origin_failure"),
    [RW_CS_OD_DETECTED_CONSECUTIVE_LOCAL_ORIGIN_FAILURE] =
	C("outlier_detection.ejections_detected_consecutive_local_origin_failure"),
    [RW_CS_OD_ENFORCED_SUCCESS_RATE] = C("outlier_detection.ejections_enforced_success_rate"),
    [RW_CS_OD_DETECTED_SUCCESS_RATE] = C("outlier_detection.ejections_detected_success_rate"),
    [RW_CS_OD_ENFORCED_LOCAL_ORIGIN_SUCCESS_RATE] =
	C("outlier_detection.ejections_enforced_local_origin_success_rate"),
    [RW_CS_OD_DETECTED_LOCAL_ORIGIN_SUCCESS_RATE] =
	C("outlier_detection.ejections_detected_local_origin_success_rate"),
    [RW_CS_OD_ENFORCED_FAILURE_PERCENTAGE] =
	C("outlier_detection.ejections_enforced_failure_percentage"),
    [RW_CS_OD_DETECTED_FAILURE_PERCENTAGE] =
	C("outlier_detection.ejections_detected_failure_percentage"),
    [RW_CS_OD_ENFORCED_LOCAL_ORIGIN_FAILURE_PERCENTAGE] =
	C("outlier_detection.ejections_enforced_local_origin_failure_percentage"),
    [RW_CS_OD_DETECTED_LOCAL_ORIGIN_FAILURE_PERCENTAGE] =
	C("outlier_detection.ejections_detected_local_origin_failure_percentage"),
};

static const struct rw_stat_def hists[RW_CH__N] = {
    [RW_CH_UPSTREAM_RQ_TIME] = H("upstream_rq_time"),
    [RW_CH_UPSTREAM_CX_CONNECT_MS] = H("upstream_cx_connect_ms"),
    [RW_CH_UPSTREAM_CX_LENGTH_MS] = H("upstream_cx_length_ms"),
    [RW_CH_PHASE_DOWNSTREAM_HEADERS] = H("phase.downstream_headers_ms"),
    [RW_CH_PHASE_UPSTREAM_CX_NEW] = H("phase.upstream_connection_new_ms"),
    [RW_CH_PHASE_UPSTREAM_CX_REUSED] = H("phase.upstream_connection_reused_ms"),
    [RW_CH_PHASE_REQUEST_SENT] = H("phase.request_sent_ms"),
    [RW_CH_PHASE_FIRST_BYTE] = H("phase.first_byte_ms"),
    [RW_CH_PHASE_LAST_BYTE] = H("phase.last_byte_ms"),
};

/* Hosts of the current snapshot passing test (membership and ejections). */
enum which { ALL, HEALTHY, EJECTED, HC_HEALTHY };

static int64_t count_hosts(struct rw_cluster *c, enum which w)
{
	struct rw_host_set *set;
	int64_t n = 0;

	rw_lb_read_lock();
	set = atomic_load_explicit(&c->hosts, memory_order_acquire);
	for (size_t i = 0; set && i < set->n; i++) {
		uint32_t h = atomic_load_explicit(&set->hosts[i]->health, memory_order_relaxed);

		n += w == ALL || (w == HEALTHY && !h) || (w == EJECTED && (h & RW_HOST_EJECTED)) ||
		     (w == HC_HEALTHY && !(h & (RW_HOST_FAILED_ACTIVE_HC | RW_HOST_PENDING_HC)));
	}
	rw_lb_read_unlock();
	return n;
}

static int64_t membership_total(void *arg)
{
	return count_hosts(arg, ALL);
}

static int64_t membership_healthy(void *arg)
{
	return count_hosts(arg, HEALTHY);
}

static int64_t membership_degraded(void *arg)
{
	(void)arg;
	return 0; /* ringway has no degraded health state */
}

static int64_t ejections_active(void *arg)
{
	return count_hosts(arg, EJECTED);
}

static int64_t load(_Atomic int64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static int64_t loadu(_Atomic uint64_t *v)
{
	return (int64_t)atomic_load_explicit(v, memory_order_relaxed);
}

static int64_t cx_overflow(void *arg)
{
	return loadu(&((struct rw_cluster *)arg)->cb.cx_overflow);
}

/* Envoy counts both the pending and the max_requests breakers here. */
static int64_t rq_pending_overflow(void *arg)
{
	struct rw_cluster *c = arg;

	return loadu(&c->cb.rq_pending_overflow) + loadu(&c->cb.rq_overflow);
}

static int64_t rq_retry_overflow(void *arg)
{
	return loadu(&((struct rw_cluster *)arg)->cb.rq_retry_overflow);
}

/* circuit_breakers.default.*: open = at the threshold (1/0), remaining = threshold - used. */
static int64_t open_of(int64_t used, uint32_t max)
{
	return used >= (int64_t)max;
}

static int64_t remaining_of(int64_t used, uint32_t max)
{
	return used >= (int64_t)max ? 0 : (int64_t)max - used;
}

#define CB_FN(fname, field, limit, kind)                                                           \
	static int64_t fname(void *arg)                                                            \
	{                                                                                          \
		struct rw_cluster *c = arg;                                                        \
		return kind##_of(load(&c->cb.field), c->cb.limit);                                 \
	}
CB_FN(cx_open, cx_active, max_connections, open)
CB_FN(rq_pending_open, rq_pending, max_pending_requests, open)
CB_FN(rq_open, rq_active, max_requests, open)
CB_FN(rq_retry_open, rq_retry, max_retries, open)
CB_FN(remaining_cx, cx_active, max_connections, remaining)
CB_FN(remaining_pending, rq_pending, max_pending_requests, remaining)
CB_FN(remaining_rq, rq_active, max_requests, remaining)
CB_FN(remaining_retries, rq_retry, max_retries, remaining)

void rw_cluster_connect_failed(struct rw_cluster *c, struct rw_host *h, bool timeout)
{
	atomic_fetch_add_explicit(&h->cx_connect_fail, 1, memory_order_relaxed);
	rw_stat_inc(&c->stats, RW_CS_UPSTREAM_CX_CONNECT_FAIL);
	if (timeout)
		rw_stat_inc(&c->stats, RW_CS_UPSTREAM_CX_CONNECT_TIMEOUT);
}

int rw_cluster_stats_register(struct rw_cluster *c)
{
	static const struct {
		const char *name;
		enum rw_stat_kind kind;
		rw_stat_read_fn fn;
	} computed[] = {
	    {"membership_total", RW_STAT_GAUGE, membership_total},
	    {"membership_healthy", RW_STAT_GAUGE, membership_healthy},
	    {"membership_degraded", RW_STAT_GAUGE, membership_degraded},
	    {"outlier_detection.ejections_active", RW_STAT_GAUGE, ejections_active},
	    {"upstream_cx_overflow", RW_STAT_COUNTER, cx_overflow},
	    {"upstream_rq_pending_overflow", RW_STAT_COUNTER, rq_pending_overflow},
	    {"upstream_rq_retry_overflow", RW_STAT_COUNTER, rq_retry_overflow},
	    {"circuit_breakers.default.cx_open", RW_STAT_GAUGE, cx_open},
	    {"circuit_breakers.default.rq_pending_open", RW_STAT_GAUGE, rq_pending_open},
	    {"circuit_breakers.default.rq_open", RW_STAT_GAUGE, rq_open},
	    {"circuit_breakers.default.rq_retry_open", RW_STAT_GAUGE, rq_retry_open},
	    {"circuit_breakers.default.remaining_cx", RW_STAT_GAUGE, remaining_cx},
	    {"circuit_breakers.default.remaining_pending", RW_STAT_GAUGE, remaining_pending},
	    {"circuit_breakers.default.remaining_rq", RW_STAT_GAUGE, remaining_rq},
	    {"circuit_breakers.default.remaining_retries", RW_STAT_GAUGE, remaining_retries},
	};
	char scope[300];
	struct rw_stats_scope_spec spec = {.name = scope,
	                                   .prom = "cluster",
	                                   .tag_name = "envoy_cluster_name",
	                                   .tag_value = c->name,
	                                   .scalars = scalars,
	                                   .n_scalars = RW_CS__N,
	                                   .hists = hists,
	                                   .n_hists = RW_CH__N,
	                                   .codes_name = "upstream_rq"};
	int r;

	snprintf(scope, sizeof(scope), "cluster.%s", c->name);
	r = rw_stats_scope_add(&spec, &c->stats);
	for (size_t i = 0; !r && i < sizeof(computed) / sizeof(computed[0]); i++)
		r = rw_stats_add_computed(scope, "cluster", "envoy_cluster_name", c->name,
		                          computed[i].name, computed[i].kind, computed[i].fn, c);
	return r;
}
