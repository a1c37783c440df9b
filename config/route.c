/*
 * config.route.v3.RouteConfiguration, VirtualHost and Route: the static route table an
 * HttpConnectionManager carries inline.
 *
 * Domains follow Envoy's rules: lowercased, a wildcard only as the first or last character
 * ("*" alone is the default virtual host), and each domain unique across all virtual hosts of
 * one route configuration, since Host matching must be unambiguous.  A route has exactly one
 * action; its match and action live in route_match.c and route_action.c.
 *
 * A virtual host's retry_policy and typed_per_filter_config are inherited by its routes at
 * load time: vhost_inherit() deep-copies them into every route action that has none of
 * its own, so the data path only ever looks at the route action, and each copy is owned
 * (and freed) by its route.  The virtual host keeps its own retry policy too (vh->retry).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* Walk state for one route configuration: the domains seen so far in any virtual host. */
struct route_walk {
	struct rw_config_route_config *rc;
	struct rw__set domains;
};

static int route_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct rw_config_route *)obj)->name);
}

static int route_match(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_route_match(ctx, v, &((struct rw_config_route *)obj)->match);
}

static int route_route(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route *r = obj;

	r->action = RW_CONFIG_ACTION_ROUTE;
	return rw__walk_route_action(ctx, v, &r->u.route);
}

static int route_redirect(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route *r = obj;

	r->action = RW_CONFIG_ACTION_REDIRECT;
	return rw__walk_redirect(ctx, v, &r->u.redirect);
}

static int route_direct_response(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route *r = obj;

	r->action = RW_CONFIG_ACTION_DIRECT_RESPONSE;
	return rw__walk_direct_response(ctx, v, &r->u.direct_response);
}

static int route_debug_header(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct rw_config_route *)obj)->debug_header);
}

/* metadata.filter_metadata.ringway of a route. */
static const struct rw__field route_ringway_fields[] = {
    RW__FIELD("debug_header", route_debug_header),
};

static int route_metadata(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_metadata(ctx, v, route_ringway_fields, RW__N(route_ringway_fields), obj);
}

static const char *const action_oneof[] = {"route", "redirect", "direct_response", "filter_action",
                                           "non_forwarding_action"};

static const struct rw__field route_fields[] = {
    RW__FIELD("name", route_name),
    RW__FIELD("match", route_match),
    RW__FIELD("route", route_route),
    RW__FIELD("redirect", route_redirect),
    RW__FIELD("direct_response", route_direct_response),
    RW__UNSUPPORTED("filter_action"),
    RW__UNSUPPORTED("non_forwarding_action"),
    RW__FIELD("metadata", route_metadata),
    RW__UNSUPPORTED("decorator"),
    /* Parsed after the walk (per_filter_config.c), once the action is known. */
    RW__IGNORED("typed_per_filter_config"),
    RW__HEADER_MUTATION_FIELDS,
    RW__UNSUPPORTED("tracing"),
    RW__UNSUPPORTED("per_request_buffer_limit_bytes"),
    RW__UNSUPPORTED("stat_prefix"),
};

static const char *action_name(enum rw_config_route_action_kind action)
{
	return action == RW_CONFIG_ACTION_REDIRECT ? "redirect" : "direct_response";
}

/*
 * The error for per-filter overrides that would apply to a route without a route action
 * to hold them: the route's own (vhost_index < 0) or its virtual host's.
 */
static int overrides_need_route(struct rw__ctx *ctx, const struct rw__node *map, long vhost_index,
                                enum rw_config_route_action_kind action)
{
	const struct rw__node *key = rw__map_get(map, "typed_per_filter_config", true);

	rw__path_key(ctx, key->u.s.text, key->n);
	if (vhost_index < 0)
		return rw__fail(ctx, key,
		                "typed_per_filter_config on a '%s' route is not supported by "
		                "ringway yet (only 'route' actions carry per-filter overrides)",
		                action_name(action));
	return rw__fail(ctx, key,
	                "typed_per_filter_config on a virtual host with a '%s' route "
	                "(routes[%ld]) is not supported by ringway yet (only 'route' actions "
	                "carry per-filter overrides)",
	                action_name(action), vhost_index);
}

/* A route's typed_per_filter_config, moved into its route action. */
static int route_overrides(struct rw__ctx *ctx, const struct rw__node *item,
                           struct rw_config_route *r)
{
	struct rw_config_route_action holder = {0};
	int rc = rw__walk_typed_per_filter_config(ctx, item, &holder);

	if (rc == 0 && (holder.ratelimit || holder.fault)) {
		if (r->action == RW_CONFIG_ACTION_ROUTE) {
			r->u.route.ratelimit = holder.ratelimit;
			r->u.route.has_ratelimit_override = holder.has_ratelimit_override;
			r->u.route.fault = holder.fault;
			r->u.route.has_fault_override = holder.has_fault_override;
			holder.ratelimit = NULL;
			holder.fault = NULL;
		} else {
			rc = overrides_need_route(ctx, item, -1, r->action);
		}
	}
	rw__route_action_free(&holder);
	return rc;
}

static int walk_route(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	struct rw_config_route *r = &((struct rw_config_route *)obj)[index];
	int which, rc = rw__oneof(ctx, item, action_oneof, RW__N(action_oneof), &which);

	if (rc == 0)
		rc = rw__walk_map(ctx, item, route_fields, RW__N(route_fields), r);
	if (rc == 0)
		rc = rw__walk_header_mutations(ctx, item, &r->headers);
	if (rc)
		return rc;
	if (!r->match.kind)
		return rw__fail(ctx, item, "missing required field 'match'");
	if (!r->action)
		return rw__fail(ctx, item,
		                "a route needs one of 'route', 'redirect', 'direct_response'");
	return route_overrides(ctx, item, r);
}

/* One virtual host's walk: which host, in which route config. */
struct vhost_walk {
	struct route_walk *rw;
	struct rw_config_virtual_host *vh;
};

static int check_domain(struct rw__ctx *ctx, const struct rw__node *item, struct route_walk *rw,
                        const char *domain)
{
	size_t n = strlen(domain);
	const char *star = strchr(domain, '*');
	char shown[96];
	int rc;

	rw__escape(shown, sizeof(shown), domain, n);
	if (n == 0)
		return rw__fail(ctx, item, "domain must not be empty");
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)domain[i]))
			return rw__fail(ctx, item, "invalid domain '%s'", shown);
	if (star && n > 1 &&
	    ((star != domain && star != domain + n - 1) ||
	     (star == domain && domain[n - 1] == '*')))
		return rw__fail(ctx, item,
		                "invalid domain '%s': a wildcard may only be the first or the last "
		                "character",
		                shown);
	rc = rw__set_add(&rw->domains, domain, n);
	if (rc < 0)
		return rw__fail_oom(ctx);
	if (rc > 0)
		return 0;
	if (strcmp(domain, "*") == 0)
		return rw__fail(ctx, item,
		                "only a single wildcard domain '*' is permitted in a route "
		                "configuration");
	return rw__fail(ctx, item,
	                "duplicate domain '%s' (each domain must be unique across the virtual "
	                "hosts of a route configuration)",
	                shown);
}

static int walk_domain(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	struct vhost_walk *w = obj;
	char **domain = &w->vh->domains[index];
	int rc = rw__get_string(ctx, item, domain);

	if (rc)
		return rc;
	for (char *p = *domain; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return check_domain(ctx, item, w->rw, *domain);
}

static int vh_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct vhost_walk *w = obj;
	int rc = rw__get_string(ctx, v, &w->vh->name);

	if (rc == 0 && !w->vh->name[0])
		return rw__fail(ctx, v, "virtual host name must not be empty");
	return rc;
}

static int vh_domains(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct vhost_walk *w = obj;
	int rc = rw__alloc_items(ctx, v, sizeof(*w->vh->domains), (void **)&w->vh->domains,
	                         &w->vh->n_domains);

	return rc ? rc : rw__walk_seq(ctx, v, walk_domain, w);
}

static int vh_routes(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_virtual_host *vh = ((struct vhost_walk *)obj)->vh;
	int rc = rw__alloc_items(ctx, v, sizeof(*vh->routes), (void **)&vh->routes, &vh->n_routes);

	return rc ? rc : rw__walk_seq(ctx, v, walk_route, vh->routes);
}

static int vh_attempt_count(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct vhost_walk *)obj)->vh->include_request_attempt_count);
}

static int vh_attempt_count_response(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v,
	                    &((struct vhost_walk *)obj)->vh->include_attempt_count_in_response);
}

static int vh_retry_policy(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_retry_policy(ctx, v, &((struct vhost_walk *)obj)->vh->retry);
}

static const struct rw__field vhost_fields[] = {
    RW__FIELD("name", vh_name),
    RW__FIELD("domains", vh_domains),
    RW__FIELD("routes", vh_routes),
    RW__UNSUPPORTED("matcher"),
    RW__UNSUPPORTED("require_tls"),
    RW__UNSUPPORTED("virtual_clusters"),
    RW__UNSUPPORTED("rate_limits"),
    RW__HEADER_MUTATION_FIELDS,
    RW__UNSUPPORTED("cors"),
    /* Parsed after the walk (per_filter_config.c) and copied into the routes. */
    RW__IGNORED("typed_per_filter_config"),
    RW__FIELD("include_request_attempt_count", vh_attempt_count),
    RW__FIELD("include_attempt_count_in_response", vh_attempt_count_response),
    RW__FIELD("retry_policy", vh_retry_policy),
    RW__UNSUPPORTED("retry_policy_typed_config"),
    RW__UNSUPPORTED("hedge_policy"),
    RW__UNSUPPORTED("include_is_timeout_retry_header"),
    RW__UNSUPPORTED("per_request_buffer_limit_bytes"),
    RW__UNSUPPORTED("request_mirror_policies"),
    RW__UNSUPPORTED("metadata"),
};

/*
 * What a virtual host hands down to its routes, Envoy's "the most specific wins": its
 * retry_policy to each route action without one, its typed_per_filter_config overrides to
 * each route action without one of that kind.  Copies, so each route owns its own.
 */
static int vhost_inherit(struct rw__ctx *ctx, const struct rw__node *item,
                         struct rw_config_virtual_host *vh)
{
	struct rw_config_route_action holder = {0};
	int rc = rw__walk_typed_per_filter_config(ctx, item, &holder);

	for (size_t i = 0; rc == 0 && i < vh->n_routes; i++) {
		struct rw_config_route *r = &vh->routes[i];
		struct rw_config_route_action *a = &r->u.route;

		if (r->action != RW_CONFIG_ACTION_ROUTE) {
			if (holder.ratelimit || holder.fault)
				rc = overrides_need_route(ctx, item, (long)i, r->action);
			continue;
		}
		if (vh->retry.present && !a->retry.present &&
		    rw__retry_policy_copy(&a->retry, &vh->retry))
			rc = rw__fail_oom(ctx);
		if (rc == 0)
			rc = rw__copy_filter_overrides(ctx, &holder, a);
	}
	rw__route_action_free(&holder);
	return rc;
}

static int walk_vhost(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	struct route_walk *rw = obj;
	struct vhost_walk w = {rw, &rw->rc->virtual_hosts[index]};
	int rc = rw__walk_map(ctx, item, vhost_fields, RW__N(vhost_fields), &w);

	if (rc == 0)
		rc = rw__walk_header_mutations(ctx, item, &w.vh->headers);
	if (rc)
		return rc;
	if (!w.vh->name)
		return rw__fail(ctx, item, "missing required field 'name'");
	if (w.vh->n_domains == 0)
		return rw__fail(ctx, item, "a virtual host needs at least one domain");
	return vhost_inherit(ctx, item, w.vh);
}

static int rc_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct route_walk *)obj)->rc->name);
}

static int rc_virtual_hosts(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_config *rc = ((struct route_walk *)obj)->rc;
	int err = rw__alloc_items(ctx, v, sizeof(*rc->virtual_hosts), (void **)&rc->virtual_hosts,
	                          &rc->n_virtual_hosts);

	return err ? err : rw__walk_seq(ctx, v, walk_vhost, obj);
}

static int rc_most_specific(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v,
	                    &((struct route_walk *)obj)->rc->most_specific_header_mutations_wins);
}

static int rc_validate_clusters(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct route_walk *)obj)->rc->validate_clusters);
}

static int rc_ignore_port(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct route_walk *)obj)->rc->ignore_port_in_host_matching);
}

static const struct rw__field route_config_fields[] = {
    RW__FIELD("name", rc_name),
    RW__FIELD("virtual_hosts", rc_virtual_hosts),
    RW__UNSUPPORTED("vhds"),
    RW__UNSUPPORTED("internal_only_headers"),
    RW__HEADER_MUTATION_FIELDS,
    RW__FIELD("most_specific_header_mutations_wins", rc_most_specific),
    RW__FIELD("validate_clusters", rc_validate_clusters),
    /* Parsed before the walk: direct_response bodies in virtual_hosts need it. */
    RW__IGNORED("max_direct_response_body_size_bytes"),
    RW__UNSUPPORTED("cluster_specifier_plugins"),
    RW__UNSUPPORTED("request_mirror_policies"),
    RW__FIELD("ignore_port_in_host_matching", rc_ignore_port),
    RW__UNSUPPORTED("ignore_path_parameters_in_path_matching"),
    RW__UNSUPPORTED("typed_per_filter_config"),
    RW__UNSUPPORTED("metadata"),
};

static int max_body(struct rw__ctx *ctx, const struct rw__node *map,
                    struct rw_config_route_config *rc)
{
	const struct rw__node *key = rw__map_get(map, "max_direct_response_body_size_bytes", true);
	const struct rw__node *v = rw__map_get(map, "max_direct_response_body_size_bytes", false);
	uint64_t max;
	size_t saved;
	int err;

	rc->max_direct_response_body_size_bytes = RW_CONFIG_DEFAULT_MAX_DIRECT_BODY;
	if (!key || rw__is_null(v))
		return 0;
	saved = rw__path_key(ctx, key->u.s.text, key->n);
	err = rw__get_uint(ctx, v, UINT32_MAX, &max);
	if (err)
		return err;
	rw__path_pop(ctx, saved);
	rc->max_direct_response_body_size_bytes = (uint32_t)max;
	return 0;
}

int rw__walk_route_config(struct rw__ctx *ctx, const struct rw__node *map,
                          struct rw_config_route_config *rc)
{
	struct route_walk rw = {.rc = rc};
	size_t first_ref = ctx->n_refs;
	int err;

	rc->validate_clusters = true;
	err = max_body(ctx, map, rc);
	if (err)
		return err;
	ctx->max_direct_body = rc->max_direct_response_body_size_bytes;
	err = rw__walk_map(ctx, map, route_config_fields, RW__N(route_config_fields), &rw);
	if (err == 0)
		err = rw__walk_header_mutations(ctx, map, &rc->headers);
	rw__set_free(&rw.domains);
	if (err)
		return err;
	/* validate_clusters: false means "do not check the cluster names" (Envoy's RDS default). */
	if (!rc->validate_clusters) {
		for (size_t i = first_ref; i < ctx->n_refs; i++)
			free(ctx->refs[i].path);
		ctx->n_refs = first_ref;
	}
	return 0;
}

static void route_free(struct rw_config_route *r)
{
	free(r->name);
	rw__route_match_free(&r->match);
	switch (r->action) {
	case RW_CONFIG_ACTION_ROUTE:
		rw__route_action_free(&r->u.route);
		break;
	case RW_CONFIG_ACTION_REDIRECT:
		rw__redirect_free(&r->u.redirect);
		break;
	case RW_CONFIG_ACTION_DIRECT_RESPONSE:
		free(r->u.direct_response.body);
		break;
	}
	rw__header_mutations_free(&r->headers);
}

void rw__route_config_free(struct rw_config_route_config *rc)
{
	for (size_t v = 0; v < rc->n_virtual_hosts; v++) {
		struct rw_config_virtual_host *vh = &rc->virtual_hosts[v];

		free(vh->name);
		for (size_t d = 0; d < vh->n_domains; d++)
			free(vh->domains[d]);
		free(vh->domains);
		for (size_t r = 0; r < vh->n_routes; r++)
			route_free(&vh->routes[r]);
		free(vh->routes);
		rw__header_mutations_free(&vh->headers);
		rw__retry_policy_free(&vh->retry);
	}
	free(rc->virtual_hosts);
	free(rc->name);
	rw__header_mutations_free(&rc->headers);
}
