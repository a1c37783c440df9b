/*
 * A stream's stats, counted once when it ends (rw__http_stream_free): the connection
 * manager's request counters and time, the router's, and the cluster's upstream request
 * counters, status codes, time and the request phases (http_internal.h's http_timing).
 * Counting at the end from the stream's final state keeps the request path free of
 * scattered increments and counts each request exactly once, whatever path ended it.
 */
#include <string.h>

#include "lb/cluster.h"
#include "lb/cluster_stats.h"
#include "proxy/http_internal.h"
#include "ring/engine.h"

static bool is(const char *details, const char *what)
{
	return details && strcmp(details, what) == 0;
}

/* t1 - t0 when both points were reached in that order. */
static void phase(const struct rw_stats_scope *sc, unsigned hist, uint64_t t0, uint64_t t1)
{
	if (t0 && t1 >= t0)
		rw_stat_record(sc, hist, t1 - t0);
}

void rw__http_stream_stats_begin(const struct http_stream *s)
{
	const struct rw_stats_scope *hs = &s->c->l->cfg->stats;

	rw_stat_inc(hs, RW_HS_DOWNSTREAM_RQ_TOTAL);
	rw_stat_inc(hs, RW_HS_DOWNSTREAM_RQ_HTTP1_TOTAL);
	rw_gauge_inc(hs, RW_HS_DOWNSTREAM_RQ_ACTIVE);
}

static void cluster_end(const struct http_stream *s, uint64_t now, bool answered)
{
	const struct rw_stats_scope *cs = &s->cluster->stats;
	const struct http_timing *t = &s->t;

	if (s->rflags & RW_RF_UH)
		rw_stat_inc(cs, RW_CS_UPSTREAM_CX_NONE_HEALTHY);
	if (!t->tries)
		return;
	rw_gauge_dec(cs, RW_CS_UPSTREAM_RQ_ACTIVE);
	if (s->rflags & RW_RF_UT)
		rw_stat_inc(cs, RW_CS_UPSTREAM_RQ_TIMEOUT);
	if (s->rflags & RW_RF_URX)
		rw_stat_inc(cs, RW_CS_UPSTREAM_RQ_RETRY_LIMIT_EXCEEDED);
	if (s->retries_done && answered && s->status < 500)
		rw_stat_inc(cs, RW_CS_UPSTREAM_RQ_RETRY_SUCCESS);
	if (answered) {
		rw_stat_inc(cs, RW_CS_UPSTREAM_RQ_COMPLETED);
		rw_stat_inc(cs, RW_CS_UPSTREAM_RQ_1XX + rw_stats_class_of(s->status));
		rw_stat_code(cs, s->status);
		phase(cs, RW_CH_UPSTREAM_RQ_TIME, t->us_cx_beg, now);
	}
	phase(cs, RW_CH_PHASE_DOWNSTREAM_HEADERS, t->ds_rx_beg, t->rx_head);
	phase(cs, t->reused ? RW_CH_PHASE_UPSTREAM_CX_REUSED : RW_CH_PHASE_UPSTREAM_CX_NEW,
	      t->us_cx_beg, t->us_cx_end);
	phase(cs, RW_CH_PHASE_REQUEST_SENT, t->us_cx_end, t->us_tx_end);
	phase(cs, RW_CH_PHASE_FIRST_BYTE, t->us_tx_end, t->us_rx_beg);
	phase(cs, RW_CH_PHASE_LAST_BYTE, t->us_rx_beg, t->us_rx_end);
}

void rw__http_stream_stats_end(const struct http_stream *s)
{
	const struct rw_stats_scope *hs = &s->c->l->cfg->stats;
	uint64_t now = rw_engine_now_us(s->c->l->worker->eng);
	bool answered = (s->flags & S_RSP_STARTED) && s->status;
	const struct rw_config_route *route = s->route.route;

	rw_gauge_dec(hs, RW_HS_DOWNSTREAM_RQ_ACTIVE);
	if (answered) {
		rw_stat_inc(hs, RW_HS_DOWNSTREAM_RQ_COMPLETED);
		rw_stat_inc(hs, RW_HS_DOWNSTREAM_RQ_1XX + rw_stats_class_of(s->status));
		phase(hs, RW_HH_DOWNSTREAM_RQ_TIME, s->t.ds_rx_beg, now);
		if (!(s->flags & S_REQ_DONE))
			rw_stat_inc(hs, RW_HS_DOWNSTREAM_RQ_RESPONSE_BEFORE_RQ_COMPLETE);
		if (s->status == 413)
			rw_stat_inc(hs, RW_HS_DOWNSTREAM_RQ_TOO_LARGE);
	}
	if (s->rflags & RW_RF_NR)
		rw_stat_inc(hs, RW_HS_NO_ROUTE);
	if (s->rflags & RW_RF_NC)
		rw_stat_inc(hs, RW_HS_NO_CLUSTER);
	if (s->rflags & RW_RF_FI)
		rw_stat_inc(hs, RW_HS_FAULT_ABORTS_INJECTED);
	if (s->rflags & RW_RF_DI)
		rw_stat_inc(hs, RW_HS_FAULT_DELAYS_INJECTED);
	if ((s->rflags & (RW_RF_UR | RW_RF_UC | RW_RF_UPE)) && (s->flags & S_RSP_STARTED) &&
	    !(s->flags & S_RSP_DONE))
		rw_stat_inc(hs, RW_HS_RQ_RESET_AFTER_DOWNSTREAM_RESPONSE_STARTED);
	if (is(s->details, "request_overall_timeout"))
		rw_stat_inc(hs, RW_HS_DOWNSTREAM_RQ_TIMEOUT);
	else if (is(s->details, "stream_idle_timeout"))
		rw_stat_inc(hs, RW_HS_DOWNSTREAM_RQ_IDLE_TIMEOUT);
	else if (is(s->details, "max_duration_timeout"))
		rw_stat_inc(hs, RW_HS_DOWNSTREAM_RQ_MAX_DURATION_REACHED);
	if (route && route->action == RW_CONFIG_ACTION_REDIRECT)
		rw_stat_inc(hs, RW_HS_RQ_REDIRECT);
	else if (route && route->action == RW_CONFIG_ACTION_DIRECT_RESPONSE)
		rw_stat_inc(hs, RW_HS_RQ_DIRECT_RESPONSE);
	if (s->cluster) {
		rw_stat_inc(hs, RW_HS_RQ_TOTAL);
		cluster_end(s, now, answered);
	}
}

/* A try starts on the stream's cluster (the first, a retry, or an idle-close re-send). */
void rw__http_stream_stats_try(const struct http_stream *s)
{
	const struct rw_stats_scope *cs = &s->cluster->stats;

	rw_stat_inc(cs, RW_CS_UPSTREAM_RQ_TOTAL);
	if (s->t.tries == 1)
		rw_gauge_inc(cs, RW_CS_UPSTREAM_RQ_ACTIVE);
	else
		rw_stat_inc(cs, RW_CS_UPSTREAM_RQ_RETRY);
}
