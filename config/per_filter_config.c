/*
 * typed_per_filter_config on a route or a virtual host: a map from an HTTP filter's name to
 * a per-route configuration (a protobuf Any).  ringway takes two kinds, both the filter's
 * own message, as Envoy does: LocalRateLimit (which then needs a token_bucket) and
 * HTTPFault.  Any other Envoy type (CorsPolicy, FilterConfig, ...) is "not supported yet".
 *
 * Where they go: a route's overrides into its route action (ratelimit / fault).  A virtual
 * host's are copied into each of its routes that has none of that kind, which is Envoy's
 * "most specific wins" (route.c).  Only routes with a 'route' action carry them, so an
 * override that would apply to a redirect or direct_response route is refused rather than
 * silently dropped.
 *
 * Which filter: once the HCM is walked, each key must name one of its http_filters, of the
 * type the value configures, and the only filter of that type (the route action has one
 * slot per type, so with two local_ratelimit filters an override could not say which).  A
 * key naming no filter would be ignored by Envoy; ringway refuses it as a probable typo.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

#define LOCAL_RATELIMIT_TYPE "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
#define FAULT_TYPE           "envoy.extensions.filters.http.fault.v3.HTTPFault"

#define FIELD "typed_per_filter_config"

static int entry_local_ratelimit(struct rw__ctx *ctx, const struct rw__node *key,
                                 const struct rw__node *v, struct rw_config_route_action *h)
{
	if (h->ratelimit)
		return rw__fail(
		    ctx, key, "a second local_ratelimit override is not supported by ringway yet");
	h->ratelimit = rw__calloc(1, sizeof(*h->ratelimit));
	if (!h->ratelimit)
		return rw__fail_oom(ctx);
	h->has_ratelimit_override = true;
	return rw__walk_local_ratelimit(ctx, v, h->ratelimit, true);
}

static int entry_fault(struct rw__ctx *ctx, const struct rw__node *key, const struct rw__node *v,
                       struct rw_config_route_action *h)
{
	if (h->fault)
		return rw__fail(ctx, key,
		                "a second fault override is not supported by ringway yet");
	h->fault = rw__calloc(1, sizeof(*h->fault));
	if (!h->fault)
		return rw__fail_oom(ctx);
	h->has_fault_override = true;
	return rw__walk_fault(ctx, v, h->fault);
}

static int walk_entry(struct rw__ctx *ctx, const struct rw__node *key, const struct rw__node *v,
                      struct rw_config_route_action *h)
{
	const struct rw__node *type;
	const char *name;
	int rc;

	if (key->n == 0)
		return rw__fail(ctx, key, "filter name must not be empty");
	rc = rw__any_type(ctx, v, LOCAL_RATELIMIT_TYPE, &type, &name);
	if (rc)
		return rc;
	if (strcmp(name, LOCAL_RATELIMIT_TYPE) == 0)
		return entry_local_ratelimit(ctx, key, v, h);
	if (strcmp(name, FAULT_TYPE) == 0)
		return entry_fault(ctx, key, v, h);
	return rw__any_type_unsupported(ctx, type, name);
}

int rw__walk_typed_per_filter_config(struct rw__ctx *ctx, const struct rw__node *map,
                                     struct rw_config_route_action *holder)
{
	const struct rw__node *key = rw__map_get(map, FIELD, true);
	const struct rw__node *v = rw__map_get(map, FIELD, false);
	size_t saved;

	if (!key || rw__is_null(v))
		return 0;
	saved = rw__path_key(ctx, key->u.s.text, key->n);
	if (v->kind != RW__NODE_MAP)
		return rw__fail(ctx, v, "expected a mapping");
	for (const struct rw__node_link *l = v->u.first; l; l = l->next) {
		size_t inner = rw__path_key(ctx, l->node->u.s.text, l->node->n);
		int rc = walk_entry(ctx, l->node, l->value, holder);

		if (rc)
			return rc;
		rw__path_pop(ctx, inner);
	}
	rw__path_pop(ctx, saved);
	return 0;
}

int rw__copy_filter_overrides(struct rw__ctx *ctx, const struct rw_config_route_action *holder,
                              struct rw_config_route_action *a)
{
	if (holder->ratelimit && !a->ratelimit) {
		a->ratelimit = rw__calloc(1, sizeof(*a->ratelimit));
		if (!a->ratelimit || rw__local_ratelimit_copy(a->ratelimit, holder->ratelimit))
			return rw__fail_oom(ctx);
		a->has_ratelimit_override = true;
	}
	if (holder->fault && !a->fault) {
		a->fault = rw__calloc(1, sizeof(*a->fault));
		if (!a->fault || rw__fault_copy(a->fault, holder->fault))
			return rw__fail_oom(ctx);
		a->has_fault_override = true;
	}
	return 0;
}

/* The check after the HCM walk. */

static const char *kind_name(enum rw_config_http_filter_kind kind)
{
	switch (kind) {
	case RW_CONFIG_HTTP_FILTER_ROUTER:
		return "router";
	case RW_CONFIG_HTTP_FILTER_LOCAL_RATELIMIT:
		return "local_ratelimit";
	case RW_CONFIG_HTTP_FILTER_FAULT:
		return "fault";
	case RW_CONFIG_HTTP_FILTER_HEALTH_CHECK:
		return "health_check";
	}
	return "?";
}

static enum rw_config_http_filter_kind entry_kind(const struct rw__node *v)
{
	const struct rw__node *t = rw__map_get(v, "@type", false);
	const char *slash = t && t->kind == RW__NODE_SCALAR ? strrchr(t->u.s.text, '/') : NULL;

	if (slash && strcmp(slash + 1, LOCAL_RATELIMIT_TYPE) == 0)
		return RW_CONFIG_HTTP_FILTER_LOCAL_RATELIMIT;
	if (slash && strcmp(slash + 1, FAULT_TYPE) == 0)
		return RW_CONFIG_HTTP_FILTER_FAULT;
	return 0; /* refused by the walk already */
}

static int check_entry(struct rw__ctx *ctx, const struct rw__node *key, const struct rw__node *v,
                       const struct rw_config_hcm *hcm)
{
	enum rw_config_http_filter_kind kind = entry_kind(v);
	const struct rw_config_http_filter *named = NULL;
	size_t same_kind = 0;
	char shown[96];

	rw__escape(shown, sizeof(shown), key->u.s.text, key->n);
	for (size_t i = 0; i < hcm->n_http_filters; i++) {
		const struct rw_config_http_filter *f = &hcm->http_filters[i];

		if (f->kind == kind)
			same_kind++;
		if (!named && strlen(f->name) == key->n &&
		    memcmp(f->name, key->u.s.text, key->n) == 0)
			named = f;
	}
	if (!kind)
		return 0;
	if (!named)
		return rw__fail(ctx, key, "'%s' names no filter in http_filters", shown);
	if (named->kind != kind)
		return rw__fail(ctx, key,
		                "'%s' is a %s filter, but this is a %s configuration: a "
		                "per-route config of another type is not supported by ringway yet",
		                shown, kind_name(named->kind), kind_name(kind));
	if (same_kind > 1)
		return rw__fail(ctx, key,
		                "a per-route config for one of %zu %s filters is not supported by "
		                "ringway yet (it would apply to all of them)",
		                same_kind, kind_name(kind));
	return 0;
}

static int check_map(struct rw__ctx *ctx, const struct rw__node *map,
                     const struct rw_config_hcm *hcm)
{
	const struct rw__node *key = rw__map_get(map, FIELD, true);
	const struct rw__node *v = rw__map_get(map, FIELD, false);
	size_t saved;

	if (!key || !v || v->kind != RW__NODE_MAP)
		return 0;
	saved = rw__path_key(ctx, key->u.s.text, key->n);
	for (const struct rw__node_link *l = v->u.first; l; l = l->next) {
		size_t inner = rw__path_key(ctx, l->node->u.s.text, l->node->n);
		int rc = check_entry(ctx, l->node, l->value, hcm);

		if (rc)
			return rc;
		rw__path_pop(ctx, inner);
	}
	rw__path_pop(ctx, saved);
	return 0;
}

/* Calls fn on each item of map[field] (a list), with the path at "<field>[i]". */
static int each_item(struct rw__ctx *ctx, const struct rw__node *map, const char *field,
                     int (*fn)(struct rw__ctx *, const struct rw__node *,
                               const struct rw_config_hcm *),
                     const struct rw_config_hcm *hcm)
{
	const struct rw__node *key = rw__map_get(map, field, true);
	const struct rw__node *seq = rw__map_get(map, field, false);
	size_t saved, index = 0;

	if (!key || !seq || seq->kind != RW__NODE_SEQ)
		return 0;
	saved = rw__path_key(ctx, key->u.s.text, key->n);
	for (const struct rw__node_link *l = seq->u.first; l; l = l->next, index++) {
		size_t inner = rw__path_index(ctx, index);
		int rc = fn(ctx, l->node, hcm);

		if (rc)
			return rc;
		rw__path_pop(ctx, inner);
	}
	rw__path_pop(ctx, saved);
	return 0;
}

static int check_vhost(struct rw__ctx *ctx, const struct rw__node *vhost,
                       const struct rw_config_hcm *hcm)
{
	int rc = check_map(ctx, vhost, hcm);

	return rc ? rc : each_item(ctx, vhost, "routes", check_map, hcm);
}

int rw__check_per_filter_keys(struct rw__ctx *ctx, const struct rw__node *hcm_map,
                              const struct rw_config_hcm *hcm)
{
	const struct rw__node *key = rw__map_get(hcm_map, "route_config", true);
	const struct rw__node *rc_map = rw__map_get(hcm_map, "route_config", false);
	size_t saved;
	int rc;

	if (!key || !rc_map || rc_map->kind != RW__NODE_MAP)
		return 0;
	saved = rw__path_key(ctx, key->u.s.text, key->n);
	rc = each_item(ctx, rc_map, "virtual_hosts", check_vhost, hcm);
	if (rc)
		return rc;
	rw__path_pop(ctx, saved);
	return 0;
}
