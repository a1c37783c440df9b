/*
 * One request/response exchange, response side: the upstream's response head (hop-by-hop
 * removal, Envoy's added headers, framing for the client), its body and end, upstream
 * failures with Envoy's texts, tunnels after an upgrade, and local replies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/server_state.h"
#include "lb/cluster.h"
#include "lb/outlier.h"
#include "proxy/http_internal.h"
#include "ring/engine.h"

#define MAX_FIELDS 512

static const char UPSTREAM_RESET[] =
    "upstream connect error or disconnect/reset before headers. reset reason: ";

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

/* ---- header mutation levels (Envoy: most specific first, so the route config wins) ---- */

int rw__http_mutate_levels(struct http_stream *s, bool response)
{
	const struct rw_config_route_config *rc = &hcm_of(s)->route_config;
	const struct rw_config_header_mutations *lv[4];
	struct http_vars_ctx v = {.s = s, .response = response};
	struct rw_http_headers *h = response ? &s->rsp : &s->req;
	int n = 0;

	if (s->wc)
		lv[n++] = &s->wc->headers;
	if (s->route.route)
		lv[n++] = &s->route.route->headers;
	if (s->route.vhost)
		lv[n++] = &s->route.vhost->headers;
	lv[n++] = &rc->headers;
	for (int i = 0; i < n; i++) {
		const struct rw_config_header_mutations *m =
		    rc->most_specific_header_mutations_wins ? lv[n - 1 - i] : lv[i];
		int r = response ? rw__http_mutate(&v, h, m->response_add, m->n_response_add,
		                                   m->response_remove, m->n_response_remove)
		                 : rw__http_mutate(&v, h, m->request_add, m->n_request_add,
		                                   m->request_remove, m->n_request_remove);
		if (r)
			return r;
	}
	return 0;
}

/* ---- encoding a head for the HTTP/1.1 wire ---- */

struct rw_h1_field *rw__http_h1_fields(const struct rw_http_headers *h, struct rw_h1_field *f,
                                       size_t cap, size_t *n_out)
{
	size_t n = 0;

	for (uint32_t i = 0; i < h->n && n < cap; i++) {
		const char *name = rw_http_field_name(h, i);

		if (name[0] == ':')
			continue;
		f[n].name = name;
		f[n].name_len = h->f[i].name_len;
		f[n].value = rw_http_field_value(h, i);
		f[n].value_len = h->f[i].value_len;
		n++;
	}
	*n_out = n;
	return f;
}

static int encode_response(struct http_stream *s, uint16_t status)
{
	struct rw_h1_field f[MAX_FIELDS];
	size_t n;

	rw__http_h1_fields(&s->rsp, f, MAX_FIELDS, &n);
	return rw_h1_encode_response_head(down_out(s), rw_engine_pool(eng(s)), 1, status,
	                                  rw__http_reason(status), f, n);
}

/* Remove hop-by-hop fields, including those the message's Connection header names. */
void rw__http_strip_hop_by_hop(struct rw_http_headers *h, bool keep_upgrade)
{
	size_t clen = 0;
	const char *conn = rw_http_headers_get(h, "connection", &clen);
	char cbuf[256];

	if (conn && clen < sizeof(cbuf)) {
		memcpy(cbuf, conn, clen);
		cbuf[clen] = '\0';
		conn = cbuf;
	} else {
		conn = NULL;
		clen = 0;
	}
	for (uint32_t i = 0; i < h->n;) {
		const char *name = rw_http_field_name(h, i);
		size_t len = h->f[i].name_len;

		if (name[0] != ':' &&
		    !(keep_upgrade && (rw_http_field_is(h, i, RW_HTTP_LIT("upgrade")))) &&
		    rw_h1_is_hop_by_hop(name, len, conn, clen)) {
			/* TE: trailers is the one TE value Envoy forwards. */
			if (rw_http_field_is(h, i, RW_HTTP_LIT("te")) &&
			    strcasecmp(rw_http_field_value(h, i), "trailers") == 0) {
				i++;
				continue;
			}
			rw_http_headers_remove_at(h, i);
			continue;
		}
		i++;
	}
}

/* Envoy's drain close also holds while the server is health-check failed (drain_type
   DEFAULT, the only one ringway has): keep-alive connections close after each answer. */
static bool closing(const struct http_stream *s)
{
	return (s->flags & S_CLOSE_AFTER) || !s->head.keep_alive ||
	       (s->c->flags & (CONN_EOF | CONN_DRAINING)) || !(s->flags & S_REQ_DONE) ||
	       rw_server_health_check_failed();
}

/* Connection / server / date: what every response to the client carries. */
static int finish_response_head(struct http_stream *s)
{
	const struct rw_config_hcm *hcm = hcm_of(s);
	struct rw_http_headers *h = &s->rsp;
	int r = 0;

	switch (hcm->server_header_transformation) {
	case RW_CONFIG_SERVER_HEADER_OVERWRITE:
		r = rw_http_headers_set(h, RW_HTTP_LIT("server"), hcm->server_name,
		                        strlen(hcm->server_name));
		break;
	case RW_CONFIG_SERVER_HEADER_APPEND_IF_ABSENT:
		if (rw_http_headers_find(h, RW_HTTP_LIT("server"), 0) < 0)
			r = rw_http_headers_add(h, RW_HTTP_LIT("server"), hcm->server_name,
			                        strlen(hcm->server_name));
		break;
	default:
		break;
	}
	if (!r && rw_http_headers_find(h, RW_HTTP_LIT("date"), 0) < 0)
		r = rw_http_headers_add(h, RW_HTTP_LIT("date"),
		                        rw__http_date(s->c->l->worker->http), 29);
	if (!r && hcm->always_set_request_id_in_response) {
		size_t len;
		const char *id = rw_http_headers_get(&s->req, "x-request-id", &len);

		if (id && rw_http_headers_find(h, RW_HTTP_LIT("x-request-id"), 0) < 0) {
			char copy[128];

			if (len < sizeof(copy)) {
				memcpy(copy, id, len);
				r = rw_http_headers_add(h, RW_HTTP_LIT("x-request-id"), copy, len);
			}
		}
	}
	if (!r && closing(s)) {
		s->flags |= S_CLOSE_AFTER;
		r = rw_http_headers_set(h, RW_HTTP_LIT("connection"), RW_HTTP_LIT("close"));
	} else if (!r && s->head.version_minor == 0) {
		r = rw_http_headers_set(h, RW_HTTP_LIT("connection"), RW_HTTP_LIT("keep-alive"));
	}
	return r;
}

int rw__http_on_trailer(void *stream, const struct rw_span *name, const struct rw_span *value)
{
	struct http_stream *s = stream;

	if (!hcm_of(s)->http1.enable_trailers)
		return 0;
	return rw__http_add_span_field(&s->trailers, name, value);
}

int rw__http_encode_last_chunk(struct http_stream *s, struct rw_chain *out)
{
	struct rw_h1_field f[MAX_FIELDS];
	size_t n;

	rw__http_strip_hop_by_hop(&s->trailers, false);
	rw__http_h1_fields(&s->trailers, f, MAX_FIELDS, &n);
	return rw_h1_encode_last_chunk(out, rw_engine_pool(eng(s)), f, n);
}

/* ---- local replies ---- */

static void response_done(struct http_stream *s)
{
	struct http_conn *c = s->c;

	s->flags |= S_RSP_DONE;
	s->t.ds_tx_end = rw_engine_now_us(eng(s));
	rw_sock_flush(c->sock);
	if (s->flags & S_REQ_DONE) {
		rw__http_conn_stream_done(c);
	} else {
		/* Answered before the request ended: the rest of it is not read (Envoy closes). */
		s->flags |= S_CLOSE_AFTER | S_DISCARD_BODY;
		rw__http_conn_stream_done(c);
	}
}

void rw__http_local_reply_full(struct http_stream *s, uint16_t status, const char *body,
                               size_t body_len, const char *location, bool route_headers,
                               uint32_t rflag, const char *details)
{
	struct rw_http_headers *h = &s->rsp;
	char len[24];
	int r;

	if (s->flags & S_RSP_STARTED) {
		rw__http_stream_abort(s, rflag, details);
		return;
	}
	if (s->up) {
		rw__http_upstream_release(s->up, false);
		s->up = NULL;
	}
	rw__http_upstream_cancel_wait(s);
	s->status = status;
	s->rflags |= rflag;
	s->details = details;
	s->flags |= S_RSP_STARTED;
	if (!(s->flags & S_REQ_DONE))
		s->flags |= S_CLOSE_AFTER | S_DISCARD_BODY;
	rw_http_headers_clear(h);
	r = rw_http_headers_add(h, RW_HTTP_LIT(":status"), len,
	                        (size_t)snprintf(len, sizeof(len), "%u", status));
	if (!r && location)
		r = rw_http_headers_add(h, RW_HTTP_LIT("location"), location, strlen(location));
	if (!r && (body_len || status >= 200))
		r = rw_http_headers_add(h, RW_HTTP_LIT("content-length"), len,
		                        (size_t)snprintf(len, sizeof(len), "%zu", body_len));
	if (!r && body_len)
		r = rw_http_headers_add(h, RW_HTTP_LIT("content-type"), RW_HTTP_LIT("text/plain"));
	/* Once a route is chosen, the router's own replies (503, 504, ...) carry its response
	 * headers too (Envoy's finalizeResponseHeaders in the router's local replies). */
	if (!r && (route_headers || s->route.route))
		r = rw__http_mutate_levels(s, true);
	if (!r)
		r = rw__http_filters_response_headers(s);
	if (!r)
		r = rw__http_debug_header(s);
	if (!r)
		r = finish_response_head(s);
	if (!r)
		r = encode_response(s, status);
	if (!r && body_len && !(s->flags & S_HEAD_REQUEST))
		r = rw_chain_append_copy(down_out(s), rw_engine_pool(eng(s)), body, body_len);
	if (r) {
		rw__http_stream_abort(s, RW_RF_LR, "cannot encode the local reply");
		return;
	}
	s->rsp_bytes = body_len;
	s->t.ds_tx_beg = rw_engine_now_us(eng(s));
	response_done(s);
}

void rw__http_stream_local_reply(struct http_stream *s, uint16_t status, const char *body,
                                 uint32_t rflag, const char *details)
{
	rw__http_local_reply_full(s, status, body, body ? strlen(body) : 0, NULL, false, rflag,
	                          details);
}

/* ---- response ---- */

int rw__http_stream_response_head(struct http_stream *s, const struct rw_h1_head *head,
                                  const struct rw_span *reason)
{
	const struct rw_http_config *cfg = s->c->l->cfg;
	struct rw_http_headers *h = &s->rsp;
	char num[24];
	bool tunnel = false;
	int r;

	(void)reason;
	s->c->last_activity = rw_engine_now_ms(eng(s));
	if (head->interim) {
		/* 1xx: Envoy answered 100 itself; only proxy_100_continue relays the upstream's. */
		if (head->status == 100 && hcm_of(s)->proxy_100_continue && s->head.expect_continue)
			rw_chain_append_copy(down_out(s), rw_engine_pool(eng(s)),
			                     RW_HTTP_LIT("HTTP/1.1 100 Continue\r\n\r\n"));
		rw_http_headers_clear(h);
		return 0;
	}
	rw__http_cb_retry_end(s); /* this try got its answer */
	/* Outlier detection sees every final answer, retried or not (Envoy's router). */
	if (s->host) {
		rw_outlier_report(s->host, RW_OUTLIER_CONNECT_SUCCESS);
		rw_outlier_report(s->host, rw_outlier_result_of_status(head->status));
	}
	/* A retriable answer (retry_on) never reaches the client while tries remain. */
	if (s->retry_on && rw__http_retry_response_retriable(s, head->status) &&
	    rw__http_retry_schedule(s))
		return -1;
	if (head->status == 101 || ((s->flags & S_CONNECT) && head->status / 100 == 2)) {
		if (!(s->flags & S_UPGRADE)) {
			rw__http_stream_upstream_failed(s, -EPROTO, UPF_PROTOCOL, false);
			return -1;
		}
		tunnel = true;
	} else if (s->flags & S_UPGRADE) {
		/* Upgrade refused: an ordinary response; the request was complete. */
		s->flags &= ~S_UPGRADE;
	}
	s->status = head->status;
	rw_http_headers_clear(&s->trailers);
	rw__http_strip_hop_by_hop(h, tunnel);
	if (!cfg->suppress_envoy_headers &&
	    rw_http_headers_set(
		h, RW_HTTP_LIT("x-envoy-upstream-service-time"), num,
		(size_t)snprintf(num, sizeof(num), "%llu",
	                         (unsigned long long)(rw_engine_now_ms(eng(s)) - s->up_start_ms))))
		goto oom;
	if (rw__http_mutate_levels(s, true) || rw__http_filters_response_headers(s) ||
	    rw__http_hash_response_headers(s) || rw__http_debug_header(s))
		goto oom;
	if (s->route.vhost && s->route.vhost->include_attempt_count_in_response &&
	    rw_http_headers_set(h, RW_HTTP_LIT("x-envoy-attempt-count"), num,
	                        (size_t)snprintf(num, sizeof(num), "%u", s->retries_done + 1)))
		goto oom;
	if (tunnel) {
		s->flags |= S_TUNNEL;
		if (head->status == 101 &&
		    rw_http_headers_set(h, RW_HTTP_LIT("connection"), RW_HTTP_LIT("upgrade")))
			goto oom;
	} else if (head->has_content_length || (s->flags & S_HEAD_REQUEST) || head->status == 204 ||
	           head->status == 304 || head->body == RW_H1_BODY_NONE) {
		/* Length known (or no body): framing passes through. */
	} else if (s->head.version_minor >= 1) {
		s->flags |= S_DOWN_CHUNKED;
		if (rw_http_headers_add(h, RW_HTTP_LIT("transfer-encoding"),
		                        RW_HTTP_LIT("chunked")))
			goto oom;
	} else {
		s->flags |= S_CLOSE_AFTER; /* HTTP/1.0 client: the body ends at close */
	}
	r = tunnel ? rw_http_headers_add(h, RW_HTTP_LIT("date"),
	                                 rw__http_date(s->c->l->worker->http), 29)
	           : finish_response_head(s);
	if (r || encode_response(s, s->status))
		goto oom;
	s->flags |= S_RSP_STARTED;
	s->t.ds_tx_beg = rw_engine_now_us(eng(s));
	rw_sock_flush(s->c->sock);
	if (tunnel) {
		s->route_timeout_ms = 0; /* a tunnel lives as long as it is used */
		rw__http_upstream_tunnel(s->up);
		rw__http_conn_start_tunnel(s->c);
		rw__http_conn_arm_timer(s->c);
	}
	return 0;
oom:
	rw__http_stream_abort(s, RW_RF_LR, "out of memory");
	return -1;
}

void rw__http_stream_response_body(struct http_stream *s, struct rw_chain *data)
{
	struct rw_chain *out = down_out(s);
	int r;

	s->rsp_bytes += data->bytes;
	s->c->last_activity = rw_engine_now_ms(eng(s));
	if (s->flags & S_HEAD_REQUEST) {
		rw_chain_reset(data);
		return;
	}
	r = (s->flags & S_DOWN_CHUNKED) ? rw_h1_encode_chunk(out, rw_engine_pool(eng(s)), data)
	                                : rw_chain_move(out, data);
	if (r) {
		rw__http_stream_abort(s, RW_RF_LR, "out of memory");
		return;
	}
	rw_sock_flush(s->c->sock);
	if (s->up && rw_sock_out_bytes(s->c->sock) > s->c->l->cfg->down_buffer_limit) {
		s->flags |= S_UP_PAUSED;
		rw__http_upstream_read_pause(s->up, true);
	}
}

void rw__http_stream_tunnel_data(struct http_stream *s, struct rw_chain *data)
{
	rw__http_stream_response_body(s, data);
}

void rw__http_stream_tunnel_eof(struct http_stream *s)
{
	struct http_conn *c = s->c;

	s->flags |= S_UP_EOF;
	rw_sock_shutdown_write(c->sock);
	rw__http_conn_tunnel_check(c);
}

void rw__http_stream_response_end(struct http_stream *s, bool reusable)
{
	s->t.us_rx_end = rw_engine_now_us(eng(s));
	if ((s->flags & S_DOWN_CHUNKED) && rw__http_encode_last_chunk(s, down_out(s))) {
		rw__http_stream_abort(s, RW_RF_LR, "out of memory");
		return;
	}
	if (s->up) {
		rw__http_upstream_release(s->up, reusable && (s->flags & S_REQ_DONE));
		s->up = NULL;
	}
	response_done(s);
}

/* %UPSTREAM_TRANSPORT_FAILURE_REASON%: why a try got no response. */
static const char *failure_reason(int err, enum http_up_failure kind)
{
	switch (kind) {
	case UPF_CONNECT_TIMEOUT:
		return "connect timeout";
	case UPF_PER_TRY_TIMEOUT:
		return "per try timeout";
	case UPF_PROTOCOL:
		return "protocol error";
	case UPF_RESET:
		if (err == -ECONNRESET)
			return "connection termination";
		break;
	case UPF_CONNECT:
		break;
	}
	return rw_access_log_failure_reason(err);
}

void rw__http_stream_resend(struct http_stream *s)
{
	if (rw__http_chain_clone(rw__http_upstream_out(s->up), &s->replay)) {
		rw__http_stream_abort(s, RW_RF_LR, "out of memory");
		return;
	}
	s->t.us_tx_beg = rw_engine_now_us(eng(s));
	if (s->flags & S_REQ_DONE)
		s->t.us_tx_end = s->t.us_tx_beg;
	rw__http_upstream_expect(s->up, s->head.method);
	rw__http_upstream_flush(s->up);
}

void rw__http_stream_upstream_failed(struct http_stream *s, int err, enum http_up_failure kind,
                                     bool idle_race)
{
	char body[160];
	const char *reason;

	if (!(s->flags & S_RSP_STARTED))
		s->up_failure = failure_reason(err, kind);

	/* Local-origin failure for outlier detection -- unless the host is not to blame: a
	 * pooled connection it closed while idle, or a local resource shortage. */
	if (s->host && !idle_race && err != -ENOMEM && err != -EUSERS && err != -EMFILE &&
	    err != -ENFILE)
		rw_outlier_report(s->host,
		                  kind == UPF_CONNECT_TIMEOUT || kind == UPF_PER_TRY_TIMEOUT
		                      ? RW_OUTLIER_TIMEOUT
		                      : RW_OUTLIER_CONNECT_FAILED);
	if (s->up) {
		rw__http_upstream_release(s->up, false);
		s->up = NULL;
	}
	if (s->flags & S_RSP_STARTED) {
		rw__http_stream_abort(s, kind == UPF_PROTOCOL ? RW_RF_UPE : RW_RF_UC,
		                      "upstream reset after response started");
		return;
	}
	/* A pooled connection the upstream closed while it sat idle: once, on a new one. */
	if (idle_race && (s->flags & S_REPLAYABLE) && !(s->flags & S_IDLE_RETRIED)) {
		s->flags |= S_IDLE_RETRIED;
		rw_log_debug("http",
		             "[C%llu] reused upstream connection failed (%s): sending again on a "
		             "new one",
		             (unsigned long long)s->id, strerror(-err));
		if (rw__http_stream_try(s, true, SEND_REPLAY) == 0)
			return;
	}
	if (rw__http_retry_failure_retriable(s, kind) && rw__http_retry_schedule(s))
		return;
	switch (kind) {
	case UPF_PER_TRY_TIMEOUT:
		rw__http_local_reply_full(s, 504, RW_HTTP_LIT("upstream request timeout"), NULL,
		                          false, RW_RF_UT, "upstream_per_try_timeout");
		return;
	case UPF_PROTOCOL:
		reason = "protocol error";
		break;
	case UPF_RESET:
		reason = "connection termination";
		break;
	default:
		reason = "connection failure";
		break;
	}
	snprintf(body, sizeof(body), "%s%s", UPSTREAM_RESET, reason);
	if (kind == UPF_PROTOCOL) {
		rw__http_local_reply_full(s, 502, body, strlen(body), NULL, false, RW_RF_UPE,
		                          "upstream_protocol_error");
		return;
	}
	rw__http_local_reply_full(
	    s, 503, body, strlen(body), NULL, false, kind == UPF_RESET ? RW_RF_UC : RW_RF_UF,
	    kind == UPF_RESET ? "upstream_reset_before_headers" : "upstream_connect_failure");
}
