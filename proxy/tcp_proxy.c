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
 *
 * access_log: one line per connection when it ends (access_log.c), with the operators a
 * connection has -- bytes, duration, upstream host and cluster, addresses, flags (UH, UF)
 * and connect-failure reasons; request operators (%REQ%, %PROTOCOL%, ...) print "-".
 */
#include "proxy/tcp_proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timer.h"
#include "lb/cluster.h"
#include "lb/cluster_stats.h"
#include "lb/outlier.h"
#include "proxy/access_log.h"
#include "proxy/stats.h"
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
	uint32_t rflags;                     /* RW_RF_UH, RW_RF_UF (%RESPONSE_FLAGS%) */
	uint64_t bytes_received, bytes_sent; /* from / to the client */
	/* Monotonic µs by enum rw_phase: DS_RX_BEG (accepted), US_CX_BEG, US_CX_END,
	 * US_RX_BEG (first upstream byte), DS_RX_END / US_RX_END (each side's FIN). */
	uint64_t points[RW_PHASE_N];
	const char *failure; /* %UPSTREAM_TRANSPORT_FAILURE_REASON% */
};

int rw_tcp_proxy_config_logs(struct rw_tcp_proxy_config *c, const struct rw_config_tcp_proxy *tp,
                             char *err, size_t errlen)
{
	int r = rw_access_logs_open(tp->access_logs, tp->n_access_logs, &c->logs, err, errlen);

	if (r)
		return r;
	c->n_logs = tp->n_access_logs;
	if (gethostname(c->hostname, sizeof(c->hostname) - 1))
		snprintf(c->hostname, sizeof(c->hostname), "localhost");
	return 0;
}

void rw_tcp_proxy_config_fini(struct rw_tcp_proxy_config *c)
{
	rw_access_logs_close(c->logs, c->n_logs);
	c->logs = NULL;
	c->n_logs = 0;
}

/* ---- access log ---- */

/* A connection's addresses, fetched (a system call each) only when a format asks. */
struct tcp_log_ctx {
	struct tcp_session *t;
	uint64_t now_us;
	struct sockaddr_storage addr[3]; /* peer, local, upstream local */
	uint8_t have;                    /* bit i: addr[i] fetched (or failed: AF_UNSPEC) */
};

static const struct sockaddr_storage *log_addr(struct tcp_log_ctx *x, int which)
{
	struct rw_sock *s = which == 2 ? x->t->up : x->t->down;

	if (!(x->have & (1u << which))) {
		x->have |= (uint8_t)(1u << which);
		x->addr[which].ss_family = AF_UNSPEC;
		if (s && (which != 2 || (x->t->flags & TS_CONNECTED)) &&
		    (which == 0 ? rw_sock_peer_addr(s, &x->addr[which])
		                : rw_sock_local_addr(s, &x->addr[which])))
			x->addr[which].ss_family = AF_UNSPEC;
	}
	return &x->addr[which];
}

static bool op_is(const struct rw_format_op *op, const char *name)
{
	return rw_format_op_is(op, name);
}

static void log_var(void *ctx, struct rw_format_out *o, const struct rw_format_op *op)
{
	struct tcp_log_ctx *x = ctx;
	struct tcp_session *t = x->t;
	const struct sockaddr_storage *up = t->host ? &t->host->addr : NULL;
	char buf[96];

	if (op_is(op, "START_TIME"))
		rw_format_put_start_time(o, x->now_us - t->points[RW_PHASE_DS_RX_BEG], op->arg,
		                         op->arg_len);
	else if (op_is(op, "DURATION"))
		rw_format_put_ms(o, t->points[RW_PHASE_DS_RX_BEG], x->now_us);
	else if (op_is(op, "COMMON_DURATION"))
		rw_format_put_common_duration(o, t->points, op->arg, op->arg_len);
	else if (op_is(op, "BYTES_RECEIVED"))
		rw_format_put_u64(o, t->bytes_received);
	else if (op_is(op, "BYTES_SENT"))
		rw_format_put_u64(o, t->bytes_sent);
	else if (op_is(op, "RESPONSE_CODE"))
		rw_format_put(o, "0", 1); /* Envoy's value for a connection without HTTP */
	else if (op_is(op, "RESPONSE_FLAGS"))
		rw_format_put_str(o, rw_access_log_flags_format(t->rflags, buf, sizeof(buf)));
	else if (op_is(op, "UPSTREAM_HOST") || op_is(op, "UPSTREAM_REMOTE_ADDRESS"))
		rw_format_put_addr(o, up, RW_FORMAT_ADDR);
	else if (op_is(op, "UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT"))
		rw_format_put_addr(o, up, RW_FORMAT_ADDR_IP);
	else if (op_is(op, "UPSTREAM_CLUSTER"))
		rw_format_put_str(o, t->cfg->cluster ? t->cfg->cluster->name : NULL);
	else if (op_is(op, "UPSTREAM_LOCAL_ADDRESS"))
		rw_format_put_addr(o, log_addr(x, 2), RW_FORMAT_ADDR);
	else if (op_is(op, "UPSTREAM_TRANSPORT_FAILURE_REASON"))
		rw_format_put_str(o, t->failure);
	else if (op_is(op, "DOWNSTREAM_REMOTE_ADDRESS") ||
	         op_is(op, "DOWNSTREAM_DIRECT_REMOTE_ADDRESS"))
		rw_format_put_addr(o, log_addr(x, 0), RW_FORMAT_ADDR);
	else if (op_is(op, "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT") ||
	         op_is(op, "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT"))
		rw_format_put_addr(o, log_addr(x, 0), RW_FORMAT_ADDR_IP);
	else if (op_is(op, "DOWNSTREAM_REMOTE_PORT"))
		rw_format_put_addr(o, log_addr(x, 0), RW_FORMAT_ADDR_PORT);
	else if (op_is(op, "DOWNSTREAM_LOCAL_ADDRESS"))
		rw_format_put_addr(o, log_addr(x, 1), RW_FORMAT_ADDR);
	else if (op_is(op, "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT"))
		rw_format_put_addr(o, log_addr(x, 1), RW_FORMAT_ADDR_IP);
	else if (op_is(op, "DOWNSTREAM_LOCAL_PORT"))
		rw_format_put_addr(o, log_addr(x, 1), RW_FORMAT_ADDR_PORT);
	else if (op_is(op, "CONNECTION_ID"))
		rw_format_put_u64(o, t->id);
	else if (op_is(op, "HOSTNAME"))
		rw_format_put_str(o, t->cfg->hostname);
	/* Request, response, route and trace operators: a connection has none ("-"). */
}

static void session_log(struct tcp_session *t)
{
	struct tcp_log_ctx x = {.t = t, .now_us = rw_engine_now_us(t->w->eng)};
	struct rw_access_log_facts facts = {
	    .duration_ms = (x.now_us - t->points[RW_PHASE_DS_RX_BEG]) / 1000u,
	    .rflags = t->rflags,
	    .rng = &t->w->log_rng,
	};

	for (size_t i = 0; i < t->cfg->n_logs; i++)
		rw_access_log_write(t->w, &t->cfg->logs[i], &facts, log_var, &x);
}

/* The session's end in listener.<address>.* and, once a connect started, cluster.*. */
static void session_stats_end(struct tcp_session *t)
{
	uint64_t now = rw_engine_now_us(t->w->eng);
	const struct rw_stats_scope *cs = &t->cfg->cluster->stats;

	rw_gauge_dec(&t->cfg->lstats, RW_LS_DOWNSTREAM_CX_ACTIVE);
	rw_stat_inc(&t->cfg->lstats, RW_LS_DOWNSTREAM_CX_DESTROY);
	rw_stat_record(&t->cfg->lstats, RW_LH_DOWNSTREAM_CX_LENGTH_MS,
	               now - t->points[RW_PHASE_DS_RX_BEG]);
	if (!t->points[RW_PHASE_US_CX_BEG])
		return;
	rw_gauge_dec(cs, RW_CS_UPSTREAM_CX_ACTIVE);
	rw_stat_inc(cs, RW_CS_UPSTREAM_CX_DESTROY);
	rw_stat_record(cs, RW_CH_UPSTREAM_CX_LENGTH_MS, now - t->points[RW_PHASE_US_CX_BEG]);
}

static void session_close(struct tcp_session *t, const char *why)
{
	struct rw_engine *e = t->w->eng;

	rw_log_debug("tcp", "[C%llu] closing: %s", (unsigned long long)t->id, why);
	if (t->cfg->n_logs && t->points[RW_PHASE_DS_RX_BEG])
		session_log(t); /* before the sockets go: the addresses may be asked for */
	rw_timer_del(rw_engine_timers(e), &t->timer);
	session_stats_end(t);
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
	if (s == t->down) {
		t->bytes_received += len;
		rw_stat_add(&t->cfg->stats, RW_TS_DOWNSTREAM_CX_RX_BYTES_TOTAL, len);
	} else {
		rw_stat_add(&t->cfg->cluster->stats, RW_CS_UPSTREAM_CX_RX_BYTES_TOTAL, len);
		if (!t->points[RW_PHASE_US_RX_BEG])
			t->points[RW_PHASE_US_RX_BEG] = rw_engine_now_us(e);
		if (to)
			t->bytes_sent += len;
	}
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
		if (s == t->down)
			rw_stat_inc(&t->cfg->stats,
			            RW_TS_DOWNSTREAM_FLOW_CONTROL_PAUSED_READING_TOTAL);
	}
}

static void on_sent(struct rw_sock *s, void *ctx)
{
	struct tcp_session *t = ctx;
	struct rw_sock *from = peer_of(t, s);
	uint32_t paused = from == t->down ? TS_DOWN_PAUSED : TS_UP_PAUSED;

	t->last_activity = rw_engine_now_ms(t->w->eng);
	if (s == t->down)
		rw_stat_add(&t->cfg->stats, RW_TS_DOWNSTREAM_CX_TX_BYTES_TOTAL,
		            rw_sock_take_sent(s));
	else
		rw_stat_add(&t->cfg->cluster->stats, RW_CS_UPSTREAM_CX_TX_BYTES_TOTAL,
		            rw_sock_take_sent(s));
	if (from && (t->flags & paused) && rw_sock_out_bytes(s) <= limit_of(t, s) / 2) {
		t->flags &= ~paused;
		rw_sock_read_start(from);
		if (from == t->down)
			rw_stat_inc(&t->cfg->stats,
			            RW_TS_DOWNSTREAM_FLOW_CONTROL_RESUMED_READING_TOTAL);
	}
	maybe_finish(t);
}

static void on_eof(struct rw_sock *s, void *ctx)
{
	struct tcp_session *t = ctx;

	t->flags |= s == t->down ? TS_DOWN_EOF : TS_UP_EOF;
	t->points[s == t->down ? RW_PHASE_DS_RX_END : RW_PHASE_US_RX_END] =
	    rw_engine_now_us(t->w->eng);
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
		rw_cluster_connect_failed(t->cfg->cluster, t->host, false);
		/* Outlier detection sees TCP connect failures as local-origin failures (Envoy). */
		rw_outlier_report(t->host, RW_OUTLIER_CONNECT_FAILED);
		rw_log_debug("tcp", "[C%llu] upstream %s connect failed: %s",
		             (unsigned long long)t->id, t->host->name, strerror(-err));
		t->rflags |= RW_RF_UF;
		t->failure = rw_access_log_failure_reason(err);
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
		rw_cluster_connect_failed(t->cfg->cluster, t->host, true);
		rw_outlier_report(t->host, RW_OUTLIER_TIMEOUT);
		t->rflags |= RW_RF_UF;
		t->failure = "connect timeout";
		session_close(t, "upstream connect timeout");
		return;
	}
	/* The idle deadline is pushed lazily: activity only stamps last_activity. */
	if (now - t->last_activity < idle) {
		rw_timer_add(rw_engine_timers(t->w->eng), tm, idle - (now - t->last_activity),
		             on_timer, t);
		return;
	}
	rw_stat_inc(&t->cfg->stats, RW_TS_IDLE_TIMEOUT);
	session_close(t, "idle timeout");
}

static void on_connect(struct rw_sock *s, void *ctx)
{
	struct tcp_session *t = ctx;
	struct rw_engine *e = t->w->eng;

	(void)s;
	t->flags |= TS_CONNECTED;
	t->points[RW_PHASE_US_CX_END] = rw_engine_now_us(e);
	rw_stat_record(&t->cfg->cluster->stats, RW_CH_UPSTREAM_CX_CONNECT_MS,
	               t->points[RW_PHASE_US_CX_END] - t->points[RW_PHASE_US_CX_BEG]);
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
	t->points[RW_PHASE_DS_RX_BEG] = rw_engine_now_us(e);
	t->link.ops = &session_ops;
	rw_proxy_worker_track(t->w, &t->link);
	rw_stat_inc(&cfg->stats, RW_TS_DOWNSTREAM_CX_TOTAL);
	rw_stat_inc(&cfg->lstats, RW_LS_DOWNSTREAM_CX_TOTAL);
	rw_gauge_inc(&cfg->lstats, RW_LS_DOWNSTREAM_CX_ACTIVE);
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
		t->rflags |= RW_RF_UH;
		rw_stat_inc(&cfg->cluster->stats, RW_CS_UPSTREAM_CX_NONE_HEALTHY);
		session_close(t, "no healthy upstream");
		return;
	}
	atomic_fetch_add_explicit(&t->host->cx_total, 1, memory_order_relaxed);
	t->points[RW_PHASE_US_CX_BEG] = rw_engine_now_us(e);
	rw_stat_inc(&cfg->cluster->stats, RW_CS_UPSTREAM_CX_TOTAL);
	rw_gauge_inc(&cfg->cluster->stats, RW_CS_UPSTREAM_CX_ACTIVE);
	r = rw_sock_connect(e, (const struct sockaddr *)&t->host->addr, t->host->addrlen, &tcp_ops,
	                    t, &t->up);
	if (r) {
		rw_log_warn("tcp", "[C%llu] cannot open a socket to %s: %s",
		            (unsigned long long)t->id, t->host->name, strerror(-r));
		t->rflags |= RW_RF_UF;
		t->failure = rw_access_log_failure_reason(r);
		session_close(t, "upstream socket failure");
		return;
	}
	rw_timer_add(rw_engine_timers(e), &t->timer, cfg->cluster->connect_timeout_ms, on_timer, t);
	rw_sock_read_start(t->down);
	rw_sock_read_start(t->up);
	rw_log_debug("tcp", "[C%llu] new connection on %s -> %s", (unsigned long long)t->id,
	             cfg->listener_name, t->host->name);
}
