/*
 * Echo sessions: received slices are queued, by reference, on the same socket's outgoing
 * chain.  Reading pauses while more than the buffer limit is unsent (a client that writes
 * without reading cannot grow us), and a FIN is answered with a FIN once all is echoed.
 */
#include "proxy/echo.h"

#include <stdbool.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/log.h"
#include "proxy/stats.h"
#include "proxy/worker.h"
#include "ring/engine.h"

struct echo_session {
	struct rw_session_link link; /* first: the worker's list points here */
	struct rw_proxy_worker *w;
	const struct rw_echo_config *cfg;
	struct rw_sock *sock;
	uint64_t start_us;
	bool paused;
	bool eof;
};

static void echo_close(struct echo_session *s)
{
	const struct rw_stats_scope *ls = &s->cfg->lstats;

	rw_gauge_dec(ls, RW_LS_DOWNSTREAM_CX_ACTIVE);
	rw_stat_inc(ls, RW_LS_DOWNSTREAM_CX_DESTROY);
	rw_stat_record(ls, RW_LH_DOWNSTREAM_CX_LENGTH_MS,
	               rw_engine_now_us(s->w->eng) - s->start_us);
	rw_sock_close(s->sock);
	rw_proxy_worker_untrack(s->w, &s->link);
	free(s);
}

static void link_close(struct rw_session_link *l);
static const struct rw_session_ops session_ops = {.close = link_close};

static void link_close(struct rw_session_link *l)
{
	echo_close((struct echo_session *)l);
}

static void on_data(struct rw_sock *sock, void *ctx, struct rw_buf *b, uint32_t off, uint32_t len)
{
	struct echo_session *s = ctx;

	if (rw_chain_append_recv(rw_sock_out(sock), rw_engine_pool(s->w->eng), b, off, len) < 0) {
		echo_close(s);
		return;
	}
	rw_sock_flush(sock);
	if (!s->paused && rw_sock_out_bytes(sock) > s->cfg->buffer_limit) {
		s->paused = true;
		rw_sock_read_stop(sock);
	}
}

static void on_sent(struct rw_sock *sock, void *ctx)
{
	struct echo_session *s = ctx;

	if (s->paused && rw_sock_out_bytes(sock) <= s->cfg->buffer_limit / 2) {
		s->paused = false;
		rw_sock_read_start(sock);
	}
	if (s->eof && rw_sock_flushed(sock))
		echo_close(s);
}

static void on_eof(struct rw_sock *sock, void *ctx)
{
	struct echo_session *s = ctx;

	s->eof = true;
	rw_sock_shutdown_write(sock);
	if (rw_sock_flushed(sock))
		echo_close(s);
}

static void on_error(struct rw_sock *sock, void *ctx, int err)
{
	(void)sock;
	(void)err;
	echo_close(ctx);
}

static const struct rw_sock_ops echo_ops = {
    .on_data = on_data,
    .on_eof = on_eof,
    .on_error = on_error,
    .on_sent = on_sent,
};

void rw_echo_accept(struct rw_engine *e, void *ctx, int fd)
{
	struct rw_echo_listener *el = ctx;
	struct echo_session *s = calloc(1, sizeof(*s));

	if (!s) {
		rw_log_warn("echo", "out of memory: dropping a connection on %s",
		            el->cfg->listener_name);
		rw_fd_close(fd);
		return;
	}
	s->w = el->worker;
	s->cfg = el->cfg;
	s->link.ops = &session_ops;
	s->sock = rw_sock_adopt(e, fd, &echo_ops, s);
	if (!s->sock) {
		free(s);
		return;
	}
	rw_proxy_worker_track(s->w, &s->link);
	s->start_us = rw_engine_now_us(e);
	rw_stat_inc(&s->cfg->lstats, RW_LS_DOWNSTREAM_CX_TOTAL);
	rw_gauge_inc(&s->cfg->lstats, RW_LS_DOWNSTREAM_CX_ACTIVE);
	rw_sock_read_start(s->sock);
}
