/*
 * envoy.extensions.filters.http.health_check.v3.HealthCheck, the HTTP filter that answers
 * (or passes upstream) load balancers' health checks and fails them while the server is
 * health-check failed (admin POST /healthcheck/fail).  Not the clusters' active health
 * checks, which live in health_check.c.
 *
 * pass_through_mode is required, as in Envoy; headers[] is a HeaderMatcher list (all must
 * match, e.g. ":path" exact "/healthz").  cluster_min_healthy_percentages is a map from a
 * cluster name to a type.v3.Percent.  cache_time (caching the upstream's answer in pass-through
 * mode) is checked but not served yet.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

#define HC(obj) ((struct rw_config_health_check_filter *)(obj))

/* A scratch holder: the walk marks pass_through_mode as seen. */
struct hc_walk {
	struct rw_config_health_check_filter *hc;
	bool have_pass_through;
};

static int f_pass_through(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct hc_walk *w = obj;

	if (rw__is_null(v))
		return 0;
	w->have_pass_through = true;
	return rw__get_bool(ctx, v, &w->hc->pass_through_mode);
}

static int f_headers(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct hc_walk *w = obj;

	return rw__walk_header_matchers(ctx, v, &w->hc->headers, &w->hc->n_headers);
}

static int f_cache_time(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t ms;
	int rc = rw__get_duration_ms(ctx, v, &ms);

	(void)obj;
	if (rc == 0 && ms)
		rw__unserved(ctx, v, "health_check cache_time");
	return rc;
}

static int f_cluster_min(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_health_check_filter *hc = ((struct hc_walk *)obj)->hc;
	size_t i = 0;

	if (rw__is_null(v))
		return 0;
	if (v->kind != RW__NODE_MAP)
		return rw__fail(ctx, v, "expected a mapping of cluster names to percents");
	if (!v->n)
		return 0;
	hc->clusters = rw__calloc(v->n, sizeof(*hc->clusters));
	if (!hc->clusters)
		return rw__fail_oom(ctx);
	for (const struct rw__node_link *l = v->u.first; l; l = l->next, i++) {
		size_t saved = rw__path_key(ctx, l->node->u.s.text, l->node->n);
		struct rw_config_hc_cluster_min *m = &hc->clusters[i];
		int rc;

		if (!l->node->n)
			return rw__fail(ctx, l->node, "cluster name must not be empty");
		m->cluster = rw__strdup(l->node->u.s.text);
		if (!m->cluster)
			return rw__fail_oom(ctx);
		hc->n_clusters = i + 1;
		if (l->value->kind != RW__NODE_MAP)
			return rw__fail(ctx, l->value,
			                "expected a type.v3.Percent mapping {value}");
		rc = rw__walk_percent(ctx, l->value, &m->min_healthy);
		if (rc)
			return rc;
		rw__path_pop(ctx, saved);
	}
	return 0;
}

static const struct rw__field fields[] = {
    RW__IGNORED("@type"),
    RW__FIELD("pass_through_mode", f_pass_through),
    RW__FIELD("headers", f_headers),
    RW__FIELD("cache_time", f_cache_time),
    RW__FIELD("cluster_min_healthy_percentages", f_cluster_min),
};

int rw__walk_health_check_filter(struct rw__ctx *ctx, const struct rw__node *map,
                                 struct rw_config_health_check_filter *hc)
{
	struct hc_walk w = {.hc = hc};
	int rc = rw__walk_map(ctx, map, fields, RW__N(fields), &w);

	if (rc)
		return rc;
	if (!w.have_pass_through)
		return rw__fail(ctx, map, "missing required field 'pass_through_mode'");
	return 0;
}

void rw__health_check_filter_free(struct rw_config_health_check_filter *hc)
{
	rw__header_matchers_free(hc->headers, hc->n_headers);
	for (size_t i = 0; i < hc->n_clusters; i++)
		free(hc->clusters[i].cluster);
	free(hc->clusters);
}
