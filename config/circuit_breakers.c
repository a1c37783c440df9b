/*
 * Cluster.circuit_breakers (config.cluster.v3.CircuitBreakers): one Thresholds entry per
 * RoutingPriority, DEFAULT and HIGH.
 *
 * Envoy's defaults (1024 connections, 1024 pending requests, 1024 requests, 3 retries) are
 * set in both cluster->cb[] entries by the cluster walker; an entry given here starts from
 * those defaults too, so a thresholds item that sets only max_retries keeps the other
 * three.  A priority given twice is refused (Envoy would silently keep one of them).
 */
#include <errno.h>
#include <string.h>

#include "config/internal.h"

#define TH(obj) (&((struct thresholds *)(obj))->t)

struct thresholds {
	struct rw_config_cb_thresholds t;
	size_t priority;
};

static int get_u32(struct rw__ctx *ctx, const struct rw__node *v, uint32_t *out)
{
	uint64_t n;
	int rc = rw__get_uint(ctx, v, UINT32_MAX, &n);

	if (rc == 0)
		*out = (uint32_t)n;
	return rc;
}

static const char *const priorities[] = {"DEFAULT", "HIGH"};

static int th_priority(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_enum(ctx, v, priorities, RW__N(priorities),
	                    &((struct thresholds *)obj)->priority);
}

static int th_max_connections(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_u32(ctx, v, &TH(obj)->max_connections);
}

static int th_max_pending_requests(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_u32(ctx, v, &TH(obj)->max_pending_requests);
}

static int th_max_requests(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_u32(ctx, v, &TH(obj)->max_requests);
}

static int th_max_retries(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_u32(ctx, v, &TH(obj)->max_retries);
}

static int th_track_remaining(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &TH(obj)->track_remaining);
}

static int budget_percent(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_percent(ctx, v, &((struct rw_config_cb_thresholds *)obj)->budget_percent);
}

static int budget_min_concurrency(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_u32(ctx, v, &((struct rw_config_cb_thresholds *)obj)->min_retry_concurrency);
}

static const struct rw__field budget_fields[] = {
    RW__FIELD("budget_percent", budget_percent),
    RW__FIELD("min_retry_concurrency", budget_min_concurrency),
};

static int th_retry_budget(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	TH(obj)->has_retry_budget = true;
	return rw__walk_map(ctx, v, budget_fields, RW__N(budget_fields), TH(obj));
}

static const struct rw__field thresholds_fields[] = {
    RW__FIELD("priority", th_priority),
    RW__FIELD("max_connections", th_max_connections),
    RW__FIELD("max_pending_requests", th_max_pending_requests),
    RW__FIELD("max_requests", th_max_requests),
    RW__FIELD("max_retries", th_max_retries),
    RW__FIELD("retry_budget", th_retry_budget),
    RW__FIELD("track_remaining", th_track_remaining),
    RW__UNSUPPORTED("max_connection_pools"),
};

/* Which priorities the walk has seen; the defaults stay in cb[] until one is. */
struct breakers {
	struct rw_config_cluster *cluster;
	struct rw_config_cb_thresholds defaults;
	bool seen[2];
};

static int walk_thresholds(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                           void *obj)
{
	struct breakers *b = obj;
	struct thresholds th = {b->defaults, RW_CONFIG_PRIORITY_DEFAULT};
	const struct rw__node *at;
	int rc = rw__walk_map(ctx, item, thresholds_fields, RW__N(thresholds_fields), &th);

	(void)index;
	if (rc)
		return rc;
	if (b->seen[th.priority]) {
		at = rw__map_get(item, "priority", false);
		if (at && !rw__is_null(at))
			rw__path_key(ctx, "priority", 8);
		else
			at = item;
		return rw__fail(ctx, at, "duplicate thresholds for priority %s",
		                priorities[th.priority]);
	}
	b->seen[th.priority] = true;
	b->cluster->cb[th.priority] = th.t;
	return 0;
}

static int cb_thresholds(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_seq(ctx, v, walk_thresholds, obj);
}

static const struct rw__field breakers_fields[] = {
    RW__FIELD("thresholds", cb_thresholds),
    RW__UNSUPPORTED("per_host_thresholds"),
};

int rw__walk_circuit_breakers(struct rw__ctx *ctx, const struct rw__node *v, void *cluster)
{
	struct rw_config_cluster *c = cluster;
	struct breakers b = {c, c->cb[RW_CONFIG_PRIORITY_DEFAULT], {false, false}};

	return rw__walk_map(ctx, v, breakers_fields, RW__N(breakers_fields), &b);
}
