/*
 * The HTTP filters that run before the router: envoy.filters.http.fault (delay and abort
 * injection), envoy.filters.http.local_ratelimit (a token bucket) and
 * envoy.filters.http.health_check, in the order the HCM lists them, with per-route
 * overrides (typed_per_filter_config).
 *
 * Token buckets are shared by every worker (Envoy's local rate limit is per listener, not
 * per worker): two atomics, refilled lazily by whichever worker first sees a fill time pass,
 * so no timer and no lock.  A fault delay parks the stream on the connection's timer
 * (fault_until is a stream deadline) and the filter chain resumes where it stopped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/server_state.h"
#include "lb/cluster.h"
#include "lb/epoch.h"
#include "proxy/http_internal.h"
#include "ring/engine.h"

#define PPM 1000000u

void rw__http_bucket_init(struct rw_token_bucket *b, const struct rw_config_local_ratelimit *rl,
                          uint64_t now_ms)
{
	atomic_store(&b->tokens, (int64_t)rl->max_tokens);
	atomic_store(&b->next_fill_ms, now_ms + rl->fill_interval_ms);
	b->max_tokens = rl->max_tokens;
	b->tokens_per_fill = rl->tokens_per_fill;
	b->fill_interval_ms = rl->fill_interval_ms;
}

/* Add the fills that are due; one CAS on the fill time decides which thread adds them. */
static void refill(struct rw_token_bucket *b, uint64_t now)
{
	uint64_t next = atomic_load_explicit(&b->next_fill_ms, memory_order_acquire);

	while (now >= next) {
		uint64_t fills = (now - next) / b->fill_interval_ms + 1;
		uint64_t new_next = next + fills * b->fill_interval_ms;

		if (atomic_compare_exchange_weak(&b->next_fill_ms, &next, new_next)) {
			int64_t t = atomic_load(&b->tokens),
				add = (int64_t)(fills * b->tokens_per_fill);

			for (;;) {
				int64_t v = t + add > (int64_t)b->max_tokens
				                ? (int64_t)b->max_tokens
				                : t + add;

				if (atomic_compare_exchange_weak(&b->tokens, &t, v))
					break;
			}
			return;
		}
	}
}

bool rw__http_bucket_take(struct rw_token_bucket *b, uint64_t now, uint32_t *remaining,
                          uint64_t *reset_ms)
{
	int64_t t;

	refill(b, now);
	t = atomic_load(&b->tokens);
	while (t > 0) {
		if (atomic_compare_exchange_weak(&b->tokens, &t, t - 1)) {
			*remaining = (uint32_t)(t - 1);
			break;
		}
	}
	if (t <= 0)
		*remaining = 0;
	{
		uint64_t next = atomic_load(&b->next_fill_ms);

		*reset_ms = next > now ? next - now : 0;
	}
	return t > 0;
}

static bool chance(struct http_stream *s, rw_config_ppm ppm)
{
	if (ppm >= PPM)
		return true;
	return ppm && rw__http_random(s->c->l->worker->http) % PPM < ppm;
}

/* Parse a decimal header value; false when absent or malformed. */
static bool header_u64(const struct rw_http_headers *h, const char *name, uint64_t *out)
{
	size_t len = 0, i;
	const char *v = rw_http_headers_get(h, name, &len);
	uint64_t n = 0;

	if (!v || !len || len > 18)
		return false;
	for (i = 0; i < len && v[i] >= '0' && v[i] <= '9'; i++)
		n = n * 10 + (uint64_t)(v[i] - '0');
	if (i != len)
		return false;
	*out = n;
	return true;
}

/* x-envoy-fault-*-percentage: a percentage of 100 (Envoy's header_* faults). */
static rw_config_ppm header_percent(const struct rw_http_headers *h, const char *name,
                                    rw_config_ppm dflt)
{
	uint64_t p;

	if (!header_u64(h, name, &p))
		return dflt;
	return p >= 100 ? PPM : (rw_config_ppm)(p * (PPM / 100));
}

/* Returns 0 to go on, 1 when the stream was answered, 2 when it waits (a delay). */
static int run_fault(struct http_stream *s, struct http_filter_rt *f,
                     const struct rw_config_fault *fc)
{
	struct rw_http_headers *h = &s->req;
	uint64_t ms = 0;
	uint16_t status = fc->abort_status;

	for (size_t i = 0; i < fc->n_headers; i++)
		if (!rw__http_header_matches(h, &fc->headers[i]))
			return 0;
	if (fc->max_active_faults && atomic_load(&f->active_faults) >= fc->max_active_faults)
		return 0;
	if (!(s->flags & S_FAULT_DELAYED) && fc->has_delay) {
		bool have =
		    !fc->delay_from_header || header_u64(h, "x-envoy-fault-delay-request", &ms);
		rw_config_ppm pct =
		    fc->delay_from_header
			? header_percent(h, "x-envoy-fault-delay-request-percentage",
		                         fc->delay_percent)
			: fc->delay_percent;

		if (!fc->delay_from_header)
			ms = fc->delay_ms;
		if (have && chance(s, pct)) {
			s->flags |= S_FAULT_DELAYED;
			s->rflags |= RW_RF_DI;
			s->fault = f;
			atomic_fetch_add(&f->active_faults, 1);
			rw_gauge_inc(&s->c->l->cfg->stats, RW_HS_FAULT_ACTIVE_FAULTS);
			s->fault_until = rw_engine_now_ms(s->c->l->worker->eng) + ms;
			rw__http_conn_arm_timer(s->c);
			return 2;
		}
	}
	if (fc->has_abort) {
		uint64_t hs = 0;
		bool have = true;
		rw_config_ppm pct = fc->abort_percent;

		if (fc->abort_from_header) {
			have = header_u64(h, "x-envoy-fault-abort-request", &hs) && hs >= 200 &&
			       hs <= 599;
			status = (uint16_t)hs;
			pct = header_percent(h, "x-envoy-fault-abort-request-percentage", pct);
		}
		if (have && chance(s, pct)) {
			rw__http_stream_local_reply(s, status, "fault filter abort", RW_RF_FI,
			                            "fault_filter_abort");
			return 1;
		}
	}
	return 0;
}

static int run_ratelimit(struct http_stream *s, const struct rw_config_local_ratelimit *rl,
                         struct rw_token_bucket *b, const struct rw_stats_scope *st)
{
	uint64_t now = rw_engine_now_ms(s->c->l->worker->eng), reset_ms;
	uint32_t remaining;
	bool ok;

	if (!rl->has_bucket || !b || !chance(s, rl->filter_enabled))
		return 0;
	rw_stat_inc(st, RW_RLS_ENABLED);
	ok = rw__http_bucket_take(b, now, &remaining, &reset_ms);
	rw_stat_inc(st, ok ? RW_RLS_OK : RW_RLS_RATE_LIMITED);
	if (rl->x_ratelimit_headers) {
		s->rl_headers = true;
		s->rl_limit = rl->max_tokens;
		s->rl_remaining = remaining;
		s->rl_reset_s = (reset_ms + 999) / 1000;
	}
	if (ok || !chance(s, rl->filter_enforced))
		return 0;
	rw_stat_inc(st, RW_RLS_ENFORCED);
	s->rl_config = rl;
	rw__http_stream_local_reply(s, rl->status ? rl->status : 429, "local_rate_limited",
	                            RW_RF_RL, "local_rate_limited");
	return 1;
}

/* Envoy's cluster_min_healthy_percentages: 0 when every cluster has enough healthy hosts,
   else the detail of the first that does not. */
static const char *clusters_unhealthy(const struct rw_config_health_check_filter *hc,
                                      struct rw_cluster *const *clusters)
{
	const char *why = NULL;

	rw_lb_read_lock();
	for (size_t i = 0; i < hc->n_clusters && !why; i++) {
		struct rw_host_set *set =
		    clusters[i] ? atomic_load_explicit(&clusters[i]->hosts, memory_order_acquire)
				: NULL;
		size_t total = set ? set->n : 0, healthy = 0;

		if (!clusters[i]) {
			why = "health_check_failed_no_cluster_found";
			break;
		}
		if (!total) {
			if (hc->clusters[i].min_healthy > 0)
				why = "health_check_failed_cluster_empty";
			continue;
		}
		for (size_t k = 0; k < total; k++)
			if (!atomic_load_explicit(&set->hosts[k]->health, memory_order_relaxed))
				healthy++;
		if (100.0 * (double)healthy < (double)total * hc->clusters[i].min_healthy)
			why = "health_check_failed_cluster_unhealthy";
	}
	rw_lb_read_unlock();
	return why;
}

/*
 * envoy.filters.http.health_check: a request matching the headers is a health check (the
 * access log's not_health_check_filter drops it).  Answered here with an empty 200, or 503
 * (flag LH) while the server is health-check failed or a cluster is below its minimum;
 * pass_through_mode sends it upstream unless failed.
 */
static int run_health_check(struct http_stream *s, const struct http_filter_rt *f)
{
	const struct rw_config_health_check_filter *hc = &f->cfg->u.health_check;
	const char *details = "health_check_ok", *why = NULL;

	for (size_t i = 0; i < hc->n_headers; i++)
		if (!rw__http_header_matches(&s->req, &hc->headers[i]))
			return 0;
	s->flags |= S_HEALTH_CHECK;
	if (rw_server_health_check_failed())
		why = "health_check_failed";
	else if (hc->pass_through_mode)
		return 0;
	else if (hc->n_clusters && !(why = clusters_unhealthy(hc, f->hc_clusters)))
		details = "health_check_ok_cluster_healthy";
	if (why)
		rw__http_stream_local_reply(s, 503, NULL, RW_RF_LH, why);
	else
		rw__http_stream_local_reply(s, 200, NULL, 0, details);
	return 1;
}

int rw__http_filters_run(struct http_stream *s)
{
	const struct rw_http_config *cfg = s->c->l->cfg;
	const struct rw_config_route_action *a =
	    s->route.route && s->route.route->action == RW_CONFIG_ACTION_ROUTE
		? &s->route.route->u.route
		: NULL;
	const struct http_route_target *t =
	    s->route.route ? &cfg->targets[s->route.vhost_index][s->route.route_index] : NULL;

	for (; s->filter_index < cfg->n_filters; s->filter_index++) {
		struct http_filter_rt *f = &cfg->filters[s->filter_index];
		int r = 0;

		if (f->cfg->kind == RW_CONFIG_HTTP_FILTER_FAULT) {
			const struct rw_config_fault *fc =
			    a && a->has_fault_override && a->fault ? a->fault : &f->cfg->u.fault;

			r = run_fault(s, f, fc);
			if (r == 2)
				return 2; /* resumes here, the delay done (S_FAULT_DELAYED) */
		} else if (f->cfg->kind == RW_CONFIG_HTTP_FILTER_LOCAL_RATELIMIT) {
			if (a && a->has_ratelimit_override && a->ratelimit)
				r = run_ratelimit(s, a->ratelimit, t ? t->bucket : NULL,
				                  &f->rl_stats);
			else
				r = run_ratelimit(s, &f->cfg->u.local_ratelimit, &f->bucket,
				                  &f->rl_stats);
		} else if (f->cfg->kind == RW_CONFIG_HTTP_FILTER_HEALTH_CHECK) {
			r = run_health_check(s, f);
		}
		if (r)
			return r;
	}
	return 0;
}

void rw__http_filters_delay_done(struct http_stream *s)
{
	if (s->fault) {
		atomic_fetch_sub(&s->fault->active_faults, 1);
		rw_gauge_dec(&s->c->l->cfg->stats, RW_HS_FAULT_ACTIVE_FAULTS);
		s->fault = NULL;
	}
	s->fault_until = 0;
}

int rw__http_filters_response_headers(struct http_stream *s)
{
	struct rw_http_headers *h = &s->rsp;
	char num[24];
	int r = 0;

	if (s->rl_config && s->rl_config->n_response_headers_to_add) {
		struct http_vars_ctx v = {.s = s, .response = true};

		r = rw__http_mutate(&v, h, s->rl_config->response_headers_to_add,
		                    s->rl_config->n_response_headers_to_add, NULL, 0);
	}
	/* Envoy's health_check filter marks every answer while the server is failed, so a
	   downstream load balancer can stop sending at once. */
	if (!r && s->c->l->cfg->health_check && rw_server_health_check_failed())
		r = rw_http_headers_set(h, RW_HTTP_LIT("x-envoy-immediate-health-check-fail"),
		                        RW_HTTP_LIT("true"));
	if (!r && s->rl_headers) {
		r = rw_http_headers_set(h, RW_HTTP_LIT("x-ratelimit-limit"), num,
		                        (size_t)snprintf(num, sizeof(num), "%u", s->rl_limit));
		if (!r)
			r = rw_http_headers_set(
			    h, RW_HTTP_LIT("x-ratelimit-remaining"), num,
			    (size_t)snprintf(num, sizeof(num), "%u", s->rl_remaining));
		if (!r)
			r = rw_http_headers_set(
			    h, RW_HTTP_LIT("x-ratelimit-reset"), num,
			    (size_t)snprintf(num, sizeof(num), "%llu",
			                     (unsigned long long)s->rl_reset_s));
	}
	return r;
}
