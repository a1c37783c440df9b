/*
 * The clusters a server routes to, built from the config: STATIC clusters get one host-set
 * snapshot at start; STRICT_DNS/LOGICAL_DNS clusters get one rw_dns_resolver per distinct
 * resolver configuration and one watch per endpoint name.  Watch callbacks run on the
 * resolver thread: they rebuild the cluster's host set from the latest answer of every
 * endpoint and publish it (lb/cluster.h), so workers never block on DNS.
 */
#include "server/clusters.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/log.h"
#include "dns/resolver.h"
#include "lb/cluster_stats.h"
#include "lb/cluster.h"

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
	struct rw_clusters *cs;
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

struct rw_clusters {
	struct rw_cluster *clusters;
	size_t n_clusters;
	struct dns_cluster *dns; /* one per cluster; n_eps == 0 for STATIC */
	struct resolver_rt *resolvers;
	size_t n_resolvers;
	size_t n_dns_pending; /* DNS clusters without every first answer yet (under lock) */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* The cluster's lb_policy and its *_lb_config as the balancer's parameters. */
static void lb_params(const struct rw_config_cluster *cc, struct rw_lb_params *p)
{
	static const enum rw_lb_policy map[] = {
	    [RW_CONFIG_LB_ROUND_ROBIN] = RW_LB_ROUND_ROBIN,
	    [RW_CONFIG_LB_LEAST_REQUEST] = RW_LB_LEAST_REQUEST,
	    [RW_CONFIG_LB_RANDOM] = RW_LB_RANDOM,
	    [RW_CONFIG_LB_RING_HASH] = RW_LB_RING_HASH,
	    [RW_CONFIG_LB_MAGLEV] = RW_LB_MAGLEV,
	};

	rw_lb_params_init(p, cc->lb_policy < sizeof(map) / sizeof(map[0]) && map[cc->lb_policy]
	                         ? map[cc->lb_policy]
	                         : RW_LB_ROUND_ROBIN);
	if (cc->lb.choice_count)
		p->choice_count = cc->lb.choice_count;
	p->active_request_bias = cc->lb.active_request_bias;
	if (cc->lb.ring_min)
		p->ring_min = cc->lb.ring_min;
	if (cc->lb.ring_max)
		p->ring_max = cc->lb.ring_max;
	if (cc->lb.maglev_table_size)
		p->maglev_table_size = cc->lb.maglev_table_size;
}

/* load_assignment health_status: UNHEALTHY, DRAINING and TIMEOUT hosts take no traffic
 * (Envoy); UNKNOWN, HEALTHY and DEGRADED do. */
static void set_eds_health(struct rw_host *h, const struct rw_config_endpoint *ep)
{
	bool bad = ep->health_status == RW_CONFIG_HEALTH_UNHEALTHY ||
	           ep->health_status == RW_CONFIG_HEALTH_DRAINING ||
	           ep->health_status == RW_CONFIG_HEALTH_TIMEOUT;

	if (bad)
		atomic_fetch_or(&h->health, RW_HOST_EDS_UNHEALTHY);
	else
		atomic_fetch_and(&h->health, ~(uint32_t)RW_HOST_EDS_UNHEALTHY);
}

static bool is_dns_cluster(const struct rw_config_cluster *cc)
{
	return cc->type == RW_CONFIG_CLUSTER_STRICT_DNS ||
	       cc->type == RW_CONFIG_CLUSTER_LOGICAL_DNS;
}

/* STATIC clusters get one snapshot at start; DNS clusters start empty until answered. */
static int build(struct rw_clusters *s, const struct rw_config *cfg)
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
		lb_params(cc, &c->lb_params);
		c->panic_ppm = cc->lb.healthy_panic_threshold_ppm;
		c->overprovisioning = cc->lb.overprovisioning_factor;
		c->locality_weighted = cc->lb.locality_weighted;
		c->cb.max_connections = cc->cb[RW_CONFIG_PRIORITY_DEFAULT].max_connections;
		c->cb.max_pending_requests =
		    cc->cb[RW_CONFIG_PRIORITY_DEFAULT].max_pending_requests;
		c->cb.max_requests = cc->cb[RW_CONFIG_PRIORITY_DEFAULT].max_requests;
		c->cb.max_retries = cc->cb[RW_CONFIG_PRIORITY_DEFAULT].max_retries;
		c->cb.has_retry_budget = cc->cb[RW_CONFIG_PRIORITY_DEFAULT].has_retry_budget;
		c->cb.budget_percent = cc->cb[RW_CONFIG_PRIORITY_DEFAULT].budget_percent;
		c->cb.min_retry_concurrency =
		    cc->cb[RW_CONFIG_PRIORITY_DEFAULT].min_retry_concurrency;
		pthread_mutex_init(&c->writer, NULL);
		r = rw_cluster_stats_register(c);
		if (r)
			return r;
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
		for (j = 0; j < n; j++) {
			set->hosts[j]->weight =
			    cc->endpoints[j].weight ? cc->endpoints[j].weight : 1;
			set_eds_health(set->hosts[j], &cc->endpoints[j]);
			set->hosts[j]->priority = cc->endpoints[j].priority;
			set->hosts[j]->locality = cc->endpoints[j].locality;
			set->hosts[j]->locality_weight = cc->endpoints[j].locality_weight;
		}
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

static struct rw_dns_resolver *resolver_for(struct rw_clusters *s,
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

/* Rebuild and publish the cluster's host set from every endpoint's latest answer.  Under
 * c->writer: another writer's refresh (health checks, outlier detection) would otherwise
 * retire -- and free -- the set this reads. */
static void dns_rebuild_locked(struct dns_cluster *dc)
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
	/* Hosts carry the name they were resolved from (Envoy's hostname, auto_host_rewrite)
	 * and their endpoint's load_balancing_weight (read when the balancer is built). */
	for (n = 0, i = 0; i < dc->n_eps; i++)
		for (size_t k = 0; k < dc->eps[i].n_addrs; k++, n++) {
			atomic_store_explicit(&set->hosts[n]->hostname, dc->eps[i].cfg->hostname,
			                      memory_order_relaxed);
			set->hosts[n]->weight = dc->eps[i].cfg->weight ? dc->eps[i].cfg->weight : 1;
			set_eds_health(set->hosts[n], dc->eps[i].cfg);
			set->hosts[n]->priority = dc->eps[i].cfg->priority;
			set->hosts[n]->locality = dc->eps[i].cfg->locality;
			set->hosts[n]->locality_weight = dc->eps[i].cfg->locality_weight;
		}
	if (rw_host_set_equal(old, set)) {
		rw_host_set_free(set);
		return;
	}
	rw_log_info("dns", "cluster '%s': hosts now %s", dc->c->name,
	            rw_host_set_format(set, shown, sizeof(shown)));
	rw_cluster_publish(dc->c, set);
}

static void dns_rebuild(struct dns_cluster *dc)
{
	pthread_mutex_lock(&dc->c->writer);
	dns_rebuild_locked(dc);
	pthread_mutex_unlock(&dc->c->writer);
}

static void dns_first_answer(struct dns_cluster *dc)
{
	struct rw_clusters *s = dc->cs;

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

static int start_dns(struct rw_clusters *s, const struct rw_config *cfg)
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
		dc->cs = s;
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
void rw_clusters_wait_ready(struct rw_clusters *s, uint64_t max_ms)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)(max_ms / 1000);
	deadline.tv_nsec += (long)(max_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->lock);
	while (s->n_dns_pending)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT)
			break;
	if (s->n_dns_pending)
		rw_log_warn("main", "%zu DNS clusters have no first answer after %llums; starting",
		            s->n_dns_pending, (unsigned long long)max_ms);
	pthread_mutex_unlock(&s->lock);
}

/* After the workers exited: no callback runs once the watches are gone. */
static void stop_dns(struct rw_clusters *s)
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

struct rw_cluster *rw_clusters_find(struct rw_clusters *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n_clusters; i++)
		if (!strcmp(s->clusters[i].name, name))
			return &s->clusters[i];
	return NULL;
}

int rw_clusters_create(const struct rw_config *cfg, struct rw_clusters **out)
{
	struct rw_clusters *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		rw_log_error("main", "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	*out = s;
	r = build(s, cfg);
	if (r) {
		rw_log_error("main", "cannot build clusters: %s", strerror(-r));
		return r;
	}
	return start_dns(s, cfg);
}

size_t rw_clusters_count(const struct rw_clusters *s)
{
	return s ? s->n_clusters : 0;
}

struct rw_cluster *rw_clusters_at(struct rw_clusters *s, size_t i)
{
	return &s->clusters[i];
}

void rw_clusters_destroy(struct rw_clusters *s)
{
	size_t i;

	if (!s)
		return;
	stop_dns(s);
	for (i = 0; i < s->n_clusters; i++)
		rw_cluster_release_hosts(&s->clusters[i]);
	free(s->clusters);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
