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
 * DNS clusters (STRICT_DNS, LOGICAL_DNS): one rw_dns_resolver per distinct resolver
 * configuration and one watch per endpoint name.  Watch callbacks run on the resolver thread:
 * they rebuild the cluster's host set from the latest answer of every endpoint and publish
 * it (lb/cluster.h), so workers never block on DNS.  Like Envoy's init manager, start-up
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

#include "config/config.h"
#include "core/log.h"
#include "dns/resolver.h"
#include "lb/cluster.h"
#include "lb/epoch.h"
#include "proxy/echo.h"
#include "proxy/tcp_proxy.h"
#include "proxy/worker.h"
#include "ring/engine.h"
#include "server/options.h"

#define LISTEN_BACKLOG 4096
/* Longest start-up wait for first DNS answers: c-ares' first-try timeout per server. */
#define DNS_INIT_WAIT_MS 5000

struct dns_cluster;

/* One endpoint name of a DNS cluster and its latest answer (resolver thread only). */
struct dns_endpoint {
	struct dns_cluster *dc;
	const struct rw_config_endpoint *cfg;
	struct rw_dns_watch *watch;
	struct rw_lb_address *addrs;
	size_t n_addrs;
	bool answered; /* the first completion arrived (whatever its status) */
};

struct dns_cluster {
	struct server *srv;
	struct rw_cluster *c;
	const struct rw_config_cluster *cfg;
	struct dns_endpoint *eps;
	size_t n_eps, n_answered;
	pthread_mutex_t
	    lock; /* rebuilds; callbacks of one cluster share a resolver thread anyway */
};

struct resolver_rt {
	const struct rw_config_dns_resolver *cfg;
	struct rw_dns_resolver *r;
};

struct listener_rt {
	const struct rw_config_listener *cfg;
	struct rw_tcp_proxy_config tcp; /* when the terminal filter is tcp_proxy */
	struct rw_echo_config echo;     /* when it is echo */
	enum rw_config_filter_kind kind;
	int *fds; /* one per worker */
};

struct worker_rt {
	struct server *srv;
	int id;
	pthread_t thread;
	struct rw_engine *eng;
	struct rw_proxy_worker pw;
	struct rw_tcp_proxy_listener *tcp_ctx; /* per listener */
	struct rw_echo_listener *echo_ctx;
	int init_result;
	char init_err[256];
};

struct server {
	const struct rw_options *opt;
	struct rw_cluster *clusters;
	size_t n_clusters;
	struct dns_cluster *dns; /* one per cluster; n_eps == 0 for STATIC */
	struct resolver_rt *resolvers;
	size_t n_resolvers;
	size_t n_dns_pending; /* DNS clusters without every first answer yet (under lock) */
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

static bool is_dns_cluster(const struct rw_config_cluster *cc)
{
	return cc->type == RW_CONFIG_CLUSTER_STRICT_DNS ||
	       cc->type == RW_CONFIG_CLUSTER_LOGICAL_DNS;
}

/* STATIC clusters get one snapshot at start; DNS clusters start empty until answered. */
static int build_clusters(struct server *s, const struct rw_config *cfg)
{
	struct rw_lb_address *addrs;
	struct rw_host_set *set;
	size_t i, j;
	int r;

	s->clusters = calloc(cfg->n_clusters ? cfg->n_clusters : 1, sizeof(*s->clusters));
	s->dns = calloc(cfg->n_clusters ? cfg->n_clusters : 1, sizeof(*s->dns));
	if (!s->clusters || !s->dns)
		return -ENOMEM;
	s->n_clusters = cfg->n_clusters;
	for (i = 0; i < cfg->n_clusters; i++) {
		const struct rw_config_cluster *cc = &cfg->clusters[i];
		struct rw_cluster *c = &s->clusters[i];
		size_t n = is_dns_cluster(cc) ? 0 : cc->n_endpoints;

		c->name = cc->name;
		c->connect_timeout_ms = cc->connect_timeout_ms;
		c->buffer_limit = cc->buffer_limit;
		addrs = calloc(n ? n : 1, sizeof(*addrs));
		if (!addrs)
			return -ENOMEM;
		for (j = 0; j < n; j++) {
			memcpy(&addrs[j].addr, &cc->endpoints[j].addr.ss, sizeof(addrs[j].addr));
			addrs[j].len = cc->endpoints[j].addr.len;
		}
		r = rw_host_set_build(NULL, addrs, n, &set);
		free(addrs);
		if (r)
			return r;
		rw_cluster_publish(c, set);
	}
	return 0;
}

static bool same_resolver(const struct rw_config_dns_resolver *a,
                          const struct rw_config_dns_resolver *b)
{
	size_t i;

	if (a->n_nameservers != b->n_nameservers || a->use_tcp != b->use_tcp ||
	    a->no_search != b->no_search)
		return false;
	for (i = 0; i < a->n_nameservers; i++)
		if (strcmp(a->nameservers[i], b->nameservers[i]))
			return false;
	return true;
}

static struct rw_dns_resolver *resolver_for(struct server *s,
                                            const struct rw_config_dns_resolver *rc)
{
	struct rw_dns_options o = {0};
	struct resolver_rt *rt;
	size_t i;
	int r;

	for (i = 0; i < s->n_resolvers; i++)
		if (same_resolver(s->resolvers[i].cfg, rc))
			return s->resolvers[i].r;
	rt = &s->resolvers[s->n_resolvers];
	o.nameservers = (const char *const *)rc->nameservers;
	o.nameserver_count = rc->n_nameservers;
	o.use_tcp = rc->use_tcp;
	o.no_search = rc->no_search;
	r = rw_dns_resolver_create(&o, &rt->r);
	if (r) {
		rw_log_error("main", "cannot start a DNS resolver: %s", strerror(-r));
		return NULL;
	}
	rt->cfg = rc;
	s->n_resolvers++;
	return rt->r;
}

/* Rebuild and publish the cluster's host set from every endpoint's latest answer. */
static void dns_rebuild(struct dns_cluster *dc)
{
	struct rw_host_set *old = rw_cluster_hosts_writer(dc->c), *set;
	struct rw_lb_address *all;
	size_t i, n = 0;
	char shown[512];

	for (i = 0; i < dc->n_eps; i++)
		n += dc->eps[i].n_addrs;
	all = calloc(n ? n : 1, sizeof(*all));
	for (n = 0, i = 0; all && i < dc->n_eps; i++) {
		if (dc->eps[i].n_addrs)
			memcpy(all + n, dc->eps[i].addrs, dc->eps[i].n_addrs * sizeof(*all));
		n += dc->eps[i].n_addrs;
	}
	if (!all || rw_host_set_build(old, all, n, &set)) {
		free(all);
		rw_log_warn("dns", "cluster '%s': out of memory, keeping the previous hosts",
		            dc->c->name);
		return;
	}
	free(all);
	if (rw_host_set_equal(old, set)) {
		rw_host_set_free(set);
		return;
	}
	rw_log_info("dns", "cluster '%s': hosts now %s", dc->c->name,
	            rw_host_set_format(set, shown, sizeof(shown)));
	rw_cluster_publish(dc->c, set);
}

static void dns_first_answer(struct dns_cluster *dc)
{
	struct server *s = dc->srv;

	if (++dc->n_answered != dc->n_eps)
		return;
	pthread_mutex_lock(&s->lock);
	s->n_dns_pending--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Resolver thread.  See rw_dns_watch(): called on the first completion, then on changes. */
static void on_dns(void *ctx, const struct rw_dns_result *res)
{
	struct dns_endpoint *ep = ctx;
	struct dns_cluster *dc = ep->dc;
	bool logical = dc->cfg->type == RW_CONFIG_CLUSTER_LOGICAL_DNS;
	struct rw_lb_address *addrs = NULL;
	size_t n = res->count, first;

	pthread_mutex_lock(&dc->lock);
	if (!rw_dns_result_is_answer(res)) {
		/* Only a first resolution reports a failure: the cluster stays as it is. */
		rw_log_warn("dns", "cluster '%s': cannot resolve '%s': %s; keeping %s hosts",
		            dc->c->name, ep->cfg->hostname, res->message,
		            ep->n_addrs ? "the previous" : "no");
		goto out;
	}
	if (res->status)
		rw_log_warn("dns", "cluster '%s': '%s': %s", dc->c->name, ep->cfg->hostname,
		            res->message);
	/*
	 * LOGICAL_DNS, like Envoy: one logical host and an empty answer keeps it.  Envoy takes
	 * the answer's first address; rw_dns_watch() hands over a sorted set, so ringway keeps
	 * the current address while the answer still holds it (no flapping between the
	 * addresses of a rotating answer) and otherwise takes the lowest.  STRICT_DNS: an empty
	 * answer (NXDOMAIN/NODATA) removes the name's hosts, as Envoy's c-ares resolver reports
	 * those as a completed resolution with no records.
	 */
	if (logical && n == 0)
		goto out;
	first = 0;
	if (logical) {
		for (size_t i = 0; ep->n_addrs && i < n; i++)
			if (res->addresses[i].len == ep->addrs[0].len &&
			    !memcmp(&res->addresses[i].addr, &ep->addrs[0].addr, ep->addrs[0].len))
				first = i;
		n = 1;
	}
	addrs = calloc(n ? n : 1, sizeof(*addrs));
	if (!addrs) {
		rw_log_warn("dns", "cluster '%s': out of memory, keeping the previous hosts",
		            dc->c->name);
		goto out;
	}
	_Static_assert(sizeof(addrs[0].addr) == sizeof(res->addresses[0].addr), "address layout");
	for (size_t i = 0; i < n; i++) {
		memcpy(&addrs[i].addr, &res->addresses[first + i].addr, sizeof(addrs[i].addr));
		addrs[i].len = res->addresses[first + i].len;
	}
	free(ep->addrs);
	ep->addrs = addrs;
	ep->n_addrs = n;
	dns_rebuild(dc);
out:
	if (!ep->answered) {
		ep->answered = true;
		dns_first_answer(dc);
	}
	pthread_mutex_unlock(&dc->lock);
}

static int start_dns(struct server *s, const struct rw_config *cfg)
{
	size_t i, j, n_dns = 0;
	int r;

	for (i = 0; i < cfg->n_clusters; i++)
		n_dns += is_dns_cluster(&cfg->clusters[i]);
	if (!n_dns)
		return 0;
	s->resolvers = calloc(n_dns, sizeof(*s->resolvers));
	if (!s->resolvers)
		return -ENOMEM;
	for (i = 0; i < cfg->n_clusters; i++) {
		const struct rw_config_cluster *cc = &cfg->clusters[i];
		struct dns_cluster *dc = &s->dns[i];
		struct rw_dns_watch_options wo = {
		    .refresh_ms = (uint32_t)cc->dns_refresh_ms,
		    .respect_ttl = cc->respect_dns_ttl,
		    .min_refresh_ms = 0,
		    .failure_base_ms = (uint32_t)cc->dns_failure_base_ms,
		    .failure_max_ms = (uint32_t)cc->dns_failure_max_ms,
		};
		struct rw_dns_resolver *res;

		if (!is_dns_cluster(cc) || !cc->n_endpoints)
			continue;
		res = resolver_for(s, &cc->dns_resolver);
		if (!res)
			return -EIO;
		dc->srv = s;
		dc->c = &s->clusters[i];
		dc->cfg = cc;
		dc->eps = calloc(cc->n_endpoints, sizeof(*dc->eps));
		if (!dc->eps)
			return -ENOMEM;
		pthread_mutex_init(&dc->lock, NULL);
		dc->n_eps = cc->n_endpoints;
		pthread_mutex_lock(&s->lock);
		s->n_dns_pending++;
		pthread_mutex_unlock(&s->lock);
		for (j = 0; j < cc->n_endpoints; j++) {
			dc->eps[j].dc = dc;
			dc->eps[j].cfg = &cc->endpoints[j];
		}
		/* Watches start only after every endpoint is set up: callbacks read them all. */
		for (j = 0; j < cc->n_endpoints; j++) {
			r = rw_dns_watch(res, cc->endpoints[j].hostname, cc->endpoints[j].port,
			                 (enum rw_dns_family)cc->dns_lookup_family, &wo, on_dns,
			                 &dc->eps[j], &dc->eps[j].watch);
			if (r) {
				rw_log_error("main", "cluster '%s': cannot resolve '%s': %s",
				             cc->name, cc->endpoints[j].hostname, strerror(-r));
				return r;
			}
		}
	}
	return 0;
}

/* Envoy's init manager: do not accept before DNS clusters have their first answers. */
static void wait_first_dns(struct server *s)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += DNS_INIT_WAIT_MS / 1000;
	pthread_mutex_lock(&s->lock);
	while (s->n_dns_pending)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT)
			break;
	if (s->n_dns_pending)
		rw_log_warn("main", "%zu DNS clusters have no first answer after %ums; starting",
		            s->n_dns_pending, DNS_INIT_WAIT_MS);
	pthread_mutex_unlock(&s->lock);
}

/* After the workers exited: no callback runs once the watches are gone. */
static void stop_dns(struct server *s)
{
	size_t i, j;

	for (i = 0; i < s->n_clusters && s->dns; i++)
		for (j = 0; j < s->dns[i].n_eps; j++)
			if (s->dns[i].eps[j].watch)
				rw_dns_unwatch(s->dns[i].eps[j].watch);
	for (i = 0; i < s->n_resolvers; i++)
		rw_dns_resolver_destroy(s->resolvers[i].r);
	for (i = 0; i < s->n_clusters && s->dns; i++) {
		for (j = 0; j < s->dns[i].n_eps; j++)
			free(s->dns[i].eps[j].addrs);
		if (s->dns[i].eps)
			pthread_mutex_destroy(&s->dns[i].lock);
		free(s->dns[i].eps);
	}
	free(s->resolvers);
	free(s->dns);
}

static struct rw_cluster *cluster_by_name(struct server *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n_clusters; i++)
		if (!strcmp(s->clusters[i].name, name))
			return &s->clusters[i];
	return NULL;
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

		l->cfg = lc;
		l->kind = f->kind;
		if (f->kind == RW_CONFIG_FILTER_TCP_PROXY) {
			l->tcp.stat_prefix = f->u.tcp_proxy.stat_prefix;
			l->tcp.listener_name = lc->name;
			l->tcp.cluster = cluster_by_name(s, f->u.tcp_proxy.cluster);
			l->tcp.idle_timeout_ms = f->u.tcp_proxy.idle_timeout_ms;
			l->tcp.down_buffer_limit = lc->buffer_limit;
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
		rw_log_info("main", "listener '%s' listening on %s", lc->name,
		            rw_config_addr_format(&a, addr, sizeof(addr)));
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

static void report_ready(struct worker_rt *w, int r)
{
	struct server *s = w->srv;

	pthread_mutex_lock(&s->lock);
	w->init_result = r;
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
	w->tcp_ctx = calloc(s->n_listeners ? s->n_listeners : 1, sizeof(*w->tcp_ctx));
	w->echo_ctx = calloc(s->n_listeners ? s->n_listeners : 1, sizeof(*w->echo_ctx));
	if (!w->tcp_ctx || !w->echo_ctx) {
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
	}
	for (i = 0; i < s->n_listeners; i++) {
		if (s->listeners[i].fds)
			for (w = 0; w < s->n_workers; w++)
				if (s->listeners[i].fds[w] >= 0)
					rw_fd_close(s->listeners[i].fds[w]);
		free(s->listeners[i].fds);
	}
	stop_dns(s);
	for (i = 0; i < s->n_clusters; i++)
		rw_cluster_release_hosts(&s->clusters[i]);
	free(s->clusters);
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
		if (++count == 1) {
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
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every thread we start */

	srv.n_workers = opt->concurrency;
	srv.workers = calloc((size_t)srv.n_workers, sizeof(*srv.workers));
	if (!srv.workers || build_clusters(&srv, cfg)) {
		rw_log_error("main", "out of memory");
		goto out;
	}
	if (open_listeners(&srv, cfg))
		goto out;
	if (start_dns(&srv, cfg))
		goto out;
	wait_first_dns(&srv);
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
	            RW_VERSION, srv.n_workers, srv.n_listeners, srv.n_clusters);
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
	free_server(&srv);
	return rc;
}
