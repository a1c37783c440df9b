/*
 * Cluster.outlier_detection (config.cluster.v3.OutlierDetection): passive ejection.
 *
 * Envoy's defaults are set by the cluster walker for every cluster (see config.h); giving
 * the block turns detection on (outlier.present) and overrides field by field.  The
 * enforcing_* percentages, max_ejection_percent and failure_percentage_threshold are
 * 0..100; the three durations must be greater than 0, and max_ejection_time must not be
 * below base_ejection_time (Envoy refuses that pair too).
 */
#include <errno.h>
#include <string.h>

#include "config/internal.h"

#define OD(obj) ((struct rw_config_outlier *)(obj))

static int get_u32(struct rw__ctx *ctx, const struct rw__node *v, const char *what, uint64_t max,
                   uint32_t *out)
{
	uint64_t n;
	int rc = rw__get_uint_range(ctx, v, what, 0, max, &n);

	if (rc == 0)
		*out = (uint32_t)n;
	return rc;
}

static int get_positive(struct rw__ctx *ctx, const struct rw__node *v, const char *what,
                        uint64_t *out)
{
	uint64_t ms;
	int rc = rw__get_duration_ms(ctx, v, &ms);

	if (rc)
		return rc;
	if (ms == 0)
		return rw__fail(ctx, v, "%s must be greater than 0s", what);
	*out = ms;
	return 0;
}

/* One walker per field: a count (0..UINT32_MAX) or a percentage (0..100). */
#define COUNT_FIELD(name)                                                                          \
	static int od_##name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)             \
	{                                                                                          \
		return get_u32(ctx, v, #name, UINT32_MAX, &OD(obj)->name);                         \
	}
#define PERCENT_FIELD(name)                                                                        \
	static int od_##name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)             \
	{                                                                                          \
		return get_u32(ctx, v, #name, 100, &OD(obj)->name);                                \
	}
#define DURATION_FIELD(name)                                                                       \
	static int od_##name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)             \
	{                                                                                          \
		return get_positive(ctx, v, #name, &OD(obj)->name##_ms);                           \
	}

COUNT_FIELD(consecutive_5xx)
COUNT_FIELD(consecutive_gateway_failure)
COUNT_FIELD(consecutive_local_origin_failure)
DURATION_FIELD(interval)
DURATION_FIELD(base_ejection_time)
DURATION_FIELD(max_ejection_time)
PERCENT_FIELD(max_ejection_percent)
PERCENT_FIELD(enforcing_consecutive_5xx)
PERCENT_FIELD(enforcing_consecutive_gateway_failure)
PERCENT_FIELD(enforcing_consecutive_local_origin_failure)
PERCENT_FIELD(enforcing_success_rate)
PERCENT_FIELD(enforcing_failure_percentage)
PERCENT_FIELD(enforcing_failure_percentage_local_origin)
COUNT_FIELD(success_rate_minimum_hosts)
COUNT_FIELD(success_rate_request_volume)
COUNT_FIELD(success_rate_stdev_factor)
PERCENT_FIELD(failure_percentage_threshold)
COUNT_FIELD(failure_percentage_minimum_hosts)
COUNT_FIELD(failure_percentage_request_volume)

static int od_split_external_local_origin_errors(struct rw__ctx *ctx, const struct rw__node *v,
                                                 void *obj)
{
	return rw__get_bool(ctx, v, &OD(obj)->split_external_local_origin_errors);
}

#define OD_FIELD(name) RW__FIELD(#name, od_##name)

static const struct rw__field outlier_fields[] = {
    OD_FIELD(consecutive_5xx),
    OD_FIELD(interval),
    OD_FIELD(base_ejection_time),
    OD_FIELD(max_ejection_percent),
    OD_FIELD(enforcing_consecutive_5xx),
    OD_FIELD(enforcing_success_rate),
    OD_FIELD(success_rate_minimum_hosts),
    OD_FIELD(success_rate_request_volume),
    OD_FIELD(success_rate_stdev_factor),
    OD_FIELD(consecutive_gateway_failure),
    OD_FIELD(enforcing_consecutive_gateway_failure),
    OD_FIELD(split_external_local_origin_errors),
    OD_FIELD(consecutive_local_origin_failure),
    OD_FIELD(enforcing_consecutive_local_origin_failure),
    RW__UNSUPPORTED("enforcing_local_origin_success_rate"),
    OD_FIELD(failure_percentage_threshold),
    OD_FIELD(enforcing_failure_percentage),
    OD_FIELD(enforcing_failure_percentage_local_origin),
    OD_FIELD(failure_percentage_minimum_hosts),
    OD_FIELD(failure_percentage_request_volume),
    OD_FIELD(max_ejection_time),
    RW__UNSUPPORTED("max_ejection_time_jitter"),
    RW__UNSUPPORTED("successful_active_health_check_uneject_host"),
    RW__UNSUPPORTED("monitors"),
    RW__UNSUPPORTED("always_eject_one_host"),
};

static int rw__walk_outlier_detection_impl(struct rw__ctx *ctx, const struct rw__node *v,
                                           void *cluster)
{
	struct rw_config_outlier *od = &((struct rw_config_cluster *)cluster)->outlier;
	const char *at = "max_ejection_time";
	int rc = rw__walk_map(ctx, v, outlier_fields, RW__N(outlier_fields), od);

	if (rc)
		return rc;
	od->present = true;
	if (od->max_ejection_time_ms >= od->base_ejection_time_ms)
		return 0;
	/* Point at whichever of the two was given (max when both were). */
	if (!rw__map_get(v, at, false) || rw__is_null(rw__map_get(v, at, false)))
		at = "base_ejection_time";
	rw__path_key(ctx, at, strlen(at));
	return rw__fail(ctx, rw__map_get(v, at, false),
	                "max_ejection_time (%llums) must not be smaller than base_ejection_time "
	                "(%llums)",
	                (unsigned long long)od->max_ejection_time_ms,
	                (unsigned long long)od->base_ejection_time_ms);
}

/* Served by lb/outlier.c (detection) and server/outlier.c (the thread that ejects). */
int rw__walk_outlier_detection(struct rw__ctx *ctx, const struct rw__node *v, void *cluster)
{
	return rw__walk_outlier_detection_impl(ctx, v, cluster);
}
