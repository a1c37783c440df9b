/*
 * One request/response exchange, request side: routing, the route's action (forward,
 * redirect, direct response), the request body, and the stream's timeouts.  The checks and
 * edge headers before routing are in http_edge.c; the response side and local replies in
 * http_response.c.
 *
 * Version-neutral: requests and responses are header blocks with pseudo-headers plus body
 * chains.  The only HTTP/1.1 knowledge here is how the two sides are framed, which the
 * HTTP/2 codec will replace with its own (see docs/ARCHITECTURE.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "lb/cluster.h"
#include "proxy/http_internal.h"
#include "ring/engine.h"

/* Streams kept for reuse per worker (none under ASan, so a use after free is caught). */
#define MAX_FREE_STREAMS 16
/* A request kept for one retry on a fresh connection is bounded to this many bytes. */
#define REPLAY_MAX (64u * 1024u)
#define MAX_FIELDS 512

static struct rw_engine *eng(const struct http_stream *s)
{
	return s->c->l->worker->eng;
}

static const struct rw_config_hcm *hcm_of(const struct http_stream *s)
{
	return s->c->l->cfg->hcm;
}

static struct rw_chain *down_out(struct http_stream *s)
{
	return rw_sock_out(s->c->sock);
}

struct http_stream *rw__http_stream_new(struct http_conn *c)
{
	struct http_worker *hw = c->l->worker->http;
	struct http_stream *s = hw->free_streams;
	struct rw_http_headers req = {0}, rsp = {0}, trailers = {0};

	if (s) {
		hw->free_streams = s->next_free;
		hw->n_free_streams--;
		req = s->req;
		rsp = s->rsp;
		trailers = s->trailers;
	} else {
		s = malloc(sizeof(*s));
		if (!s)
			return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->req = req;
	s->rsp = rsp;
	s->trailers = trailers;
	rw_http_headers_clear(&s->trailers);
	rw_http_headers_clear(&s->req);
	rw_http_headers_clear(&s->rsp);
	s->c = c;
	s->id = c->id;
	s->start_ms = rw_engine_now_ms(eng(s));
	s->t.ds_rx_beg = rw_engine_now_us(eng(s));
	rw_h1_parser_init(&s->parser, RW_H1_REQUEST, &c->l->cfg->h1);
	s->idle_timeout_ms = c->l->cfg->hcm->stream_idle_timeout_ms;
	rw__http_stream_stats_begin(s);
	return s;
}

static void log_stream(const struct http_stream *s)
{
	char flags[64];
	size_t ml = 0, pl = 0;
	const char *m, *p;

	if (!rw_log_enabled(RW_LOG_DEBUG))
		return;
	m = rw_http_headers_get(&s->req, ":method", &ml);
	p = rw_http_headers_get(&s->req, ":path", &pl);
	rw_log_debug("http", "[C%llu] \"%.*s %.*s\" %u %s %s cluster=%s host=%s",
	             (unsigned long long)s->id, (int)ml, m ? m : "-", (int)pl, p ? p : "-",
	             s->status, rw_access_log_flags_format(s->rflags, flags, sizeof(flags)),
	             s->details ? s->details : "-", s->cluster_name ? s->cluster_name : "-",
	             s->host ? s->host->name : "-");
}

void rw__http_stream_free(struct http_stream *s)
{
	log_stream(s);
	rw__http_stream_stats_end(s);
	if (s->c->l->cfg->n_logs)
		rw__http_access_log(s);
	if (s->up) {
		rw__http_upstream_release(s->up, false);
		s->up = NULL;
	}
	rw__http_upstream_cancel_wait(s);
	if (s->host) {
		atomic_fetch_sub_explicit(&s->host->rq_active, 1, memory_order_relaxed);
		rw_host_unref(s->host);
	}
	rw_chain_reset(&s->replay);
	rw_chain_reset(&s->held);
	if (s->flags & S_CB_RQ)
		atomic_fetch_sub_explicit(&s->cluster->cb.rq_active, 1, memory_order_relaxed);
	rw__http_cb_retry_end(s);
	if (s->fault)
		rw__http_filters_delay_done(s);
#if !defined(__SANITIZE_ADDRESS__)
	struct http_worker *hw = s->c->l->worker->http;

	if (hw->n_free_streams < MAX_FREE_STREAMS) {
		s->next_free = hw->free_streams;
		hw->free_streams = s;
		hw->n_free_streams++;
		return;
	}
#endif
	rw_http_headers_free(&s->req);
	rw_http_headers_free(&s->rsp);
	rw_http_headers_free(&s->trailers);
	free(s);
}

void rw__http_stream_abort(struct http_stream *s, uint32_t rflag, const char *why)
{
	s->rflags |= rflag;
	if (!s->details)
		s->details = why;
	rw__http_conn_close(s->c, why);
}

/* ---- request head ---- */

static struct rw_http_request_view *build_view(struct http_stream *s,
                                               struct rw_http_request_view *v,
                                               struct rw_http_header *hdrs, size_t cap)
{
	const struct rw_http_headers *h = &s->req;
	size_t n = 0;

	memset(v, 0, sizeof(*v));
	for (uint32_t i = 0; i < h->n; i++) {
		const char *name = rw_http_field_name(h, i);
		const char *val = rw_http_field_value(h, i);
		size_t vl = h->f[i].value_len;

		if (name[0] == ':') {
			if (rw_http_field_is(h, i, RW_HTTP_LIT(":method")))
				v->method = val, v->method_len = vl;
			else if (rw_http_field_is(h, i, RW_HTTP_LIT(":path")))
				v->path = val, v->path_len = vl;
			else if (rw_http_field_is(h, i, RW_HTTP_LIT(":authority")))
				v->authority = val, v->authority_len = vl;
			else if (rw_http_field_is(h, i, RW_HTTP_LIT(":scheme")))
				v->scheme = val, v->scheme_len = vl;
			continue;
		}
		if (n == cap)
			continue;
		hdrs[n].name = name;
		hdrs[n].name_len = h->f[i].name_len;
		hdrs[n].value = val;
		hdrs[n].value_len = vl;
		n++;
	}
	v->headers = hdrs;
	v->n_headers = n;
	return v;
}

static bool upgrade_allowed(const struct http_stream *s, const char *type, size_t len)
{
	const struct rw_config_hcm *hcm = hcm_of(s);
	bool ok = false;

	for (size_t i = 0; i < hcm->n_upgrades; i++)
		if (strlen(hcm->upgrades[i].upgrade_type) == len &&
		    strncasecmp(hcm->upgrades[i].upgrade_type, type, len) == 0)
			ok = hcm->upgrades[i].enabled;
	if (s->route.route && s->route.route->action == RW_CONFIG_ACTION_ROUTE) {
		const struct rw_config_route_action *a = &s->route.route->u.route;

		for (size_t i = 0; i < a->n_upgrades; i++)
			if (strlen(a->upgrades[i].upgrade_type) == len &&
			    strncasecmp(a->upgrades[i].upgrade_type, type, len) == 0)
				ok = a->upgrades[i].enabled;
	}
	return ok;
}

/* Which cluster the matched route sends to; NULL with *status set when none. */
static struct rw_cluster *pick_cluster(struct http_stream *s)
{
	const struct rw_http_config *cfg = s->c->l->cfg;
	const struct rw_config_route_action *a = &s->route.route->u.route;
	struct http_route_target *t = &cfg->targets[s->route.vhost_index][s->route.route_index];

	switch (a->specifier) {
	case RW_CONFIG_ROUTE_CLUSTER:
		s->cluster_name = a->cluster;
		return t->cluster;
	case RW_CONFIG_ROUTE_WEIGHTED: {
		const struct rw_config_weighted_cluster *wc =
		    rw_router_pick_weighted(a, rw__http_random(s->c->l->worker->http));

		if (!wc)
			return NULL;
		s->wc = wc;
		s->cluster_name = wc->name;
		return t->weighted[wc - a->weighted];
	}
	case RW_CONFIG_ROUTE_CLUSTER_HEADER: {
		size_t len = 0;
		const char *name = rw_http_headers_get(&s->req, a->cluster, &len);
		char buf[256];

		if (!name || !len || len >= sizeof(buf))
			return NULL;
		memcpy(buf, name, len);
		buf[len] = '\0';
		return cfg->lookup(cfg->lookup_ctx, buf);
	}
	}
	return NULL;
}

void rw__http_stream_overflow(struct http_stream *s)
{
	static const char body[] =
	    "upstream connect error or disconnect/reset before headers. reset reason: overflow";

	rw__http_local_reply_full(s, 503, body, sizeof(body) - 1, NULL, false, RW_RF_UO,
	                          "upstream_overflow");
}

bool rw__http_cb_retry_begin(struct http_stream *s)
{
	struct rw_cluster_cb *cb = &s->cluster->cb;
	int64_t active = atomic_load_explicit(&cb->rq_retry, memory_order_relaxed);
	uint64_t allowed = cb->max_retries;

	if (s->flags & S_CB_RETRY)
		return true; /* this stream's retry is already counted */
	if (cb->has_retry_budget) {
		/* retry_budget: a share of the requests in flight, at least min_retry_concurrency.
		 */
		int64_t base = atomic_load_explicit(&cb->rq_active, memory_order_relaxed) +
		               atomic_load_explicit(&cb->rq_pending, memory_order_relaxed);

		allowed = (uint64_t)((double)base * cb->budget_percent / 100.0);
		if (allowed < cb->min_retry_concurrency)
			allowed = cb->min_retry_concurrency;
	}
	if ((uint64_t)active >= allowed) {
		atomic_fetch_add_explicit(&cb->rq_retry_overflow, 1, memory_order_relaxed);
		return false;
	}
	atomic_fetch_add_explicit(&cb->rq_retry, 1, memory_order_relaxed);
	s->flags |= S_CB_RETRY;
	return true;
}

void rw__http_cb_retry_end(struct http_stream *s)
{
	if (!(s->flags & S_CB_RETRY))
		return;
	s->flags &= ~S_CB_RETRY;
	atomic_fetch_sub_explicit(&s->cluster->cb.rq_retry, 1, memory_order_relaxed);
}

bool rw__http_stream_pick_host(struct http_stream *s, const struct rw_host *avoid)
{
	const struct rw_config_route_action *a = &s->route.route->u.route;
	struct rw_lb_pick_ctx ctx = {.random = rw__http_random(s->c->l->worker->http),
	                             .avoid = avoid};
	struct rw_host *h;

	if (a->n_hash_policies)
		ctx.has_hash = rw__http_request_hash(s, a, &ctx.hash);
	h = rw_cluster_pick(s->cluster, &ctx);
	if (!h)
		return false;
	if (s->host) {
		atomic_fetch_sub_explicit(&s->host->rq_active, 1, memory_order_relaxed);
		rw_host_unref(s->host);
	}
	s->host = h;
	atomic_fetch_add_explicit(&h->rq_active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->rq_total, 1, memory_order_relaxed);
	return true;
}

static int rewrite_request(struct http_stream *s, const struct rw_http_request_view *view)
{
	const struct rw_http_config *cfg = s->c->l->cfg;
	const struct rw_config_route_action *a = &s->route.route->u.route;
	struct rw_http_headers *h = &s->req;
	char *buf = s->c->l->worker->http->scratch;
	size_t len = 0;
	int r;

	r = rw_router_rewrite_path(cfg->router, &s->route, view, s->c->l->scratch, buf,
	                           sizeof(s->c->l->worker->http->scratch), &len);
	if (r == 1) {
		size_t olen = 0;
		const char *orig = rw_http_headers_get(h, ":path", &olen);

		if (!cfg->suppress_envoy_headers && orig &&
		    rw_http_headers_find(h, RW_HTTP_LIT("x-envoy-original-path"), 0) < 0) {
			/* The view points into h: copy the original before h changes. */
			char *o2 = buf + len;

			if (len + olen <= sizeof(s->c->l->worker->http->scratch)) {
				memcpy(o2, orig, olen);
				if (rw_http_headers_add(h, RW_HTTP_LIT("x-envoy-original-path"), o2,
				                        olen))
					return -ENOMEM;
			}
		}
		if (rw_http_headers_set(h, RW_HTTP_LIT(":path"), buf, len))
			return -ENOMEM;
	} else if (r < 0 && r != -EINVAL) {
		return r;
	}
	switch (a->host_rewrite) {
	case RW_CONFIG_HOST_REWRITE_LITERAL:
		return rw_http_headers_set(h, RW_HTTP_LIT(":authority"), a->host_rewrite_value,
		                           strlen(a->host_rewrite_value));
	case RW_CONFIG_HOST_REWRITE_HEADER: {
		const char *v = rw_http_headers_get(h, a->host_rewrite_value, &len);

		if (v && len && len < sizeof(s->c->l->worker->http->scratch)) {
			memcpy(buf, v, len);
			return rw_http_headers_set(h, RW_HTTP_LIT(":authority"), buf, len);
		}
		return 0;
	}
	case RW_CONFIG_HOST_REWRITE_AUTO: {
		/* The DNS name the host was resolved from; a STATIC host has none (as in Envoy). */
		const char *name =
		    s->host ? atomic_load_explicit(&s->host->hostname, memory_order_relaxed) : NULL;

		if (name)
			return rw_http_headers_set(h, RW_HTTP_LIT(":authority"), name,
			                           strlen(name));
		return 0;
	}
	default:
		return 0;
	}
}

int rw__http_chain_clone(struct rw_chain *dst, const struct rw_chain *src)
{
	for (uint32_t i = 0; i < src->count; i++) {
		const struct rw_slice *sl = &src->v[(src->head + i) & (src->cap - 1)];

		if (rw_chain_append_buf(dst, sl->buf, sl->off, sl->len))
			return -ENOMEM;
	}
	return 0;
}

int rw__http_encode_request_head(struct http_stream *s, struct rw_chain *out)
{
	struct rw_http_headers *h = &s->req;
	struct rw_h1_field f[MAX_FIELDS + 5];
	const char *method, *path, *auth;
	size_t ml = 0, pl = 0, al = 0, n;
	char mbuf[64], attempt[12], *target;
	int r;

	method = rw_http_headers_get(h, ":method", &ml);
	path = rw_http_headers_get(h, ":path", &pl);
	auth = rw_http_headers_get(h, ":authority", &al);
	if (!method || ml >= sizeof(mbuf))
		return -EINVAL;
	memcpy(mbuf, method, ml);
	mbuf[ml] = '\0';
	if (s->flags & S_CONNECT) {
		path = auth;
		pl = al;
	}
	if (!path)
		path = "/", pl = 1;
	target = malloc(pl + 1);
	if (!target)
		return -ENOMEM;
	memcpy(target, path, pl);
	target[pl] = '\0';
	rw__http_h1_fields(h, f + 1, MAX_FIELDS, &n);
	/* Host first, as clients write it. */
	f[0].name = "host";
	f[0].name_len = 4;
	f[0].value = auth ? auth : s->host->name;
	f[0].value_len = auth ? al : strlen(s->host->name);
	n++;
	if (s->head.body == RW_H1_BODY_CHUNKED) {
		f[n++] = (struct rw_h1_field){"transfer-encoding", 17, "chunked", 7};
		s->flags |= S_UP_CHUNKED;
	}
	if (s->flags & S_UPGRADE)
		f[n++] = (struct rw_h1_field){"connection", 10, "upgrade", 7};
	if (s->route.vhost && s->route.vhost->include_request_attempt_count)
		f[n++] = (struct rw_h1_field){
		    "x-envoy-attempt-count", 21, attempt,
		    (size_t)snprintf(attempt, sizeof(attempt), "%u", s->retries_done + 1)};
	r = rw_h1_encode_request_head(out, rw_engine_pool(eng(s)), mbuf, target, 1, f, n);
	free(target);
	return r;
}

static int send_request_head(struct http_stream *s)
{
	struct rw_chain *out = rw__http_upstream_out(s->up);
	size_t before = out->bytes;
	int r = rw__http_encode_request_head(s, out);

	if (r)
		return r;
	s->head_len = out->bytes - before;
	/* Kept for a retry (policy) or for the one re-send after a pooled connection's idle
	 * close; replay_limit bounds it. */
	if (s->retries_left || rw__http_upstream_reused(s->up)) {
		s->flags |= S_REPLAYABLE;
		rw_chain_reset(&s->replay);
		if (rw__http_chain_clone(&s->replay, out))
			return -ENOMEM;
	}
	rw__http_upstream_expect(s->up, s->head.method);
	s->up_start_ms = s->up_activity_ms = rw_engine_now_ms(eng(s));
	s->t.us_tx_beg = rw_engine_now_us(eng(s));
	return 0;
}

static int finish_upstream_body(struct http_stream *s);

static void forward(struct http_stream *s, const struct rw_http_request_view *view)
{
	const struct rw_http_config *cfg = s->c->l->cfg;
	const struct rw_config_route_action *a = &s->route.route->u.route;
	struct rw_http_headers *h = &s->req;
	char tbuf[24];
	int r;

	s->cluster = pick_cluster(s);
	if (!s->cluster) {
		rw__http_local_reply_full(s, a->cluster_not_found_status, NULL, 0, NULL, false,
		                          RW_RF_NC, "cluster_not_found");
		return;
	}
	if (!s->cluster_name)
		s->cluster_name = s->cluster->name;
	/* Circuit breaker: requests in flight to the cluster, all workers. */
	if ((uint64_t)atomic_load_explicit(&s->cluster->cb.rq_active, memory_order_relaxed) >=
	    s->cluster->cb.max_requests) {
		atomic_fetch_add_explicit(&s->cluster->cb.rq_overflow, 1, memory_order_relaxed);
		rw__http_stream_overflow(s);
		return;
	}
	atomic_fetch_add_explicit(&s->cluster->cb.rq_active, 1, memory_order_relaxed);
	s->flags |= S_CB_RQ;
	if (!rw__http_stream_pick_host(s, NULL)) {
		rw__http_local_reply_full(s, 503, RW_HTTP_LIT("no healthy upstream"), NULL, false,
		                          RW_RF_UH, "no_healthy_upstream");
		return;
	}
	s->route_timeout_ms = a->timeout_ms;
	rw__http_retry_setup(s, &a->retry);
	/* A retriable request is kept up to the listener's buffer limit (Envoy buffers up to
	 * the connection's limit for retries); otherwise only for the idle-close re-send. */
	s->replay_limit = REPLAY_MAX;
	if (s->retries_left && s->c->l->cfg->down_buffer_limit > REPLAY_MAX)
		s->replay_limit = s->c->l->cfg->down_buffer_limit;
	if (a->idle_timeout_set)
		s->idle_timeout_ms = a->idle_timeout_ms;
	if (rewrite_request(s, view) || rw__http_mutate_levels(s, false)) {
		rw__http_stream_abort(s, RW_RF_LR, "out of memory");
		return;
	}
	if (s->route_timeout_ms && !cfg->suppress_envoy_headers &&
	    rw_http_headers_set(h, RW_HTTP_LIT("x-envoy-expected-rq-timeout-ms"), tbuf,
	                        (size_t)snprintf(tbuf, sizeof(tbuf), "%llu",
	                                         (unsigned long long)s->route_timeout_ms))) {
		rw__http_stream_abort(s, RW_RF_LR, "out of memory");
		return;
	}
	r = rw__http_stream_try(s, false, SEND_FIRST);
	if (r == -EUSERS) {
		rw__http_stream_overflow(s);
		return;
	}
	if (r) {
		rw_log_warn("http", "[C%llu] cannot open a socket to %s: %s",
		            (unsigned long long)s->id, s->host->name, strerror(-r));
		rw__http_stream_upstream_failed(s, r, UPF_CONNECT, false);
	}
}

/* The first try has its connection (s->up): the head, then what was received so far. */
static void send_first(struct http_stream *s)
{
	if (send_request_head(s)) {
		rw__http_stream_abort(s, RW_RF_LR, "cannot encode the request");
		return;
	}
	if (s->head.expect_continue && !hcm_of(s)->proxy_100_continue)
		rw_chain_append_copy(down_out(s), rw_engine_pool(eng(s)),
		                     RW_HTTP_LIT("HTTP/1.1 100 Continue\r\n\r\n"));
	if (!rw_chain_empty(&s->held)) {
		/* Body that arrived while a filter held the request, or while it waited for a
		 * connection. */
		struct rw_chain held = {0};

		s->req_bytes -= s->held.bytes; /* counted when it arrived */
		rw_chain_move(&held, &s->held);
		rw__http_stream_request_body(s, &held);
		rw_chain_reset(&held);
		if (!s->up)
			return;
	}
	if ((s->flags & S_REQ_DONE) && (s->flags & S_UP_CHUNKED) && finish_upstream_body(s))
		return;
	if (s->flags & S_REQ_DONE)
		s->t.us_tx_end = rw_engine_now_us(eng(s)); /* the whole request is queued */
	rw__http_upstream_flush(s->up);
	rw_sock_flush(s->c->sock);
	rw__http_conn_arm_timer(s->c);
}

/* One path from "s->up is attached" to the bytes going out, whether acquire gave the
 * connection at once or the pending queue did later. */
static void send_attached(struct http_stream *s, enum http_send_kind kind)
{
	switch (kind) {
	case SEND_FIRST:
		send_first(s);
		break;
	case SEND_RETRY:
		rw__http_retry_send(s);
		break;
	case SEND_REPLAY:
		rw__http_stream_resend(s);
		break;
	}
}

int rw__http_stream_try(struct http_stream *s, bool fresh, enum http_send_kind kind)
{
	int r =
	    rw__http_upstream_acquire(s->c->l->worker->http, s->host, s->cluster, s, fresh, &s->up);

	if (r < 0)
		return r;
	if (r == HTTP_UP_QUEUED) {
		/* Waits for a connection: the route timeout, the stream idle timeout and the
		 * client still apply (rw__http_upstream_cancel_wait when the stream ends). */
		s->send_kind = kind;
		rw__http_conn_arm_timer(s->c);
		return 0;
	}
	send_attached(s, kind);
	return 0;
}

void rw__http_stream_upstream_attached(struct http_stream *s)
{
	struct http_conn *c = s->c;

	rw__http_conn_hold(c);
	send_attached(s, s->send_kind);
	rw__http_conn_release(c);
}

/* The route's action, once the filters let the request through. */
static void dispatch(struct http_stream *s)
{
	const struct rw_http_config *cfg = s->c->l->cfg;
	const struct rw_config_route *route = s->route.route;
	struct rw_http_request_view view;
	struct rw_http_header hdrs[MAX_FIELDS];

	if (!route) {
		rw__http_stream_local_reply(s, 404, NULL, RW_RF_NR, "route_not_found");
		return;
	}
	build_view(s, &view, hdrs, MAX_FIELDS);
	switch (route->action) {
	case RW_CONFIG_ACTION_DIRECT_RESPONSE:
		rw__http_local_reply_full(
		    s, route->u.direct_response.status, route->u.direct_response.body,
		    route->u.direct_response.body_len, NULL, true, 0, "direct_response");
		return;
	case RW_CONFIG_ACTION_REDIRECT: {
		char loc[4096];
		size_t ll = 0;

		if (rw_router_redirect_location(cfg->router, &s->route, &view, s->c->l->scratch,
		                                loc, sizeof(loc) - 1, &ll)) {
			rw__http_stream_local_reply(s, 500, NULL, 0, "redirect_too_long");
			return;
		}
		loc[ll] = '\0';
		rw__http_local_reply_full(s, route->u.redirect.response_code, NULL, 0, loc, true, 0,
		                          "redirect");
		return;
	}
	case RW_CONFIG_ACTION_ROUTE:
		forward(s, &view);
		return;
	}
}

/* Run (or resume) the HTTP filters, then the action. */
static void continue_request(struct http_stream *s)
{
	if (rw__http_filters_run(s))
		return; /* answered, or waiting on a fault delay */
	dispatch(s);
}

void rw__http_stream_request_head(struct http_stream *s)
{
	const struct rw_http_config *cfg = s->c->l->cfg;
	const struct rw_config_hcm *hcm = cfg->hcm;
	struct rw_http_headers *h = &s->req;
	struct rw_http_request_view view;
	struct rw_http_header hdrs[MAX_FIELDS];
	size_t len = 0;
	const char *up;
	char up_type[64];

	s->flags |= S_HEAD_DONE;
	s->t.rx_head = rw_engine_now_us(eng(s));
	/* The listener's debug_request_header asks for x-ringway-debug (any value). */
	if (hcm->debug_request_header &&
	    rw_http_headers_find(h, hcm->debug_request_header, strlen(hcm->debug_request_header),
	                         0) >= 0)
		s->debug_header = true;
	/* The last request max_requests_per_connection allows: its response says close. */
	if (hcm->common.max_requests_per_connection &&
	    s->c->requests + 1 >= hcm->common.max_requests_per_connection)
		s->flags |= S_CLOSE_AFTER;
	if (s->head.method == RW_H1_METHOD_HEAD)
		s->flags |= S_HEAD_REQUEST;
	if (s->head.method == RW_H1_METHOD_CONNECT)
		s->flags |= S_CONNECT;
	rw__http_conn_arm_timer(s->c);
	if (s->head.version_minor == 0) {
		if (!hcm->http1.accept_http_10) {
			rw__http_stream_local_reply(s, 426, NULL, 0, "low_version");
			return;
		}
		if (rw_http_headers_find(h, RW_HTTP_LIT(":authority"), 0) < 0 &&
		    hcm->http1.default_host_for_http_10 &&
		    rw_http_headers_add(h, RW_HTTP_LIT(":authority"),
		                        hcm->http1.default_host_for_http_10,
		                        strlen(hcm->http1.default_host_for_http_10))) {
			rw__http_stream_abort(s, RW_RF_LR, "out of memory");
			return;
		}
	}
	if (!rw__http_sanitize_request(s))
		return;
	/* Copied: the header arena may move while headers are added below. */
	up = rw_http_headers_get(h, "upgrade", &len);
	if (s->head.upgrade && up && len < sizeof(up_type)) {
		s->flags |= S_UPGRADE;
		memcpy(up_type, up, len);
	}
	up = up_type;
	if (s->flags & S_CONNECT) {
		s->flags |= S_UPGRADE;
		memcpy(up_type, "CONNECT", 7);
		len = 7;
	}
	if (s->head.expect_continue && !hcm->proxy_100_continue)
		rw_http_headers_remove(h, RW_HTTP_LIT("expect"));
	rw__http_strip_hop_by_hop(h, (s->flags & S_UPGRADE) != 0);
	if (rw__http_edge_headers(s)) {
		rw__http_stream_abort(s, RW_RF_LR, "out of memory");
		return;
	}
	/* Trace context after x-request-id (the sampling draw reads it) and before routing and
	 * the filters, so local replies log a trace id too. */
	if (hcm->tracing.present && rw__http_trace_request(s)) {
		rw__http_stream_abort(s, RW_RF_LR, "out of memory");
		return;
	}
	build_view(s, &view, hdrs, MAX_FIELDS);
	if (rw_router_match(cfg->router, &view, s->c->l->scratch, &s->route)) {
		/* No route: the filters still run (a health check, a rate limit), and the router
		 * answers 404 after them, as Envoy's router filter does, last in the chain. */
		s->route.route = NULL;
	} else {
		s->t.route = rw_engine_now_us(eng(s));
		if (s->route.route->debug_header)
			s->debug_header = true;
		if ((s->flags & S_UPGRADE) && !upgrade_allowed(s, up, len)) {
			rw__http_stream_local_reply(s, 403, NULL, 0, "upgrade_failed");
			return;
		}
	}
	s->filter_index = 0;
	continue_request(s);
}

/* ---- request body ---- */

void rw__http_stream_request_body(struct http_stream *s, struct rw_chain *data)
{
	struct rw_chain *out;
	size_t n = data->bytes;
	int r;

	s->req_bytes += n;
	if (s->fault_until || ((s->flags & S_UP_WAIT) && s->send_kind == SEND_FIRST)) {
		/* A filter holds the request (fault delay), or it waits for its first connection:
		 * keep the body for when it goes on. */
		if (rw_chain_move(&s->held, data))
			rw__http_stream_abort(s, RW_RF_LR, "out of memory");
		else
			rw__http_conn_update_read(s->c);
		return;
	}
	if (s->flags & (S_RETRY_PENDING | S_UP_WAIT)) {
		/* Between tries (or a later try waiting for its connection): the body goes only to
		 * the replay copy, framed as it will be sent. */
		if ((s->flags & S_REPLAYABLE) && s->replay.bytes + n <= s->replay_limit) {
			r = (s->flags & S_UP_CHUNKED)
			        ? rw_h1_encode_chunk(&s->replay, rw_engine_pool(eng(s)), data)
			        : rw_chain_move(&s->replay, data);
			if (r == 0)
				return;
		}
		s->flags &= ~S_REPLAYABLE;
		rw_chain_reset(&s->replay);
		rw_chain_reset(data);
		return;
	}
	if (!s->up || (s->flags & S_DISCARD_BODY)) {
		rw_chain_reset(data);
		return;
	}
	out = rw__http_upstream_out(s->up);
	if (s->flags & S_REPLAYABLE) {
		if (s->replay.bytes + n > s->replay_limit ||
		    rw__http_chain_clone(&s->replay, data)) {
			s->flags &= ~S_REPLAYABLE;
			rw_chain_reset(&s->replay);
		}
	}
	if ((s->flags & S_UP_CHUNKED) && !(s->flags & S_TUNNEL))
		r = rw_h1_encode_chunk(out, rw_engine_pool(eng(s)), data);
	else
		r = rw_chain_move(out, data);
	if (r) {
		rw__http_stream_abort(s, RW_RF_LR, "out of memory");
		return;
	}
	rw__http_upstream_flush(s->up);
	rw__http_conn_update_read(s->c);
}

/* The last chunk (and trailers): to the replay copy, then to the upstream if any.  0, or -1
   after the stream was aborted. */
static int finish_upstream_body(struct http_stream *s)
{
	struct rw_chain last = {0};
	int r = rw__http_encode_last_chunk(s, &last);

	rw_http_headers_clear(&s->trailers); /* the request's: sent */
	if (r == 0 && (s->flags & S_REPLAYABLE))
		r = rw__http_chain_clone(&s->replay, &last);
	if (r == 0 && s->up)
		r = rw_chain_move(rw__http_upstream_out(s->up), &last);
	rw_chain_reset(&last);
	if (r) {
		rw__http_stream_abort(s, RW_RF_LR, "out of memory");
		return -1;
	}
	return 0;
}

void rw__http_stream_request_end(struct http_stream *s)
{
	s->flags |= S_REQ_DONE;
	s->req_end_ms = rw_engine_now_ms(eng(s));
	s->t.ds_rx_end = rw_engine_now_us(eng(s));
	if ((s->up || (s->flags & (S_RETRY_PENDING | S_UP_WAIT))) && (s->flags & S_UP_CHUNKED) &&
	    finish_upstream_body(s))
		return;
	if (s->up) {
		s->t.us_tx_end = rw_engine_now_us(eng(s));
		rw__http_upstream_flush(s->up);
	}
	if (s->flags & S_RSP_DONE) {
		rw__http_conn_stream_done(s->c);
		return;
	}
	rw__http_conn_arm_timer(s->c);
}

void rw__http_stream_upstream_sent(struct http_stream *s)
{
	rw__http_conn_update_read(s->c);
}

void rw__http_stream_upstream_ready(struct http_stream *s)
{
	s->c->last_activity = rw_engine_now_ms(eng(s));
	s->t.us_cx_end = rw_engine_now_us(eng(s));
	/* Bytes queued while connecting leave now (Envoy encodes only onto a connection). */
	if (s->t.us_tx_beg)
		s->t.us_tx_beg = s->t.us_cx_end;
	if (s->t.us_tx_end)
		s->t.us_tx_end = s->t.us_cx_end;
}

/* ---- timeouts ---- */

static void fault_resume(struct http_stream *s)
{
	rw__http_filters_delay_done(s);
	continue_request(s);
}

static void per_try_expired(struct http_stream *s)
{
	rw__http_upstream_release(s->up, false);
	s->up = NULL;
	rw__http_stream_upstream_failed(s, -ETIMEDOUT, UPF_PER_TRY_TIMEOUT, false);
}

uint64_t rw__http_stream_deadline(struct http_stream *s, uint64_t now, bool act)
{
	const struct rw_config_hcm *hcm = hcm_of(s);
	uint64_t next = UINT64_MAX, d;

#define CHECK(cond, when, action)                                                                  \
	do {                                                                                       \
		if (cond) {                                                                        \
			d = (when);                                                                \
			if (d <= now && act) {                                                     \
				action;                                                            \
				return UINT64_MAX;                                                 \
			}                                                                          \
			if (d < next)                                                              \
				next = d;                                                          \
		}                                                                                  \
	} while (0)

	if (s->flags & S_RSP_DONE)
		return UINT64_MAX;
	CHECK(!(s->flags & S_HEAD_DONE) && hcm->request_headers_timeout_ms,
	      s->start_ms + hcm->request_headers_timeout_ms,
	      rw__http_stream_local_reply(s, 408, "request header timeout", 0,
	                                  "request_header_timeout"));
	CHECK(!(s->flags & S_REQ_DONE) && hcm->request_timeout_ms,
	      s->start_ms + hcm->request_timeout_ms,
	      rw__http_stream_local_reply(s, 408, "request timeout", 0, "request_overall_timeout"));
	CHECK(hcm->common.max_stream_duration_ms, s->start_ms + hcm->common.max_stream_duration_ms,
	      rw__http_stream_local_reply(s, 408, "downstream duration timeout", RW_RF_DT,
	                                  "max_duration_timeout"));
	CHECK(s->fault_until, s->fault_until, fault_resume(s));
	CHECK(s->flags & S_RETRY_PENDING, s->retry_at, rw__http_retry_now(s));
	CHECK(s->per_try_timeout_ms && s->up && !(s->flags & (S_RSP_STARTED | S_TUNNEL)),
	      s->up_start_ms + s->per_try_timeout_ms, per_try_expired(s));
	/* per_try_idle_timeout: the try's upstream went quiet (also mid-response, as in Envoy;
	 * then the stream can only be reset). */
	CHECK(s->per_try_idle_ms && s->up && !(s->flags & S_TUNNEL),
	      s->up_activity_ms + s->per_try_idle_ms, per_try_expired(s));
	CHECK((s->flags & S_REQ_DONE) && s->route_timeout_ms && !(s->flags & S_TUNNEL),
	      s->req_end_ms + s->route_timeout_ms,
	      rw__http_stream_local_reply(s, 504, "upstream request timeout", RW_RF_UT,
	                                  "upstream_response_timeout"));
	CHECK(
	    s->idle_timeout_ms, s->c->last_activity + s->idle_timeout_ms,
	    rw__http_stream_local_reply(s, 408, "stream timeout", RW_RF_SI, "stream_idle_timeout"));
#undef CHECK
	return next;
}
