/*
 * config.listener.v3.Listener, its filter chains and network filters, and the terminal
 * filters ringway implements so far: envoy.filters.network.tcp_proxy and .echo.
 *
 * Filters are identified by typed_config's "@type", as Envoy does (the filter "name" is only
 * a label).  Any other Envoy filter type is reported as not supported rather than unknown,
 * so a user can tell "ringway lacks this" from "this is a typo".
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

#define TCP_PROXY_TYPE "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
#define ECHO_TYPE      "envoy.extensions.filters.network.echo.v3.Echo"
#define HCM_TYPE       "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"

/* Echo has no fields: only "@type" may appear. */
static const struct rw__field echo_fields[] = {
    RW__IGNORED("@type"),
};

static int tcp_stat_prefix(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct rw_config_tcp_proxy *)obj)->stat_prefix);
}

static int tcp_cluster(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct rw_config_tcp_proxy *)obj)->cluster);
}

static int tcp_idle_timeout(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_duration_ms(ctx, v, &((struct rw_config_tcp_proxy *)obj)->idle_timeout_ms);
}

static int tcp_access_log(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_tcp_proxy *tp = obj;

	return rw__walk_access_logs(ctx, v, &tp->access_logs, &tp->n_access_logs);
}

static const struct rw__field tcp_proxy_fields[] = {
    RW__IGNORED("@type"),
    RW__FIELD("stat_prefix", tcp_stat_prefix),
    RW__FIELD("cluster", tcp_cluster),
    RW__UNSUPPORTED("weighted_clusters"),
    RW__UNSUPPORTED("on_demand"),
    RW__UNSUPPORTED("metadata_match"),
    RW__FIELD("idle_timeout", tcp_idle_timeout),
    RW__UNSUPPORTED("downstream_idle_timeout"),
    RW__UNSUPPORTED("upstream_idle_timeout"),
    RW__FIELD("access_log", tcp_access_log),
    RW__UNSUPPORTED("max_connect_attempts"),
    RW__UNSUPPORTED("backoff_options"),
    RW__UNSUPPORTED("hash_policy"),
    RW__UNSUPPORTED("tunneling_config"),
    RW__UNSUPPORTED("max_downstream_connection_duration"),
    RW__UNSUPPORTED("access_log_flush_interval"),
    RW__UNSUPPORTED("flush_access_log_on_connected"),
    RW__UNSUPPORTED("access_log_options"),
    RW__UNSUPPORTED("proxy_protocol_tlvs"),
};

static int walk_tcp_proxy(struct rw__ctx *ctx, const struct rw__node *any,
                          struct rw_config_tcp_proxy *tp)
{
	int rc;

	tp->idle_timeout_ms = RW_CONFIG_DEFAULT_TCP_IDLE_MS;
	rc = rw__walk_map(ctx, any, tcp_proxy_fields, RW__N(tcp_proxy_fields), tp);
	if (rc)
		return rc;
	if (!tp->stat_prefix)
		return rw__fail(ctx, any, "missing required field 'stat_prefix'");
	if (!tp->stat_prefix[0]) {
		rw__path_key(ctx, "stat_prefix", 11);
		return rw__fail(ctx, rw__map_get(any, "stat_prefix", false),
		                "stat_prefix must not be empty");
	}
	if (!tp->cluster)
		return rw__fail(ctx, any, "missing required field 'cluster'");
	if (!tp->cluster[0]) {
		rw__path_key(ctx, "cluster", 7);
		return rw__fail(ctx, rw__map_get(any, "cluster", false),
		                "cluster must not be empty");
	}
	/* tcp_proxy.cluster can only be checked once every cluster is known. */
	return rw__remember_cluster_ref(ctx, any, "cluster", tp->cluster, "tcp_proxy cluster");
}

static int filter_typed_config(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_filter *f = obj;
	const struct rw__node *type;
	const char *name;
	int rc = rw__any_type(ctx, v, TCP_PROXY_TYPE, &type, &name);

	if (rc)
		return rc;
	if (strcmp(name, TCP_PROXY_TYPE) == 0) {
		f->kind = RW_CONFIG_FILTER_TCP_PROXY;
		return walk_tcp_proxy(ctx, v, &f->u.tcp_proxy);
	}
	if (strcmp(name, HCM_TYPE) == 0) {
		f->kind = RW_CONFIG_FILTER_HTTP_CONNECTION_MANAGER;
		return rw__walk_hcm(ctx, v, &f->u.hcm);
	}
	if (strcmp(name, ECHO_TYPE) == 0) {
		f->kind = RW_CONFIG_FILTER_ECHO;
		return rw__walk_map(ctx, v, echo_fields, RW__N(echo_fields), NULL);
	}
	return rw__any_type_unsupported(ctx, type, name);
}

static int filter_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct rw_config_filter *)obj)->name);
}

static const struct rw__field filter_fields[] = {
    RW__FIELD("name", filter_name),
    RW__FIELD("typed_config", filter_typed_config),
    RW__UNSUPPORTED("config_discovery"),
};

static int walk_filter(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	struct rw_config_filter_chain *chain = obj;
	struct rw_config_filter *f = &chain->filters[index];
	int rc = rw__walk_map(ctx, item, filter_fields, RW__N(filter_fields), f);

	if (rc)
		return rc;
	if (!f->kind)
		return rw__fail(ctx, item, "missing required field 'typed_config'");
	if (index + 1 != chain->n_filters)
		return rw__fail(ctx, item,
		                "%s is a terminal filter and must be the last in its chain",
		                f->kind == RW_CONFIG_FILTER_TCP_PROXY ? "tcp_proxy"
		                : f->kind == RW_CONFIG_FILTER_ECHO    ? "echo"
		                                                      : "http_connection_manager");
	return 0;
}

static int chain_filters(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_filter_chain *chain = obj;
	int rc = rw__alloc_items(ctx, v, sizeof(*chain->filters), (void **)&chain->filters,
	                         &chain->n_filters);

	return rc ? rc : rw__walk_seq(ctx, v, walk_filter, chain);
}

static const struct rw__field chain_fields[] = {
    RW__UNSUPPORTED("filter_chain_match"),
    RW__FIELD("filters", chain_filters),
    RW__UNSUPPORTED("use_proxy_proto"),
    RW__UNSUPPORTED("metadata"),
    RW__UNSUPPORTED("transport_socket"),
    RW__UNSUPPORTED("transport_socket_connect_timeout"),
    /* Only filter_chain_matcher refers to chains by name, and that is unsupported. */
    RW__IGNORED("name"),
    RW__UNSUPPORTED("on_demand_configuration"),
};

static int walk_chain(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	struct rw_config_listener *l = obj;
	struct rw_config_filter_chain *chain = &l->chains[index];
	int rc = rw__walk_map(ctx, item, chain_fields, RW__N(chain_fields), chain);

	if (rc)
		return rc;
	if (chain->n_filters == 0)
		return rw__fail(ctx, item,
		                "a filter chain needs at least one filter, ending in a terminal "
		                "filter such as tcp_proxy");
	return 0;
}

static int listener_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct rw_config_listener *)obj)->name);
}

static int listener_address(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_address(ctx, v, 0, &((struct rw_config_listener *)obj)->addr);
}

static int listener_buffer_limit(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t limit;
	int rc = rw__get_uint(ctx, v, UINT32_MAX, &limit);

	if (rc == 0)
		((struct rw_config_listener *)obj)->buffer_limit = (uint32_t)limit;
	return rc;
}

static int listener_chains(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_listener *l = obj;
	int rc = rw__alloc_items(ctx, v, sizeof(*l->chains), (void **)&l->chains, &l->n_chains);

	return rc ? rc : rw__walk_seq(ctx, v, walk_chain, l);
}

static int listener_debug_request_header(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_listener *l = obj;

	free(l->debug_request_header);
	l->debug_request_header = NULL;
	return rw__get_header_name(ctx, v, &l->debug_request_header);
}

/* metadata.filter_metadata.ringway of a listener. */
static const struct rw__field listener_ringway_fields[] = {
    RW__FIELD("debug_request_header", listener_debug_request_header),
};

static int listener_metadata(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_metadata(ctx, v, listener_ringway_fields, RW__N(listener_ringway_fields),
	                         obj);
}

static const struct rw__field listener_fields[] = {
    RW__FIELD("name", listener_name),
    RW__FIELD("address", listener_address),
    RW__UNSUPPORTED("additional_addresses"),
    RW__UNSUPPORTED("stat_prefix"),
    RW__FIELD("filter_chains", listener_chains),
    RW__UNSUPPORTED("filter_chain_matcher"),
    RW__UNSUPPORTED("use_original_dst"),
    RW__UNSUPPORTED("default_filter_chain"),
    RW__FIELD("per_connection_buffer_limit_bytes", listener_buffer_limit),
    RW__FIELD("metadata", listener_metadata),
    RW__UNSUPPORTED("deprecated_v1"),
    RW__UNSUPPORTED("drain_type"),
    RW__UNSUPPORTED("listener_filters"),
    RW__UNSUPPORTED("listener_filters_timeout"),
    RW__UNSUPPORTED("continue_on_listener_filters_timeout"),
    RW__UNSUPPORTED("transparent"),
    RW__UNSUPPORTED("freebind"),
    RW__UNSUPPORTED("socket_options"),
    RW__UNSUPPORTED("tcp_fast_open_queue_length"),
    RW__UNSUPPORTED("traffic_direction"),
    RW__UNSUPPORTED("udp_listener_config"),
    RW__UNSUPPORTED("api_listener"),
    RW__UNSUPPORTED("connection_balance_config"),
    RW__UNSUPPORTED("reuse_port"),
    RW__UNSUPPORTED("enable_reuse_port"),
    RW__UNSUPPORTED("access_log"),
    RW__UNSUPPORTED("tcp_backlog_size"),
    RW__UNSUPPORTED("max_connections_to_accept_per_socket_event"),
    RW__UNSUPPORTED("bind_to_port"),
    RW__UNSUPPORTED("internal_listener"),
    RW__UNSUPPORTED("enable_mptcp"),
    RW__UNSUPPORTED("ignore_global_conn_limit"),
    RW__UNSUPPORTED("bypass_overload_manager"),
    RW__UNSUPPORTED("fcds_config"),
};

/* Envoy refuses two listeners with one name, or bound to one address (port 0 excepted). */
static int check_unique(struct rw__ctx *ctx, const struct rw__node *item,
                        struct rw_config_listener *l, bool named)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&l->addr.ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&l->addr.ss;
	uint16_t port = l->addr.ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port;
	char shown[96];
	int rc;

	if (named) {
		rc = rw__set_add(&ctx->listener_names, l->name, strlen(l->name));
		if (rc < 0)
			return rw__fail_oom(ctx);
		if (rc == 0) {
			rw__escape(shown, sizeof(shown), l->name, strlen(l->name));
			rw__path_key(ctx, "name", 4);
			return rw__fail(ctx, rw__map_get(item, "name", false),
			                "duplicate listener name '%s'", shown);
		}
	}
	if (port == 0)
		return 0;
	rc = rw__set_add(&ctx->listener_addrs, &l->addr.ss, l->addr.len);
	if (rc < 0)
		return rw__fail_oom(ctx);
	if (rc == 0) {
		rw__path_key(ctx, "address", 7);
		return rw__fail(ctx, rw__map_get(item, "address", false),
		                "duplicate listener address %s",
		                rw_config_addr_format(&l->addr, shown, sizeof(shown)));
	}
	return 0;
}

int rw__walk_listener(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *cfg)
{
	struct rw_config_listener *l = &((struct rw_config *)cfg)->listeners[index];
	bool named;
	int rc;

	l->buffer_limit = RW_CONFIG_DEFAULT_BUFFER_LIMIT;
	rc = rw__walk_map(ctx, item, listener_fields, RW__N(listener_fields), l);
	if (rc)
		return rc;
	if (l->addr.len == 0)
		return rw__fail(ctx, item, "missing required field 'address'");
	if (l->n_chains == 0)
		return rw__fail(ctx, item, "a listener needs at least one filter chain");
	if (l->n_chains > 1) {
		/* Envoy rejects this too: without filter_chain_match every chain matches alike. */
		rw__path_key(ctx, "filter_chains", 13);
		return rw__fail(ctx, rw__map_get(item, "filter_chains", false),
		                "multiple filter chains with the same matching rules "
		                "(filter_chain_match is not supported by ringway yet)");
	}
	/* The HCMs of this listener serve its debug_request_header (borrowed). */
	for (size_t c = 0; c < l->n_chains; c++)
		for (size_t i = 0; i < l->chains[c].n_filters; i++)
			if (l->chains[c].filters[i].kind ==
			    RW_CONFIG_FILTER_HTTP_CONNECTION_MANAGER)
				l->chains[c].filters[i].u.hcm.debug_request_header =
				    l->debug_request_header;
	named = l->name && l->name[0];
	if (!named) {
		char name[32];

		snprintf(name, sizeof(name), "listener_%zu", index);
		free(l->name);
		l->name = rw__strdup(name);
		if (!l->name)
			return rw__fail_oom(ctx);
	}
	return check_unique(ctx, item, l, named);
}

void rw__listener_free(struct rw_config_listener *l)
{
	for (size_t c = 0; c < l->n_chains; c++) {
		struct rw_config_filter_chain *chain = &l->chains[c];

		for (size_t i = 0; i < chain->n_filters; i++) {
			struct rw_config_filter *f = &chain->filters[i];

			free(f->name);
			if (f->kind == RW_CONFIG_FILTER_TCP_PROXY) {
				free(f->u.tcp_proxy.stat_prefix);
				free(f->u.tcp_proxy.cluster);
				rw__access_logs_free(f->u.tcp_proxy.access_logs,
				                     f->u.tcp_proxy.n_access_logs);
			}
			if (f->kind == RW_CONFIG_FILTER_HTTP_CONNECTION_MANAGER)
				rw__hcm_free(&f->u.hcm);
		}
		free(chain->filters);
	}
	free(l->chains);
	free(l->name);
	free(l->debug_request_header);
}
