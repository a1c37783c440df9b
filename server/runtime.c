/*
 * Start-up and shutdown.
 *
 * Listening sockets are all opened by the main thread before any worker starts, so a bad
 * address fails the start-up with a clear message instead of killing one worker later, and
 * port 0 resolves once: the first socket's kernel-chosen port is reused by the other
 * workers' SO_REUSEPORT sockets.  Each worker then creates its own io_uring (SINGLE_ISSUER
 * wants the creating thread to be the submitting one) and reports back before the main
 * thread announces readiness and waits for signals.
 *
 * Clusters (and their DNS) live in server/clusters.c; like Envoy's init manager, start-up
 * waits (bounded) for every DNS cluster's first answers before announcing "started".
 */
#include "server/runtime.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "admin/admin.h"
#include "config/config.h"
#include "core/log.h"
#include "health/checker.h"
#include "lb/epoch.h"
#include "proxy/access_log.h"
#include "proxy/echo.h"
#include "proxy/http.h"
#include "proxy/stats.h"
#include "proxy/tcp_proxy.h"
#include "proxy/worker.h"
#include "ring/engine.h"
#include "server/clusters.h"
#include "server/options.h"
#include "server/outlier.h"
#include "server/stats.h"
#include "stats/stats.h"

#define LISTEN_BACKLOG 4096
/* Longest start-up wait for first DNS answers: c-ares' first-try timeout per server. */
#define DNS_INIT_WAIT_MS 5000

struct listener_rt {
	const struct rw_config_listener *cfg;
	struct rw_tcp_proxy_config tcp; /* when the terminal filter is tcp_proxy */
	struct rw_echo_config echo;     /* when it is echo */
	struct rw_http_config *http;    /* when it is an HTTP connection manager */
	enum rw_config_filter_kind kind;
	int *fds;                    /* one per worker */
	struct rw_config_addr bound; /* port 0 resolved (admin /listeners) */
};

struct worker_rt {
	struct server *srv;
	int id;
	pthread_t thread;
	struct rw_engine *eng;
	struct rw_proxy_worker pw;
	struct rw_tcp_proxy_listener *tcp_ctx; /* per listener */
	struct rw_echo_listener *echo_ctx;
	struct rw_http_listener *http_ctx;
	int init_result;
	char init_err[256];
	bool reported; /* setup finished (eng is set), under srv->lock */
};

struct server {
	const struct rw_options *opt;
	struct rw_clusters *clusters;
	struct rw_outlier_driver *outlier; /* NULL when no cluster has outlier_detection */
	/* Active health checks; NULL when no cluster has any. */
	struct rw_health *health;
	struct rw_admin *admin;
	struct rw_cluster **admin_clusters;
	struct rw_admin_listener *admin_listeners;
	/* POST /drain_listeners: 1 stop accepting, 2 graceful; workers that start later apply it */
	int listeners_stopped;
	struct listener_rt *listeners;
	size_t n_listeners;
	struct worker_rt *workers;
	int n_workers;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	int n_ready;
	int n_exited;
	bool worker_failed;
};

static void raise_nofile(void)
{
	struct rlimit rl;

	/* Two descriptors per proxied connection: the soft default of 1024 is far too low. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static struct rw_cluster *lookup_cluster(void *ctx, const char *name)
{
	return rw_clusters_find(ctx, name);
}

/* One checker thread for every cluster with health_checks; started before the workers so
 * they begin with the first round's results (Envoy's cluster warming). */
static int start_health(struct server *s, const struct rw_config *cfg)
{
	struct rw_health_target *t = calloc(cfg->n_clusters ? cfg->n_clusters : 1, sizeof(*t));
	char err[256];
	int r;

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_clusters; i++) {
		t[i].cluster = rw_clusters_find(s->clusters, cfg->clusters[i].name);
		t[i].cfg = &cfg->clusters[i];
	}
	r = rw_health_start(&s->health, t, cfg->n_clusters, err, sizeof(err));
	free(t);
	if (r)
		rw_log_error("main", "cannot start health checking: %s", err);
	return r;
}

/*
 * POST /drain_listeners, on the admin thread: every running worker's engine is asked to
 * close its listening sockets (an atomic and an eventfd write each, never blocking); a
 * worker still starting applies it when it reports ready.  The process keeps running.
 */
static void drain_listeners(void *ctx, bool graceful)
{
	struct server *s = ctx;
	int want = graceful ? 2 : 1;

	pthread_mutex_lock(&s->lock);
	if (s->listeners_stopped < want)
		s->listeners_stopped = want;
	for (int w = 0; w < s->n_workers; w++)
		if (s->workers[w].reported && !s->workers[w].init_result)
			rw_engine_stop_listening(s->workers[w].eng, graceful);
	pthread_mutex_unlock(&s->lock);
}

/* The admin listener, on its own thread, when the bootstrap has admin.address. */
static int start_admin(struct server *s, const struct rw_config *cfg)
{
	size_t n = rw_clusters_count(s->clusters);
	struct rw_admin_options ao = {.addr = cfg->admin.present ? &cfg->admin.addr : NULL,
	                              .concurrency = s->opt->concurrency,
	                              .version = RW_VERSION,
	                              .config = cfg,
	                              .n_listeners = s->n_listeners,
	                              .drain_listeners = drain_listeners,
	                              .drain_ctx = s,
	                              .reopen_logs = rw_access_logs_reopen};
	struct rw_cluster **cl;
	char err[256];
	int r;

	if (!cfg->admin.present && !cfg->n_stats_sinks)
		return 0;
	cl = calloc(n ? n : 1, sizeof(*cl));
	s->admin_listeners =
	    calloc(s->n_listeners ? s->n_listeners : 1, sizeof(*s->admin_listeners));
	if (!cl || !s->admin_listeners) {
		free(cl);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		cl[i] = rw_clusters_at(s->clusters, i);
	for (size_t i = 0; i < s->n_listeners; i++) {
		s->admin_listeners[i].name = s->listeners[i].cfg->name;
		s->admin_listeners[i].addr = &s->listeners[i].bound;
	}
	s->admin_clusters = cl;
	ao.clusters = cl;
	ao.n_clusters = n;
	ao.listeners = s->admin_listeners;
	r = rw_admin_start(&ao, &s->admin, err, sizeof(err));
	if (r)
		rw_log_error("main", "admin: %s", err);
	return r;
}

/* listener.<address>.* (Envoy writes the address with '_' for ':'), and tcp.<prefix>.*. */
static int register_listener_stats(struct listener_rt *l, const char *bound)
{
	struct rw_stats_scope *ls = &l->echo.lstats;
	char name[128];
	int r;

	snprintf(name, sizeof(name), "%s", bound);
	for (char *p = name; *p; p++)
		if (*p == ':')
			*p = '_';
	if (l->kind == RW_CONFIG_FILTER_TCP_PROXY) {
		r = rw_tcp_stats_register(l->tcp.stat_prefix, &l->tcp.stats);
		if (r)
			return r;
		ls = &l->tcp.lstats;
	} else if (l->kind == RW_CONFIG_FILTER_HTTP_CONNECTION_MANAGER) {
		ls = rw_http_config_listener_stats(l->http);
	}
	return rw_listener_stats_register(name, ls);
}

static int open_listeners(struct server *s, const struct rw_config *cfg)
{
	struct sockaddr_storage bound;
	char addr[128];
	size_t i;
	int w, r;

	s->listeners = calloc(cfg->n_listeners ? cfg->n_listeners : 1, sizeof(*s->listeners));
	if (!s->listeners)
		return -ENOMEM;
	s->n_listeners = cfg->n_listeners;
	for (i = 0; i < cfg->n_listeners; i++) {
		const struct rw_config_listener *lc = &cfg->listeners[i];
		struct listener_rt *l = &s->listeners[i];
		const struct rw_config_filter *f =
		    &lc->chains[0].filters[lc->chains[0].n_filters - 1];
		struct rw_config_addr a = lc->addr;
		char err[256];

		l->cfg = lc;
		l->kind = f->kind;
		if (f->kind == RW_CONFIG_FILTER_TCP_PROXY) {
			l->tcp.stat_prefix = f->u.tcp_proxy.stat_prefix;
			l->tcp.listener_name = lc->name;
			l->tcp.cluster = rw_clusters_find(s->clusters, f->u.tcp_proxy.cluster);
			l->tcp.idle_timeout_ms = f->u.tcp_proxy.idle_timeout_ms;
			l->tcp.down_buffer_limit = lc->buffer_limit;
			r = rw_tcp_proxy_config_logs(&l->tcp, &f->u.tcp_proxy, err, sizeof(err));
			if (r) {
				rw_log_error("main", "listener '%s': %s", lc->name, err);
				return r;
			}
		} else if (f->kind == RW_CONFIG_FILTER_HTTP_CONNECTION_MANAGER) {
			r = rw_http_config_build(&f->u.hcm, lc->name, lc->buffer_limit,
			                         lookup_cluster, s->clusters, &l->http, err,
			                         sizeof(err));
			if (r) {
				rw_log_error("main", "listener '%s': %s", lc->name, err);
				return r;
			}
		} else {
			l->echo.listener_name = lc->name;
			l->echo.buffer_limit = lc->buffer_limit;
		}
		l->fds = malloc(sizeof(int) * (size_t)s->n_workers);
		if (!l->fds)
			return -ENOMEM;
		for (w = 0; w < s->n_workers; w++) {
			r = rw_listen_socket((struct sockaddr *)&a.ss, a.len, LISTEN_BACKLOG,
			                     &l->fds[w], &bound);
			if (r) {
				rw_log_error("main", "listener '%s': cannot listen on %s: %s",
				             lc->name,
				             rw_config_addr_format(&lc->addr, addr, sizeof(addr)),
				             strerror(-r));
				while (w--)
					rw_fd_close(l->fds[w]);
				free(l->fds);
				l->fds = NULL;
				return r;
			}
			/* Port 0: every worker's socket joins the port the first one got. */
			memcpy(&a.ss, &bound, a.len);
		}
		l->bound = a;
		rw_log_info("main", "listener '%s' listening on %s", lc->name,
		            rw_config_addr_format(&a, addr, sizeof(addr)));
		r = register_listener_stats(l, addr);
		if (r) {
			rw_log_error("main", "listener '%s': cannot register stats: %s", lc->name,
			             strerror(-r));
			return r;
		}
	}
	return 0;
}

static void drain_timeout(void *ctx)
{
	struct worker_rt *w = ctx;

	rw_log_info("main", "worker %d: drain deadline reached, closing %llu connections", w->id,
	            (unsigned long long)w->pw.cx_active);
	rw_proxy_worker_close_all(&w->pw);
}

/* Draining starts: idle keep-alive connections close now, busy ones after their response. */
static void drain_start(void *ctx)
{
	struct worker_rt *w = ctx;

	rw_proxy_worker_drain(&w->pw);
	rw_http_worker_drain(&w->pw);
	rw_access_log_worker_flush(&w->pw);
}

static void report_ready(struct worker_rt *w, int r)
{
	struct server *s = w->srv;

	pthread_mutex_lock(&s->lock);
	w->init_result = r;
	w->reported = true;
	if (!r && s->listeners_stopped) /* POST /drain_listeners came during start-up */
		rw_engine_stop_listening(w->eng, s->listeners_stopped == 2);
	s->n_ready++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static int worker_setup(struct worker_rt *w)
{
	struct server *s = w->srv;
	struct rw_engine_options eo = {.worker_id = w->id,
	                               .batch_wait_us = s->opt->io_batch_wait_us,
	                               .buf_entries = s->opt->io_buffers,
	                               .buf_size = s->opt->io_buffer_size};
	size_t i;
	int r;

	r = rw_engine_create(&eo, &w->eng, w->init_err, sizeof(w->init_err));
	if (r)
		return r;
	rw_proxy_worker_init(&w->pw, w->eng, w->id);
	rw_engine_set_drain_timeout_cb(w->eng, drain_timeout, w);
	rw_engine_set_drain_start_cb(w->eng, drain_start, w);
	w->tcp_ctx = calloc(s->n_listeners ? s->n_listeners : 1, sizeof(*w->tcp_ctx));
	w->echo_ctx = calloc(s->n_listeners ? s->n_listeners : 1, sizeof(*w->echo_ctx));
	w->http_ctx = calloc(s->n_listeners ? s->n_listeners : 1, sizeof(*w->http_ctx));
	if (!w->tcp_ctx || !w->echo_ctx || !w->http_ctx) {
		snprintf(w->init_err, sizeof(w->init_err), "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < s->n_listeners; i++) {
		struct listener_rt *l = &s->listeners[i];
		int fd = l->fds[w->id];

		if (l->kind == RW_CONFIG_FILTER_TCP_PROXY) {
			w->tcp_ctx[i].worker = &w->pw;
			w->tcp_ctx[i].cfg = &l->tcp;
			r = rw_engine_listen(w->eng, fd, rw_tcp_proxy_accept, &w->tcp_ctx[i]);
		} else if (l->kind == RW_CONFIG_FILTER_HTTP_CONNECTION_MANAGER) {
			r = rw_http_listener_init(&w->http_ctx[i], &w->pw, l->http);
			if (r) {
				snprintf(w->init_err, sizeof(w->init_err), "out of memory");
				return r;
			}
			r = rw_engine_listen(w->eng, fd, rw_http_accept, &w->http_ctx[i]);
		} else {
			w->echo_ctx[i].worker = &w->pw;
			w->echo_ctx[i].cfg = &l->echo;
			r = rw_engine_listen(w->eng, fd, rw_echo_accept, &w->echo_ctx[i]);
		}
		if (r) {
			snprintf(w->init_err, sizeof(w->init_err), "listen: %s", strerror(-r));
			return r;
		}
		l->fds[w->id] = -1; /* the engine owns it now */
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker_rt *w = arg;
	const struct rw_engine_stats *st;
	int r = rw_lb_epoch_register();

	if (rw_stats_thread_attach())
		rw_log_warn("main", "worker %d: no stats block of its own (shared)", w->id);

	if (r)
		snprintf(w->init_err, sizeof(w->init_err), "no free host-set reader slot");
	else
		r = worker_setup(w);
	report_ready(w, r);
	if (r) {
		rw_lb_epoch_unregister();
		return NULL;
	}
	r = rw_engine_run(w->eng);
	rw_http_worker_fini(&w->pw);
	rw_access_log_worker_fini(&w->pw);
	rw_lb_epoch_unregister();
	st = rw_engine_stats(w->eng);
	rw_log_info("main",
	            "worker %d: loop_turns=%llu io_uring_enter=%llu cqes=%llu sqes=%llu "
	            "accepts=%llu enobufs=%llu connections=%llu",
	            w->id, (unsigned long long)st->loop_turns, (unsigned long long)st->enters,
	            (unsigned long long)st->cqes, (unsigned long long)st->sqes,
	            (unsigned long long)st->accepts, (unsigned long long)st->enobufs,
	            (unsigned long long)w->pw.cx_total);
	pthread_mutex_lock(&w->srv->lock);
	w->init_result = r;
	w->srv->n_exited++;
	if (r)
		w->srv->worker_failed = true;
	pthread_mutex_unlock(&w->srv->lock);
	return NULL;
}

static void log_features(struct worker_rt *w)
{
	const struct rw_engine_features *f = rw_engine_features(w->eng);

	rw_log_info("main",
	            "io_uring: defer_taskrun=%s coop_taskrun=%s ext_arg=%s min_wait=%s "
	            "(multishot accept and recv, provided-buffer ring)",
	            f->defer_taskrun ? "yes" : "no", f->coop_taskrun ? "yes" : "no",
	            f->ext_arg ? "yes" : "no", f->min_wait ? "yes" : "no");
}

static void free_server(struct server *s)
{
	size_t i;
	int w;

	for (w = 0; w < s->n_workers; w++) {
		rw_engine_destroy(s->workers[w].eng);
		free(s->workers[w].tcp_ctx);
		free(s->workers[w].echo_ctx);
		if (s->workers[w].http_ctx)
			for (i = 0; i < s->n_listeners; i++)
				rw_http_listener_fini(&s->workers[w].http_ctx[i]);
		free(s->workers[w].http_ctx);
	}
	for (i = 0; i < s->n_listeners; i++) {
		if (s->listeners[i].fds)
			for (w = 0; w < s->n_workers; w++)
				if (s->listeners[i].fds[w] >= 0)
					rw_fd_close(s->listeners[i].fds[w]);
		free(s->listeners[i].fds);
		rw_http_config_free(s->listeners[i].http);
		rw_tcp_proxy_config_fini(&s->listeners[i].tcp);
	}
	rw_clusters_destroy(s->clusters);
	free(s->listeners);
	free(s->workers);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
}

static bool worker_failed(struct server *s)
{
	bool failed;

	pthread_mutex_lock(&s->lock);
	failed = s->worker_failed;
	pthread_mutex_unlock(&s->lock);
	return failed;
}

static bool all_exited(struct server *s)
{
	bool done;

	pthread_mutex_lock(&s->lock);
	done = s->n_exited == s->n_workers;
	pthread_mutex_unlock(&s->lock);
	return done;
}

/*
 * The main thread owns signals (blocked everywhere, taken with sigtimedwait) so no handler
 * ever runs on a worker.  First SIGTERM/SIGINT: drain; second: close everything now.
 */
static void wait_for_workers(struct server *s, const sigset_t *set)
{
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
	int sig, w, count = 0;
	bool stopping = false;

	while (!all_exited(s)) {
		if (worker_failed(s) && !stopping) {
			/* A worker whose ring failed cannot serve its share of the reuseport
			 * sockets: stop the others too and exit non-zero, rather than run degraded.
			 */
			rw_log_error("main", "a worker failed: stopping");
			for (w = 0; w < s->n_workers; w++)
				rw_engine_drain(s->workers[w].eng, 0);
			stopping = true;
		}
		sig = sigtimedwait(set, NULL, &tick);
		if (sig < 0)
			continue;
		if (sig == SIGHUP) {
			rw_log_info("main", "SIGHUP: config reload is not supported yet; ignoring");
			continue;
		}
		if (sig == SIGUSR1) { /* Envoy's: reopen the access logs (log rotation) */
			char err[256];
			int n = rw_access_logs_reopen(err, sizeof(err));

			if (n < 0)
				rw_log_error("main", "SIGUSR1: %s", err);
			else
				rw_log_info("main", "SIGUSR1: %d access log file(s) reopened", n);
			continue;
		}
		if (++count == 1) {
			rw_server_stats_draining();
			rw_log_info("main", "caught %s: draining (deadline %llus)", strsignal(sig),
			            (unsigned long long)s->opt->drain_time_s);
			for (w = 0; w < s->n_workers; w++)
				rw_engine_drain(s->workers[w].eng, s->opt->drain_time_s * 1000);
		} else {
			rw_log_info("main", "caught %s again: closing every connection now",
			            strsignal(sig));
			for (w = 0; w < s->n_workers; w++)
				rw_engine_drain(s->workers[w].eng, 0);
		}
	}
}

int rw_runtime_serve(const struct rw_config *cfg, const struct rw_options *opt)
{
	struct server srv = {.opt = opt};
	sigset_t set;
	int w, rc = 1, started = 0;

	pthread_mutex_init(&srv.lock, NULL);
	pthread_cond_init(&srv.cond, NULL);
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every thread we start */

	srv.n_workers = opt->concurrency;
	srv.workers = calloc((size_t)srv.n_workers, sizeof(*srv.workers));
	if (!srv.workers) {
		rw_log_error("main", "out of memory");
		goto out;
	}
	if (rw_server_stats_register(opt->concurrency)) {
		rw_log_error("main", "cannot register the server stats");
		goto out;
	}
	if (rw_clusters_create(cfg, &srv.clusters))
		goto out;
	if (open_listeners(&srv, cfg))
		goto out;
	rw_clusters_wait_ready(srv.clusters, DNS_INIT_WAIT_MS);
	if (start_health(&srv, cfg))
		goto out;
	if (rw_outlier_driver_start(srv.clusters, cfg, &srv.outlier))
		goto out;
	if (start_admin(&srv, cfg))
		goto out;
	for (w = 0; w < srv.n_workers; w++) {
		srv.workers[w].srv = &srv;
		srv.workers[w].id = w;
		if (pthread_create(&srv.workers[w].thread, NULL, worker_main, &srv.workers[w])) {
			rw_log_error("main", "cannot start worker %d", w);
			break;
		}
		started++;
	}
	pthread_mutex_lock(&srv.lock);
	while (srv.n_ready < started)
		pthread_cond_wait(&srv.cond, &srv.lock);
	pthread_mutex_unlock(&srv.lock);
	for (w = 0; w < started; w++)
		if (srv.workers[w].init_result) {
			rw_log_error("main", "worker %d failed to start: %s", w,
			             srv.workers[w].init_err);
			goto stop;
		}
	if (started < srv.n_workers)
		goto stop;
	log_features(&srv.workers[0]);
	rw_log_info("main", "ringway %s started: %d workers, %zu listeners, %zu clusters",
	            RW_VERSION, srv.n_workers, srv.n_listeners, rw_clusters_count(srv.clusters));
	if (opt->mode == RW_MODE_INIT_ONLY) {
		rc = 0;
		goto stop;
	}
	wait_for_workers(&srv, &set);
	rc = 0;
	for (w = 0; w < started; w++) {
		pthread_join(srv.workers[w].thread, NULL);
		if (srv.workers[w].init_result)
			rc = 1;
	}
	rw_log_info("main", "all workers drained; exiting");
	goto out;

stop:
	for (w = 0; w < started; w++)
		if (!srv.workers[w].init_result)
			rw_engine_drain(srv.workers[w].eng, 0);
	for (w = 0; w < started; w++)
		pthread_join(srv.workers[w].thread, NULL);
out:
	rw_admin_stop(srv.admin); /* it reads the clusters */
	free(srv.admin_clusters);
	free(srv.admin_listeners);
	rw_outlier_driver_stop(srv.outlier); /* workers are gone: nobody reports any more */
	/* Before the clusters it writes to are destroyed. */
	rw_health_stop(srv.health);
	free_server(&srv);
	rw_stats_free_all(); /* every thread that recorded is gone */
	return rc;
}
