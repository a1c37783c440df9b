/*
 * envoy.extensions.filters.http.fault.v3.HTTPFault: delay and/or abort a share of the
 * requests, as an HTTP filter or as a route / virtual host typed_per_filter_config override.
 *
 * A delay is fixed_delay (> 0) or header_delay (x-envoy-fault-delay-request); an abort is
 * http_status (200..599) or header_abort (x-envoy-fault-abort-request); exactly one each,
 * as Envoy requires.  An absent percentage is Envoy's: the FractionalPercent default,
 * 0/HUNDRED, so a fault without a percentage is configured but never injected (Envoy's
 * fault_config.cc passes the message's percentage unchanged); see FAULT_DEFAULT_PPM.
 * Runtime overrides (*_runtime), gRPC aborts, response rate limits and the upstream cluster
 * and downstream node filters are "not supported yet".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* delay.percentage / abort.percentage when absent (protobuf's default FractionalPercent). */
#define FAULT_DEFAULT_PPM 0u

/* extensions.filters.common.fault.v3.FaultDelay */
static int fd_fixed(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_fault *f = obj;
	int rc = rw__get_duration_ms(ctx, v, &f->delay_ms);

	if (rc == 0 && f->delay_ms == 0)
		return rw__fail(ctx, v, "fixed_delay must be greater than 0");
	return rc;
}

static int fd_header(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	((struct rw_config_fault *)obj)->delay_from_header = true;
	return rw__walk_map(ctx, v, NULL, 0, obj); /* HeaderDelay / HeaderAbort: {} */
}

static int fd_percentage(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_fractional_percent(ctx, v, &((struct rw_config_fault *)obj)->delay_percent);
}

static const char *const delay_oneof[] = {"fixed_delay", "header_delay"};

static const struct rw__field delay_fields[] = {
    RW__FIELD("fixed_delay", fd_fixed),
    RW__FIELD("header_delay", fd_header),
    RW__FIELD("percentage", fd_percentage),
};

static int f_delay(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_fault *f = obj;
	int which, rc = rw__oneof(ctx, v, delay_oneof, RW__N(delay_oneof), &which);

	if (rc)
		return rc;
	rc = rw__walk_map(ctx, v, delay_fields, RW__N(delay_fields), f);
	if (rc)
		return rc;
	if (which < 0)
		return rw__fail(ctx, v, "a fault delay needs one of 'fixed_delay', 'header_delay'");
	f->has_delay = true;
	return 0;
}

/* extensions.filters.http.fault.v3.FaultAbort */
static int fa_status(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t status;
	int rc = rw__get_uint_range(ctx, v, "http_status", 200, 599, &status);

	if (rc == 0)
		((struct rw_config_fault *)obj)->abort_status = (uint16_t)status;
	return rc;
}

static int fa_header(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	((struct rw_config_fault *)obj)->abort_from_header = true;
	return rw__walk_map(ctx, v, NULL, 0, obj);
}

static int fa_percentage(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_fractional_percent(ctx, v, &((struct rw_config_fault *)obj)->abort_percent);
}

static const char *const abort_oneof[] = {"http_status", "grpc_status", "header_abort"};

static const struct rw__field abort_fields[] = {
    RW__FIELD("http_status", fa_status),
    RW__UNSUPPORTED("grpc_status"),
    RW__FIELD("header_abort", fa_header),
    RW__FIELD("percentage", fa_percentage),
};

static int f_abort(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_fault *f = obj;
	int which, rc = rw__oneof(ctx, v, abort_oneof, RW__N(abort_oneof), &which);

	if (rc)
		return rc;
	rc = rw__walk_map(ctx, v, abort_fields, RW__N(abort_fields), f);
	if (rc)
		return rc;
	if (which < 0)
		return rw__fail(ctx, v, "a fault abort needs one of 'http_status', 'header_abort'");
	f->has_abort = true;
	return 0;
}

static int f_headers(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_fault *f = obj;

	return rw__walk_header_matchers(ctx, v, &f->headers, &f->n_headers);
}

static int f_max_active(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t n;
	int rc = rw__get_uint(ctx, v, UINT32_MAX, &n);

	if (rc)
		return rc;
	/* Envoy then injects no fault at all; here 0 means "unlimited". */
	if (n == 0)
		return rw__fail(ctx, v,
		                "max_active_faults: 0 (never inject) is not supported by ringway; "
		                "remove the fault filter instead");
	((struct rw_config_fault *)obj)->max_active_faults = (uint32_t)n;
	return 0;
}

static const struct rw__field fault_fields[] = {
    RW__IGNORED("@type"),
    RW__FIELD("delay", f_delay),
    RW__FIELD("abort", f_abort),
    RW__UNSUPPORTED("upstream_cluster"),
    RW__FIELD("headers", f_headers),
    RW__UNSUPPORTED("downstream_nodes"),
    RW__FIELD("max_active_faults", f_max_active),
    RW__UNSUPPORTED("response_rate_limit"),
    RW__UNSUPPORTED("delay_percent_runtime"),
    RW__UNSUPPORTED("abort_percent_runtime"),
    RW__UNSUPPORTED("delay_duration_runtime"),
    RW__UNSUPPORTED("abort_http_status_runtime"),
    RW__UNSUPPORTED("max_active_faults_runtime"),
    RW__UNSUPPORTED("response_rate_limit_percent_runtime"),
    RW__UNSUPPORTED("abort_grpc_status_runtime"),
    RW__UNSUPPORTED("disable_downstream_cluster_stats"),
    RW__UNSUPPORTED("filter_metadata"),
};

int rw__walk_fault(struct rw__ctx *ctx, const struct rw__node *map, struct rw_config_fault *f)
{
	f->delay_percent = FAULT_DEFAULT_PPM;
	f->abort_percent = FAULT_DEFAULT_PPM;
	return rw__walk_map(ctx, map, fault_fields, RW__N(fault_fields), f);
}

int rw__fault_copy(struct rw_config_fault *dst, const struct rw_config_fault *src)
{
	*dst = *src;
	dst->headers = NULL;
	dst->n_headers = 0;
	if (rw__header_matchers_copy(&dst->headers, src->headers, src->n_headers))
		return -ENOMEM;
	dst->n_headers = src->n_headers;
	return 0;
}

void rw__fault_free(struct rw_config_fault *f)
{
	rw__header_matchers_free(f->headers, f->n_headers);
}
