/*
 * A cluster's load-balancing policy: Cluster.lb_policy and the policy settings
 * (least_request_lb_config, ring_hash_lb_config, maglev_lb_config, round_robin_lb_config,
 * common_lb_config) into struct rw_config_lb.  Envoy's defaults are set by the cluster
 * walker before these run, so each walker only overwrites what the document gives.
 *
 * As in Envoy, a policy's settings are accepted whatever lb_policy says (they are simply
 * unused then); only the lb_config oneof itself (at most one *_lb_config) is enforced, by
 * the cluster walker.  Also here: the double and type.v3.Percent getters the cluster's
 * other parts share.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

#define RING_SIZE_MAX   8388608u /* Envoy's cap on minimum_ring_size and maximum_ring_size */
#define MAGLEV_SIZE_MAX 5000011u /* Envoy's cap on maglev table_size (itself a prime) */

/* A JSON number: -?digits(.digits)?([eE][+-]?digits)?, the whole scalar. */
static bool is_number(const char *s, size_t len)
{
	size_t i = 0, digits;

	if (i < len && s[i] == '-')
		i++;
	for (digits = 0; i < len && isdigit((unsigned char)s[i]); i++)
		digits++;
	if (!digits)
		return false;
	if (i < len && s[i] == '.') {
		for (i++, digits = 0; i < len && isdigit((unsigned char)s[i]); i++)
			digits++;
		if (!digits)
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (digits = 0; i < len && isdigit((unsigned char)s[i]); i++)
			digits++;
		if (!digits)
			return false;
	}
	return i == len;
}

int rw__get_double(struct rw__ctx *ctx, const struct rw__node *node, double *out)
{
	char *end;
	double v;

	if (node->kind != RW__NODE_SCALAR || strlen(node->u.s.text) != node->n ||
	    !is_number(node->u.s.text, node->n))
		return rw__fail(ctx, node, "expected a number");
	v = strtod(node->u.s.text, &end);
	if (end != node->u.s.text + node->n || !isfinite(v))
		return rw__fail(ctx, node, "number out of range");
	*out = v;
	return 0;
}

static int percent_value(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	double *out = obj;
	int rc = rw__get_double(ctx, v, out);

	if (rc)
		return rc;
	if (*out < 0.0 || *out > 100.0)
		return rw__fail(ctx, v, "value must be in 0..100");
	return 0;
}

static const struct rw__field percent_fields[] = {
    RW__FIELD("value", percent_value),
};

int rw__walk_percent(struct rw__ctx *ctx, const struct rw__node *map, double *out)
{
	*out = 0.0; /* a Percent given without value is 0%, as in protobuf */
	return rw__walk_map(ctx, map, percent_fields, RW__N(percent_fields), out);
}

int rw__walk_lb_policy(struct rw__ctx *ctx, const struct rw__node *v, void *cluster)
{
	/* Envoy's names in enum order; the supported ones first. */
	static const char *const policies[] = {
	    "ROUND_ROBIN",
	    "LEAST_REQUEST",
	    "RING_HASH",
	    "RANDOM",
	    "MAGLEV",
	    "CLUSTER_PROVIDED",
	    "LOAD_BALANCING_POLICY_CONFIG",
	};
	static const enum rw_config_lb_policy kinds[] = {
	    RW_CONFIG_LB_ROUND_ROBIN, RW_CONFIG_LB_LEAST_REQUEST, RW_CONFIG_LB_RING_HASH,
	    RW_CONFIG_LB_RANDOM,      RW_CONFIG_LB_MAGLEV,
	};
	size_t p;
	int rc = rw__get_enum(ctx, v, policies, RW__N(policies), &p);

	if (rc)
		return rc;
	if (p >= RW__N(kinds))
		return rw__fail(ctx, v, "lb_policy '%s' is not supported by ringway yet",
		                policies[p]);
	((struct rw_config_cluster *)cluster)->lb_policy = kinds[p];
	return 0;
}

/* least_request_lb_config */

static int lr_choice_count(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t n;
	int rc = rw__get_uint_range(ctx, v, "choice_count", 2, UINT32_MAX, &n);

	if (rc == 0)
		((struct rw_config_lb *)obj)->choice_count = (uint32_t)n;
	return rc;
}

static int runtime_default_value(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	double *bias = obj;
	int rc = rw__get_double(ctx, v, bias);

	if (rc)
		return rc;
	if (*bias < 0.0)
		return rw__fail(ctx, v, "active_request_bias must be greater than or equal to 0");
	return 0;
}

/* Runtime overrides do not exist in ringway: the key is checked, then unused. */
static int runtime_key(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	(void)obj;
	if (v->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, v, "expected a string");
	return 0;
}

static const struct rw__field runtime_double_fields[] = {
    RW__FIELD("default_value", runtime_default_value),
    RW__FIELD("runtime_key", runtime_key),
};

/* core.v3.RuntimeDouble: a value given without default_value is 0.0, as in protobuf. */
static int lr_active_request_bias(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_lb *lb = obj;

	lb->active_request_bias = 0.0;
	return rw__walk_map(ctx, v, runtime_double_fields, RW__N(runtime_double_fields),
	                    &lb->active_request_bias);
}

static const struct rw__field least_request_fields[] = {
    RW__FIELD("choice_count", lr_choice_count),
    RW__FIELD("active_request_bias", lr_active_request_bias),
    RW__UNSUPPORTED("slow_start_config"),
};

int rw__walk_least_request_lb(struct rw__ctx *ctx, const struct rw__node *v, void *cluster)
{
	return rw__walk_map(ctx, v, least_request_fields, RW__N(least_request_fields),
	                    &((struct rw_config_cluster *)cluster)->lb);
}

/* ring_hash_lb_config */

static int rh_minimum(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_uint_range(ctx, v, "minimum_ring_size", 1, RING_SIZE_MAX,
	                          &((struct rw_config_lb *)obj)->ring_min);
}

static int rh_maximum(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_uint_range(ctx, v, "maximum_ring_size", 1, RING_SIZE_MAX,
	                          &((struct rw_config_lb *)obj)->ring_max);
}

static int rh_hash_function(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const functions[] = {"XX_HASH", "MURMUR_HASH_2"};
	size_t f;
	int rc = rw__get_enum(ctx, v, functions, RW__N(functions), &f);

	(void)obj;
	if (rc)
		return rc;
	if (f != 0)
		return rw__fail(ctx, v, "hash_function '%s' is not supported by ringway yet",
		                functions[f]);
	return 0;
}

static const struct rw__field ring_hash_fields[] = {
    RW__FIELD("minimum_ring_size", rh_minimum),
    RW__FIELD("hash_function", rh_hash_function),
    RW__FIELD("maximum_ring_size", rh_maximum),
};

int rw__walk_ring_hash_lb(struct rw__ctx *ctx, const struct rw__node *v, void *cluster)
{
	struct rw_config_lb *lb = &((struct rw_config_cluster *)cluster)->lb;
	const char *at = "minimum_ring_size";
	int rc = rw__walk_map(ctx, v, ring_hash_fields, RW__N(ring_hash_fields), lb);

	if (rc || lb->ring_min <= lb->ring_max)
		return rc;
	/* Only a given value can be out of order with a default: point at the given one. */
	if (!rw__map_get(v, at, false) || rw__is_null(rw__map_get(v, at, false)))
		at = "maximum_ring_size";
	rw__path_key(ctx, at, strlen(at));
	return rw__fail(
	    ctx, rw__map_get(v, at, false),
	    "minimum_ring_size (%llu) must not be greater than maximum_ring_size (%llu)",
	    (unsigned long long)lb->ring_min, (unsigned long long)lb->ring_max);
}

/* maglev_lb_config */

static bool is_prime(uint64_t n)
{
	if (n < 2)
		return false;
	for (uint64_t d = 2; d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

static int maglev_table_size(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t n;
	int rc = rw__get_uint_range(ctx, v, "table_size", 2, MAGLEV_SIZE_MAX, &n);

	if (rc)
		return rc;
	if (!is_prime(n))
		return rw__fail(ctx, v, "table_size must be a prime number (%llu is not)",
		                (unsigned long long)n);
	((struct rw_config_lb *)obj)->maglev_table_size = n;
	return 0;
}

static const struct rw__field maglev_fields[] = {
    RW__FIELD("table_size", maglev_table_size),
};

int rw__walk_maglev_lb(struct rw__ctx *ctx, const struct rw__node *v, void *cluster)
{
	return rw__walk_map(ctx, v, maglev_fields, RW__N(maglev_fields),
	                    &((struct rw_config_cluster *)cluster)->lb);
}

/* round_robin_lb_config: nothing ringway implements beyond the policy itself. */

static const struct rw__field round_robin_fields[] = {
    RW__UNSUPPORTED("slow_start_config"),
};

int rw__walk_round_robin_lb(struct rw__ctx *ctx, const struct rw__node *v, void *cluster)
{
	return rw__walk_map(ctx, v, round_robin_fields, RW__N(round_robin_fields), cluster);
}

/* common_lb_config */

static int common_panic_threshold(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	double percent;
	int rc = rw__walk_percent(ctx, v, &percent);

	if (rc == 0)
		((struct rw_config_lb *)obj)->healthy_panic_threshold_ppm =
		    (uint32_t)(percent * 10000.0 + 0.5); /* 0..100: no overflow */
	return rc;
}

/* LocalityWeightedLbConfig has no fields: its presence is the setting. */
static int common_locality_weighted(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	int rc = rw__walk_map(ctx, v, NULL, 0, obj);

	if (rc == 0) {
		((struct rw_config_lb *)obj)->locality_weighted = true;
	}
	return rc;
}

static const struct rw__field common_fields[] = {
    RW__FIELD("healthy_panic_threshold", common_panic_threshold),
    RW__UNSUPPORTED("zone_aware_lb_config"),
    RW__FIELD("locality_weighted_lb_config", common_locality_weighted),
    RW__UNSUPPORTED("update_merge_window"),
    RW__UNSUPPORTED("ignore_new_hosts_until_first_hc"),
    RW__UNSUPPORTED("close_connections_on_host_set_change"),
    RW__UNSUPPORTED("consistent_hashing_lb_config"),
    RW__UNSUPPORTED("override_host_status"),
};

int rw__walk_common_lb(struct rw__ctx *ctx, const struct rw__node *v, void *cluster)
{
	return rw__walk_map(ctx, v, common_fields, RW__N(common_fields),
	                    &((struct rw_config_cluster *)cluster)->lb);
}
