/*
 * Host objects and host-set snapshots: building a set from an address list while keeping
 * the objects (and counters) of addresses that did not change, and publishing it.  See
 * lb/cluster.h for the ownership picture and lb/epoch.h for reclamation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "lb/cluster.h"
#include "lb/cluster_stats.h"
#include "lb/epoch.h"
#include "lb/outlier.h"

static void format_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in4->sin_port));
	}
}

struct rw_host *rw_host_create(const struct sockaddr *addr, socklen_t len)
{
	struct rw_host *h;

	if (len > sizeof(h->addr))
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	memcpy(&h->addr, addr, len);
	h->addrlen = len;
	atomic_init(&h->refs, 1);
	h->weight = 1;
	format_addr(&h->addr, h->name, sizeof(h->name));
	return h;
}

void rw_host_ref(struct rw_host *h)
{
	atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
}

void rw_host_unref(struct rw_host *h)
{
	/* acq_rel: the freeing thread must see every other holder's last counter update. */
	if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1) {
		rw_outlier_host_free(atomic_load_explicit(&h->od, memory_order_relaxed));
		free(h);
	}
}

static bool same_addr(const struct rw_host *h, const struct rw_lb_address *a)
{
	return h->addrlen == a->len && !memcmp(&h->addr, &a->addr, a->len);
}

int rw_host_set_build(const struct rw_host_set *old, const struct rw_lb_address *addrs, size_t n,
                      struct rw_host_set **out)
{
	size_t n_old = old ? old->n : 0, i, j;
	struct rw_host_set *set = malloc(sizeof(*set) + n * sizeof(set->hosts[0]));
	bool *taken = calloc(n_old ? n_old : 1, sizeof(*taken));
	int rc = -ENOMEM;

	if (!set || !taken)
		goto out;
	set->n = 0;
	set->prio = NULL;
	set->n_prio = 0;
	for (i = 0; i < n; i++) {
		struct rw_host *h = NULL;

		for (j = 0; j < n_old; j++)
			if (!taken[j] && same_addr(old->hosts[j], &addrs[i])) {
				taken[j] = true;
				h = old->hosts[j];
				rw_host_ref(h);
				break;
			}
		if (!h)
			h = rw_host_create((const struct sockaddr *)&addrs[i].addr, addrs[i].len);
		if (!h)
			goto out;
		set->hosts[set->n++] = h;
	}
	*out = set;
	set = NULL;
	rc = 0;
out:
	if (set)
		rw_host_set_free(set);
	free(taken);
	return rc;
}

bool rw_host_set_equal(const struct rw_host_set *a, const struct rw_host_set *b)
{
	size_t i;

	if (!a || !b)
		return a == b;
	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->hosts[i] != b->hosts[i])
			return false;
	return true;
}

void rw_host_set_free(struct rw_host_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n_prio; i++) {
		rw_lb_free(set->prio[i].lb);
		for (uint32_t l = 0; l < set->prio[i].n_loc; l++)
			rw_lb_free(set->prio[i].loc[l].lb);
		free(set->prio[i].loc);
	}
	free(set->prio);
	for (i = 0; i < set->n; i++)
		rw_host_unref(set->hosts[i]);
	free(set);
}

const char *rw_host_set_format(const struct rw_host_set *set, char *buf, size_t len)
{
	size_t i, used = 0;
	int w;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!set || !set->n) {
		snprintf(buf, len, "none");
		return buf;
	}
	for (i = 0; i < set->n; i++) {
		w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", set->hosts[i]->name);
		if (w < 0 || (size_t)w >= len - used) {
			if (len > 4)
				memcpy(buf + len - 4, "...", 4);
			break;
		}
		used += (size_t)w;
	}
	return buf;
}

static void free_set(void *p)
{
	rw_host_set_free(p);
}

/*
 * Envoy's locality-weighted balancing inside one level: a locality's effective weight is its
 * load_balancing_weight times its availability, min(1, overprovisioning x healthy / total);
 * localities without a weight take no traffic.  One balancer per locality over the level's
 * chosen hosts (hosts[0..n)).
 */
static void build_localities(struct rw_cluster *c, struct rw_host_set *set, uint32_t p,
                             struct rw_host **hosts, size_t n, size_t level_total, uint32_t over)
{
	struct rw_priority_lb *pl = &set->prio[p];
	uint32_t n_loc = 0;
	struct rw_host **sub = malloc(n * sizeof(*sub));
	uint64_t cum = 0;

	(void)level_total;
	for (size_t i = 0; i < n; i++)
		if (hosts[i]->locality + 1 > n_loc)
			n_loc = hosts[i]->locality + 1;
	pl->loc = calloc(n_loc ? n_loc : 1, sizeof(*pl->loc));
	if (!sub || !pl->loc) {
		free(sub);
		free(pl->loc);
		pl->loc = NULL;
		return;
	}
	pl->n_loc = n_loc;
	for (uint32_t l = 0; l < n_loc; l++) {
		size_t m = 0, total = 0, healthy = 0;
		uint32_t weight = 0;
		uint64_t avail;

		for (size_t i = 0; i < n; i++)
			if (hosts[i]->locality == l)
				sub[m++] = hosts[i];
		for (size_t i = 0; i < set->n; i++)
			if (set->hosts[i]->priority == p && set->hosts[i]->locality == l) {
				total++;
				weight = set->hosts[i]->locality_weight;
				if (!atomic_load_explicit(&set->hosts[i]->health,
				                          memory_order_relaxed))
					healthy++;
			}
		if (m && weight && total) {
			avail = (uint64_t)healthy * over * 10 / total; /* per mille, capped */
			if (avail > 1000)
				avail = 1000;
			if (!healthy)
				avail = 1000; /* panic level: hosts[] holds them all */
			cum += weight * avail;
			(void)rw_lb_create(&c->lb_params, sub, m, &pl->loc[l].lb);
		}
		pl->loc[l].cum_weight = cum;
	}
	free(sub);
}

/*
 * Envoy's priority levels.  Each level's health is min(100%, overprovisioning x healthy /
 * total); levels take traffic in order until 100% is covered; when the levels together are
 * less than 100% healthy the loads are normalized.  A level whose healthy share is below
 * the panic threshold balances over all its hosts.  All levels unhealthy: level 0, panic.
 */
static void build_priorities(struct rw_cluster *c, struct rw_host_set *set)
{
	uint32_t n_prio = 1, over = c->overprovisioning ? c->overprovisioning : 140;
	struct rw_host **hosts = malloc(set->n * sizeof(*hosts));
	uint64_t health[64] = {0}, sum = 0, left = 1000000, cum = 0;

	for (size_t i = 0; i < set->n; i++)
		if (set->hosts[i]->priority + 1 > n_prio)
			n_prio = set->hosts[i]->priority + 1;
	if (n_prio > 64)
		n_prio = 64;
	set->prio = calloc(n_prio, sizeof(*set->prio));
	if (!hosts || !set->prio) {
		free(hosts);
		free(set->prio);
		set->prio = NULL;
		return;
	}
	set->n_prio = n_prio;
	for (uint32_t p = 0; p < n_prio; p++) {
		size_t total = 0, healthy = 0;

		for (size_t i = 0; i < set->n; i++) {
			struct rw_host *h = set->hosts[i];

			if ((h->priority < n_prio ? h->priority : n_prio - 1) != p)
				continue;
			total++;
			if (!atomic_load_explicit(&h->health, memory_order_relaxed))
				hosts[healthy++] = h;
		}
		if (!total)
			continue;
		health[p] = (uint64_t)healthy * over * 10000 / total; /* ppm */
		if (health[p] > 1000000)
			health[p] = 1000000;
		sum += health[p];
		/* Panic: too few healthy hosts in this level, balance over all of them. */
		if (!healthy || (uint64_t)healthy * 1000000u < (uint64_t)c->panic_ppm * total) {
			set->prio[p].panic = true;
			healthy = 0;
			for (size_t i = 0; i < set->n; i++)
				if ((set->hosts[i]->priority < n_prio ? set->hosts[i]->priority
				                                      : n_prio - 1) == p)
					hosts[healthy++] = set->hosts[i];
		}
		(void)rw_lb_create(&c->lb_params, hosts, healthy, &set->prio[p].lb);
		if (c->locality_weighted)
			build_localities(c, set, p, hosts, healthy, total, over);
	}
	for (uint32_t p = 0; p < n_prio; p++) {
		uint64_t load;

		if (!sum) /* nothing healthy anywhere: all to the first level that has hosts */
			load = (set->prio[p].lb && cum == 0) ? 1000000 : 0;
		else if (sum < 1000000) /* normalized */
			load = health[p] * 1000000 / sum;
		else
			load = health[p] < left ? health[p] : left;
		if (sum >= 1000000)
			left -= load;
		cum += load;
		set->prio[p].load_ppm = (uint32_t)(cum > 1000000 ? 1000000 : cum);
	}
	/* Rounding: the last level with a balancer closes the range. */
	for (uint32_t p = n_prio; p-- > 0;)
		if (set->prio[p].lb) {
			set->prio[p].load_ppm = 1000000;
			break;
		}
	free(hosts);
}

void rw_cluster_publish(struct rw_cluster *c, struct rw_host_set *set)
{
	struct rw_host_set *old;

	if (!set->prio && set->n && c->lb_params.policy)
		build_priorities(c, set);
	old = atomic_exchange(&c->hosts, set);

	if (old)
		rw_lb_retire(old, free_set);
}

void rw_cluster_refresh(struct rw_cluster *c)
{
	struct rw_host_set *old, *set;

	pthread_mutex_lock(&c->writer);
	old = rw_cluster_hosts_writer(c);
	set = old ? malloc(sizeof(*set) + old->n * sizeof(set->hosts[0])) : NULL;
	if (set) {
		set->n = old->n;
		set->prio = NULL;
		set->n_prio = 0;
		for (size_t i = 0; i < old->n; i++) {
			set->hosts[i] = old->hosts[i];
			rw_host_ref(set->hosts[i]);
		}
		rw_cluster_publish(c, set);
	}
	pthread_mutex_unlock(&c->writer);
}

struct rw_host *rw_cluster_pick(struct rw_cluster *c, struct rw_lb_pick_ctx *ctx)
{
	struct rw_host_set *set;
	struct rw_host *h = NULL;

	rw_lb_read_lock();
	set = atomic_load_explicit(&c->hosts, memory_order_acquire);
	if (set && set->n) {
		if (set->prio) {
			const struct rw_lb *lb = set->prio[0].lb;

			const struct rw_priority_lb *pl = &set->prio[0];

			if (set->n_prio > 1) { /* priority levels: draw the level by its load */
				uint32_t r = (uint32_t)((ctx->random >> 32) % 1000000u);

				for (uint32_t p = 0; p < set->n_prio; p++)
					if (set->prio[p].lb && r < set->prio[p].load_ppm) {
						pl = &set->prio[p];
						lb = pl->lb;
						break;
					}
			}
			if (pl->n_loc && pl->loc[pl->n_loc - 1].cum_weight) {
				/* locality-weighted: draw the locality, then its balancer */
				uint64_t r = (ctx->random * 0x9e3779b97f4a7c15u >> 17) %
				             pl->loc[pl->n_loc - 1].cum_weight;

				for (uint32_t l = 0; l < pl->n_loc; l++)
					if (r < pl->loc[l].cum_weight) {
						lb = pl->loc[l].lb;
						break;
					}
			}
			ctx->cursor = &c->rr_next;
			h = lb ? rw_lb_pick(lb, ctx) : NULL;
			if (pl->panic)
				rw_stat_inc(&c->stats, RW_CS_LB_HEALTHY_PANIC);
		} else {
			/* No balancer: plain round robin.  Relaxed is enough for the cursor: it
			 * only spreads load, it orders no other memory. */
			h = set->hosts[atomic_fetch_add_explicit(&c->rr_next, 1,
			                                         memory_order_relaxed) %
			               set->n];
		}
		if (h)
			rw_host_ref(h);
	}
	rw_lb_read_unlock();
	return h;
}

struct rw_host_set *rw_cluster_hosts_writer(struct rw_cluster *c)
{
	return atomic_load_explicit(&c->hosts, memory_order_acquire);
}

void rw_cluster_release_hosts(struct rw_cluster *c)
{
	rw_host_set_free(atomic_exchange(&c->hosts, NULL));
	rw_lb_reclaim(true);
}
