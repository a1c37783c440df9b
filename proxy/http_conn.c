/*
 * HTTP/1.1 downstream connections: the socket, the input chain, the request parser, and
 * the connection's life between requests (keep-alive, pipelining, idle timeout, closing).
 *
 * Bytes received are appended to c->in by reference.  The parser reads them in place; the
 * head is copied into the stream's header block, body bytes are split out of c->in by
 * reference and handed to the stream.  While a request's response is outstanding nothing
 * further is parsed, so pipelined requests wait in c->in (bounded: reading stops above the
 * listener's buffer limit) and responses leave in request order.
 *
 * Closing follows Envoy's delayed close: once the last response is queued the write side
 * is shut after it is flushed, and input is read and dropped until the client closes or
 * delayed_close_timeout passes, so the client sees the response instead of a reset.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "lb/cluster.h"
#include "proxy/http_internal.h"
#include "ring/engine.h"

static void conn_process(struct http_conn *c);

static struct rw_engine *eng(const struct http_conn *c)
{
	return c->l->worker->eng;
}

static void conn_free(struct http_conn *c)
{
	const struct rw_http_config *cfg = c->l->cfg;
	uint64_t life_us = (rw_engine_now_ms(eng(c)) - c->start_ms) * 1000u;
	bool remote = c->flags & CONN_REMOTE_CLOSE;

	rw_gauge_dec(&cfg->stats, RW_HS_DOWNSTREAM_CX_ACTIVE);
	rw_gauge_dec(&cfg->stats, RW_HS_DOWNSTREAM_CX_HTTP1_ACTIVE);
	rw_stat_inc(&cfg->stats, RW_HS_DOWNSTREAM_CX_DESTROY);
	rw_stat_inc(&cfg->stats, remote ? RW_HS_DOWNSTREAM_CX_DESTROY_REMOTE
	                                : RW_HS_DOWNSTREAM_CX_DESTROY_LOCAL);
	rw_stat_record(&cfg->stats, RW_HH_DOWNSTREAM_CX_LENGTH_MS, life_us);
	rw_gauge_dec(&cfg->lstats, RW_LS_DOWNSTREAM_CX_ACTIVE);
	rw_stat_inc(&cfg->lstats, RW_LS_DOWNSTREAM_CX_DESTROY);
	rw_stat_record(&cfg->lstats, RW_LH_DOWNSTREAM_CX_LENGTH_MS, life_us);
	rw_timer_del(rw_engine_timers(eng(c)), &c->timer);
	rw_chain_reset(&c->in);
	free(c->addrs);
	rw_proxy_worker_untrack(c->l->worker, &c->link);
	free(c);
}

void rw__http_conn_hold(struct http_conn *c)
{
	c->hold++;
}

void rw__http_conn_release(struct http_conn *c)
{
	if (--c->hold == 0 && (c->flags & CONN_HELD_CLOSED))
		conn_free(c);
}

/* noinline: callers hold c across this call; gcc cannot see that and warns otherwise. */
__attribute__((noinline)) void rw__http_conn_close(struct http_conn *c, const char *why)
{
	if (c->flags & CONN_HELD_CLOSED)
		return;
	rw_log_debug("http", "[C%llu] closing: %s", (unsigned long long)c->id, why);
	c->flags |= CONN_HELD_CLOSED;
	if (c->s) {
		struct http_stream *s = c->s;

		/* An unfinished exchange ends here; say why in its log line (Envoy's DC). */
		c->s = NULL;
		if (!(s->flags & S_RSP_DONE)) {
			const struct rw_stats_scope *st = &c->l->cfg->stats;

			rw_stat_inc(st, RW_HS_DOWNSTREAM_CX_DESTROY_ACTIVE_RQ);
			rw_stat_inc(st, (c->flags & CONN_REMOTE_CLOSE)
			                    ? RW_HS_DOWNSTREAM_CX_DESTROY_REMOTE_ACTIVE_RQ
			                    : RW_HS_DOWNSTREAM_CX_DESTROY_LOCAL_ACTIVE_RQ);
			rw_stat_inc(st, (c->flags & CONN_REMOTE_CLOSE)
			                    ? RW_HS_DOWNSTREAM_RQ_RX_RESET
			                    : RW_HS_DOWNSTREAM_RQ_TX_RESET);
		}
		if (!(s->flags & S_RSP_DONE) && !s->rflags)
			s->rflags |= RW_RF_DC;
		if (!s->details)
			s->details = why;
		rw__http_stream_free(s);
	}
	if (c->sock) {
		rw_sock_close(c->sock);
		c->sock = NULL;
	}
	if (c->hold == 0)
		conn_free(c);
}

static void link_close(struct rw_session_link *l)
{
	struct http_conn *c = (struct http_conn *)l;

	/* Called from the engine, never from inside one of this connection's callbacks. */
	rw__http_conn_close(c, "drain timeout");
}

/* Server draining: idle connections close now, busy ones after their response. */
static void link_drain(struct rw_session_link *l)
{
	struct http_conn *c = (struct http_conn *)l;

	c->flags |= CONN_DRAINING;
	if (!c->s && !(c->flags & CONN_CLOSING))
		rw__http_conn_close(c, "draining");
}

static const struct rw_session_ops session_ops = {.close = link_close, .drain = link_drain};

const struct sockaddr_storage *rw__http_conn_addr(struct http_conn *c, int which)
{
	if (!(c->flags & CONN_HAVE_ADDRS)) {
		if (!c->addrs)
			c->addrs = calloc(2, sizeof(*c->addrs));
		if (!c->addrs || !c->sock)
			return NULL;
		if (rw_sock_peer_addr(c->sock, &c->addrs[0]) ||
		    rw_sock_local_addr(c->sock, &c->addrs[1]))
			return NULL;
		c->flags |= CONN_HAVE_ADDRS;
	}
	return &c->addrs[which];
}

/* Pipelined requests waiting behind an unanswered one are read up to this many bytes. */
#define PIPELINE_MAX (64u * 1024u)

void rw__http_conn_update_read(struct http_conn *c)
{
	struct http_stream *s = c->s;
	bool paused = (c->flags & CONN_READ_PAUSED) != 0;
	size_t up = 0, up_limit = 1, in_limit = c->l->cfg->down_buffer_limit;
	bool pause;

	if (!c->sock || (c->flags & CONN_HELD_CLOSED))
		return;
	if (s && s->up && s->cluster) {
		up = rw__http_upstream_out_bytes(s->up);
		up_limit = s->cluster->buffer_limit;
	}
	if (s && (s->flags & S_REQ_DONE) && !(c->flags & CONN_TUNNEL))
		in_limit = PIPELINE_MAX;
	if (s)
		up += s->held.bytes; /* body held by a filter counts like the upstream's backlog */
	if (s && !s->up && s->held.bytes)
		up_limit = c->l->cfg->down_buffer_limit;
	/* Envoy's watermarks: stop above the limit, resume below half of it. */
	if (c->flags & CONN_SHUT)
		pause = false;
	else if (paused)
		pause = up > up_limit / 2 || c->in.bytes > in_limit / 2;
	else
		pause = up > up_limit || c->in.bytes > in_limit;
	if (pause == paused)
		return;
	if (pause) {
		c->flags |= CONN_READ_PAUSED;
		rw_sock_read_stop(c->sock);
	} else {
		c->flags &= ~CONN_READ_PAUSED;
		rw_sock_read_start(c->sock);
	}
}

static void on_timer(struct rw_timer *t, void *arg);

/* The connection's nearest deadline; with act, whatever expired is acted on first. */
static uint64_t conn_deadline(struct http_conn *c, uint64_t now, bool act)
{
	const struct rw_config_hcm *hcm = c->l->cfg->hcm;
	uint64_t next = UINT64_MAX, max_dur = hcm->common.max_connection_duration_ms;

	if (c->flags & CONN_SHUT) {
		next = c->last_activity + hcm->delayed_close_timeout_ms;
		if (act && next <= now) {
			rw__http_conn_close(c, "delayed close timeout");
			return UINT64_MAX;
		}
		return next;
	}
	/* max_connection_duration: like a drain, idle now or after the current response. */
	if (max_dur && !(c->flags & CONN_DRAINING)) {
		if (act && now - c->start_ms >= max_dur) {
			c->flags |= CONN_DRAINING;
			rw_stat_inc(&c->l->cfg->stats, RW_HS_DOWNSTREAM_CX_MAX_DURATION_REACHED);
			if (!c->s && !(c->flags & CONN_CLOSING)) {
				rw__http_conn_close(c, "max connection duration reached");
				return UINT64_MAX;
			}
		} else {
			next = c->start_ms + max_dur;
		}
	}
	if (c->s) {
		uint64_t d = rw__http_stream_deadline(c->s, now, act);

		if (d < next)
			next = d;
	} else if (hcm->common.idle_timeout_ms && !(c->flags & CONN_CLOSING)) {
		uint64_t d = c->last_activity + hcm->common.idle_timeout_ms;

		if (act && d <= now) {
			rw_stat_inc(&c->l->cfg->stats, RW_HS_DOWNSTREAM_CX_IDLE_TIMEOUT);
			rw__http_conn_close(c, "idle timeout");
			return UINT64_MAX;
		}
		if (d < next)
			next = d;
	}
	return next;
}

void rw__http_conn_arm_timer(struct http_conn *c)
{
	uint64_t now = rw_engine_now_ms(eng(c));
	uint64_t next;

	if (c->flags & CONN_HELD_CLOSED)
		return;
	next = conn_deadline(c, now, false);
	if (next == UINT64_MAX) {
		rw_timer_del(rw_engine_timers(eng(c)), &c->timer);
		return;
	}
	rw_timer_add(rw_engine_timers(eng(c)), &c->timer, next > now ? next - now : 0, on_timer, c);
}

static void on_timer(struct rw_timer *t, void *arg)
{
	struct http_conn *c = arg;

	(void)t;
	rw__http_conn_hold(c);
	conn_deadline(c, rw_engine_now_ms(eng(c)), true);
	rw__http_conn_arm_timer(c);
	rw__http_conn_release(c);
}

/* Once the response is flushed: FIN, then drop input until the client closes. */
static void maybe_shut(struct http_conn *c)
{
	if (!(c->flags & CONN_CLOSING) || (c->flags & (CONN_SHUT | CONN_HELD_CLOSED)) ||
	    !rw_sock_flushed(c->sock))
		return;
	if (c->flags & CONN_EOF) {
		rw__http_conn_close(c, "response sent, client closed");
		return;
	}
	c->flags |= CONN_SHUT;
	rw_sock_shutdown_write(c->sock);
	rw_chain_reset(&c->in);
	rw__http_conn_update_read(c);
	c->last_activity = rw_engine_now_ms(eng(c));
	rw__http_conn_arm_timer(c);
}

void rw__http_conn_tunnel_check(struct http_conn *c)
{
	/* Both sides sent FIN: close once what we owe the client is flushed. */
	if ((c->flags & CONN_TUNNEL) && (c->flags & CONN_EOF) && c->s && (c->s->flags & S_UP_EOF)) {
		c->flags |= CONN_CLOSING;
		maybe_shut(c);
	}
}

void rw__http_conn_stream_done(struct http_conn *c)
{
	struct http_stream *s = c->s;
	bool close = (s->flags & S_CLOSE_AFTER) || !s->head.keep_alive ||
	             (c->flags & (CONN_EOF | CONN_DRAINING));
	uint32_t max_req = c->l->cfg->hcm->common.max_requests_per_connection;

	c->s = NULL;
	rw__http_stream_free(s);
	c->requests++;
	if (max_req && c->requests >= max_req) {
		if (!close)
			rw_stat_inc(&c->l->cfg->stats, RW_HS_DOWNSTREAM_CX_MAX_REQUESTS_REACHED);
		close = true;
	}
	if (close && (c->flags & CONN_DRAINING))
		rw_stat_inc(&c->l->cfg->stats, RW_HS_DOWNSTREAM_CX_DRAIN_CLOSE);
	if (close) {
		c->flags |= CONN_CLOSING;
		maybe_shut(c);
		return;
	}
	rw__http_conn_arm_timer(c);
	/* A pipelined request may be waiting in c->in already. */
	conn_process(c);
}

/* ---- request parser callbacks: fill the stream ---- */

static int add_span_field(struct rw_http_headers *h, const char *name, size_t name_len,
                          const struct rw_span *v)
{
	char *dst;

	if (rw_http_headers_add_reserve(h, name, name_len, v->len, &dst))
		return -1;
	rw_span_copy(v, dst, v->len);
	return 0;
}

static int on_request_line(void *ctx, const struct rw_h1_request_line *rl)
{
	struct http_stream *s = ctx;
	struct rw_http_headers *h = &s->req;
	char *dst;

	if (add_span_field(h, RW_HTTP_LIT(":method"), &rl->method))
		return -1;
	if (rl->form == RW_H1_TARGET_AUTHORITY) {
		/* CONNECT host:port: the authority is the target, there is no path. */
		if (add_span_field(h, RW_HTTP_LIT(":authority"), &rl->target))
			return -1;
		return 0;
	}
	if (rl->form == RW_H1_TARGET_ASTERISK) {
		if (add_span_field(h, RW_HTTP_LIT(":path"), &rl->target))
			return -1;
	} else {
		/* Absolute-form is normalized to origin-form: "" -> "/", "?q" -> "/?q". */
		char first = 0;
		bool slash;

		rw_span_copy(&rl->path, &first, 1);
		slash = rl->path.len == 0 || first != '/';
		if (rw_http_headers_add_reserve(h, RW_HTTP_LIT(":path"), rl->path.len + slash,
		                                &dst))
			return -1;
		if (slash)
			*dst++ = '/';
		rw_span_copy(&rl->path, dst, rl->path.len);
	}
	if (rl->form == RW_H1_TARGET_ABSOLUTE) {
		s->flags |= S_ABSOLUTE;
		if (add_span_field(h, RW_HTTP_LIT(":authority"), &rl->authority))
			return -1;
		if (add_span_field(h, RW_HTTP_LIT(":scheme"), &rl->scheme))
			return -1;
	}
	return 0;
}

int rw__http_add_span_field(struct rw_http_headers *h, const struct rw_span *name,
                            const struct rw_span *value)
{
	struct rw_http_field *f;
	char *dst;

	/* One reservation for "name\0value": the name is lowercased in place. */
	if (rw_http_headers_add_reserve(h, "", 0, name->len + 1 + value->len, &dst))
		return -1;
	f = &h->f[h->n - 1];
	rw_span_copy(name, dst, name->len);
	for (size_t i = 0; i < name->len; i++)
		if (dst[i] >= 'A' && dst[i] <= 'Z')
			dst[i] = (char)(dst[i] + 32);
	dst[name->len] = '\0';
	rw_span_copy(value, dst + name->len + 1, value->len);
	f->name_off = (uint32_t)(dst - h->arena);
	f->name_len = (uint32_t)name->len;
	f->value_off = f->name_off + (uint32_t)name->len + 1;
	f->value_len = (uint32_t)value->len;
	return 0;
}

static int on_header(void *ctx, const struct rw_span *name, const struct rw_span *value)
{
	struct http_stream *s = ctx;

	/* Host becomes :authority unless absolute-form already set it (RFC 9112 3.2.2). */
	if (rw_span_eq_nocase(name, "host")) {
		if (rw_http_headers_find(&s->req, RW_HTTP_LIT(":authority"), 0) >= 0)
			return 0;
		return add_span_field(&s->req, RW_HTTP_LIT(":authority"), value);
	}
	return rw__http_add_span_field(&s->req, name, value);
}

static int on_headers_complete(void *ctx, const struct rw_h1_head *head)
{
	struct http_stream *s = ctx;

	s->head = *head;
	s->got_head = true;
	return RW_H1_PAUSE;
}

static int on_body(void *ctx, const struct rw_span *data)
{
	struct http_stream *s = ctx;

	s->body_off = data->off;
	s->body_len = data->len;
	s->got_body = true;
	return RW_H1_PAUSE;
}

static int on_message_complete(void *ctx)
{
	((struct http_stream *)ctx)->got_end = true;
	return 0;
}

/* Trailers are parsed (and bounded); forwarded only with enable_trailers, as in Envoy. */
static const struct rw_h1_callbacks request_cbs = {
    .on_request_line = on_request_line,
    .on_header = on_header,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_trailer = rw__http_on_trailer,
    .on_message_complete = on_message_complete,
};

static void codec_error(struct http_conn *c, struct http_stream *s)
{
	const char *detail;
	uint16_t status;
	enum rw_h1_error e = rw_h1_parser_error(&s->parser, &detail, &status);

	rw_log_debug("http", "[C%llu] bad request: %s (%s)", (unsigned long long)c->id,
	             rw_h1_error_name(e), detail ? detail : "");
	rw_stat_inc(&c->l->cfg->stats, RW_HS_DOWNSTREAM_CX_PROTOCOL_ERROR);
	s->flags |= S_CLOSE_AFTER;
	rw__http_stream_local_reply(s, status ? status : 400,
	                            rw__http_reason(status ? status : 400), RW_RF_DPE,
	                            rw_h1_error_name(e));
}

/* Parse and dispatch as much of c->in as the current state allows. */
static void conn_process(struct http_conn *c)
{
	while (!(c->flags & (CONN_HELD_CLOSED | CONN_CLOSING | CONN_TUNNEL))) {
		struct http_stream *s = c->s;
		ssize_t n;

		if (!s) {
			if (rw_chain_empty(&c->in))
				break;
			s = c->s = rw__http_stream_new(c);
			if (!s) {
				rw__http_conn_close(c, "out of memory");
				return;
			}
			rw__http_conn_arm_timer(c);
		}
		if (s->flags & (S_REQ_DONE | S_UPGRADE))
			break; /* waiting for the response (or the upgrade's answer) */
		n = rw_h1_parse(&s->parser, &c->in, &request_cbs, s);
		if (n < 0) {
			codec_error(c, s);
			break;
		}
		if (n == 0)
			break;
		if (s->got_body) {
			struct rw_chain body = {0};

			s->got_body = false;
			rw_chain_consume(&c->in, s->body_off);
			if (rw_chain_split(&body, &c->in, s->body_len)) {
				rw__http_conn_close(c, "out of memory");
				return;
			}
			rw__http_stream_request_body(s, &body);
			rw_chain_reset(&body);
		} else {
			rw_chain_consume(&c->in, (size_t)n);
		}
		if (c->s != s)
			continue;
		if (s->got_head) {
			s->got_head = false;
			if (s->got_end) {
				/* No body: the request is complete with its head. */
				s->got_end = false;
				s->flags |= S_REQ_DONE;
				s->req_end_ms = rw_engine_now_ms(eng(c));
				s->t.ds_rx_end = rw_engine_now_us(eng(c));
			}
			rw__http_stream_request_head(s);
			if (c->s != s || (c->flags & CONN_HELD_CLOSED))
				continue;
		}
		if (s->got_end) {
			s->got_end = false;
			rw__http_stream_request_end(s);
		}
	}
	if (c->flags & (CONN_HELD_CLOSED | CONN_TUNNEL))
		return;
	/* Bound what waits unparsed: a client pipelining faster than we answer stops being read. */
	rw__http_conn_update_read(c);
	maybe_shut(c);
}

void rw__http_conn_start_tunnel(struct http_conn *c)
{
	struct http_stream *s = c->s;

	c->flags |= CONN_TUNNEL;
	if (!rw_chain_empty(&c->in))
		rw__http_stream_request_body(s, &c->in);
	rw__http_conn_update_read(c);
}

/* ---- socket callbacks ---- */

static void on_data(struct rw_sock *sock, void *ctx, struct rw_buf *b, uint32_t off, uint32_t len)
{
	struct http_conn *c = ctx;

	(void)sock;
	rw_stat_add(&c->l->cfg->stats, RW_HS_DOWNSTREAM_CX_RX_BYTES_TOTAL, len);
	if (c->flags & CONN_SHUT)
		return; /* closing: input is dropped (the delayed close counts from the FIN) */
	c->last_activity = rw_engine_now_ms(eng(c));
	if (c->flags & CONN_TUNNEL) {
		struct rw_chain tmp = {0};

		rw__http_conn_hold(c);
		if (rw_chain_append_buf(&tmp, b, off, len) == 0)
			rw__http_stream_request_body(c->s, &tmp);
		else
			rw__http_conn_close(c, "out of memory");
		rw_chain_reset(&tmp);
		rw__http_conn_release(c);
		return;
	}
	if (rw_chain_append_recv(&c->in, rw_engine_pool(eng(c)), b, off, len) < 0) {
		rw__http_conn_hold(c);
		rw__http_conn_close(c, "out of memory");
		rw__http_conn_release(c);
		return;
	}
	rw__http_conn_hold(c);
	conn_process(c);
	rw__http_conn_release(c);
}

static void on_eof(struct rw_sock *sock, void *ctx)
{
	struct http_conn *c = ctx;

	(void)sock;
	rw__http_conn_hold(c);
	c->flags |= CONN_EOF | CONN_REMOTE_CLOSE;
	if (c->flags & CONN_SHUT) {
		rw__http_conn_close(c, "client closed");
	} else if (c->flags & CONN_TUNNEL) {
		if (c->s && c->s->up)
			rw__http_upstream_shutdown_write(c->s->up);
		rw__http_conn_tunnel_check(c);
	} else if (!c->s) {
		rw__http_conn_close(c, "client closed");
	} else if (!(c->s->flags & S_REQ_DONE)) {
		/* EOF mid-request: nothing to answer (Envoy: downstream remote disconnect). */
		rw__http_conn_close(c, "client closed mid-request");
	} else {
		/* The request is complete: the response still goes out, then we close. */
		c->s->flags |= S_CLOSE_AFTER;
	}
	rw__http_conn_release(c);
}

static void on_error(struct rw_sock *sock, void *ctx, int err)
{
	struct http_conn *c = ctx;

	(void)sock;
	rw__http_conn_hold(c);
	rw_log_debug("http", "[C%llu] downstream error: %s", (unsigned long long)c->id,
	             strerror(-err));
	c->flags |= CONN_REMOTE_CLOSE;
	rw__http_conn_close(c, "downstream connection error");
	rw__http_conn_release(c);
}

static void on_sent(struct rw_sock *sock, void *ctx)
{
	struct http_conn *c = ctx;
	struct http_stream *s = c->s;

	c->last_activity = rw_engine_now_ms(eng(c));
	rw_stat_add(&c->l->cfg->stats, RW_HS_DOWNSTREAM_CX_TX_BYTES_TOTAL, rw_sock_take_sent(sock));
	rw__http_conn_hold(c);
	/* Downstream drained below half its limit: the upstream may send again. */
	if (s && s->up && (s->flags & S_UP_PAUSED) &&
	    rw_sock_out_bytes(c->sock) <= c->l->cfg->down_buffer_limit / 2) {
		s->flags &= ~S_UP_PAUSED;
		rw__http_upstream_read_pause(s->up, false);
	}
	maybe_shut(c);
	rw__http_conn_release(c);
}

static const struct rw_sock_ops conn_ops = {
    .on_data = on_data,
    .on_eof = on_eof,
    .on_error = on_error,
    .on_sent = on_sent,
};

void rw_http_accept(struct rw_engine *e, void *ctx, int fd)
{
	struct rw_http_listener *l = ctx;
	struct http_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		rw_log_warn("http", "out of memory: dropping a connection on %s",
		            l->cfg->listener_name);
		rw_fd_close(fd);
		return;
	}
	c->l = l;
	c->id = ++l->worker->next_conn_id;
	c->link.ops = &session_ops;
	rw_proxy_worker_track(l->worker, &c->link);
	c->start_ms = rw_engine_now_ms(e);
	rw_stat_inc(&l->cfg->stats, RW_HS_DOWNSTREAM_CX_TOTAL);
	rw_gauge_inc(&l->cfg->stats, RW_HS_DOWNSTREAM_CX_ACTIVE);
	rw_stat_inc(&l->cfg->stats, RW_HS_DOWNSTREAM_CX_HTTP1_TOTAL);
	rw_gauge_inc(&l->cfg->stats, RW_HS_DOWNSTREAM_CX_HTTP1_ACTIVE);
	rw_stat_inc(&l->cfg->lstats, RW_LS_DOWNSTREAM_CX_TOTAL);
	rw_gauge_inc(&l->cfg->lstats, RW_LS_DOWNSTREAM_CX_ACTIVE);
	c->sock = rw_sock_adopt(e, fd, &conn_ops, c);
	if (!c->sock) {
		rw__http_conn_close(c, "out of memory");
		return;
	}
	c->last_activity = c->start_ms = rw_engine_now_ms(e);
	rw__http_conn_arm_timer(c);
	rw_sock_read_start(c->sock);
	rw_log_debug("http", "[C%llu] new connection on %s", (unsigned long long)c->id,
	             l->cfg->listener_name);
}
