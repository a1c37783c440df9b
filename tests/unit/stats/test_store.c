/*
 * stats/store.c: scopes register, threads attach blocks, records merge exactly when read
 * (while writers run: also the ThreadSanitizer target), gauges, per-status counters, computed
 * stats, /reset_counters and flush intervals.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "stats/stats.h"
#include "tests/unit/check.h"

enum { C_RQ_TOTAL, C_CX_ACTIVE, C_RQ_2XX, C__N };
enum { H_RQ_TIME, H__N };

static const struct rw_stat_def scalars[C__N] = {
    [C_RQ_TOTAL] = {"upstream_rq_total", RW_STAT_COUNTER, RW_STAT_UNIT_NONE},
    [C_CX_ACTIVE] = {"upstream_cx_active", RW_STAT_GAUGE, RW_STAT_UNIT_NONE},
    [C_RQ_2XX] = {"upstream_rq_2xx", RW_STAT_COUNTER, RW_STAT_UNIT_NONE},
};
static const struct rw_stat_def hists[H__N] = {
    [H_RQ_TIME] = {"upstream_rq_time", RW_STAT_HISTOGRAM, RW_STAT_UNIT_MS},
};

static struct rw_stats_scope a, b, three;
static int64_t computed = 7;

#define THREADS    4
#define PER_THREAD 200000

static int64_t read_computed(void *arg)
{
	return *(int64_t *)arg;
}

static const struct rw_stat_view *find(const struct rw_stats_read *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].name, name) == 0)
			return &r->v[i];
	return NULL;
}

static void *worker(void *arg)
{
	(void)arg;
	CHECK(rw_stats_thread_attach() == 0);
	for (int i = 0; i < PER_THREAD; i++) {
		rw_stat_inc(&a, C_RQ_TOTAL);
		rw_gauge_inc(&a, C_CX_ACTIVE);
		rw_stat_code(&a, 200 + (unsigned)(i % 2) * 303); /* 200 and 503 */
		rw_stat_record(&a, H_RQ_TIME, (uint64_t)(i % 1000) * 1000);
		rw_gauge_dec(&a, C_CX_ACTIVE);
	}
	rw_gauge_inc(&a, C_CX_ACTIVE); /* one left open per thread */
	return NULL;
}

static void *reader(void *arg)
{
	atomic_int *stop = arg;

	while (!atomic_load(stop)) {
		struct rw_stats_read r;

		CHECK(rw_stats_read(&r) == 0);
		CHECK(find(&r, "cluster.one.upstream_rq_total")->value <= THREADS * PER_THREAD);
		rw_stats_read_free(&r);
	}
	return NULL;
}

int main(void)
{
	struct rw_stats_scope_spec sa = {.name = "cluster.one",
	                                 .prom = "cluster",
	                                 .tag_name = "envoy_cluster_name",
	                                 .tag_value = "one",
	                                 .scalars = scalars,
	                                 .n_scalars = C__N,
	                                 .hists = hists,
	                                 .n_hists = H__N,
	                                 .codes_name = "upstream_rq"};
	struct rw_stats_scope_spec sb = sa;
	struct rw_stats_scope none = {0};
	pthread_t t[THREADS], rd;
	atomic_int stop = 0;
	struct rw_stats_read r;
	const struct rw_stat_view *v;

	/* Unregistered scopes and records before any registration go nowhere, safely. */
	rw_stat_inc(&none, C_RQ_TOTAL);
	rw_stat_record(&none, H_RQ_TIME, 5);
	sb.name = "cluster.t\"wo";
	sb.tag_value = "t\"wo";
	CHECK(rw_stats_scope_add(&sa, &a) == 0);
	CHECK(rw_stats_scope_add(&sb, &b) == 0);
	CHECK(a.base != b.base && a.hbase && b.hbase != a.hbase && a.codes);
	CHECK(rw_stats_add_computed("server", "server", NULL, NULL, "live", RW_STAT_GAUGE,
	                            read_computed, &computed) == 0);
	/* Main thread, not attached: the shared block. */
	rw_stat_add(&b, C_RQ_TOTAL, 5);
	rw_stat_inc(&none, C_RQ_TOTAL);
	/* A scope registered after that keeps it (the shared block grows, it is not replaced). */
	sb.name = "cluster.three";
	sb.tag_value = "three";
	CHECK(rw_stats_scope_add(&sb, &three) == 0);

	pthread_create(&rd, NULL, reader, &stop);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(rd, NULL);
	/* Registration is closed once threads attached. */
	CHECK(rw_stats_scope_add(&sa, &b) < 0);

	CHECK(rw_stats_read(&r) == 0);
	for (size_t i = 1; i < r.n; i++)
		CHECK(strcmp(r.v[i - 1].name, r.v[i].name) < 0);
	v = find(&r, "cluster.one.upstream_rq_total");
	CHECK(v && v->value == THREADS * PER_THREAD && v->used && v->kind == RW_STAT_COUNTER);
	CHECK(strcmp(v->prom, "envoy_cluster_upstream_rq_total") == 0);
	CHECK(strcmp(v->labels, "envoy_cluster_name=\"one\"") == 0);
	v = find(&r, "cluster.one.upstream_cx_active");
	CHECK(v && v->value == THREADS && v->used);
	v = find(&r, "cluster.one.upstream_rq_2xx");
	CHECK(v && v->value == 0 && !v->used);
	v = find(&r, "cluster.one.upstream_rq_200");
	CHECK(v && v->value == THREADS * PER_THREAD / 2 && v->lazy && v->used);
	CHECK(strcmp(v->prom, "envoy_cluster_upstream_rq") == 0);
	CHECK(strcmp(v->labels, "envoy_response_code=\"200\",envoy_cluster_name=\"one\"") == 0);
	v = find(&r, "cluster.one.upstream_rq_404");
	CHECK(v && !v->used && v->lazy);
	v = find(&r, "cluster.t\"wo.upstream_rq_total");
	CHECK(v && v->value == 5);
	CHECK(find(&r, "cluster.three.upstream_rq_total")->value == 0);
	CHECK(strcmp(v->labels, "envoy_cluster_name=\"t\\\"wo\"") == 0);
	v = find(&r, "server.live");
	CHECK(v && v->value == 7 && v->kind == RW_STAT_GAUGE && strcmp(v->labels, "") == 0);
	v = find(&r, "cluster.one.upstream_rq_time");
	CHECK(v && v->kind == RW_STAT_HISTOGRAM && v->cum->count == THREADS * PER_THREAD);
	CHECK(v->interval == NULL);
	CHECK(fabs(rw_hist_quantile(v->cum, 0.5) - 500000) < 500000 * 0.07);
	/* by_prom: grouped by metric, then labels. */
	for (size_t i = 1; i < r.n; i++) {
		const struct rw_stat_view *x = &r.v[r.by_prom[i - 1]], *y = &r.v[r.by_prom[i]];
		int c = strcmp(x->prom, y->prom);

		CHECK(c < 0 || (c == 0 && strcmp(x->labels, y->labels) < 0));
	}
	rw_stats_read_free(&r);

	/* Intervals: the first flush covers everything so far, the next only what followed. */
	CHECK(rw_stats_flush() == 0);
	CHECK(rw_stats_thread_attach() == 0);
	rw_stat_record(&a, H_RQ_TIME, 42000);
	CHECK(rw_stats_flush() == 0);
	computed = 9;
	rw_stats_reset_counters();
	rw_stat_inc(&a, C_RQ_TOTAL);
	CHECK(rw_stats_read(&r) == 0);
	v = find(&r, "cluster.one.upstream_rq_time");
	CHECK(v->interval && v->interval->count == 1 && v->cum->count == THREADS * PER_THREAD + 1);
	CHECK(rw_hist_quantile(v->interval, 0.5) >= 42000 * 0.94);
	CHECK(find(&r, "cluster.one.upstream_rq_total")->value == 1);
	CHECK(find(&r, "cluster.one.upstream_cx_active")->value == THREADS); /* gauges stay */
	CHECK(find(&r, "server.live")->value == 9);
	rw_stats_read_free(&r);
	rw_stats_free_all();
	printf("stats store: ok\n");
	return 0;
}
