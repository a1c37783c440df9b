/*
 * config.cluster.v3.Cluster and its load_assignment (endpoint.v3.ClusterLoadAssignment).
 *
 * Only STATIC clusters with ROUND_ROBIN are implemented; the locality/priority/weight
 * structure of load_assignment is flattened into one endpoint list in config order, so every
 * field that would give that structure meaning (priority, weights, health status) is
 * refused until the load balancer can honour it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* Collects endpoints while walking load_assignment; cap is the endpoints array's size. */
struct endpoint_list {
	struct rw_config_cluster *cluster;
	size_t cap;
};

struct endpoint_address {
	struct rw_config_addr addr;
	bool found;
};

static int endpoint_address(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct endpoint_address *ea = obj;

	ea->found = true;
	return rw__get_address(ctx, v, 1, &ea->addr);
}

static const struct rw__field endpoint_fields[] = {
    RW__FIELD("address", endpoint_address),
    RW__UNSUPPORTED("health_check_config"),
    RW__UNSUPPORTED("hostname"),
    RW__UNSUPPORTED("additional_addresses"),
};

static int lb_endpoint_endpoint(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct endpoint_list *list = obj;
	struct rw_config_cluster *c = list->cluster;
	struct endpoint_address ea = {.found = false};
	int rc = rw__walk_map(ctx, v, endpoint_fields, RW__N(endpoint_fields), &ea);

	if (rc)
		return rc;
	if (!ea.found)
		return rw__fail(ctx, v, "missing required field 'address'");
	if (rw__grow((void **)&c->endpoints, &list->cap, c->n_endpoints + 1, sizeof(*c->endpoints)))
		return rw__fail_oom(ctx);
	c->endpoints[c->n_endpoints++].addr = ea.addr;
	return 0;
}

static const struct rw__field lb_endpoint_fields[] = {
    RW__FIELD("endpoint", lb_endpoint_endpoint),
    RW__UNSUPPORTED("endpoint_name"),
    RW__UNSUPPORTED("health_status"),
    RW__UNSUPPORTED("metadata"),
    RW__UNSUPPORTED("load_balancing_weight"),
};

static int walk_lb_endpoint(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                            void *obj)
{
	struct endpoint_list *list = obj;
	size_t before = list->cluster->n_endpoints;
	int rc = rw__walk_map(ctx, item, lb_endpoint_fields, RW__N(lb_endpoint_fields), list);

	(void)index;
	if (rc)
		return rc;
	if (list->cluster->n_endpoints == before)
		return rw__fail(ctx, item, "missing required field 'endpoint'");
	return 0;
}

static int locality_lb_endpoints(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_seq(ctx, v, walk_lb_endpoint, obj);
}

static const struct rw__field locality_fields[] = {
    RW__UNSUPPORTED("locality"),
    RW__UNSUPPORTED("metadata"),
    RW__FIELD("lb_endpoints", locality_lb_endpoints),
    RW__UNSUPPORTED("leds_cluster_locality_config"),
    RW__UNSUPPORTED("load_balancing_weight"),
    RW__UNSUPPORTED("priority"),
    RW__UNSUPPORTED("proximity"),
};

static int walk_locality(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	(void)index;
	return rw__walk_map(ctx, item, locality_fields, RW__N(locality_fields), obj);
}

static int assignment_endpoints(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_seq(ctx, v, walk_locality, obj);
}

/* Envoy does not require it to match the cluster's name for STATIC clusters; only checked. */
static int assignment_cluster_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	(void)obj;
	if (v->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, v, "expected a string");
	return 0;
}

static const struct rw__field assignment_fields[] = {
    RW__FIELD("cluster_name", assignment_cluster_name),
    RW__FIELD("endpoints", assignment_endpoints),
    RW__UNSUPPORTED("named_endpoints"),
    RW__UNSUPPORTED("policy"),
};

static int cluster_load_assignment(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_cluster *c = obj;
	struct endpoint_list list = {c, c->n_endpoints};

	return rw__walk_map(ctx, v, assignment_fields, RW__N(assignment_fields), &list);
}

static int cluster_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct rw_config_cluster *)obj)->name);
}

static int cluster_type(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const types[] = {"STATIC", "STRICT_DNS", "LOGICAL_DNS", "EDS",
	                                    "ORIGINAL_DST"};
	size_t t;
	int rc = rw__get_enum(ctx, v, types, RW__N(types), &t);

	if (rc)
		return rc;
	if (t != 0)
		return rw__fail(ctx, v, "cluster type '%s' is not supported by ringway yet",
		                types[t]);
	((struct rw_config_cluster *)obj)->type = RW_CONFIG_CLUSTER_STATIC;
	return 0;
}

static int cluster_lb_policy(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const policies[] = {
	    "ROUND_ROBIN",
	    "LEAST_REQUEST",
	    "RING_HASH",
	    "RANDOM",
	    "MAGLEV",
	    "CLUSTER_PROVIDED",
	    "LOAD_BALANCING_POLICY_CONFIG",
	};
	size_t p;
	int rc = rw__get_enum(ctx, v, policies, RW__N(policies), &p);

	if (rc)
		return rc;
	if (p != 0)
		return rw__fail(ctx, v, "lb_policy '%s' is not supported by ringway yet",
		                policies[p]);
	((struct rw_config_cluster *)obj)->lb_policy = RW_CONFIG_LB_ROUND_ROBIN;
	return 0;
}

static int cluster_connect_timeout(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t ms;
	int rc = rw__get_duration_ms(ctx, v, &ms);

	if (rc)
		return rc;
	if (ms == 0)
		return rw__fail(ctx, v, "connect_timeout must be greater than 0s");
	((struct rw_config_cluster *)obj)->connect_timeout_ms = ms;
	return 0;
}

static int cluster_buffer_limit(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t limit;
	int rc = rw__get_uint(ctx, v, UINT32_MAX, &limit);

	if (rc == 0)
		((struct rw_config_cluster *)obj)->buffer_limit = (uint32_t)limit;
	return rc;
}

static const struct rw__field cluster_fields[] = {
    RW__UNSUPPORTED("transport_socket_matches"),
    RW__FIELD("name", cluster_name),
    RW__UNSUPPORTED("alt_stat_name"),
    RW__FIELD("type", cluster_type),
    RW__UNSUPPORTED("cluster_type"),
    RW__UNSUPPORTED("eds_cluster_config"),
    RW__FIELD("connect_timeout", cluster_connect_timeout),
    RW__FIELD("per_connection_buffer_limit_bytes", cluster_buffer_limit),
    RW__FIELD("lb_policy", cluster_lb_policy),
    RW__FIELD("load_assignment", cluster_load_assignment),
    RW__UNSUPPORTED("health_checks"),
    RW__UNSUPPORTED("max_requests_per_connection"),
    RW__UNSUPPORTED("circuit_breakers"),
    RW__UNSUPPORTED("upstream_http_protocol_options"),
    RW__UNSUPPORTED("common_http_protocol_options"),
    RW__UNSUPPORTED("http_protocol_options"),
    RW__UNSUPPORTED("http2_protocol_options"),
    RW__UNSUPPORTED("typed_extension_protocol_options"),
    RW__UNSUPPORTED("dns_refresh_rate"),
    RW__UNSUPPORTED("dns_jitter"),
    RW__UNSUPPORTED("dns_failure_refresh_rate"),
    RW__UNSUPPORTED("respect_dns_ttl"),
    RW__UNSUPPORTED("dns_lookup_family"),
    RW__UNSUPPORTED("dns_resolvers"),
    RW__UNSUPPORTED("use_tcp_for_dns_lookups"),
    RW__UNSUPPORTED("dns_resolution_config"),
    RW__UNSUPPORTED("dns_resolver_options"),
    RW__UNSUPPORTED("typed_dns_resolver_config"),
    RW__UNSUPPORTED("wait_for_warm_on_init"),
    RW__UNSUPPORTED("outlier_detection"),
    RW__UNSUPPORTED("cleanup_interval"),
    RW__UNSUPPORTED("upstream_bind_config"),
    RW__UNSUPPORTED("lb_subset_config"),
    RW__UNSUPPORTED("ring_hash_lb_config"),
    RW__UNSUPPORTED("maglev_lb_config"),
    RW__UNSUPPORTED("original_dst_lb_config"),
    RW__UNSUPPORTED("least_request_lb_config"),
    RW__UNSUPPORTED("round_robin_lb_config"),
    RW__UNSUPPORTED("common_lb_config"),
    RW__UNSUPPORTED("transport_socket"),
    RW__UNSUPPORTED("metadata"),
    RW__UNSUPPORTED("protocol_selection"),
    RW__UNSUPPORTED("upstream_connection_options"),
    RW__UNSUPPORTED("close_connections_on_host_health_failure"),
    RW__UNSUPPORTED("ignore_health_on_host_removal"),
    RW__UNSUPPORTED("filters"),
    RW__UNSUPPORTED("load_balancing_policy"),
    RW__UNSUPPORTED("lrs_server"),
    RW__UNSUPPORTED("lrs_report_endpoint_metrics"),
    RW__UNSUPPORTED("track_timeout_budgets"),
    RW__UNSUPPORTED("upstream_config"),
    RW__UNSUPPORTED("track_cluster_stats"),
    RW__UNSUPPORTED("preconnect_policy"),
    RW__UNSUPPORTED("connection_pool_per_downstream_connection"),
};

int rw__walk_cluster(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *cfg)
{
	struct rw_config_cluster *c = &((struct rw_config *)cfg)->clusters[index];
	char shown[96];
	int rc;

	c->type = RW_CONFIG_CLUSTER_STATIC;
	c->connect_timeout_ms = RW_CONFIG_DEFAULT_CONNECT_MS;
	c->lb_policy = RW_CONFIG_LB_ROUND_ROBIN;
	c->buffer_limit = RW_CONFIG_DEFAULT_BUFFER_LIMIT;
	rc = rw__walk_map(ctx, item, cluster_fields, RW__N(cluster_fields), c);
	if (rc)
		return rc;
	if (!c->name)
		return rw__fail(ctx, item, "missing required field 'name'");
	if (!c->name[0]) {
		rw__path_key(ctx, "name", 4);
		return rw__fail(ctx, rw__map_get(item, "name", false),
		                "cluster name must not be empty");
	}
	rc = rw__set_add(&ctx->cluster_names, c->name, strlen(c->name));
	if (rc < 0)
		return rw__fail_oom(ctx);
	if (rc == 0) {
		rw__escape(shown, sizeof(shown), c->name, strlen(c->name));
		rw__path_key(ctx, "name", 4);
		return rw__fail(ctx, rw__map_get(item, "name", false),
		                "duplicate cluster name '%s'", shown);
	}
	return 0;
}

void rw__cluster_free(struct rw_config_cluster *c)
{
	free(c->name);
	free(c->endpoints);
}
