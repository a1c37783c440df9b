/*
 * config.cluster.v3.Cluster: STATIC, STRICT_DNS and LOGICAL_DNS clusters, their DNS refresh,
 * lookup family and c-ares resolver fields, and Envoy's defaults for everything a cluster
 * carries.  The cluster's larger parts have their own files:
 *
 *   load_assignment.c   load_assignment (localities, priorities, weights, health status)
 *   cluster_lb.c        lb_policy, the *_lb_config messages and common_lb_config
 *   health_check.c      health_checks[]
 *   outlier.c           outlier_detection
 *   circuit_breakers.c  circuit_breakers
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* Envoy's type names in enum order; the walk peeks at "type" before the endpoints. */
static const char *const cluster_types[] = {"STATIC", "STRICT_DNS", "LOGICAL_DNS", "EDS",
                                            "ORIGINAL_DST"};

static bool is_dns_type(const char *type)
{
	return !strcmp(type, "STRICT_DNS") || !strcmp(type, "LOGICAL_DNS");
}

static int cluster_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct rw_config_cluster *)obj)->name);
}

static int cluster_type(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const enum rw_config_cluster_type kinds[] = {
	    RW_CONFIG_CLUSTER_STATIC, RW_CONFIG_CLUSTER_STRICT_DNS, RW_CONFIG_CLUSTER_LOGICAL_DNS};
	size_t t;
	int rc = rw__get_enum(ctx, v, cluster_types, RW__N(cluster_types), &t);

	if (rc)
		return rc;
	if (t >= RW__N(kinds))
		return rw__fail(ctx, v, "cluster type '%s' is not supported by ringway yet",
		                cluster_types[t]);
	((struct rw_config_cluster *)obj)->type = kinds[t];
	return 0;
}

static int cluster_dns_lookup_family(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const families[] = {"AUTO", "V4_ONLY", "V6_ONLY", "V4_PREFERRED", "ALL"};
	size_t f;
	int rc = rw__get_enum(ctx, v, families, RW__N(families), &f);

	if (rc == 0)
		((struct rw_config_cluster *)obj)->dns_lookup_family = (enum rw_config_dns_family)f;
	return rc;
}

/* Envoy: Duration {gt: 1ms}-style rules; ringway takes >= 1ms (sub-ms rounds up). */
static int get_interval(struct rw__ctx *ctx, const struct rw__node *v, const char *what,
                        uint64_t *out)
{
	int rc = rw__get_duration_ms(ctx, v, out);

	if (rc)
		return rc;
	if (*out == 0)
		return rw__fail(ctx, v, "%s must be at least 1ms", what);
	if (*out > UINT32_MAX)
		return rw__fail(ctx, v, "%s must be at most %llums", what,
		                (unsigned long long)UINT32_MAX);
	return 0;
}

static int cluster_dns_refresh_rate(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_interval(ctx, v, "dns_refresh_rate",
	                    &((struct rw_config_cluster *)obj)->dns_refresh_ms);
}

static int cluster_respect_dns_ttl(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct rw_config_cluster *)obj)->respect_dns_ttl);
}

static int refresh_base(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_interval(ctx, v, "base_interval",
	                    &((struct rw_config_cluster *)obj)->dns_failure_base_ms);
}

static int refresh_max(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_interval(ctx, v, "max_interval",
	                    &((struct rw_config_cluster *)obj)->dns_failure_max_ms);
}

static const struct rw__field refresh_rate_fields[] = {
    RW__FIELD("base_interval", refresh_base),
    RW__FIELD("max_interval", refresh_max),
};

static int cluster_dns_failure_refresh_rate(struct rw__ctx *ctx, const struct rw__node *v,
                                            void *obj)
{
	struct rw_config_cluster *c = obj;
	int rc = rw__walk_map(ctx, v, refresh_rate_fields, RW__N(refresh_rate_fields), c);

	if (rc)
		return rc;
	if (!c->dns_failure_base_ms)
		return rw__fail(ctx, v, "missing required field 'base_interval'");
	if (c->dns_failure_max_ms && c->dns_failure_max_ms < c->dns_failure_base_ms) {
		rw__path_key(ctx, "max_interval", 12);
		return rw__fail(ctx, rw__map_get(v, "max_interval", false),
		                "max_interval must be greater than or equal to base_interval");
	}
	return 0;
}

/* One resolver address as c-ares takes it: "ip", "ip:port" or "[ipv6]:port". */
static int walk_nameserver(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                           void *obj)
{
	struct rw_config_dns_resolver *r = obj;
	struct rw_config_addr a;
	char buf[80], *copy;
	int rc = rw__get_address(ctx, item, 0, &a);

	(void)index;
	if (rc)
		return rc;
	/* Port 0 means "the default": 53. */
	if (a.ss.ss_family == AF_INET && !((struct sockaddr_in *)&a.ss)->sin_port)
		((struct sockaddr_in *)&a.ss)->sin_port = htons(53);
	if (a.ss.ss_family == AF_INET6 && !((struct sockaddr_in6 *)&a.ss)->sin6_port)
		((struct sockaddr_in6 *)&a.ss)->sin6_port = htons(53);
	rw_config_addr_format(&a, buf, sizeof(buf));
	copy = rw__strdup(buf);
	if (!copy)
		return rw__fail_oom(ctx);
	if (rw__grow((void **)&r->nameservers, &(size_t){r->n_nameservers}, r->n_nameservers + 1,
	             sizeof(*r->nameservers))) {
		free(copy);
		return rw__fail_oom(ctx);
	}
	r->nameservers[r->n_nameservers++] = copy;
	return 0;
}

static void resolver_free(struct rw_config_dns_resolver *r)
{
	for (size_t i = 0; i < r->n_nameservers; i++)
		free(r->nameservers[i]);
	free(r->nameservers);
	memset(r, 0, sizeof(*r));
}

/* Deprecated Cluster.dns_resolvers; typed_dns_resolver_config wins when both are given. */
static int cluster_dns_resolvers(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_cluster *c = obj;
	struct rw_config_dns_resolver r = {0};
	int rc = rw__walk_seq(ctx, v, walk_nameserver, &r);

	if (rc || c->dns_resolver.typed) {
		resolver_free(&r);
		return rc;
	}
	resolver_free(&c->dns_resolver);
	c->dns_resolver = r;
	return 0;
}

static int options_use_tcp(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct rw_config_dns_resolver *)obj)->use_tcp);
}

static int options_no_search(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct rw_config_dns_resolver *)obj)->no_search);
}

static const struct rw__field resolver_options_fields[] = {
    RW__FIELD("use_tcp_for_dns_lookups", options_use_tcp),
    RW__FIELD("no_default_search_domain", options_no_search),
};

static int cares_resolvers(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_seq(ctx, v, walk_nameserver, obj);
}

static int cares_options(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_map(ctx, v, resolver_options_fields, RW__N(resolver_options_fields), obj);
}

static const struct rw__field cares_fields[] = {
    RW__IGNORED("@type"),
    RW__FIELD("resolvers", cares_resolvers),
    RW__UNSUPPORTED("use_resolvers_as_fallback"),
    RW__UNSUPPORTED("filter_unroutable_families"),
    RW__FIELD("dns_resolver_options", cares_options),
    RW__UNSUPPORTED("udp_max_queries"),
    RW__UNSUPPORTED("query_timeout_seconds"),
    RW__UNSUPPORTED("query_tries"),
    RW__UNSUPPORTED("rotate_nameservers"),
    RW__UNSUPPORTED("edns0_max_payload_size"),
    RW__UNSUPPORTED("max_udp_channel_duration"),
};

#define CARES_TYPE "envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig"

static int typed_resolver_typed_config(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	const struct rw__node *type;
	const char *name;
	char shown[160];
	int rc = rw__any_type(ctx, v, CARES_TYPE, &type, &name);

	if (rc)
		return rc;
	if (strcmp(name, CARES_TYPE)) {
		rw__path_key(ctx, "@type", 5);
		rw__escape(shown, sizeof(shown), type->u.s.text, type->n);
		return rw__fail(ctx, type,
		                "DNS resolver '%s' is not supported by ringway (only "
		                "'type.googleapis.com/" CARES_TYPE "')",
		                shown);
	}
	return rw__walk_map(ctx, v, cares_fields, RW__N(cares_fields), obj);
}

static int typed_resolver_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	(void)obj;
	if (v->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, v, "expected a string");
	return 0;
}

static const struct rw__field typed_resolver_fields[] = {
    RW__FIELD("name", typed_resolver_name),
    RW__FIELD("typed_config", typed_resolver_typed_config),
};

static int cluster_typed_dns_resolver_config(struct rw__ctx *ctx, const struct rw__node *v,
                                             void *obj)
{
	struct rw_config_cluster *c = obj;
	struct rw_config_dns_resolver r = {0};
	int rc = rw__walk_map(ctx, v, typed_resolver_fields, RW__N(typed_resolver_fields), &r);

	if (!rc && !rw__map_get(v, "typed_config", false))
		rc = rw__fail(ctx, v, "missing required field 'typed_config'");
	if (rc) {
		resolver_free(&r);
		return rc;
	}
	resolver_free(&c->dns_resolver);
	c->dns_resolver = r;
	c->dns_resolver.typed = true;
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
    RW__FIELD("lb_policy", rw__walk_lb_policy),
    RW__FIELD("load_assignment", rw__walk_load_assignment),
    RW__FIELD("health_checks", rw__walk_health_checks),
    RW__UNSUPPORTED("max_requests_per_connection"),
    RW__FIELD("circuit_breakers", rw__walk_circuit_breakers),
    RW__UNSUPPORTED("upstream_http_protocol_options"),
    RW__UNSUPPORTED("common_http_protocol_options"),
    RW__UNSUPPORTED("http_protocol_options"),
    RW__UNSUPPORTED("http2_protocol_options"),
    RW__UNSUPPORTED("typed_extension_protocol_options"),
    RW__FIELD("dns_refresh_rate", cluster_dns_refresh_rate),
    RW__UNSUPPORTED("dns_jitter"),
    RW__FIELD("dns_failure_refresh_rate", cluster_dns_failure_refresh_rate),
    RW__FIELD("respect_dns_ttl", cluster_respect_dns_ttl),
    RW__FIELD("dns_lookup_family", cluster_dns_lookup_family),
    RW__FIELD("dns_resolvers", cluster_dns_resolvers),
    RW__UNSUPPORTED("use_tcp_for_dns_lookups"),
    RW__UNSUPPORTED("dns_resolution_config"),
    RW__UNSUPPORTED("dns_resolver_options"),
    RW__FIELD("typed_dns_resolver_config", cluster_typed_dns_resolver_config),
    RW__UNSUPPORTED("dns_min_refresh_rate"),
    RW__UNSUPPORTED("wait_for_warm_on_init"),
    RW__FIELD("outlier_detection", rw__walk_outlier_detection),
    RW__UNSUPPORTED("cleanup_interval"),
    RW__UNSUPPORTED("upstream_bind_config"),
    RW__UNSUPPORTED("lb_subset_config"),
    RW__FIELD("ring_hash_lb_config", rw__walk_ring_hash_lb),
    RW__FIELD("maglev_lb_config", rw__walk_maglev_lb),
    RW__UNSUPPORTED("original_dst_lb_config"),
    RW__FIELD("least_request_lb_config", rw__walk_least_request_lb),
    RW__FIELD("round_robin_lb_config", rw__walk_round_robin_lb),
    RW__FIELD("common_lb_config", rw__walk_common_lb),
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

/* Envoy's defaults for the policy parts, set whether or not the document has them. */
static void set_policy_defaults(struct rw_config_cluster *c)
{
	static const struct rw_config_cb_thresholds cb = {
	    .max_connections = 1024,
	    .max_pending_requests = 1024,
	    .max_requests = 1024,
	    .max_retries = 3,
	    .budget_percent = 20.0,
	    .min_retry_concurrency = 3,
	};

	c->lb = (struct rw_config_lb){
	    .choice_count = 2,
	    .active_request_bias = 1.0,
	    .ring_min = 1024,
	    .ring_max = 8388608,
	    .maglev_table_size = 65537,
	    .healthy_panic_threshold_ppm = 500000, /* 50% */
	    .overprovisioning_factor = 140,
	};
	c->outlier = (struct rw_config_outlier){
	    .consecutive_5xx = 5,
	    .consecutive_gateway_failure = 5,
	    .consecutive_local_origin_failure = 5,
	    .interval_ms = 10000,
	    .base_ejection_time_ms = 30000,
	    .max_ejection_time_ms = 300000,
	    .max_ejection_percent = 10,
	    .enforcing_consecutive_5xx = 100,
	    .enforcing_consecutive_gateway_failure = 0,
	    .enforcing_consecutive_local_origin_failure = 100,
	    .enforcing_success_rate = 100,
	    .enforcing_failure_percentage = 0,
	    .enforcing_failure_percentage_local_origin = 0,
	    .success_rate_minimum_hosts = 5,
	    .success_rate_request_volume = 100,
	    .success_rate_stdev_factor = 1900,
	    .failure_percentage_threshold = 85,
	    .failure_percentage_minimum_hosts = 5,
	    .failure_percentage_request_volume = 50,
	};
	c->cb[RW_CONFIG_PRIORITY_DEFAULT] = cb;
	c->cb[RW_CONFIG_PRIORITY_HIGH] = cb;
	c->n_priorities = 1;
}

int rw__walk_cluster(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *cfg)
{
	/* Cluster's lb_config oneof. */
	static const char *const lb_configs[] = {
	    "ring_hash_lb_config", "maglev_lb_config", "original_dst_lb_config",
	    "least_request_lb_config", "round_robin_lb_config"};
	int which;
	struct rw_config_cluster *c = &((struct rw_config *)cfg)->clusters[index];
	const struct rw__node *type = rw__map_get(item, "type", false);
	char shown[96];
	int rc;

	c->type = RW_CONFIG_CLUSTER_STATIC;
	/* Endpoints may be names only in DNS clusters, and "type" may come after them. */
	if (type && type->kind == RW__NODE_SCALAR && is_dns_type(type->u.s.text))
		c->type = RW_CONFIG_CLUSTER_STRICT_DNS;
	c->connect_timeout_ms = RW_CONFIG_DEFAULT_CONNECT_MS;
	c->lb_policy = RW_CONFIG_LB_ROUND_ROBIN;
	c->buffer_limit = RW_CONFIG_DEFAULT_BUFFER_LIMIT;
	c->dns_lookup_family = RW_CONFIG_DNS_AUTO;
	c->dns_refresh_ms = RW_CONFIG_DEFAULT_DNS_REFRESH_MS;
	set_policy_defaults(c);
	rc = rw__walk_map(ctx, item, cluster_fields, RW__N(cluster_fields), c);
	if (rc == 0)
		rc = rw__oneof(ctx, item, lb_configs, RW__N(lb_configs), &which);
	if (rc)
		return rc;
	if (c->type == RW_CONFIG_CLUSTER_LOGICAL_DNS && c->n_endpoints != 1) {
		const struct rw__node *la = rw__map_get(item, "load_assignment", false);

		if (la)
			rw__path_key(ctx, "load_assignment", 15);
		return rw__fail(ctx, la ? la : item,
		                "LOGICAL_DNS clusters must have a single locality_lb_endpoint and "
		                "a single lb_endpoint (found %zu endpoints)",
		                c->n_endpoints);
	}
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
	for (size_t i = 0; i < c->n_endpoints; i++)
		free(c->endpoints[i].hostname);
	free(c->endpoints);
	resolver_free(&c->dns_resolver);
	rw__health_checks_free(c->health_checks, c->n_health_checks);
}
