/*
 * config.route.v3.RetryPolicy, on a route's action or on a virtual host.
 *
 * Envoy's defaults are always set: num_retries 1, retry_back_off 25ms base and 10 x base
 * maximum, host_selection_retry_max_attempts 1.  retry_on is Envoy's comma-separated
 * condition list; Envoy silently drops a condition it does not know, ringway refuses it
 * (a typo in retry_on would otherwise quietly mean "never retry"), and the gRPC conditions,
 * which need gRPC status handling ringway lacks, are "not supported yet".
 *
 * A route without its own retry_policy inherits its virtual host's (route.c copies it in
 * with rw__retry_policy_copy, so every policy is owned by exactly one struct).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/internal.h"

#define PREVIOUS_HOSTS_NAME "envoy.retry_host_predicates.previous_hosts"
#define PREVIOUS_HOSTS_TYPE "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"

static const struct condition {
	const char *name;
	uint32_t bit;
} conditions[] = {
    {"5xx", RW_CONFIG_RETRY_5XX},
    {"gateway-error", RW_CONFIG_RETRY_GATEWAY_ERROR},
    {"reset", RW_CONFIG_RETRY_RESET},
    {"connect-failure", RW_CONFIG_RETRY_CONNECT_FAILURE},
    {"retriable-4xx", RW_CONFIG_RETRY_RETRIABLE_4XX},
    {"refused-stream", RW_CONFIG_RETRY_REFUSED_STREAM},
    {"retriable-status-codes", RW_CONFIG_RETRY_RETRIABLE_STATUS_CODES},
    {"retriable-headers", RW_CONFIG_RETRY_RETRIABLE_HEADERS},
    {"envoy-ratelimited", RW_CONFIG_RETRY_ENVOY_RATELIMITED},
    {"http3-post-connect-failure", RW_CONFIG_RETRY_HTTP3_POST_CONNECT_FAILURE},
};

/* Envoy's conditions ringway cannot honour yet: gRPC statuses, and reset-before-request. */
static const char *const unsupported_conditions[] = {
    "cancelled",          "deadline-exceeded", "internal",
    "resource-exhausted", "unavailable",       "reset-before-request",
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool token_is(const char *tok, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(tok, name, len) == 0;
}

uint32_t rw_config_retry_condition(const char *name, size_t len, bool ignore_case)
{
	for (size_t i = 0; i < RW__N(conditions); i++)
		if (strlen(conditions[i].name) == len &&
		    (ignore_case ? strncasecmp(name, conditions[i].name, len) == 0
		                 : memcmp(name, conditions[i].name, len) == 0))
			return conditions[i].bit;
	return 0;
}

/* One condition of retry_on, already trimmed. */
static int retry_on_token(struct rw__ctx *ctx, const struct rw__node *v, const char *tok,
                          size_t len, uint32_t *bits)
{
	char shown[64], valid[320];
	size_t used = 0;

	uint32_t bit = rw_config_retry_condition(tok, len, false);

	if (bit) {
		*bits |= bit;
		return 0;
	}
	rw__escape(shown, sizeof(shown), tok, len);
	for (size_t i = 0; i < RW__N(unsupported_conditions); i++)
		if (token_is(tok, len, unsupported_conditions[i]))
			return rw__fail(ctx, v,
			                "retry_on condition '%s' is not supported by ringway yet",
			                shown);
	valid[0] = '\0';
	for (size_t i = 0; i < RW__N(conditions); i++)
		used += (size_t)snprintf(valid + used, sizeof(valid) - used, "%s%s", i ? ", " : "",
		                         conditions[i].name);
	return rw__fail(ctx, v, "unknown retry_on condition '%s' (valid: %s)", shown, valid);
}

static int rp_retry_on(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_retry_policy *p = obj;
	const char *t = v->u.s.text;

	if (v->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, v, "expected a string");
	if (strlen(t) != v->n)
		return rw__fail(ctx, v, "string must not contain NUL bytes");
	p->retry_on = 0;
	/* Envoy splits on ',', trims whitespace and skips empty items. */
	while (*t) {
		const char *end = strchr(t, ',');
		size_t len = end ? (size_t)(end - t) : strlen(t);
		const char *tok = t;
		int rc;

		t += len + (end ? 1 : 0);
		while (len && is_space(*tok)) {
			tok++;
			len--;
		}
		while (len && is_space(tok[len - 1]))
			len--;
		if (len == 0)
			continue;
		rc = retry_on_token(ctx, v, tok, len, &p->retry_on);
		if (rc)
			return rc;
	}
	return 0;
}

static int rp_num_retries(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t n;
	int rc = rw__get_uint(ctx, v, UINT32_MAX, &n);

	if (rc == 0)
		((struct rw_config_retry_policy *)obj)->num_retries = (uint32_t)n;
	return rc;
}

static int rp_per_try_timeout(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_duration_ms(ctx, v,
	                           &((struct rw_config_retry_policy *)obj)->per_try_timeout_ms);
}

static int rp_per_try_idle(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	int rc = rw__get_duration_ms(
	    ctx, v, &((struct rw_config_retry_policy *)obj)->per_try_idle_timeout_ms);

	return rc;
}

static int rp_host_selection(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t n;
	int rc = rw__get_uint(ctx, v, UINT32_MAX, &n);

	if (rc == 0)
		((struct rw_config_retry_policy *)obj)->host_selection_retry_max_attempts =
		    (uint32_t)n;
	return rc;
}

static int walk_status_code(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                            void *obj)
{
	uint64_t code;
	int rc = rw__get_uint_range(ctx, item, "a retriable status code", 100, 599, &code);

	if (rc == 0)
		((uint16_t *)obj)[index] = (uint16_t)code;
	return rc;
}

static int rp_status_codes(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_retry_policy *p = obj;
	int rc = rw__alloc_items(ctx, v, sizeof(*p->retriable_status_codes),
	                         (void **)&p->retriable_status_codes, &p->n_retriable_status_codes);

	return rc ? rc : rw__walk_seq(ctx, v, walk_status_code, p->retriable_status_codes);
}

static int rp_retriable_headers(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_retry_policy *p = obj;

	return rw__walk_header_matchers(ctx, v, &p->retriable_headers, &p->n_retriable_headers);
}

static int rp_retriable_request_headers(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_retry_policy *p = obj;

	return rw__walk_header_matchers(ctx, v, &p->retriable_request_headers,
	                                &p->n_retriable_request_headers);
}

/* RetryPolicy.RetryBackOff */
struct backoff {
	const struct rw__node *base_node, *max_node;
	uint64_t base_ms, max_ms;
};

static int bo_base(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct backoff *b = obj;
	int rc = rw__get_duration_ms(ctx, v, &b->base_ms);

	b->base_node = v;
	if (rc == 0 && b->base_ms == 0)
		return rw__fail(ctx, v, "base_interval must be greater than 0");
	return rc;
}

static int bo_max(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct backoff *b = obj;
	int rc = rw__get_duration_ms(ctx, v, &b->max_ms);

	b->max_node = v;
	if (rc == 0 && b->max_ms == 0)
		return rw__fail(ctx, v, "max_interval must be greater than 0");
	return rc;
}

static const struct rw__field backoff_fields[] = {
    RW__FIELD("base_interval", bo_base),
    RW__FIELD("max_interval", bo_max),
};

static int rp_back_off(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_retry_policy *p = obj;
	struct backoff b = {NULL, NULL, 0, 0};
	int rc = rw__walk_map(ctx, v, backoff_fields, RW__N(backoff_fields), &b);

	if (rc)
		return rc;
	if (!b.base_node)
		return rw__fail(ctx, v, "missing required field 'base_interval'");
	if (b.max_node && b.max_ms < b.base_ms) {
		const struct rw__node *key = rw__map_get(v, "max_interval", true);

		rw__path_key(ctx, key->u.s.text, key->n);
		return rw__fail(ctx, b.max_node,
		                "max_interval (%llums) must be greater than or equal to "
		                "base_interval (%llums)",
		                (unsigned long long)b.max_ms, (unsigned long long)b.base_ms);
	}
	p->backoff_base_ms = b.base_ms;
	/* 10 x base, as Envoy; a base that large is saturated rather than wrapped. */
	p->backoff_max_ms = b.max_node                    ? b.max_ms
	                    : b.base_ms > UINT64_MAX / 10 ? UINT64_MAX
	                                                  : b.base_ms * 10;
	return 0;
}

/* RetryPolicy.RetryHostPredicate: only previous_hosts. */
struct predicate {
	char *name;
	bool typed; /* typed_config named PreviousHostsPredicate */
};

static int hp_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct predicate *)obj)->name);
}

static const struct rw__field previous_hosts_fields[] = {
    RW__IGNORED("@type"),
};

static int hp_typed_config(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	const struct rw__node *type;
	const char *name;
	int rc = rw__any_type(ctx, v, PREVIOUS_HOSTS_TYPE, &type, &name);

	if (rc)
		return rc;
	/* Envoy picks the extension by the type URL when there is one. */
	if (strcmp(name, PREVIOUS_HOSTS_TYPE) != 0)
		return rw__any_type_unsupported(ctx, type, name);
	((struct predicate *)obj)->typed = true;
	return rw__walk_map(ctx, v, previous_hosts_fields, RW__N(previous_hosts_fields), obj);
}

static const struct rw__field predicate_fields[] = {
    RW__FIELD("name", hp_name),
    RW__FIELD("typed_config", hp_typed_config),
};

static int walk_predicate(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	struct rw_config_retry_policy *p = obj;
	struct predicate pr = {NULL, false};
	char shown[96];
	int rc = rw__walk_map(ctx, item, predicate_fields, RW__N(predicate_fields), &pr);

	(void)index;
	if (rc == 0 && (!pr.name || !pr.name[0]))
		rc = rw__fail(ctx, item, "missing required field 'name'");
	if (rc == 0 && !pr.typed && strcmp(pr.name, PREVIOUS_HOSTS_NAME) != 0) {
		const struct rw__node *v = rw__map_get(item, "name", false);

		rw__escape(shown, sizeof(shown), pr.name, strlen(pr.name));
		rw__path_key(ctx, "name", 4);
		if (strncmp(pr.name, "envoy.", 6) == 0)
			rc = rw__fail(ctx, v,
			              "retry host predicate '%s' is not supported by ringway yet",
			              shown);
		else
			rc =
			    rw__fail(ctx, v, "unknown retry host predicate '%s' (ringway has '%s')",
			             shown, PREVIOUS_HOSTS_NAME);
	}
	free(pr.name);
	if (rc == 0)
		p->previous_hosts = true;
	return rc;
}

static int rp_host_predicate(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_seq(ctx, v, walk_predicate, obj);
}

static const struct rw__field retry_policy_fields[] = {
    RW__FIELD("retry_on", rp_retry_on),
    RW__FIELD("num_retries", rp_num_retries),
    RW__FIELD("per_try_timeout", rp_per_try_timeout),
    RW__FIELD("per_try_idle_timeout", rp_per_try_idle),
    RW__UNSUPPORTED("retry_priority"),
    RW__FIELD("retry_host_predicate", rp_host_predicate),
    RW__UNSUPPORTED("retry_options_predicates"),
    RW__FIELD("host_selection_retry_max_attempts", rp_host_selection),
    RW__FIELD("retriable_status_codes", rp_status_codes),
    RW__FIELD("retry_back_off", rp_back_off),
    RW__UNSUPPORTED("rate_limited_retry_back_off"),
    RW__FIELD("retriable_headers", rp_retriable_headers),
    RW__FIELD("retriable_request_headers", rp_retriable_request_headers),
};

int rw__walk_retry_policy(struct rw__ctx *ctx, const struct rw__node *map,
                          struct rw_config_retry_policy *p)
{
	p->present = true;
	p->num_retries = 1;
	p->backoff_base_ms = RW_CONFIG_DEFAULT_RETRY_BASE_MS;
	p->backoff_max_ms = 10 * RW_CONFIG_DEFAULT_RETRY_BASE_MS;
	p->host_selection_retry_max_attempts = 1;
	return rw__walk_map(ctx, map, retry_policy_fields, RW__N(retry_policy_fields), p);
}

int rw__retry_policy_copy(struct rw_config_retry_policy *dst,
                          const struct rw_config_retry_policy *src)
{
	size_t codes = src->n_retriable_status_codes * sizeof(*src->retriable_status_codes);

	*dst = *src;
	dst->retriable_status_codes = NULL;
	dst->retriable_headers = NULL;
	dst->retriable_request_headers = NULL;
	dst->n_retriable_status_codes = dst->n_retriable_headers = 0;
	dst->n_retriable_request_headers = 0;
	if (codes) {
		dst->retriable_status_codes = rw__malloc(codes);
		if (!dst->retriable_status_codes)
			return -ENOMEM;
		memcpy(dst->retriable_status_codes, src->retriable_status_codes, codes);
		dst->n_retriable_status_codes = src->n_retriable_status_codes;
	}
	if (rw__header_matchers_copy(&dst->retriable_headers, src->retriable_headers,
	                             src->n_retriable_headers))
		return -ENOMEM;
	dst->n_retriable_headers = src->n_retriable_headers;
	if (rw__header_matchers_copy(&dst->retriable_request_headers,
	                             src->retriable_request_headers,
	                             src->n_retriable_request_headers))
		return -ENOMEM;
	dst->n_retriable_request_headers = src->n_retriable_request_headers;
	return 0;
}

void rw__retry_policy_free(struct rw_config_retry_policy *p)
{
	free(p->retriable_status_codes);
	rw__header_matchers_free(p->retriable_headers, p->n_retriable_headers);
	rw__header_matchers_free(p->retriable_request_headers, p->n_retriable_request_headers);
}
