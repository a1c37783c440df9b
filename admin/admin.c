/*
 * Admin endpoints on their own thread and io_uring (see admin.h).  One request per
 * connection: the answer is written, the write side shut, the connection closed once the
 * client closes (or at once when it already did).  Bodies grow up to a cap
 * (RW_ADMIN_BODY_MAX); an answer past it is cut short and logged, never grows memory further.
 * The endpoints live in their own files (admin/internal.h lists them).
 */
#include "admin/admin.h"
#include "admin/internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/hex.h"
#include "core/log.h"
#include "lb/cluster.h"
#include "lb/epoch.h"
#include "proto/h1.h"
#include "ring/engine.h"

/* One request per connection (Envoy's admin closes too): parsed, answered, closed. */
struct admin_conn {
	struct admin_conn *next, *prev;
	struct rw_admin *a;
	struct rw_sock *sock;
	struct rw_chain in;
	struct rw_h1_parser parser;
	char method[16];
	char target[2048];
	bool done;
	bool eof;
};

static const struct admin_endpoint endpoints[] = {
    {"/", rw__admin_dashboard, false, "admin home page (live dashboard)"},
    {"/clusters", rw__admin_clusters, false, "upstream cluster status (?format=json)"},
    {"/config_dump", rw__admin_config_dump, false,
     "dump the current config as JSON (?resource=, ?name_regex=, ?mask=)"},
    {"/drain_listeners", rw__admin_drain_listeners, true,
     "stop accepting on all listeners; open connections go on (?graceful: they close after "
     "their next response; ?inboundonly: all listeners)"},
    {"/healthcheck/fail", rw__admin_healthcheck_fail, true,
     "cause the server to fail health checks"},
    {"/healthcheck/ok", rw__admin_healthcheck_ok, true, "cause the server to pass health checks"},
    {"/listeners", rw__admin_listeners, false, "print listener info (?format=json)"},
    {"/logging", rw__admin_logging, false,
     "query/change logging levels (POST ?level=trace|debug|info|warning|error|critical|off)"},
    {"/memory", rw__admin_memory, false, "print current allocation/heap usage (JSON)"},
    {"/quitquitquit", rw__admin_quit, true, "exit the server"},
    {"/ready", rw__admin_ready, false, "print server state, return 200 if LIVE"},
    {"/reopen_logs", rw__admin_reopen_logs, true,
     "reopen the access log files (after a log rotation; also SIGUSR1)"},
    {"/reset_counters", rw__admin_reset_counters, true, "reset all counters to zero"},
    {"/server_info", rw__admin_server_info, false, "print server version/status information"},
    {"/stats", rw__admin_stats, false,
     "print server stats (?format=json, ?filter=<regex>, ?usedonly, "
     "?type=Counters|Gauges|Histograms)"},
    {"/stats/prometheus", rw__admin_prometheus, false,
     "print server stats in prometheus format (?usedonly, ?filter=<regex>)"},
};

static void grow(struct admin_body *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	while (cap < b->len + need + 1 && cap < RW_ADMIN_BODY_MAX)
		cap *= 2;
	if (cap > RW_ADMIN_BODY_MAX)
		cap = RW_ADMIN_BODY_MAX;
	if (cap == b->cap)
		return;
	p = realloc(b->p, cap);
	if (!p)
		return;
	b->p = p;
	b->cap = cap;
}

void rw__admin_put_mem(struct admin_body *b, const void *p, size_t len)
{
	if (b->cut)
		return;
	if (b->len + len + 1 > b->cap)
		grow(b, len);
	if (b->len + len + 1 > b->cap) {
		b->cut = true;
		return;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void rw__admin_put(struct admin_body *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		rw__admin_put_mem(b, small, (size_t)n);
		return;
	}
	if (b->cut)
		return;
	grow(b, (size_t)n);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cut = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void rw__admin_put_json_str(struct admin_body *b, const char *s)
{
	rw__admin_put_mem(b, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			char esc[2] = {'\\', (char)ch};

			rw__admin_put_mem(b, esc, 2);
		} else if (ch < 0x20) {
			rw__admin_put(b, "\\u%04x", ch);
		} else {
			rw__admin_put_mem(b, s, 1);
		}
	}
	rw__admin_put_mem(b, "\"", 1);
}

bool rw__admin_query(const struct admin_req *r, const char *key, char *val, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = r->query; *p;) {
		size_t n = strcspn(p, "&");

		if (strncmp(p, key, klen) == 0 && (p[klen] == '=' || klen == n)) {
			const char *v = p[klen] == '=' ? p + klen + 1 : p + klen;
			const char *end = p + n;
			size_t o = 0;

			while (v < end && o + 1 < len) {
				if (*v == '%' && end - v >= 3 && rw_hex_value(v[1]) >= 0 &&
				    rw_hex_value(v[2]) >= 0) {
					val[o++] =
					    (char)(rw_hex_value(v[1]) * 16 + rw_hex_value(v[2]));
					v += 3;
				} else {
					val[o++] = *v == '+' ? ' ' : *v;
					v++;
				}
			}
			if (len)
				val[o] = '\0';
			return true;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return false;
}

static const char *reason(uint16_t status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

static void respond(struct admin_conn *ac, uint16_t status, const char *type,
                    const struct admin_body *b)
{
	struct rw_chain *out = rw_sock_out(ac->sock);
	struct rw_buf_pool *pool = rw_engine_pool(ac->a->eng);
	char head[320];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %u %s\r\ncontent-type: %s\r\ncontent-length: %zu\r\n"
	                 "cache-control: no-cache, max-age=0\r\nx-content-type-options: nosniff\r\n"
	                 "connection: close\r\n\r\n",
	                 status, reason(status), type, b->len);

	if (rw_chain_append_copy(out, pool, head, (size_t)n) ||
	    (b->len && rw_chain_append_copy(out, pool, b->p, b->len))) {
		rw_sock_close(ac->sock);
		ac->sock = NULL;
		return;
	}
	rw_sock_flush(ac->sock);
	rw_sock_shutdown_write(ac->sock);
}

static uint16_t help(struct admin_body *b)
{
	rw__admin_put(b, "admin commands are:\n");
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
		rw__admin_put(b, "  %s%s: %s\n", endpoints[i].path,
		              endpoints[i].mutating ? " (POST)" : "", endpoints[i].help);
	rw__admin_put(b, "  /help: print out list of admin commands\n");
	return 200;
}

static void handle(struct admin_conn *ac)
{
	struct admin_body b = {0};
	struct admin_req r = {.method = ac->method, .path = ac->target, .query = ""};
	char *q = strchr(ac->target, '?');
	const char *type = "text/plain";
	uint16_t status = 404;
	bool found = false;

	if (q) {
		*q = '\0';
		r.query = q + 1;
	}
	r.post = strcmp(ac->method, "POST") == 0;
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		if (strcmp(endpoints[i].path, r.path))
			continue;
		found = true;
		if (endpoints[i].mutating && !r.post) {
			rw__admin_put(&b, "This endpoint requires POST.\n");
			status = 405;
		} else {
			status = endpoints[i].fn(ac->a, &r, &b, &type);
		}
		break;
	}
	if (!found && (strcmp(r.path, "/help") == 0)) {
		status = help(&b);
		found = true;
	}
	if (!found) {
		rw__admin_put(&b, "invalid path. ");
		help(&b);
		status = 404;
	}
	if (b.cut)
		rw_log_warn("admin", "%s: answer cut at %zu bytes", r.path, b.len);
	respond(ac, status, type, &b);
	free(b.p);
}

static int on_request_line(void *ctx, const struct rw_h1_request_line *rl)
{
	struct admin_conn *ac = ctx;
	size_t n = rw_span_copy(&rl->method, ac->method, sizeof(ac->method) - 1);

	ac->method[n] = '\0';
	n = rw_span_copy(&rl->path, ac->target, sizeof(ac->target) - 1);
	ac->target[n] = '\0';
	return 0;
}

static int on_message_complete(void *ctx)
{
	((struct admin_conn *)ctx)->done = true;
	return 0;
}

static const struct rw_h1_callbacks cbs = {
    .on_request_line = on_request_line,
    .on_message_complete = on_message_complete,
};

static void conn_free(struct admin_conn *ac)
{
	if (ac->prev)
		ac->prev->next = ac->next;
	else
		ac->a->conns = ac->next;
	if (ac->next)
		ac->next->prev = ac->prev;
	if (ac->sock)
		rw_sock_close(ac->sock);
	rw_chain_reset(&ac->in);
	free(ac);
}

static void on_data(struct rw_sock *s, void *ctx, struct rw_buf *b, uint32_t off, uint32_t len)
{
	struct admin_conn *ac = ctx;
	ssize_t n;

	(void)s;
	if (ac->done)
		return; /* one request per connection: the rest is ignored */
	if (rw_chain_append_buf(&ac->in, b, off, len)) {
		conn_free(ac);
		return;
	}
	while ((n = rw_h1_parse(&ac->parser, &ac->in, &cbs, ac)) > 0) {
		rw_chain_consume(&ac->in, (size_t)n);
		if (ac->done) {
			rw_sock_read_stop(ac->sock);
			handle(ac);
			if (!ac->sock)
				conn_free(ac);
			return;
		}
	}
	if (n < 0 || ac->in.bytes > 65536) {
		char text[] = "bad request\n";
		struct admin_body bd = {.p = text, .len = sizeof(text) - 1};

		ac->done = true;
		respond(ac, 400, "text/plain", &bd);
		if (!ac->sock)
			conn_free(ac);
	}
}

static void on_eof(struct rw_sock *s, void *ctx)
{
	struct admin_conn *ac = ctx;

	(void)s;
	ac->eof = true;
	if (!ac->done || rw_sock_flushed(ac->sock))
		conn_free(ac);
}

static void on_error(struct rw_sock *s, void *ctx, int err)
{
	(void)s;
	(void)err;
	conn_free(ctx);
}

static void on_sent(struct rw_sock *s, void *ctx)
{
	struct admin_conn *ac = ctx;

	(void)s;
	if (ac->done && ac->eof && rw_sock_flushed(ac->sock))
		conn_free(ac);
}

static const struct rw_sock_ops conn_ops = {
    .on_data = on_data, .on_eof = on_eof, .on_error = on_error, .on_sent = on_sent};

static void on_accept(struct rw_engine *e, void *ctx, int fd)
{
	struct admin_conn *ac = calloc(1, sizeof(*ac));

	if (!ac) {
		rw_fd_close(fd);
		return;
	}
	ac->a = ctx;
	ac->next = ac->a->conns;
	if (ac->next)
		ac->next->prev = ac;
	ac->a->conns = ac;
	rw_h1_parser_init(&ac->parser, RW_H1_REQUEST, NULL);
	ac->sock = rw_sock_adopt(e, fd, &conn_ops, ac);
	if (!ac->sock) {
		conn_free(ac);
		return;
	}
	rw_sock_read_start(ac->sock);
}

/* Stopping: close every connection so the loop can end. */
static void on_stop(void *ctx)
{
	struct rw_admin *a = ctx;

	rw__admin_flush_stop(a);
	while (a->conns)
		conn_free(a->conns);
}

static void set_ready(struct rw_admin *a, int r)
{
	pthread_mutex_lock(&a->lock);
	a->init_result = r;
	a->ready = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static void *thread_main(void *arg)
{
	struct rw_admin *a = arg;
	struct rw_engine_options eo = {
	    .buf_size = 16384, .buf_entries = 64, .sq_entries = 256, .worker_id = -1};
	int r = rw_lb_epoch_register();

	if (r)
		snprintf(a->init_err, sizeof(a->init_err), "no free host-set reader slot");
	else
		r = rw_engine_create(&eo, &a->eng, a->init_err, sizeof(a->init_err));
	if (!r) {
		rw_engine_set_drain_start_cb(a->eng, on_stop, a);
		/* Without admin.address the thread only runs the stats flush and sinks. */
		r = a->fd < 0 ? 0 : rw_engine_listen(a->eng, a->fd, on_accept, a);
		if (r)
			snprintf(a->init_err, sizeof(a->init_err), "listen: %s", strerror(-r));
		else
			a->fd = -1; /* the engine owns it */
	}
	if (!r)
		r = rw__admin_flush_start(a); /* stats intervals and sinks */
	set_ready(a, r);
	if (!r)
		rw_engine_run(a->eng);
	if (a->eng)
		rw_engine_destroy(a->eng);
	a->eng = NULL;
	rw__admin_flush_free(a);
	rw_lb_epoch_unregister();
	return NULL;
}

int rw_admin_start(const struct rw_admin_options *opt, struct rw_admin **out, char *err,
                   size_t errlen)
{
	struct rw_admin *a = calloc(1, sizeof(*a));
	struct sockaddr_storage bound;
	struct rw_config_addr shown;
	char addr[128];
	int r;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->opt = *opt;
	a->start_ms = rw_clock_ms();
	a->start_wall = time(NULL);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->fd = -1;
	r = opt->addr ? rw_listen_socket((const struct sockaddr *)&opt->addr->ss, opt->addr->len,
	                                 128, &a->fd, &bound)
	              : 0;
	if (r) {
		snprintf(err, errlen, "cannot listen on %s: %s",
		         rw_config_addr_format(opt->addr, addr, sizeof(addr)), strerror(-r));
		free(a);
		return r;
	}
	if (opt->addr) {
		memcpy(&shown.ss, &bound, sizeof(bound));
		shown.len = opt->addr->len;
	}
	if (pthread_create(&a->thread, NULL, thread_main, a)) {
		if (a->fd >= 0)
			rw_fd_close(a->fd);
		free(a);
		snprintf(err, errlen, "cannot start the admin thread");
		return -EAGAIN;
	}
	pthread_mutex_lock(&a->lock);
	while (!a->ready)
		pthread_cond_wait(&a->cond, &a->lock);
	pthread_mutex_unlock(&a->lock);
	if (a->init_result) {
		r = a->init_result;
		snprintf(err, errlen, "%s", a->init_err);
		pthread_join(a->thread, NULL);
		if (a->fd >= 0)
			rw_fd_close(a->fd);
		free(a);
		return r;
	}
	if (opt->addr)
		rw_log_info("main", "listener 'admin' listening on %s",
		            rw_config_addr_format(&shown, addr, sizeof(addr)));
	*out = a;
	return 0;
}

void rw_admin_stop(struct rw_admin *a)
{
	if (!a)
		return;
	rw_engine_drain(a->eng, 0);
	pthread_join(a->thread, NULL);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a);
}
