/*
 * Upstream HTTP/1.1 connections and the per-worker pools that keep them.
 *
 * Pools are per worker and per host, so picking an idle connection is a list pop with no
 * lock.  An idle connection keeps its multishot recv armed: if the upstream closes it (or
 * sends anything) while idle we learn at once and drop it, instead of discovering it when
 * the next request fails.  The race that remains (the upstream closes just as a request is
 * sent) is covered by the stream, which replays the request once on a new connection when
 * nothing came back (http_stream.c).
 *
 * The pending queue (Envoy's pending requests): a request that finds no idle connection while
 * the cluster is at max_connections waits in its pool's FIFO, counted in rq_pending, until
 * a connection of the pool is released reusable (handed over at once, never parked idle), or
 * a connection of the cluster closes on this worker and lets the oldest waiter of the cluster
 * open a new one.  Like Envoy's per-worker pools, a close on another worker wakes nobody
 * here: those waiters get their own worker's releases and closes, or time out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "lb/cluster.h"
#include "lb/cluster_stats.h"
#include "proxy/http_internal.h"
#include "ring/engine.h"

/* Idle connections kept per host per worker; more are closed when released. */
#define MAX_IDLE_PER_HOST 128u
#define N_BUCKETS         64u

static struct rw_engine *eng_of(struct http_worker *hw)
{
	return hw->w->eng;
}

struct http_worker *rw__http_worker_get(struct rw_proxy_worker *w)
{
	struct http_worker *hw = w->http;
	struct timespec ts;

	if (hw)
		return hw;
	hw = calloc(1, sizeof(*hw));
	if (!hw)
		return NULL;
	hw->pools = calloc(N_BUCKETS, sizeof(*hw->pools));
	if (!hw->pools) {
		free(hw);
		return NULL;
	}
	hw->n_buckets = N_BUCKETS;
	hw->w = w;
	clock_gettime(CLOCK_REALTIME, &ts);
	hw->rng = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^
	          ((uint64_t)(uintptr_t)hw << 16) ^ (uint64_t)w->id;
	if (!hw->rng)
		hw->rng = 0x9e3779b97f4a7c15u;
	w->http = hw;
	return hw;
}

static uint32_t bucket(const struct http_worker *hw, const struct rw_host *h)
{
	return (uint32_t)(((uintptr_t)h >> 6) * 2654435761u) & (hw->n_buckets - 1);
}

static struct up_pool *pool_get(struct http_worker *hw, struct rw_host *host)
{
	uint32_t b = bucket(hw, host);
	struct up_pool *p;

	for (p = hw->pools[b]; p; p = p->hnext)
		if (p->host == host)
			return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	rw_host_ref(host);
	p->host = host;
	p->hw = hw;
	p->idle.idle_next = p->idle.idle_prev = &p->idle;
	p->hnext = hw->pools[b];
	hw->pools[b] = p;
	hw->n_pools++;
	return p;
}

static void pool_maybe_free(struct http_worker *hw, struct up_pool *p)
{
	struct up_pool **pp;

	if (p->n_open || p->n_waiting)
		return;
	for (pp = &hw->pools[bucket(hw, p->host)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == p) {
			*pp = p->hnext;
			break;
		}
	}
	hw->n_pools--;
	rw_host_unref(p->host);
	free(p);
}

static void idle_unlink(struct up_conn *u)
{
	u->idle_prev->idle_next = u->idle_next;
	u->idle_next->idle_prev = u->idle_prev;
	u->idle_next = u->idle_prev = NULL;
	u->flags &= ~UP_IDLE;
	u->pool->n_idle--;
}

static void up_free(struct up_conn *u)
{
	free(u);
}

static void on_wake(struct rw_timer *t, void *arg);

/* Counted in the cluster's pending requests (rq_pending, upstream_rq_pending_*). */
static void pending_add(const struct rw_cluster *cluster)
{
	struct rw_cluster *c = (struct rw_cluster *)cluster;

	atomic_fetch_add_explicit(&c->cb.rq_pending, 1, memory_order_relaxed);
	rw_stat_inc(&c->stats, RW_CS_UPSTREAM_RQ_PENDING_TOTAL);
	rw_gauge_inc(&c->stats, RW_CS_UPSTREAM_RQ_PENDING_ACTIVE);
}

static void pending_sub(struct rw_cluster *c)
{
	rw_gauge_dec(&c->stats, RW_CS_UPSTREAM_RQ_PENDING_ACTIVE);
	atomic_fetch_sub_explicit(&c->cb.rq_pending, 1, memory_order_relaxed);
}

/* Queue s at the tail of p's pending queue and of the worker's (counted by the caller). */
static void wait_link(struct up_pool *p, struct http_stream *s)
{
	struct http_worker *hw = p->hw;

	s->flags |= S_UP_WAIT;
	s->wait_pool = p;
	s->wait_next = NULL;
	s->wait_prev = p->wait_tail;
	if (p->wait_tail)
		p->wait_tail->wait_next = s;
	else
		p->wait_head = s;
	p->wait_tail = s;
	p->n_waiting++;
	s->wq_next = NULL;
	s->wq_prev = hw->wq_tail;
	if (hw->wq_tail)
		hw->wq_tail->wq_next = s;
	else
		hw->wq_head = s;
	hw->wq_tail = s;
	hw->n_waiting++;
}

/* Take s out of both queues; its pool may be freed by the caller (pool_maybe_free). */
static void wait_unlink(struct http_stream *s)
{
	struct up_pool *p = s->wait_pool;
	struct http_worker *hw = p->hw;

	if (s->wait_prev)
		s->wait_prev->wait_next = s->wait_next;
	else
		p->wait_head = s->wait_next;
	if (s->wait_next)
		s->wait_next->wait_prev = s->wait_prev;
	else
		p->wait_tail = s->wait_prev;
	p->n_waiting--;
	if (s->wq_prev)
		s->wq_prev->wq_next = s->wq_next;
	else
		hw->wq_head = s->wq_next;
	if (s->wq_next)
		s->wq_next->wq_prev = s->wq_prev;
	else
		hw->wq_tail = s->wq_prev;
	hw->n_waiting--;
	s->wait_next = s->wait_prev = s->wq_next = s->wq_prev = NULL;
	s->wait_pool = NULL;
	s->flags &= ~S_UP_WAIT;
}

void rw__http_upstream_cancel_wait(struct http_stream *s)
{
	struct up_pool *p = s->wait_pool;

	if (!(s->flags & S_UP_WAIT))
		return;
	wait_unlink(s);
	pending_sub(s->cluster);
	rw_stat_inc(&s->cluster->stats, RW_CS_UPSTREAM_RQ_CANCELLED);
	pool_maybe_free(p->hw, p);
}

static void up_close(struct up_conn *u, const char *why)
{
	struct up_pool *p = u->pool;
	struct http_worker *hw = p->hw;

	if (u->flags & UP_HOLD_CLOSED)
		return;
	rw_log_debug("http", "upstream connection to %s closed: %s", p->host->name, why);
	u->flags |= UP_HOLD_CLOSED;
	if (u->flags & UP_IDLE)
		idle_unlink(u);
	rw_timer_del(rw_engine_timers(eng_of(hw)), &u->timer);
	if (u->flags & UP_CONNECTED)
		atomic_fetch_sub_explicit(&p->host->cx_active, 1, memory_order_relaxed);
	if (u->cluster) {
		const struct rw_stats_scope *cs = &u->cluster->stats;
		bool remote = u->flags & UP_REMOTE_CLOSE;

		rw_gauge_dec(cs, RW_CS_UPSTREAM_CX_ACTIVE);
		rw_stat_inc(cs, RW_CS_UPSTREAM_CX_DESTROY);
		rw_stat_inc(cs, remote ? RW_CS_UPSTREAM_CX_DESTROY_REMOTE
		                       : RW_CS_UPSTREAM_CX_DESTROY_LOCAL);
		if (u->s)
			rw_stat_inc(cs, remote ? RW_CS_UPSTREAM_CX_DESTROY_REMOTE_WITH_ACTIVE_RQ
			                       : RW_CS_UPSTREAM_CX_DESTROY_LOCAL_WITH_ACTIVE_RQ);
		if (u->flags & UP_PENDING)
			rw_gauge_dec(cs, RW_CS_UPSTREAM_RQ_PENDING_ACTIVE);
		rw_stat_record(cs, RW_CH_UPSTREAM_CX_LENGTH_MS,
		               rw_engine_now_us(eng_of(hw)) - u->start_us);
		atomic_fetch_sub_explicit(&u->cluster->cb.cx_active, 1, memory_order_relaxed);
		if (u->flags & UP_PENDING)
			atomic_fetch_sub_explicit(&u->cluster->cb.rq_pending, 1,
			                          memory_order_relaxed);
		u->flags &= ~UP_PENDING;
		/* Below max_connections again: a waiter may open one.  Not from here (callers
		 * walk pools and streams), on the next loop turn. */
		if (hw->n_waiting && !rw_timer_active(&hw->wake_timer))
			rw_timer_add(rw_engine_timers(eng_of(hw)), &hw->wake_timer, 0, on_wake, hw);
	}
	rw_sock_close(u->sock);
	u->sock = NULL;
	rw_chain_reset(&u->in);
	u->s = NULL;
	p->n_open--;
	pool_maybe_free(hw, p);
	u->pool = NULL;
	if (u->hold == 0)
		up_free(u);
}

static void up_hold(struct up_conn *u)
{
	u->hold++;
}

/* Returns false when u was closed (and is freed now). */
static bool up_release_hold(struct up_conn *u)
{
	if (--u->hold == 0 && (u->flags & UP_HOLD_CLOSED)) {
		up_free(u);
		return false;
	}
	return !(u->flags & UP_HOLD_CLOSED);
}

/* Detach u from its stream and fail the stream (u is closed). */
static void fail_stream(struct up_conn *u, int err, enum http_up_failure kind, const char *why)
{
	struct http_stream *s = u->s;
	/* A reused connection that failed before any byte of the answer: the upstream closed
	 * it while idle, the request never reached it.  Safe to send again, once. */
	bool idle_race = u->served > 0 && !u->got_bytes && kind == UPF_RESET;

	if (kind == UPF_PROTOCOL)
		rw_stat_inc(&u->cluster->stats, RW_CS_UPSTREAM_CX_PROTOCOL_ERROR);
	else if (kind == UPF_RESET && s && !idle_race)
		rw_stat_inc(&u->cluster->stats, RW_CS_UPSTREAM_RQ_RX_RESET);
	if (s)
		s->up = NULL;
	up_close(u, why);
	if (s)
		rw__http_stream_upstream_failed(s, err, kind, idle_race);
}

/* ---- response parser callbacks ---- */

static int on_status_line(void *ctx, const struct rw_h1_status_line *sl)
{
	struct up_conn *u = ctx;
	struct rw_http_headers *h = &u->s->rsp;
	char num[8];
	int n = snprintf(num, sizeof(num), "%u", sl->status);

	rw_http_headers_clear(h);
	return rw_http_headers_add(h, RW_HTTP_LIT(":status"), num, (size_t)n) ? -1 : 0;
}

static int on_header(void *ctx, const struct rw_span *name, const struct rw_span *value)
{
	struct up_conn *u = ctx;

	return rw__http_add_span_field(&u->s->rsp, name, value);
}

static int on_headers_complete(void *ctx, const struct rw_h1_head *head)
{
	struct up_conn *u = ctx;

	u->head = *head;
	u->got_head = true;
	return RW_H1_PAUSE;
}

static int on_body(void *ctx, const struct rw_span *data)
{
	struct up_conn *u = ctx;

	u->body_off = data->off;
	u->body_len = data->len;
	u->got_body = true;
	return RW_H1_PAUSE;
}

static int on_message_complete(void *ctx)
{
	((struct up_conn *)ctx)->got_end = true;
	return 0;
}

static int on_trailer(void *ctx, const struct rw_span *name, const struct rw_span *value)
{
	return rw__http_on_trailer(((struct up_conn *)ctx)->s, name, value);
}

static const struct rw_h1_callbacks response_cbs = {
    .on_status_line = on_status_line,
    .on_header = on_header,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_trailer = on_trailer,
    .on_message_complete = on_message_complete,
};

/* The response is complete: the stream releases u (to the pool when clean). */
static void deliver_end(struct up_conn *u)
{
	struct http_stream *s = u->s;
	bool reusable = u->head.keep_alive && rw_chain_empty(&u->in) &&
	                rw_h1_parser_idle(&u->parser) && !(u->flags & UP_HOLD_CLOSED);

	u->got_end = false;
	u->served++;
	rw__http_stream_response_end(s, reusable);
}

static void up_process(struct up_conn *u)
{
	while (u->s && !(u->flags & (UP_HOLD_CLOSED | UP_TUNNEL))) {
		struct http_stream *s = u->s;
		ssize_t n = rw_h1_parse(&u->parser, &u->in, &response_cbs, u);

		if (n < 0) {
			const char *detail = NULL;

			rw_h1_parser_error(&u->parser, &detail, NULL);
			rw_log_debug("http", "[C%llu] bad response from %s: %s",
			             (unsigned long long)s->id, u->pool->host->name,
			             detail ? detail : "");
			fail_stream(u, -EPROTO, UPF_PROTOCOL, "malformed response");
			return;
		}
		if (n == 0)
			return;
		if (u->got_body) {
			struct rw_chain body = {0};

			u->got_body = false;
			rw_chain_consume(&u->in, u->body_off);
			if (rw_chain_split(&body, &u->in, u->body_len)) {
				fail_stream(u, -ENOMEM, UPF_RESET, "out of memory");
				return;
			}
			rw__http_stream_response_body(s, &body);
			rw_chain_reset(&body);
		} else {
			rw_chain_consume(&u->in, (size_t)n);
		}
		if (u->s != s)
			return;
		if (u->got_head) {
			u->got_head = false;
			if (rw__http_stream_response_head(s, &u->head, NULL) < 0 || u->s != s)
				return;
			if (u->flags & UP_TUNNEL)
				return;
		}
		if (u->got_end) {
			deliver_end(u);
			return;
		}
	}
}

/* ---- socket callbacks ---- */

static void on_connect(struct rw_sock *sock, void *ctx)
{
	struct up_conn *u = ctx;

	(void)sock;
	u->flags |= UP_CONNECTED;
	atomic_fetch_add_explicit(&u->pool->host->cx_active, 1, memory_order_relaxed);
	rw_stat_record(&u->cluster->stats, RW_CH_UPSTREAM_CX_CONNECT_MS,
	               rw_engine_now_us(eng_of(u->pool->hw)) - u->start_us);
	if (u->flags & UP_PENDING) {
		u->flags &= ~UP_PENDING;
		rw_gauge_dec(&u->cluster->stats, RW_CS_UPSTREAM_RQ_PENDING_ACTIVE);
		atomic_fetch_sub_explicit(&u->cluster->cb.rq_pending, 1, memory_order_relaxed);
	}
	rw_timer_del(rw_engine_timers(eng_of(u->pool->hw)), &u->timer);
	/* Only when an access log prints it: one getsockname per connection, not per request. */
	if (u->s && u->s->c->l->cfg->want_up_local && rw_sock_local_addr(u->sock, &u->local) == 0)
		u->s->up_local = u->local;
	if (u->s)
		rw__http_stream_upstream_ready(u->s);
}

static void on_data(struct rw_sock *sock, void *ctx, struct rw_buf *b, uint32_t off, uint32_t len)
{
	struct up_conn *u = ctx;
	struct http_conn *c;

	(void)sock;
	rw_stat_add(&u->cluster->stats, RW_CS_UPSTREAM_CX_RX_BYTES_TOTAL, len);
	if (!u->s) {
		up_close(u, "unexpected bytes while idle");
		return;
	}
	c = u->s->c;
	rw__http_conn_hold(c);
	up_hold(u);
	u->got_bytes = true;
	u->s->up_activity_ms = rw_engine_now_ms(eng_of(u->pool->hw));
	if (!u->s->t.us_rx_beg)
		u->s->t.us_rx_beg = rw_engine_now_us(eng_of(u->pool->hw));
	if (u->flags & UP_TUNNEL) {
		struct rw_chain tmp = {0};

		if (rw_chain_append_buf(&tmp, b, off, len) == 0)
			rw__http_stream_tunnel_data(u->s, &tmp);
		else
			fail_stream(u, -ENOMEM, UPF_RESET, "out of memory");
		rw_chain_reset(&tmp);
	} else if (rw_chain_append_recv(&u->in, rw_engine_pool(eng_of(u->pool->hw)), b, off, len) <
	           0) {
		fail_stream(u, -ENOMEM, UPF_RESET, "out of memory");
	} else {
		up_process(u);
	}
	up_release_hold(u);
	rw__http_conn_release(c);
}

static void on_eof(struct rw_sock *sock, void *ctx)
{
	struct up_conn *u = ctx;
	struct http_conn *c;

	(void)sock;
	u->flags |= UP_REMOTE_CLOSE;
	if (!u->s) {
		up_close(u, "closed by the upstream while idle");
		return;
	}
	c = u->s->c;
	rw__http_conn_hold(c);
	up_hold(u);
	if (u->flags & UP_TUNNEL) {
		rw__http_stream_tunnel_eof(u->s);
	} else if (rw_h1_parse_eof(&u->parser, &response_cbs, u) == 0 && u->got_end) {
		/* A close-delimited body ends here. */
		u->head.keep_alive = false;
		deliver_end(u);
	} else {
		fail_stream(u, -ECONNRESET, UPF_RESET, "closed by the upstream");
	}
	up_release_hold(u);
	rw__http_conn_release(c);
}

static void on_error(struct rw_sock *sock, void *ctx, int err)
{
	struct up_conn *u = ctx;
	struct http_conn *c;
	bool connect = !(u->flags & UP_CONNECTED);

	(void)sock;
	if (connect) {
		rw_cluster_connect_failed(u->cluster, u->pool->host, false);
	} else {
		u->flags |= UP_REMOTE_CLOSE;
	}
	if (!u->s) {
		up_close(u, "error while idle");
		return;
	}
	c = u->s->c;
	rw_log_debug("http", "[C%llu] upstream %s: %s", (unsigned long long)u->s->id,
	             u->pool->host->name, strerror(-err));
	rw__http_conn_hold(c);
	if ((u->flags & UP_TUNNEL) && u->s)
		rw__http_stream_abort(u->s, RW_RF_UR, "tunnel upstream error");
	else
		fail_stream(u, err, connect ? UPF_CONNECT : UPF_RESET,
		            connect ? "connect failed" : "upstream error");
	rw__http_conn_release(c);
}

static void on_sent(struct rw_sock *sock, void *ctx)
{
	struct up_conn *u = ctx;

	rw_stat_add(&u->cluster->stats, RW_CS_UPSTREAM_CX_TX_BYTES_TOTAL, rw_sock_take_sent(sock));
	if (u->s) {
		struct http_conn *c = u->s->c;

		rw__http_conn_hold(c);
		rw__http_stream_upstream_sent(u->s);
		rw__http_conn_release(c);
	}
}

static const struct rw_sock_ops up_ops = {
    .on_data = on_data,
    .on_eof = on_eof,
    .on_error = on_error,
    .on_connect = on_connect,
    .on_sent = on_sent,
};

static void on_connect_timeout(struct rw_timer *t, void *arg)
{
	struct up_conn *u = arg;
	struct http_conn *c = u->s ? u->s->c : NULL;

	(void)t;
	rw_cluster_connect_failed(u->cluster, u->pool->host, true);
	if (c)
		rw__http_conn_hold(c);
	fail_stream(u, -ETIMEDOUT, UPF_CONNECT_TIMEOUT, "connect timeout");
	if (c)
		rw__http_conn_release(c);
}

/* Attach idle connection u (unlinked) to s: the hot path of acquire, and a hand-over. */
static void attach_idle(struct up_conn *u, struct http_stream *s, uint64_t now_us)
{
	u->s = s;
	u->got_bytes = false;
	s->t.us_cx_end = now_us;
	s->t.reused = true;
	s->t.tries++;
	rw__http_stream_stats_try(s);
	if (s->c->l->cfg->want_up_local)
		s->up_local = u->local;
}

/* Open a new connection of p for s.  pending: s is already counted in rq_pending (it
 * waited); that count moves to the connection.  0 with *out set, or negative errno. */
static int open_conn(struct up_pool *p, const struct rw_cluster *cluster, struct http_stream *s,
                     bool pending, struct up_conn **out)
{
	struct http_worker *hw = p->hw;
	struct rw_host *host = p->host;
	struct up_conn *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return -ENOMEM;
	r = rw_sock_connect(eng_of(hw), (const struct sockaddr *)&host->addr, host->addrlen,
	                    &up_ops, u, &u->sock);
	if (r) {
		free(u);
		return r;
	}
	u->pool = p;
	u->s = s;
	u->cluster = (struct rw_cluster *)cluster;
	u->flags |= UP_PENDING;
	atomic_fetch_add_explicit(&u->cluster->cb.cx_active, 1, memory_order_relaxed);
	if (!pending)
		pending_add(cluster);
	u->start_us = rw_engine_now_us(eng_of(hw));
	rw_stat_inc(&cluster->stats, RW_CS_UPSTREAM_CX_TOTAL);
	rw_stat_inc(&cluster->stats, RW_CS_UPSTREAM_CX_HTTP1_TOTAL);
	rw_gauge_inc(&cluster->stats, RW_CS_UPSTREAM_CX_ACTIVE);
	p->n_open++;
	rw_h1_parser_init(&u->parser, RW_H1_RESPONSE, NULL);
	atomic_fetch_add_explicit(&host->cx_total, 1, memory_order_relaxed);
	rw_timer_add(rw_engine_timers(eng_of(hw)), &u->timer, cluster->connect_timeout_ms,
	             on_connect_timeout, u);
	rw_sock_read_start(u->sock);
	s->t.tries++;
	rw__http_stream_stats_try(s);
	*out = u;
	return 0;
}

/* At max_connections: close the least recently used idle connection of the cluster in
 * another pool of this worker, so a waiter of this host is not starved by idle ones (its
 * close wakes the waiters).  Envoy instead lets every host have one connection over the
 * limit. */
static void close_idle_elsewhere(struct http_worker *hw, const struct up_pool *own,
                                 const struct rw_cluster *cluster)
{
	for (uint32_t b = 0; b < hw->n_buckets; b++) {
		for (struct up_pool *p = hw->pools[b]; p; p = p->hnext) {
			struct up_conn *u = p->idle.idle_prev;

			if (p != own && p->n_idle && u->cluster == cluster) {
				up_close(u, "room for a pending request");
				return;
			}
		}
	}
}

int rw__http_upstream_acquire(struct http_worker *hw, struct rw_host *host,
                              const struct rw_cluster *cluster, struct http_stream *s, bool fresh,
                              struct up_conn **out)
{
	struct up_pool *p = pool_get(hw, host);
	uint64_t now_us = rw_engine_now_us(eng_of(hw));
	struct rw_cluster_cb *cb = (struct rw_cluster_cb *)&cluster->cb;
	struct up_conn *u;
	int r;

	/* A new try: the upstream points start over (struct http_timing). */
	s->t.us_cx_beg = now_us;
	s->t.us_cx_end = s->t.us_tx_beg = s->t.us_tx_end = 0;
	s->t.us_rx_beg = s->t.us_rx_end = 0;
	s->t.reused = false;
	s->up_local.ss_family = AF_UNSPEC;
	if (!p)
		return -ENOMEM;
	if (p->n_idle && !fresh) {
		u = p->idle.idle_next;
		idle_unlink(u);
		attach_idle(u, s, now_us);
		*out = u;
		return 0;
	}
	/* Circuit breakers, Envoy's order: the request becomes pending (max_pending_requests,
	 * else overflow); it opens a connection if max_connections allows, else it waits in the
	 * pool's queue for a released or a new connection. */
	if (atomic_load_explicit(&cb->rq_pending, memory_order_relaxed) >=
	    cb->max_pending_requests) {
		atomic_fetch_add_explicit(&cb->rq_pending_overflow, 1, memory_order_relaxed);
		pool_maybe_free(hw, p);
		return -EUSERS;
	}
	if (atomic_load_explicit(&cb->cx_active, memory_order_relaxed) >= cb->max_connections) {
		atomic_fetch_add_explicit(&cb->cx_overflow, 1, memory_order_relaxed);
		pending_add(cluster);
		wait_link(p, s);
		close_idle_elsewhere(hw, p, cluster);
		return HTTP_UP_QUEUED;
	}
	r = open_conn(p, cluster, s, false, out);
	if (r)
		pool_maybe_free(hw, p);
	return r;
}

/* Give u (released reusable) to the oldest waiter of its pool. */
static void hand_over(struct up_conn *u)
{
	struct up_pool *p = u->pool;
	struct http_stream *s = p->wait_head;

	wait_unlink(s);
	pending_sub(s->cluster);
	if (u->flags & UP_PAUSED) {
		u->flags &= ~UP_PAUSED;
		rw_sock_read_start(u->sock);
	}
	attach_idle(u, s, rw_engine_now_us(eng_of(p->hw)));
	s->up = u;
	rw__http_stream_upstream_attached(s);
}

/* A connection closed: the oldest waiters of clusters now below max_connections open new
 * connections, in worker FIFO order.  A call into a stream may end other waiters, so the
 * scan restarts from the head after each. */
static void on_wake(struct rw_timer *t, void *arg)
{
	struct http_worker *hw = arg;
	struct http_stream *s;

	(void)t;
again:
	for (s = hw->wq_head; s; s = s->wq_next) {
		struct rw_cluster *cluster = s->cluster;
		struct up_pool *p = s->wait_pool;
		struct http_conn *c = s->c;
		int r;

		if (atomic_load_explicit(&cluster->cb.cx_active, memory_order_relaxed) >=
		    cluster->cb.max_connections)
			continue;
		wait_unlink(s);
		rw__http_conn_hold(c);
		r = open_conn(p, cluster, s, true, &s->up);
		if (r) {
			pending_sub(cluster);
			pool_maybe_free(hw, p);
			rw__http_stream_upstream_failed(s, r, UPF_CONNECT, false);
		} else {
			rw__http_stream_upstream_attached(s);
		}
		rw__http_conn_release(c);
		goto again;
	}
}

void rw__http_upstream_release(struct up_conn *u, bool reusable)
{
	struct up_pool *p = u->pool;

	u->s = NULL;
	if (u->flags & UP_HOLD_CLOSED)
		return;
	if (!reusable || !(u->flags & UP_CONNECTED) || (u->flags & UP_TUNNEL) ||
	    !rw_sock_flushed(u->sock)) {
		up_close(u, reusable ? "not kept" : "not reusable");
		return;
	}
	if (p->n_waiting) {
		hand_over(u);
		return;
	}
	if (p->n_idle >= MAX_IDLE_PER_HOST || rw_engine_draining(eng_of(p->hw))) {
		up_close(u, "not kept");
		return;
	}
	if (u->flags & UP_PAUSED) {
		u->flags &= ~UP_PAUSED;
		rw_sock_read_start(u->sock);
	}
	u->flags |= UP_IDLE;
	u->idle_next = p->idle.idle_next;
	u->idle_prev = &p->idle;
	p->idle.idle_next->idle_prev = u;
	p->idle.idle_next = u;
	p->n_idle++;
}

struct rw_chain *rw__http_upstream_out(struct up_conn *u)
{
	return rw_sock_out(u->sock);
}

void rw__http_upstream_flush(struct up_conn *u)
{
	rw_sock_flush(u->sock);
}

size_t rw__http_upstream_out_bytes(struct up_conn *u)
{
	return rw_sock_out_bytes(u->sock);
}

void rw__http_upstream_read_pause(struct up_conn *u, bool pause)
{
	if (pause == !!(u->flags & UP_PAUSED))
		return;
	if (pause) {
		u->flags |= UP_PAUSED;
		rw_sock_read_stop(u->sock);
	} else {
		u->flags &= ~UP_PAUSED;
		rw_sock_read_start(u->sock);
	}
}

void rw__http_upstream_shutdown_write(struct up_conn *u)
{
	rw_sock_shutdown_write(u->sock);
}

bool rw__http_upstream_reused(const struct up_conn *u)
{
	return u->served > 0;
}

void rw__http_upstream_expect(struct up_conn *u, enum rw_h1_method m)
{
	rw_h1_parser_set_request_method(&u->parser, m);
}

void rw__http_upstream_tunnel(struct up_conn *u)
{
	u->flags |= UP_TUNNEL;
	if (!rw_chain_empty(&u->in) && u->s) {
		rw__http_stream_tunnel_data(u->s, &u->in);
		rw_chain_reset(&u->in);
	}
}

static void close_idle(struct http_worker *hw)
{
	for (uint32_t b = 0; b < hw->n_buckets; b++) {
		struct up_pool *p = hw->pools[b];

		while (p) {
			struct up_pool *next = p->hnext;

			/* Closing the last idle connection may free p. */
			while (p->n_idle) {
				uint32_t open = p->n_open;

				up_close(p->idle.idle_next, "draining");
				if (open == 1)
					break;
			}
			p = next;
		}
	}
}

void rw_http_worker_drain(struct rw_proxy_worker *w)
{
	if (w->http)
		close_idle(w->http);
}

void rw_http_worker_fini(struct rw_proxy_worker *w)
{
	struct http_worker *hw = w->http;

	if (!hw)
		return;
	rw_timer_del(rw_engine_timers(eng_of(hw)), &hw->wake_timer);
	close_idle(hw);
	while (hw->free_streams) {
		struct http_stream *s = hw->free_streams;

		hw->free_streams = s->next_free;
		rw_http_headers_free(&s->req);
		rw_http_headers_free(&s->rsp);
		rw_http_headers_free(&s->trailers);
		free(s);
	}
	free(hw->pools);
	free(hw);
	w->http = NULL;
}
