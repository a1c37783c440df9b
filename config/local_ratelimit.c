/*
 * envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit, both as an HTTP filter
 * in the HCM's http_filters and as a route or virtual host typed_per_filter_config
 * override (which, as in Envoy, must have a token_bucket).
 *
 * Envoy's defaults: status 429 (a status below 400 also means 429, as Envoy maps it),
 * tokens_per_fill 1, filter_enabled and filter_enforced 0% when absent (so a filter
 * without them counts nothing and limits nothing), x-ratelimit headers off.  Envoy's
 * token bucket refuses a fill_interval under 50ms; so does ringway.  Descriptors, stages
 * and the other rate_limits machinery are "not supported yet".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

#define MIN_FILL_INTERVAL_MS 50u

/* envoy.type.v3.StatusCode: the names protobuf's JSON mapping accepts for status.code. */
static const struct status_name {
	const char *name;
	uint16_t code;
} status_names[] = {
    {"Continue", 100},
    {"OK", 200},
    {"Created", 201},
    {"Accepted", 202},
    {"NonAuthoritativeInformation", 203},
    {"NoContent", 204},
    {"ResetContent", 205},
    {"PartialContent", 206},
    {"MultiStatus", 207},
    {"AlreadyReported", 208},
    {"IMUsed", 226},
    {"MultipleChoices", 300},
    {"MovedPermanently", 301},
    {"Found", 302},
    {"SeeOther", 303},
    {"NotModified", 304},
    {"UseProxy", 305},
    {"TemporaryRedirect", 307},
    {"PermanentRedirect", 308},
    {"BadRequest", 400},
    {"Unauthorized", 401},
    {"PaymentRequired", 402},
    {"Forbidden", 403},
    {"NotFound", 404},
    {"MethodNotAllowed", 405},
    {"NotAcceptable", 406},
    {"ProxyAuthenticationRequired", 407},
    {"RequestTimeout", 408},
    {"Conflict", 409},
    {"Gone", 410},
    {"LengthRequired", 411},
    {"PreconditionFailed", 412},
    {"PayloadTooLarge", 413},
    {"URITooLong", 414},
    {"UnsupportedMediaType", 415},
    {"RangeNotSatisfiable", 416},
    {"ExpectationFailed", 417},
    {"MisdirectedRequest", 421},
    {"UnprocessableEntity", 422},
    {"Locked", 423},
    {"FailedDependency", 424},
    {"UpgradeRequired", 426},
    {"PreconditionRequired", 428},
    {"TooManyRequests", 429},
    {"RequestHeaderFieldsTooLarge", 431},
    {"InternalServerError", 500},
    {"NotImplemented", 501},
    {"BadGateway", 502},
    {"ServiceUnavailable", 503},
    {"GatewayTimeout", 504},
    {"HTTPVersionNotSupported", 505},
    {"VariantAlsoNegotiates", 506},
    {"InsufficientStorage", 507},
    {"LoopDetected", 508},
    {"NotExtended", 510},
    {"NetworkAuthenticationRequired", 511},
};

#define LR(obj) ((struct rw_config_local_ratelimit *)(obj))

static int lr_stat_prefix(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	int rc = rw__get_string(ctx, v, &LR(obj)->stat_prefix);

	if (rc == 0 && !LR(obj)->stat_prefix[0])
		return rw__fail(ctx, v, "stat_prefix must not be empty");
	return rc;
}

/* envoy.type.v3.HttpStatus.code: a defined StatusCode, by number or by name. */
static int hs_code(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	char shown[64];
	uint64_t code = 0;

	if (v->kind == RW__NODE_SCALAR) {
		for (size_t i = 0; i < RW__N(status_names); i++) {
			if (strlen(status_names[i].name) == v->n &&
			    memcmp(status_names[i].name, v->u.s.text, v->n) == 0) {
				code = status_names[i].code;
				break;
			}
		}
	}
	if (!code && v->kind == RW__NODE_SCALAR && v->n && !strchr("-0123456789", v->u.s.text[0])) {
		rw__escape(shown, sizeof(shown), v->u.s.text, v->n);
		return rw__fail(ctx, v,
		                "unknown status code '%s' (a number, or a name like "
		                "'TooManyRequests')",
		                shown);
	}
	if (!code) {
		int rc = rw__get_uint_range(ctx, v, "status code", 100, 599, &code);

		if (rc)
			return rc;
		for (size_t i = 0; i < RW__N(status_names); i++)
			if (status_names[i].code == code)
				goto found;
		rw__escape(shown, sizeof(shown), v->u.s.text, v->n);
		return rw__fail(ctx, v, "%s is not one of Envoy's StatusCode values", shown);
	}
found:
	/* Envoy answers 429 for a configured status below 400. */
	*(uint16_t *)obj = code < 400 ? 429 : (uint16_t)code;
	return 0;
}

static const struct rw__field http_status_fields[] = {
    RW__FIELD("code", hs_code),
};

static int lr_status(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint16_t status = 0;
	int rc = rw__walk_map(ctx, v, http_status_fields, RW__N(http_status_fields), &status);

	if (rc)
		return rc;
	if (!status)
		return rw__fail(ctx, v, "missing required field 'code'");
	LR(obj)->status = status;
	return 0;
}

/* envoy.type.v3.TokenBucket */
struct bucket {
	struct rw_config_local_ratelimit *lr;
	bool have_max, have_fill;
};

static int tb_max_tokens(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct bucket *b = obj;
	uint64_t n;
	int rc = rw__get_uint_range(ctx, v, "max_tokens", 1, UINT32_MAX, &n);

	b->have_max = true;
	if (rc == 0)
		b->lr->max_tokens = (uint32_t)n;
	return rc;
}

static int tb_tokens_per_fill(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t n;
	int rc = rw__get_uint_range(ctx, v, "tokens_per_fill", 1, UINT32_MAX, &n);

	if (rc == 0)
		((struct bucket *)obj)->lr->tokens_per_fill = (uint32_t)n;
	return rc;
}

static int tb_fill_interval(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct bucket *b = obj;
	int rc = rw__get_duration_ms(ctx, v, &b->lr->fill_interval_ms);

	b->have_fill = true;
	if (rc == 0 && b->lr->fill_interval_ms < MIN_FILL_INTERVAL_MS)
		return rw__fail(ctx, v, "fill_interval must be at least 50ms (is %llums)",
		                (unsigned long long)b->lr->fill_interval_ms);
	return rc;
}

static const struct rw__field token_bucket_fields[] = {
    RW__FIELD("max_tokens", tb_max_tokens),
    RW__FIELD("tokens_per_fill", tb_tokens_per_fill),
    RW__FIELD("fill_interval", tb_fill_interval),
};

static int lr_token_bucket(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct bucket b = {LR(obj), false, false};
	int rc = rw__walk_map(ctx, v, token_bucket_fields, RW__N(token_bucket_fields), &b);

	if (rc)
		return rc;
	if (!b.have_max)
		return rw__fail(ctx, v, "missing required field 'max_tokens'");
	if (!b.have_fill)
		return rw__fail(ctx, v, "missing required field 'fill_interval'");
	LR(obj)->has_bucket = true;
	return 0;
}

static int lr_filter_enabled(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_runtime_percent(ctx, v, &LR(obj)->filter_enabled);
}

static int lr_filter_enforced(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_runtime_percent(ctx, v, &LR(obj)->filter_enforced);
}

static int lr_per_connection(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	int rc = rw__get_bool(ctx, v, &LR(obj)->local_rate_limit_per_downstream_connection);

	if (rc == 0 && LR(obj)->local_rate_limit_per_downstream_connection)
		rw__unserved(ctx, v, "local_rate_limit_per_downstream_connection");
	return rc;
}

static int lr_x_headers(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const versions[] = {"OFF", "DRAFT_VERSION_03"};
	size_t ver;
	int rc = rw__get_enum(ctx, v, versions, RW__N(versions), &ver);

	if (rc == 0)
		LR(obj)->x_ratelimit_headers = ver == 1;
	return rc;
}

static const struct rw__field local_ratelimit_fields[] = {
    RW__IGNORED("@type"),
    RW__FIELD("stat_prefix", lr_stat_prefix),
    RW__FIELD("status", lr_status),
    RW__FIELD("token_bucket", lr_token_bucket),
    RW__FIELD("filter_enabled", lr_filter_enabled),
    RW__FIELD("filter_enforced", lr_filter_enforced),
    RW__UNSUPPORTED("request_headers_to_add_when_not_enforced"),
    /* Parsed after the walk with the HeaderValueOption walker of headers.c. */
    RW__IGNORED("response_headers_to_add"),
    RW__UNSUPPORTED("descriptors"),
    RW__UNSUPPORTED("stage"),
    RW__FIELD("local_rate_limit_per_downstream_connection", lr_per_connection),
    RW__UNSUPPORTED("local_cluster_rate_limit"),
    RW__FIELD("enable_x_ratelimit_headers", lr_x_headers),
    RW__UNSUPPORTED("vh_rate_limits"),
    RW__UNSUPPORTED("always_consume_default_token_bucket"),
    RW__UNSUPPORTED("rate_limited_as_resource_exhausted"),
    RW__UNSUPPORTED("rate_limits"),
    RW__UNSUPPORTED("max_dynamic_descriptors"),
};

int rw__walk_local_ratelimit(struct rw__ctx *ctx, const struct rw__node *map,
                             struct rw_config_local_ratelimit *lr, bool per_route)
{
	struct rw_config_header_mutations hm = {0};
	int rc;

	lr->status = 429;
	lr->tokens_per_fill = 1;
	rc = rw__walk_map(ctx, map, local_ratelimit_fields, RW__N(local_ratelimit_fields), lr);
	if (rc)
		return rc;
	/* The map holds no other *_headers_to_* field (the walk refused them), so only
	 * response_headers_to_add can come back. */
	rc = rw__walk_header_mutations(ctx, map, &hm);
	lr->response_headers_to_add = hm.response_add;
	lr->n_response_headers_to_add = hm.n_response_add;
	hm.response_add = NULL;
	hm.n_response_add = 0;
	rw__header_mutations_free(&hm);
	if (rc)
		return rc;
	if (!lr->stat_prefix)
		return rw__fail(ctx, map, "missing required field 'stat_prefix'");
	if (per_route && !lr->has_bucket)
		return rw__fail(ctx, map,
		                "a per-route local_ratelimit needs a token_bucket (as in Envoy)");
	return 0;
}

static void free_adds(struct rw_config_header_add *adds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(adds[i].key);
		free(adds[i].value);
	}
	free(adds);
}

int rw__local_ratelimit_copy(struct rw_config_local_ratelimit *dst,
                             const struct rw_config_local_ratelimit *src)
{
	size_t n = src->n_response_headers_to_add;

	*dst = *src;
	dst->response_headers_to_add = NULL;
	dst->n_response_headers_to_add = 0;
	dst->stat_prefix = rw__strdup(src->stat_prefix);
	if (!dst->stat_prefix)
		return -ENOMEM;
	if (n == 0)
		return 0;
	dst->response_headers_to_add = rw__calloc(n, sizeof(*dst->response_headers_to_add));
	if (!dst->response_headers_to_add)
		return -ENOMEM;
	dst->n_response_headers_to_add = n;
	for (size_t i = 0; i < n; i++) {
		struct rw_config_header_add *h = &dst->response_headers_to_add[i];

		h->append_action = src->response_headers_to_add[i].append_action;
		h->keep_empty_value = src->response_headers_to_add[i].keep_empty_value;
		h->key = rw__strdup(src->response_headers_to_add[i].key);
		h->value = rw__strdup(src->response_headers_to_add[i].value);
		if (!h->key || !h->value)
			return -ENOMEM;
	}
	return 0;
}

void rw__local_ratelimit_free(struct rw_config_local_ratelimit *lr)
{
	free(lr->stat_prefix);
	free_adds(lr->response_headers_to_add, lr->n_response_headers_to_add);
}
