/* Compiling an HttpConnectionManager for serving (see http.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/http_internal.h"

static void free_targets(struct rw_http_config *c)
{
	const struct rw_config_route_config *rc = &c->hcm->route_config;

	if (!c->targets)
		return;
	for (size_t v = 0; v < rc->n_virtual_hosts; v++) {
		if (!c->targets[v])
			continue;
		for (size_t r = 0; r < rc->virtual_hosts[v].n_routes; r++) {
			free(c->targets[v][r].weighted);
			free(c->targets[v][r].bucket);
		}
		free(c->targets[v]);
	}
	free(c->targets);
}

void rw_http_config_free(struct rw_http_config *c)
{
	if (!c)
		return;
	free_targets(c);
	for (size_t i = 0; c->filters && i < c->n_filters; i++)
		free(c->filters[i].hc_clusters);
	free(c->filters);
	rw__http_access_logs_close(c);
	rw_router_free(c->router);
	free(c);
}

static int resolve(struct rw_http_config *c, const char *name, struct rw_cluster **out, char *err,
                   size_t errlen, const char *vh, const char *where)
{
	*out = c->lookup(c->lookup_ctx, name);
	if (*out)
		return 0;
	/* The loader validates cluster names (validate_clusters); this only guards the wiring. */
	snprintf(err, errlen, "virtual host '%s': %s names unknown cluster '%s'", vh, where, name);
	return -EINVAL;
}

static int build_targets(struct rw_http_config *c, char *err, size_t errlen)
{
	const struct rw_config_route_config *rc = &c->hcm->route_config;

	c->targets = calloc(rc->n_virtual_hosts ? rc->n_virtual_hosts : 1, sizeof(*c->targets));
	if (!c->targets)
		return -ENOMEM;
	for (size_t v = 0; v < rc->n_virtual_hosts; v++) {
		const struct rw_config_virtual_host *vh = &rc->virtual_hosts[v];

		c->targets[v] = calloc(vh->n_routes ? vh->n_routes : 1, sizeof(**c->targets));
		if (!c->targets[v])
			return -ENOMEM;
		for (size_t r = 0; r < vh->n_routes; r++) {
			const struct rw_config_route *rt = &vh->routes[r];
			const struct rw_config_route_action *a = &rt->u.route;
			struct http_route_target *t = &c->targets[v][r];
			int rc2;

			if (rt->action != RW_CONFIG_ACTION_ROUTE)
				continue;
			/* A route's own local_ratelimit has its own bucket, shared by all workers.
			 */
			if (a->has_ratelimit_override && a->ratelimit && a->ratelimit->has_bucket) {
				t->bucket = calloc(1, sizeof(*t->bucket));
				if (!t->bucket)
					return -ENOMEM;
				rw__http_bucket_init(t->bucket, a->ratelimit, rw_clock_ms());
			}
			if (a->specifier == RW_CONFIG_ROUTE_CLUSTER) {
				rc2 = resolve(c, a->cluster, &t->cluster, err, errlen, vh->name,
				              "a route");
				if (rc2)
					return rc2;
			} else if (a->specifier == RW_CONFIG_ROUTE_WEIGHTED) {
				t->weighted = calloc(a->n_weighted, sizeof(*t->weighted));
				if (!t->weighted)
					return -ENOMEM;
				for (size_t k = 0; k < a->n_weighted; k++) {
					rc2 = resolve(c, a->weighted[k].name, &t->weighted[k], err,
					              errlen, vh->name, "weighted_clusters");
					if (rc2)
						return rc2;
				}
			}
		}
	}
	return 0;
}

/* Once per HCM with tracing: what is served, and that no span leaves the process. */
static void log_tracing(const struct rw_http_config *c)
{
	static const char *const providers[] = {"none (W3C trace context)", "envoy.tracers.zipkin",
	                                        "envoy.tracers.opentelemetry"};
	const struct rw_config_tracing *t = &c->hcm->tracing;

	if (!t->present)
		return;
	rw_log_info("http",
	            "listener '%s': tracing provider %s: trace context is propagated and trace "
	            "ids logged; spans are not exported to any collector%s%s%s",
	            c->listener_name ? c->listener_name : "-", providers[t->provider],
	            t->collector_cluster ? " (collector_cluster '" : "",
	            t->collector_cluster ? t->collector_cluster : "",
	            t->collector_cluster ? "' unused)" : "");
}

struct rw_stats_scope *rw_http_config_listener_stats(struct rw_http_config *c)
{
	return &c->lstats;
}

int rw_http_config_build(const struct rw_config_hcm *hcm, const char *listener_name,
                         uint32_t down_buffer_limit, rw_http_cluster_lookup lookup,
                         void *lookup_ctx, struct rw_http_config **out, char *err, size_t errlen)
{
	struct rw_http_config *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->hcm = hcm;
	c->listener_name = listener_name;
	c->down_buffer_limit = down_buffer_limit;
	c->lookup = lookup;
	c->lookup_ctx = lookup_ctx;
	c->h1.max_headers_kb = hcm->max_request_headers_kb;
	c->h1.max_headers_count = hcm->common.max_headers_count;
	c->filters = calloc(hcm->n_http_filters ? hcm->n_http_filters : 1, sizeof(*c->filters));
	if (!c->filters) {
		rw_http_config_free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < hcm->n_http_filters; i++) {
		const struct rw_config_http_filter *f = &hcm->http_filters[i];

		if (f->kind == RW_CONFIG_HTTP_FILTER_ROUTER) {
			c->suppress_envoy_headers = f->u.router.suppress_envoy_headers;
			continue;
		}
		c->filters[c->n_filters].cfg = f;
		if (f->kind == RW_CONFIG_HTTP_FILTER_LOCAL_RATELIMIT &&
		    f->u.local_ratelimit.has_bucket)
			rw__http_bucket_init(&c->filters[c->n_filters].bucket,
			                     &f->u.local_ratelimit, rw_clock_ms());
		c->n_filters++;
		if (f->kind == RW_CONFIG_HTTP_FILTER_HEALTH_CHECK) {
			const struct rw_config_health_check_filter *hc = &f->u.health_check;
			struct rw_cluster **cl =
			    calloc(hc->n_clusters ? hc->n_clusters : 1, sizeof(*cl));

			if (!cl) {
				rw_http_config_free(c);
				return -ENOMEM;
			}
			/* A cluster that does not exist fails the check (Envoy), not the load. */
			for (size_t k = 0; k < hc->n_clusters; k++)
				cl[k] = lookup(lookup_ctx, hc->clusters[k].cluster);
			c->filters[c->n_filters - 1].hc_clusters = cl;
			c->health_check = true;
		}
	}
	r = rw_http_stats_register(hcm->stat_prefix, &c->stats);
	for (size_t i = 0; !r && i < c->n_filters; i++)
		if (c->filters[i].cfg->kind == RW_CONFIG_HTTP_FILTER_LOCAL_RATELIMIT)
			r = rw_ratelimit_stats_register(
			    hcm->stat_prefix, c->filters[i].cfg->u.local_ratelimit.stat_prefix,
			    &c->filters[i].rl_stats);
	if (r) {
		snprintf(err, errlen, "cannot register stats: %s", strerror(-r));
		rw_http_config_free(c);
		return r;
	}
	if (gethostname(c->hostname, sizeof(c->hostname) - 1))
		snprintf(c->hostname, sizeof(c->hostname), "localhost");
	r = rw_router_build(&hcm->route_config, &c->router, err, errlen);
	if (!r)
		r = build_targets(c, err, errlen);
	if (!r)
		r = rw__http_access_logs_open(c, err, errlen);
	if (r) {
		if (r == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		rw_http_config_free(c);
		return r;
	}
	log_tracing(c);
	*out = c;
	return 0;
}

int rw_http_listener_init(struct rw_http_listener *l, struct rw_proxy_worker *w,
                          const struct rw_http_config *cfg)
{
	l->worker = w;
	l->cfg = cfg;
	if (!rw__http_worker_get(w))
		return -ENOMEM;
	return rw_router_scratch_create(cfg->router, 0, &l->scratch);
}

void rw_http_listener_fini(struct rw_http_listener *l)
{
	if (l->scratch)
		rw_router_scratch_free(l->scratch);
	l->scratch = NULL;
}
