/*
 * TCP proxy sessions.
 *
 *   client --down--> [down sock] --on_data--> up->out  --send--> [up sock] --> upstream
 *   client <-------- [down sock] <--send-- down->out <--on_data-- [up sock] <-- upstream
 *
 * Received slices are appended by reference to the other side's outgoing chain.  When a
 * chain passes its connection's buffer limit the side feeding it stops reading, and
 * resumes once the chain is below half (Envoy's high/low watermarks).  A FIN from one side
 * becomes shutdown(SHUT_WR) on the other after everything queued is sent; the session ends
 * when both directions are finished, on any error, or on a timeout.
 */
#include "proxy/tcp_proxy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/timer.h"
#include "lb/cluster.h"
#include "lb/outlier.h"
#include "proxy/worker.h"
#include "ring/engine.h"

enum {
	TS_CONNECTED = 1u << 0,
	TS_DOWN_EOF = 1u << 1, /* client sent FIN */
	TS_UP_EOF = 1u << 2,   /* upstream sent FIN */
	TS_DOWN_PAUSED = 1u << 3,
	TS_UP_PAUSED = 1u << 4,
	TS_FLUSHING = 1u << 5, /* one side failed: deliver what the other is owed, then close */
};

struct tcp_session {
	struct rw_session_link link; /* first: the worker's list points here */
	struct rw_proxy_worker *w;
	const struct rw_tcp_proxy_config *cfg;
	struct rw_sock *down;
	struct rw_sock *up;
	struct rw_host *host;  /* one reference held for the session's lifetime */
	struct rw_timer timer; /* connect timeout, then idle timeout */
	uint64_t last_activity;
	uint64_t id;
	uint32_t flags;
};

static void session_close(struct tcp_session *t, const char *why)
{
	struct rw_engine *e = t->w->eng;

	rw_log_debug("tcp", "[C%llu] closing: %s", (unsigned long long)t->id, why);
	rw_timer_del(rw_engine_timers(e), &t->timer);
	if (t->down)
		rw_sock_close(t->down);
	if (t->up)
		rw_sock_close(t->up);
	if (t->host && (t->flags & TS_CONNECTED))
		atomic_fetch_sub_explicit(&t->host->cx_active, 1, memory_order_relaxed);
	if (t->host) {
		atomic_fetch_sub_explicit(&t->host->rq_active, 1, memory_order_relaxed);
		rw_host_unref(t->host); /* the pick's ref: the host may have left the set since */
	}
	rw_proxy_worker_untrack(t->w, &t->link);
	free(t);
}

static void link_close(struct rw_session_link *l);
static const struct rw_session_ops session_ops = {.close = link_close};

static void link_close(struct rw_session_link *l)
{
	session_close((struct tcp_session *)l, "drain timeout");
}

static struct rw_sock *peer_of(struct tcp_session *t, struct rw_sock *s)
{
	return s == t->down ? t->up : t->down;
}

/* Limit of the chain that feeds into sock `to`. */
static uint32_t limit_of(struct tcp_session *t, struct rw_sock *to)
{
	return to == t->up ? t->cfg->cluster->buffer_limit : t->cfg->down_buffer_limit;
}

static void maybe_finish(struct tcp_session *t)
{
	if (t->flags & TS_FLUSHING) {
		if (rw_sock_flushed(t->down ? t->down : t->up))
			session_close(t, "flushed after the peer's error");
		return;
	}
	if ((t->flags & (TS_DOWN_EOF | TS_UP_EOF)) == (TS_DOWN_EOF | TS_UP_EOF) &&
	    rw_sock_flushed(t->down) && rw_sock_flushed(t->up))
		session_close(t, "both sides finished");
}

static void on_data(struct rw_sock *s, void *ctx, struct rw_buf *b, uint32_t off, uint32_t len)
{
	struct tcp_session *t = ctx;
	struct rw_sock *to = peer_of(t, s);
	struct rw_engine *e = t->w->eng;
	uint32_t paused = s == t->down ? TS_DOWN_PAUSED : TS_UP_PAUSED;

	t->last_activity = rw_engine_now_ms(e);
	if (!to)
		return; /* flushing: the side these bytes were for is gone */
	if (rw_chain_append_recv(rw_sock_out(to), rw_engine_pool(e), b, off, len) < 0) {
		session_close(t, "out of memory");
		return;
	}
	rw_sock_flush(to);
	if (rw_sock_out_bytes(to) > limit_of(t, to) && !(t->flags & paused)) {
		t->flags |= paused;
		rw_sock_read_stop(s);
	}
}

static void on_sent(struct rw_sock *s, void *ctx)
{
	struct tcp_session *t = ctx;
	struct rw_sock *from = peer_of(t, s);
	uint32_t paused = from == t->down ? TS_DOWN_PAUSED : TS_UP_PAUSED;

	t->last_activity = rw_engine_now_ms(t->w->eng);
	if (from && (t->flags & paused) && rw_sock_out_bytes(s) <= limit_of(t, s) / 2) {
		t->flags &= ~paused;
		rw_sock_read_start(from);
	}
	maybe_finish(t);
}

static void on_eof(struct rw_sock *s, void *ctx)
{
	struct tcp_session *t = ctx;

	t->flags |= s == t->down ? TS_DOWN_EOF : TS_UP_EOF;
	if (peer_of(t, s))
		rw_sock_shutdown_write(peer_of(t, s));
	maybe_finish(t);
}

static void on_error(struct rw_sock *s, void *ctx, int err)
{
	struct tcp_session *t = ctx;
	struct rw_sock *other;
	const char *why;

	if (s == t->up && !(t->flags & TS_CONNECTED)) {
		atomic_fetch_add_explicit(&t->host->cx_connect_fail, 1, memory_order_relaxed);
		/* Outlier detection sees TCP connect failures as local-origin failures (Envoy). */
		rw_outlier_report(t->host, RW_OUTLIER_CONNECT_FAILED);
		rw_log_debug("tcp", "[C%llu] upstream %s connect failed: %s",
		             (unsigned long long)t->id, t->host->name, strerror(-err));
		session_close(t, "upstream connect failure");
		return;
	}
	rw_log_debug("tcp", "[C%llu] %s error: %s", (unsigned long long)t->id,
	             s == t->down ? "downstream" : "upstream", strerror(-err));
	if (t->flags & TS_FLUSHING) {
		session_close(t, "error while flushing");
		return;
	}
	/* Like Envoy's close(FlushWrite): bytes already received from the failed side are still
	 * delivered to the other, then it gets a FIN.  The idle timeout bounds a reader that
	 * never drains them. */
	other = peer_of(t, s);
	why = s == t->down ? "downstream error" : "upstream error";
	rw_sock_close(s);
	if (s == t->down)
		t->down = NULL;
	else
		t->up = NULL;
	if (rw_sock_flushed(other)) {
		session_close(t, why);
		return;
	}
	t->flags |= TS_FLUSHING;
	rw_sock_read_stop(other);
	rw_sock_shutdown_write(other);
}

static void on_timer(struct rw_timer *tm, void *arg)
{
	struct tcp_session *t = arg;
	uint64_t now = rw_engine_now_ms(t->w->eng);
	uint64_t idle = t->cfg->idle_timeout_ms;

	if (!(t->flags & TS_CONNECTED)) {
		rw_log_debug("tcp", "[C%llu] upstream %s connect timeout",
		             (unsigned long long)t->id, t->host->name);
		atomic_fetch_add_explicit(&t->host->cx_connect_fail, 1, memory_order_relaxed);
		rw_outlier_report(t->host, RW_OUTLIER_TIMEOUT);
		session_close(t, "upstream connect timeout");
		return;
	}
	/* The idle deadline is pushed lazily: activity only stamps last_activity. */
	if (now - t->last_activity < idle) {
		rw_timer_add(rw_engine_timers(t->w->eng), tm, idle - (now - t->last_activity),
		             on_timer, t);
		return;
	}
	session_close(t, "idle timeout");
}

static void on_connect(struct rw_sock *s, void *ctx)
{
	struct tcp_session *t = ctx;
	struct rw_engine *e = t->w->eng;

	(void)s;
	t->flags |= TS_CONNECTED;
	atomic_fetch_add_explicit(&t->host->cx_active, 1, memory_order_relaxed);
	rw_outlier_report(t->host, RW_OUTLIER_SUCCESS);
	t->last_activity = rw_engine_now_ms(e);
	rw_timer_del(rw_engine_timers(e), &t->timer);
	if (t->cfg->idle_timeout_ms)
		rw_timer_add(rw_engine_timers(e), &t->timer, t->cfg->idle_timeout_ms, on_timer, t);
}

static const struct rw_sock_ops tcp_ops = {
    .on_data = on_data,
    .on_eof = on_eof,
    .on_error = on_error,
    .on_connect = on_connect,
    .on_sent = on_sent,
};

void rw_tcp_proxy_accept(struct rw_engine *e, void *ctx, int fd)
{
	struct rw_tcp_proxy_listener *pl = ctx;
	const struct rw_tcp_proxy_config *cfg = pl->cfg;
	struct tcp_session *t = calloc(1, sizeof(*t));
	int r;

	if (!t) {
		rw_log_warn("tcp", "out of memory: dropping a connection on %s",
		            cfg->listener_name);
		rw_fd_close(fd);
		return;
	}
	t->w = pl->worker;
	t->cfg = cfg;
	t->id = ++pl->worker->next_conn_id;
	t->link.ops = &session_ops;
	rw_proxy_worker_track(t->w, &t->link);
	t->down = rw_sock_adopt(e, fd, &tcp_ops, t);
	if (!t->down) {
		session_close(t, "out of memory");
		return;
	}
	{
		/* Random draws (RANDOM, LEAST_REQUEST) only need spread, not secrecy. */
		struct rw_lb_pick_ctx pick = {.random =
		                                  ((uint64_t)(uintptr_t)t * 0x9e3779b97f4a7c15u) ^
		                                  (t->id * 0xbf58476d1ce4e5b9u)};

		t->host = rw_cluster_pick(cfg->cluster, &pick);
		if (t->host) { /* a session counts as the host's active request (least request) */
			atomic_fetch_add_explicit(&t->host->rq_active, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&t->host->rq_total, 1, memory_order_relaxed);
		}
	}
	if (!t->host) {
		rw_log_debug("tcp", "[C%llu] cluster '%s' has no hosts", (unsigned long long)t->id,
		             cfg->cluster->name);
		session_close(t, "no healthy upstream");
		return;
	}
	atomic_fetch_add_explicit(&t->host->cx_total, 1, memory_order_relaxed);
	r = rw_sock_connect(e, (const struct sockaddr *)&t->host->addr, t->host->addrlen, &tcp_ops,
	                    t, &t->up);
	if (r) {
		rw_log_warn("tcp", "[C%llu] cannot open a socket to %s: %s",
		            (unsigned long long)t->id, t->host->name, strerror(-r));
		session_close(t, "upstream socket failure");
		return;
	}
	rw_timer_add(rw_engine_timers(e), &t->timer, cfg->cluster->connect_timeout_ms, on_timer, t);
	rw_sock_read_start(t->down);
	rw_sock_read_start(t->up);
	rw_log_debug("tcp", "[C%llu] new connection on %s -> %s", (unsigned long long)t->id,
	             cfg->listener_name, t->host->name);
}
