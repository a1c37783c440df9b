/*
 * One thread drives outlier detection for the whole server.  Workers only count outcomes
 * and raise flags (lb/outlier.h); this thread wakes every TICK_MS (a timed condvar wait, so
 * stopping is immediate), runs each cluster's detector under the cluster's writer lock --
 * which keeps the current host set alive and serializes it with DNS and health checks --
 * and, when a host's RW_HOST_EJECTED bit changed, rebuilds the cluster's balancer with
 * rw_cluster_refresh().  Ticking every wake (not only when an interval is due or a flag is
 * raised) also attaches detector state to hosts DNS added since the last wake.
 */
#include "server/outlier.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/log.h"
#include "lb/cluster.h"
#include "lb/cluster_stats.h"
#include "lb/outlier.h"
#include "server/clusters.h"

#define TICK_MS 50

struct od_cluster {
	struct rw_cluster *c;
	struct rw_outlier_detector det;
	/* What the stats were given so far (the detector's counts are tick-thread only). */
	uint64_t enforced[RW_OUTLIER_EJECT_TYPES], detected[RW_OUTLIER_EJECT_TYPES];
	uint64_t overflow;
};

struct rw_outlier_driver {
	struct od_cluster *clusters;
	size_t n;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	bool stop;
	uint64_t rng;
};

static void to_detector_config(const struct rw_config_outlier *o, struct rw_outlier_config *c)
{
	*c = (struct rw_outlier_config){
	    .consecutive_5xx = o->consecutive_5xx,
	    .consecutive_gateway_failure = o->consecutive_gateway_failure,
	    .consecutive_local_origin_failure = o->consecutive_local_origin_failure,
	    .interval_ms = o->interval_ms,
	    .base_ejection_time_ms = o->base_ejection_time_ms,
	    .max_ejection_time_ms = o->max_ejection_time_ms,
	    .max_ejection_percent = o->max_ejection_percent,
	    .enforcing_consecutive_5xx = o->enforcing_consecutive_5xx,
	    .enforcing_consecutive_gateway_failure = o->enforcing_consecutive_gateway_failure,
	    .enforcing_consecutive_local_origin_failure =
		o->enforcing_consecutive_local_origin_failure,
	    .enforcing_success_rate = o->enforcing_success_rate,
	    .enforcing_local_origin_success_rate = 100, /* not configurable yet: Envoy's default */
	    .enforcing_failure_percentage = o->enforcing_failure_percentage,
	    .enforcing_failure_percentage_local_origin =
		o->enforcing_failure_percentage_local_origin,
	    .success_rate_minimum_hosts = o->success_rate_minimum_hosts,
	    .success_rate_request_volume = o->success_rate_request_volume,
	    .success_rate_stdev_factor = o->success_rate_stdev_factor,
	    .failure_percentage_threshold = o->failure_percentage_threshold,
	    .failure_percentage_minimum_hosts = o->failure_percentage_minimum_hosts,
	    .failure_percentage_request_volume = o->failure_percentage_request_volume,
	    .split_external_local_origin_errors = o->split_external_local_origin_errors,
	};
}

static uint64_t next_random(struct rw_outlier_driver *d)
{
	/* xorshift64: the detector only draws enforcing_* percentages from it. */
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return d->rng;
}

static void log_changes(struct od_cluster *oc, struct rw_host_set *set,
                        const struct rw_outlier_changes *ch)
{
	char names[512];
	size_t used = 0;

	names[0] = '\0';
	for (size_t i = 0; set && i < set->n && used < sizeof(names); i++) {
		struct rw_host *h = set->hosts[i];
		int w;

		if (!(atomic_load_explicit(&h->health, memory_order_relaxed) & RW_HOST_EJECTED))
			continue;
		w = snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "", h->name);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	rw_log_info("outlier", "cluster '%s': %u ejected, %u returned; ejected now: %s",
	            oc->c->name, ch->ejected, ch->unejected, used ? names : "none");
}

/* The detector's new counts into cluster.<name>.outlier_detection.* */
static void count_ejections(struct od_cluster *oc)
{
	static const struct {
		unsigned enforced, detected;
	} by_type[RW_OUTLIER_EJECT_TYPES] = {
	    [RW_OUTLIER_EJECT_CONSECUTIVE_5XX] = {RW_CS_OD_ENFORCED_CONSECUTIVE_5XX,
	                                          RW_CS_OD_DETECTED_CONSECUTIVE_5XX},
	    [RW_OUTLIER_EJECT_CONSECUTIVE_GATEWAY] =
		{RW_CS_OD_ENFORCED_CONSECUTIVE_GATEWAY_FAILURE,
	         RW_CS_OD_DETECTED_CONSECUTIVE_GATEWAY_FAILURE},
	    [RW_OUTLIER_EJECT_CONSECUTIVE_LOCAL] =
		{RW_CS_OD_ENFORCED_CONSECUTIVE_LOCAL_ORIGIN_FAILURE,
	         RW_CS_OD_DETECTED_CONSECUTIVE_LOCAL_ORIGIN_FAILURE},
	    [RW_OUTLIER_EJECT_SUCCESS_RATE] = {RW_CS_OD_ENFORCED_SUCCESS_RATE,
	                                       RW_CS_OD_DETECTED_SUCCESS_RATE},
	    [RW_OUTLIER_EJECT_SUCCESS_RATE_LOCAL] = {RW_CS_OD_ENFORCED_LOCAL_ORIGIN_SUCCESS_RATE,
	                                             RW_CS_OD_DETECTED_LOCAL_ORIGIN_SUCCESS_RATE},
	    [RW_OUTLIER_EJECT_FAILURE_PERCENTAGE] = {RW_CS_OD_ENFORCED_FAILURE_PERCENTAGE,
	                                             RW_CS_OD_DETECTED_FAILURE_PERCENTAGE},
	    [RW_OUTLIER_EJECT_FAILURE_PERCENTAGE_LOCAL] =
		{RW_CS_OD_ENFORCED_LOCAL_ORIGIN_FAILURE_PERCENTAGE,
	         RW_CS_OD_DETECTED_LOCAL_ORIGIN_FAILURE_PERCENTAGE},
	};
	const struct rw_stats_scope *cs = &oc->c->stats;

	for (int t = 0; t < RW_OUTLIER_EJECT_TYPES; t++) {
		uint64_t e = oc->det.ejections_enforced[t] - oc->enforced[t];
		uint64_t x = oc->det.ejections_detected[t] - oc->detected[t];

		rw_stat_add(cs, by_type[t].enforced, e);
		rw_stat_add(cs, by_type[t].detected, x);
		rw_stat_add(cs, RW_CS_OD_EJECTIONS_ENFORCED_TOTAL, e);
		rw_stat_add(cs, RW_CS_OD_EJECTIONS_TOTAL, x);
		oc->enforced[t] = oc->det.ejections_enforced[t];
		oc->detected[t] = oc->det.ejections_detected[t];
	}
	rw_stat_add(cs, RW_CS_OD_EJECTIONS_OVERFLOW, oc->det.ejections_overflow - oc->overflow);
	oc->overflow = oc->det.ejections_overflow;
}

static void tick_cluster(struct rw_outlier_driver *d, struct od_cluster *oc, uint64_t now)
{
	struct rw_outlier_changes ch;
	struct rw_host_set *set;
	bool changed;

	pthread_mutex_lock(&oc->c->writer);
	set = rw_cluster_hosts_writer(oc->c);
	changed = rw_outlier_tick(&oc->det, set, now, next_random(d), &ch);
	count_ejections(oc);
	if (changed)
		log_changes(oc, set, &ch);
	pthread_mutex_unlock(&oc->c->writer);
	if (changed)
		rw_cluster_refresh(oc->c);
}

static void *driver_main(void *arg)
{
	struct rw_outlier_driver *d = arg;
	struct timespec deadline;
	bool stop = false;

	(void)rw_stats_thread_attach(); /* failing that, counts go to the shared block */
	while (!stop) {
		uint64_t now = rw_clock_ms();

		for (size_t i = 0; i < d->n; i++)
			tick_cluster(d, &d->clusters[i], now);
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_nsec += TICK_MS * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&d->lock);
		while (!d->stop &&
		       pthread_cond_timedwait(&d->cond, &d->lock, &deadline) != ETIMEDOUT)
			;
		stop = d->stop;
		pthread_mutex_unlock(&d->lock);
	}
	return NULL;
}

static void free_driver(struct rw_outlier_driver *d)
{
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d->clusters);
	free(d);
}

int rw_outlier_driver_start(struct rw_clusters *cs, const struct rw_config *cfg,
                            struct rw_outlier_driver **out)
{
	struct rw_outlier_driver *d;
	pthread_condattr_t ca;
	uint64_t now = rw_clock_ms();
	size_t i, n = 0;
	int r;

	*out = NULL;
	for (i = 0; i < cfg->n_clusters; i++)
		n += cfg->clusters[i].outlier.present;
	if (!n)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->clusters = calloc(n, sizeof(*d->clusters)))) {
		free(d);
		rw_log_error("main", "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	d->rng = now ^ ((uint64_t)(uintptr_t)d << 16) ^ UINT64_C(0x9e3779b97f4a7c15);
	for (i = 0; i < cfg->n_clusters; i++) {
		const struct rw_config_cluster *cc = &cfg->clusters[i];
		struct od_cluster *oc = &d->clusters[d->n];
		struct rw_outlier_config oc_cfg;

		if (!cc->outlier.present)
			continue;
		oc->c = rw_clusters_find(cs, cc->name);
		if (!oc->c)
			continue;
		to_detector_config(&cc->outlier, &oc_cfg);
		rw_outlier_detector_init(&oc->det, &oc_cfg, now);
		d->n++;
		/* First tick here: every current host gets its state before a worker runs. */
		tick_cluster(d, oc, now);
	}
	r = pthread_create(&d->thread, NULL, driver_main, d);
	if (r) {
		rw_log_error("main", "cannot start the outlier detection thread: %s", strerror(r));
		free_driver(d);
		return -r;
	}
	*out = d;
	return 0;
}

void rw_outlier_driver_stop(struct rw_outlier_driver *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	free_driver(d);
}
