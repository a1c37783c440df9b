/*
 * Admin endpoints on their own thread and io_uring (see admin.h).  One request per
 * connection: the answer is written, the write side shut, the connection closed once the
 * client closes (or at once when it already did).  Bodies are built in a fixed per-request
 * buffer; an answer that does not fit is cut short with a note, never grows memory.
 */
#include "admin/admin.h"

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
#include "core/log.h"
#include "lb/cluster.h"
#include "lb/epoch.h"
#include "proto/h1.h"
#include "ring/engine.h"

#define BODY_MAX (256u * 1024u)

struct rw_admin {
	struct rw_admin_options opt;
	int fd;
	pthread_t thread;
	struct rw_engine *eng;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready;
	int init_result;
	char init_err[256];
	uint64_t start_ms;
	time_t start_wall;
	struct admin_conn *conns; /* open connections, closed when the thread stops */
};

struct admin_conn {
	struct admin_conn *next, *prev;
	struct rw_admin *a;
	struct rw_sock *sock;
	struct rw_chain in;
	struct rw_h1_parser parser;
	char method[16];
	char target[512];
	bool done;
	bool eof;
};

struct body {
	char *p;
	size_t len;
	bool cut;
};

__attribute__((format(printf, 2, 3))) static void put(struct body *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->cut)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, BODY_MAX - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= BODY_MAX - b->len) {
		b->cut = true;
		b->len = BODY_MAX - 1;
		return;
	}
	b->len += (size_t)n;
}

static const char *health_text(uint32_t h, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	if (!h)
		return "healthy";
	if (h & RW_HOST_FAILED_ACTIVE_HC)
		o += (size_t)snprintf(buf + o, len - o, "/failed_active_hc");
	if ((h & RW_HOST_PENDING_HC) && o < len)
		o += (size_t)snprintf(buf + o, len - o, "/pending_active_hc");
	if ((h & RW_HOST_EJECTED) && o < len)
		o += (size_t)snprintf(buf + o, len - o, "/failed_outlier_check");
	if ((h & RW_HOST_EDS_UNHEALTHY) && o < len)
		snprintf(buf + o, len - o, "/failed_eds_health");
	return buf;
}

/* Envoy's /clusters: "<cluster>::<host>::<stat>::<value>" lines, or ?format=json. */
static void clusters(struct rw_admin *a, struct body *b, bool json)
{
	if (json)
		put(b, "{\"cluster_statuses\":[");
	rw_lb_read_lock();
	for (size_t i = 0; i < a->opt.n_clusters; i++) {
		struct rw_cluster *c = a->opt.clusters[i];
		struct rw_host_set *set = atomic_load_explicit(&c->hosts, memory_order_acquire);
		size_t n = set ? set->n : 0;

		if (json)
			put(b, "%s{\"name\":\"%s\",\"host_statuses\":[", i ? "," : "", c->name);
		for (size_t k = 0; k < n; k++) {
			struct rw_host *h = set->hosts[k];
			uint32_t hf = atomic_load_explicit(&h->health, memory_order_relaxed);
			char flags[96];
			long long cx =
			    (long long)atomic_load_explicit(&h->cx_active, memory_order_relaxed);
			unsigned long long total =
			    atomic_load_explicit(&h->cx_total, memory_order_relaxed);
			unsigned long long fail =
			    atomic_load_explicit(&h->cx_connect_fail, memory_order_relaxed);
			unsigned rq = atomic_load_explicit(&h->rq_active, memory_order_relaxed);

			health_text(hf, flags, sizeof(flags));
			if (json) {
				put(b,
				    "%s{\"address\":\"%s\",\"cx_active\":%lld,\"cx_total\":%llu,"
				    "\"cx_connect_fail\":%llu,\"rq_active\":%u,\"weight\":%u,"
				    "\"priority\":%u,\"health_flags\":\"%s\"}",
				    k ? "," : "", h->name, cx, total, fail, rq, h->weight,
				    h->priority, hf ? flags : "healthy");
				continue;
			}
			put(b, "%s::%s::cx_active::%lld\n", c->name, h->name, cx);
			put(b, "%s::%s::cx_total::%llu\n", c->name, h->name, total);
			put(b, "%s::%s::cx_connect_fail::%llu\n", c->name, h->name, fail);
			put(b, "%s::%s::rq_active::%u\n", c->name, h->name, rq);
			put(b, "%s::%s::health_flags::%s\n", c->name, h->name,
			    hf ? flags : "healthy");
			put(b, "%s::%s::weight::%u\n", c->name, h->name, h->weight);
			put(b, "%s::%s::priority::%u\n", c->name, h->name, h->priority);
		}
		if (json)
			put(b, "]}");
	}
	rw_lb_read_unlock();
	if (json)
		put(b, "]}\n");
}

static void respond(struct admin_conn *ac, uint16_t status, const char *type, struct body *b)
{
	struct rw_chain *out = rw_sock_out(ac->sock);
	struct rw_buf_pool *pool = rw_engine_pool(ac->a->eng);
	char head[256];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %u %s\r\ncontent-type: %s\r\ncontent-length: %zu\r\n"
	                 "cache-control: no-cache, max-age=0\r\nx-content-type-options: nosniff\r\n"
	                 "connection: close\r\n\r\n",
	                 status,
	                 status == 200   ? "OK"
	                 : status == 404 ? "Not Found"
	                                 : "Error",
	                 type, b->len);

	if (rw_chain_append_copy(out, pool, head, (size_t)n) ||
	    (b->len && rw_chain_append_copy(out, pool, b->p, b->len))) {
		rw_sock_close(ac->sock);
		ac->sock = NULL;
		return;
	}
	rw_sock_flush(ac->sock);
	rw_sock_shutdown_write(ac->sock);
}

static void handle(struct admin_conn *ac)
{
	struct rw_admin *a = ac->a;
	struct body b = {.p = malloc(BODY_MAX)};
	char query[256] = "";
	char *q = strchr(ac->target, '?');
	bool post = strcmp(ac->method, "POST") == 0;
	bool json = q && strstr(q, "format=json");

	if (!b.p) {
		rw_sock_close(ac->sock);
		ac->sock = NULL;
		return;
	}
	if (q) {
		/* Keep the query, cut the path. */
		snprintf(query, sizeof(query), "%s", q);
		*q = '\0';
		q = query;
	}
	if (strcmp(ac->target, "/ready") == 0) {
		put(&b, "LIVE\n");
		respond(ac, 200, "text/plain", &b);
	} else if (strcmp(ac->target, "/server_info") == 0) {
		char started[64];
		struct tm tm;

		gmtime_r(&a->start_wall, &tm);
		strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
		put(&b,
		    "{\"version\":\"%s\",\"state\":\"LIVE\",\"uptime_current_epoch\":\"%llus\","
		    "\"uptime_all_epochs\":\"%llus\",\"command_line_options\":{\"concurrency\":%d},"
		    "\"node\":{},\"start_time\":\"%s\"}\n",
		    a->opt.version, (unsigned long long)((rw_clock_ms() - a->start_ms) / 1000),
		    (unsigned long long)((rw_clock_ms() - a->start_ms) / 1000), a->opt.concurrency,
		    started);
		respond(ac, 200, "application/json", &b);
	} else if (strcmp(ac->target, "/clusters") == 0) {
		clusters(a, &b, json);
		respond(ac, 200, json ? "application/json" : "text/plain", &b);
	} else if (strcmp(ac->target, "/quitquitquit") == 0) {
		if (!post) {
			put(&b, "This endpoint requires POST.\n");
			respond(ac, 405, "text/plain", &b);
		} else {
			put(&b, "OK\n");
			respond(ac, 200, "text/plain", &b);
			rw_log_info("admin", "POST /quitquitquit: shutting down");
			kill(getpid(), SIGTERM); /* the main thread drains, as for a signal */
		}
	} else if (strcmp(ac->target, "/logging") == 0) {
		/* Envoy's /logging: POST ?level=<name> changes it; the level is one atomic. */
		const char *lv = q ? strstr(q + 1, "level=") : NULL;
		uint16_t status = 200;

		if (lv && !post) {
			put(&b, "This endpoint requires POST.\n");
			status = 405;
		} else if (lv) {
			char name[16];
			size_t n = strcspn(lv + 6, "&");
			int level;

			snprintf(name, sizeof(name), "%.*s", (int)(n < 15 ? n : 15), lv + 6);
			level = rw_log_level_parse(name);
			if (level < 0) {
				put(&b, "error: unknown level '%s'\n", name);
				status = 400;
			} else {
				atomic_store(&rw_log_level_current, level);
				rw_log_info("admin", "log level set to %s", name);
			}
		}
		if (status == 200)
			put(&b, "active loggers:\n  all: %s\n",
			    rw_log_level_name(
				(enum rw_log_level)atomic_load(&rw_log_level_current)));
		respond(ac, status, "text/plain", &b);
	} else if (strcmp(ac->target, "/help") == 0 || strcmp(ac->target, "/") == 0) {
		put(&b, "admin commands are:\n"
		        "  /clusters: upstream cluster status (?format=json)\n"
		        "  /help: print out list of admin commands\n"
		        "  /logging (POST ?level=trace|debug|info|warning|error|critical|off): "
		        "change the log level\n"
		        "  /quitquitquit (POST): exit the server\n"
		        "  /ready: print server state, return 200 if LIVE\n"
		        "  /server_info: print server version/status information\n");
		respond(ac, 200, "text/plain", &b);
	} else {
		put(&b, "invalid path. admin commands are: /clusters /help /quitquitquit /ready "
		        "/server_info\n");
		respond(ac, 404, "text/plain", &b);
	}
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
		struct body bd = {.p = (char[64]){0}};

		snprintf(bd.p, 64, "bad request\n");
		bd.len = strlen(bd.p);
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
		r = rw_engine_listen(a->eng, a->fd, on_accept, a);
		if (r)
			snprintf(a->init_err, sizeof(a->init_err), "listen: %s", strerror(-r));
		else
			a->fd = -1; /* the engine owns it */
	}
	set_ready(a, r);
	if (!r)
		rw_engine_run(a->eng);
	if (a->eng)
		rw_engine_destroy(a->eng);
	a->eng = NULL;
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
	r = rw_listen_socket((const struct sockaddr *)&opt->addr->ss, opt->addr->len, 128, &a->fd,
	                     &bound);
	if (r) {
		snprintf(err, errlen, "cannot listen on %s: %s",
		         rw_config_addr_format(opt->addr, addr, sizeof(addr)), strerror(-r));
		free(a);
		return r;
	}
	memcpy(&shown.ss, &bound, sizeof(bound));
	shown.len = opt->addr->len;
	if (pthread_create(&a->thread, NULL, thread_main, a)) {
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
