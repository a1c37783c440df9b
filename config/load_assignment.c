/*
 * Cluster.load_assignment (endpoint.v3.ClusterLoadAssignment), for STATIC and DNS clusters.
 *
 *   load_assignment -> endpoints[] (LocalityLbEndpoints: locality, priority, weight)
 *                        -> lb_endpoints[] (LbEndpoint: endpoint, weight, health_status)
 *
 * The groups are flattened into the cluster's one endpoint list, in config order; each
 * endpoint keeps its group's index (locality), priority and load_balancing_weight.  A
 * group's own fields may come after its lb_endpoints in the mapping, so they are copied
 * onto its endpoints once the whole group has been read.  Priorities must be contiguous
 * from 0 (Envoy's rule: no level may be skipped); cluster->n_priorities is the highest + 1.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

#define PRIORITY_MAX 128u /* LocalityLbEndpoints.priority: lte 128 */

/* The walk of one load_assignment; cap is the endpoints array's size. */
struct assignment {
	struct rw_config_cluster *cluster;
	size_t cap;
	bool dns; /* the cluster's type (peeked before the walk) allows names */
	bool used[PRIORITY_MAX + 1];
	uint64_t locality_weight_sum[PRIORITY_MAX + 1];
};

/* One endpoints[] group while it is walked. */
struct group {
	struct assignment *a;
	size_t first; /* its first endpoint's index in cluster->endpoints */
	uint32_t priority;
	uint32_t weight; /* 0 = unset */
};

/* One lb_endpoints[] item while it is walked. */
struct lb_endpoint {
	struct group *g;
	struct rw_config_endpoint ep;
	bool have_endpoint, have_address;
};

static int check_string(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	(void)obj;
	if (v->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, v, "expected a string");
	return 0;
}

static int endpoint_address(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct lb_endpoint *le = obj;

	le->have_address = true;
	return rw__get_endpoint_address(ctx, v, le->g->a->dns, &le->ep.addr, &le->ep.hostname,
	                                &le->ep.port);
}

static int hc_config_port(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t port;
	int rc = rw__get_uint(ctx, v, 65535, &port);

	if (rc == 0)
		((struct rw_config_endpoint *)obj)->health_check_port = (uint16_t)port;
	return rc;
}

static const struct rw__field hc_config_fields[] = {
    RW__FIELD("port_value", hc_config_port),
    RW__UNSUPPORTED("hostname"),
    RW__UNSUPPORTED("address"),
    RW__UNSUPPORTED("disable_active_health_check"),
};

static int endpoint_hc_config(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_map(ctx, v, hc_config_fields, RW__N(hc_config_fields),
	                    &((struct lb_endpoint *)obj)->ep);
}

static const struct rw__field endpoint_fields[] = {
    RW__FIELD("address", endpoint_address),
    RW__FIELD("health_check_config", endpoint_hc_config),
    RW__UNSUPPORTED("hostname"),
    RW__UNSUPPORTED("additional_addresses"),
};

static int lb_endpoint_endpoint(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct lb_endpoint *le = obj;
	int rc = rw__walk_map(ctx, v, endpoint_fields, RW__N(endpoint_fields), le);

	if (rc)
		return rc;
	if (!le->have_address)
		return rw__fail(ctx, v, "missing required field 'address'");
	le->have_endpoint = true;
	return 0;
}

static int lb_endpoint_health_status(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const statuses[] = {"UNKNOWN",  "HEALTHY", "UNHEALTHY",
	                                       "DRAINING", "TIMEOUT", "DEGRADED"};
	size_t s;
	int rc = rw__get_enum(ctx, v, statuses, RW__N(statuses), &s);

	if (rc == 0)
		((struct lb_endpoint *)obj)->ep.health_status = (enum rw_config_health_status)s;
	return rc;
}

static int lb_endpoint_weight(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t w;
	int rc = rw__get_uint_range(ctx, v, "load_balancing_weight", 1, UINT32_MAX, &w);

	if (rc == 0)
		((struct lb_endpoint *)obj)->ep.weight = (uint32_t)w;
	return rc;
}

static const struct rw__field lb_endpoint_fields[] = {
    RW__FIELD("endpoint", lb_endpoint_endpoint),
    RW__UNSUPPORTED("endpoint_name"),
    RW__FIELD("health_status", lb_endpoint_health_status),
    RW__UNSUPPORTED("metadata"),
    RW__FIELD("load_balancing_weight", lb_endpoint_weight),
};

static int walk_lb_endpoint(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                            void *obj)
{
	struct group *g = obj;
	struct rw_config_cluster *c = g->a->cluster;
	struct lb_endpoint le = {.g = g, .ep = {.weight = 1}};
	int rc = rw__walk_map(ctx, item, lb_endpoint_fields, RW__N(lb_endpoint_fields), &le);

	(void)index;
	if (!rc && !le.have_endpoint)
		rc = rw__fail(ctx, item, "missing required field 'endpoint'");
	if (!rc &&
	    rw__grow((void **)&c->endpoints, &g->a->cap, c->n_endpoints + 1, sizeof(*c->endpoints)))
		rc = rw__fail_oom(ctx);
	if (rc) {
		free(le.ep.hostname);
		return rc;
	}
	c->endpoints[c->n_endpoints++] = le.ep;
	return 0;
}

static int group_lb_endpoints(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_seq(ctx, v, walk_lb_endpoint, obj);
}

/* core.v3.Locality: checked, not stored (ringway has no zone-aware routing). */
static const struct rw__field locality_fields[] = {
    RW__FIELD("region", check_string),
    RW__FIELD("zone", check_string),
    RW__FIELD("sub_zone", check_string),
};

static int group_locality(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_map(ctx, v, locality_fields, RW__N(locality_fields), obj);
}

static int group_weight(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t w;
	int rc = rw__get_uint_range(ctx, v, "load_balancing_weight", 1, UINT32_MAX, &w);

	if (rc == 0)
		((struct group *)obj)->weight = (uint32_t)w;
	return rc;
}

static int group_priority(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t p;
	int rc = rw__get_uint_range(ctx, v, "priority", 0, PRIORITY_MAX, &p);

	if (rc == 0)
		((struct group *)obj)->priority = (uint32_t)p;
	return rc;
}

static const struct rw__field group_fields[] = {
    RW__FIELD("locality", group_locality),
    RW__UNSUPPORTED("metadata"),
    RW__FIELD("lb_endpoints", group_lb_endpoints),
    RW__UNSUPPORTED("leds_cluster_locality_config"),
    RW__FIELD("load_balancing_weight", group_weight),
    RW__FIELD("priority", group_priority),
    RW__UNSUPPORTED("proximity"),
};

static int walk_group(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	struct assignment *a = obj;
	struct rw_config_cluster *c = a->cluster;
	struct group g = {.a = a, .first = c->n_endpoints};
	uint64_t sum = 0;
	int rc = rw__walk_map(ctx, item, group_fields, RW__N(group_fields), &g);

	if (rc)
		return rc;
	for (size_t i = g.first; i < c->n_endpoints; i++) {
		c->endpoints[i].priority = g.priority;
		c->endpoints[i].locality_weight = g.weight;
		c->endpoints[i].locality = (uint32_t)index;
		sum += c->endpoints[i].weight;
	}
	/* Envoy's limits, so a load balancer can sum weights in 32 bits. */
	if (sum > UINT32_MAX)
		return rw__fail(ctx, item,
		                "the sum of the lb_endpoints' load_balancing_weight in a locality "
		                "must not exceed 4294967295");
	a->locality_weight_sum[g.priority] += g.weight;
	if (a->locality_weight_sum[g.priority] > UINT32_MAX)
		return rw__fail(
		    ctx, item,
		    "the sum of the load_balancing_weight of the localities of priority "
		    "%u must not exceed 4294967295",
		    g.priority);
	a->used[g.priority] = true;
	if (g.priority + 1 > c->n_priorities)
		c->n_priorities = g.priority + 1;
	return 0;
}

static uint32_t group_priority_of(const struct rw__node *item)
{
	const struct rw__node *p = rw__map_get(item, "priority", false);

	return p && p->kind == RW__NODE_SCALAR ? (uint32_t)strtoul(p->u.s.text, NULL, 10) : 0;
}

static int assignment_endpoints(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct assignment *a = obj;
	uint32_t missing;
	size_t index = 0;
	int rc = rw__walk_seq(ctx, v, walk_group, a);

	if (rc || v->n == 0)
		return rc;
	for (missing = 0; missing < a->cluster->n_priorities; missing++)
		if (!a->used[missing])
			break;
	if (missing == a->cluster->n_priorities)
		return 0;
	/* Point at the first group that lies beyond the gap. */
	for (const struct rw__node_link *l = v->u.first; l; l = l->next, index++) {
		uint32_t p = group_priority_of(l->node);

		if (p <= missing)
			continue;
		rw__path_index(ctx, index);
		rw__path_key(ctx, "priority", 8);
		return rw__fail(ctx, rw__map_get(l->node, "priority", false),
		                "priority %u leaves a gap: no locality group has priority %u "
		                "(priorities must be contiguous from 0)",
		                p, missing);
	}
	return rw__fail(ctx, v, "priorities must be contiguous from 0"); /* not reached */
}

/* Envoy does not require it to match the cluster's name for STATIC clusters; only checked. */
static int assignment_cluster_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return check_string(ctx, v, obj);
}

static int policy_overprovisioning(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t f;
	int rc = rw__get_uint_range(ctx, v, "overprovisioning_factor", 1, UINT32_MAX, &f);

	if (rc == 0)
		((struct assignment *)obj)->cluster->lb.overprovisioning_factor = (uint32_t)f;
	return rc;
}

static const struct rw__field policy_fields[] = {
    RW__UNSUPPORTED("drop_overloads"),
    RW__FIELD("overprovisioning_factor", policy_overprovisioning),
    RW__UNSUPPORTED("endpoint_stale_after"),
    RW__UNSUPPORTED("weighted_priority_health"),
};

static int assignment_policy(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_map(ctx, v, policy_fields, RW__N(policy_fields), obj);
}

static const struct rw__field assignment_fields[] = {
    RW__FIELD("cluster_name", assignment_cluster_name),
    RW__FIELD("endpoints", assignment_endpoints),
    RW__UNSUPPORTED("named_endpoints"),
    RW__FIELD("policy", assignment_policy),
};

int rw__walk_load_assignment(struct rw__ctx *ctx, const struct rw__node *v, void *cluster)
{
	struct rw_config_cluster *c = cluster;
	struct assignment a = {
	    .cluster = c,
	    .cap = c->n_endpoints,
	    .dns =
		c->type == RW_CONFIG_CLUSTER_STRICT_DNS || c->type == RW_CONFIG_CLUSTER_LOGICAL_DNS,
	};

	return rw__walk_map(ctx, v, assignment_fields, RW__N(assignment_fields), &a);
}
