/*
 * config.bootstrap.v3.Bootstrap: the document root, static_resources and admin, plus the
 * checks that need the whole document (a tcp_proxy naming a cluster defined further down).
 *
 * "node" is accepted and dropped: nearly every Envoy config carries it for xDS and stats,
 * and ringway has no use for it, but refusing it would make most real configs fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

static const struct rw__field node_fields[] = {
    RW__IGNORED("id"),
    RW__IGNORED("cluster"),
    RW__IGNORED("metadata"),
    RW__IGNORED("dynamic_parameters"),
    RW__IGNORED("locality"),
    RW__IGNORED("user_agent_name"),
    RW__IGNORED("user_agent_version"),
    RW__IGNORED("user_agent_build_version"),
    RW__IGNORED("extensions"),
    RW__IGNORED("client_features"),
    RW__IGNORED("listening_addresses"),
};

/* Field names are still checked, so a typo under node is caught like anywhere else. */
static int bootstrap_node(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_map(ctx, v, node_fields, RW__N(node_fields), obj);
}

static int static_listeners(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config *cfg = obj;
	int rc = rw__alloc_items(ctx, v, sizeof(*cfg->listeners), (void **)&cfg->listeners,
	                         &cfg->n_listeners);

	return rc ? rc : rw__walk_seq(ctx, v, rw__walk_listener, cfg);
}

static int static_clusters(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config *cfg = obj;
	int rc = rw__alloc_items(ctx, v, sizeof(*cfg->clusters), (void **)&cfg->clusters,
	                         &cfg->n_clusters);

	return rc ? rc : rw__walk_seq(ctx, v, rw__walk_cluster, cfg);
}

static const struct rw__field static_fields[] = {
    RW__FIELD("listeners", static_listeners),
    RW__FIELD("clusters", static_clusters),
    RW__UNSUPPORTED("secrets"),
};

static int bootstrap_static(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_map(ctx, v, static_fields, RW__N(static_fields), obj);
}

static int admin_access_log_path(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct rw_config_admin *)obj)->access_log_path);
}

static int admin_address(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_admin *admin = obj;
	int rc = rw__get_address(ctx, v, 0, &admin->addr);

	admin->present = rc == 0;
	return rc;
}

static const struct rw__field admin_fields[] = {
    RW__FIELD("access_log_path", admin_access_log_path),
    RW__UNSUPPORTED("access_log"),
    RW__UNSUPPORTED("profile_path"),
    RW__FIELD("address", admin_address),
    RW__UNSUPPORTED("socket_options"),
    RW__UNSUPPORTED("ignore_global_conn_limit"),
};

static int bootstrap_admin(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_map(ctx, v, admin_fields, RW__N(admin_fields),
	                    &((struct rw_config *)obj)->admin);
}

static const struct rw__field bootstrap_fields[] = {
    RW__FIELD("node", bootstrap_node),
    RW__UNSUPPORTED("node_context_params"),
    RW__FIELD("static_resources", bootstrap_static),
    RW__UNSUPPORTED("dynamic_resources"),
    RW__UNSUPPORTED("cluster_manager"),
    RW__UNSUPPORTED("hds_config"),
    RW__UNSUPPORTED("flags_path"),
    RW__FIELD("stats_sinks", rw__walk_stats_sinks),
    RW__UNSUPPORTED("deferred_stat_options"),
    RW__UNSUPPORTED("stats_config"),
    RW__FIELD("stats_flush_interval", rw__walk_stats_flush_interval),
    RW__UNSUPPORTED("stats_flush_on_admin"),
    RW__UNSUPPORTED("stats_eviction_interval"),
    RW__UNSUPPORTED("watchdog"),
    RW__UNSUPPORTED("watchdogs"),
    RW__UNSUPPORTED("tracing"),
    RW__UNSUPPORTED("layered_runtime"),
    RW__FIELD("admin", bootstrap_admin),
    RW__UNSUPPORTED("overload_manager"),
    RW__UNSUPPORTED("enable_dispatcher_stats"),
    RW__UNSUPPORTED("header_prefix"),
    RW__UNSUPPORTED("stats_server_version_override"),
    RW__UNSUPPORTED("use_tcp_for_dns_lookups"),
    RW__UNSUPPORTED("dns_resolution_config"),
    RW__UNSUPPORTED("typed_dns_resolver_config"),
    RW__UNSUPPORTED("bootstrap_extensions"),
    RW__UNSUPPORTED("fatal_actions"),
    RW__UNSUPPORTED("config_sources"),
    RW__UNSUPPORTED("default_config_source"),
    RW__UNSUPPORTED("default_socket_interface"),
    RW__UNSUPPORTED("certificate_provider_instances"),
    RW__UNSUPPORTED("inline_headers"),
    RW__UNSUPPORTED("perf_tracing_file_path"),
    RW__UNSUPPORTED("default_regex_engine"),
    RW__UNSUPPORTED("xds_delegate_extension"),
    RW__UNSUPPORTED("xds_config_tracker_extension"),
    RW__UNSUPPORTED("listener_manager"),
    RW__UNSUPPORTED("application_log_config"),
    RW__UNSUPPORTED("grpc_async_client_manager_config"),
    RW__UNSUPPORTED("memory_allocator_manager"),
};

int rw__remember_cluster_ref(struct rw__ctx *ctx, const struct rw__node *map, const char *key,
                             const char *cluster, const char *what)
{
	const struct rw__node *value = rw__map_get(map, key, false);
	const struct rw__node *k = rw__map_get(map, key, true);
	struct rw__cluster_ref *ref;
	size_t saved;
	int rc = rw__grow((void **)&ctx->refs, &ctx->cap_refs, ctx->n_refs + 1, sizeof(*ctx->refs));

	if (rc)
		return rw__fail_oom(ctx);
	ref = &ctx->refs[ctx->n_refs];
	saved = rw__path_key(ctx, k->u.s.text, k->n);
	ref->path = rw__strdup(ctx->path);
	rw__path_pop(ctx, saved);
	if (!ref->path)
		return rw__fail_oom(ctx);
	ref->line = value->line;
	ref->col = value->col;
	ref->cluster = cluster;
	ref->what = what;
	ctx->n_refs++;
	return 0;
}

static int check_cluster_refs(struct rw__ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_refs; i++) {
		const struct rw__cluster_ref *ref = &ctx->refs[i];
		char shown[96];
		size_t n;

		if (rw__set_has(&ctx->cluster_names, ref->cluster, strlen(ref->cluster)))
			continue;
		/* Report under the path the reference was found at, not the current one. */
		n = strlen(ref->path);
		if (n >= sizeof(ctx->path))
			n = sizeof(ctx->path) - 1;
		memcpy(ctx->path, ref->path, n);
		rw__path_pop(ctx, n);
		rw__escape(shown, sizeof(shown), ref->cluster, strlen(ref->cluster));
		return rw__fail_at(ctx, ref->line, ref->col,
		                   "%s '%s' not found in static_resources.clusters", ref->what,
		                   shown);
	}
	return 0;
}

int rw__walk_bootstrap(struct rw__ctx *ctx, const struct rw__node *root)
{
	int rc = rw__walk_map(ctx, root, bootstrap_fields, RW__N(bootstrap_fields), ctx->cfg);

	if (rc == 0)
		rc = check_cluster_refs(ctx);
	if (rc == 0 && ctx->unserved.seen && !rw__config_allow_unserved) {
		/* Checked in full, but serving it would silently ignore part of it. */
		memcpy(ctx->path, ctx->unserved.path, sizeof(ctx->path));
		ctx->path_len = strlen(ctx->path);
		rc = rw__fail_at(
		    ctx, ctx->unserved.line, ctx->unserved.col,
		    "%s is not supported by ringway yet (the rest of this configuration "
		    "was checked and is valid)",
		    ctx->unserved.what);
	}
	return rc;
}
