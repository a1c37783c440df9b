/*
 * extensions.filters.network.http_connection_manager.v3.HttpConnectionManager: codec and
 * connection knobs, the HTTP filter chain, upgrade configs, and the inline route_config
 * (route.c).  Every default is Envoy's; see the RW_CONFIG_DEFAULT_* values in config.h.
 *
 * HTTP filters: the router, which as in Envoy must be last (the only terminal filter), and
 * before it, in any order, envoy.filters.http.local_ratelimit (local_ratelimit.c),
 * envoy.filters.http.fault (fault.c) and envoy.filters.http.health_check
 * (health_check_filter.c).  Any other HTTP filter type is reported as not
 * supported (so users can tell a missing feature from a typo).  Once the HCM is walked, the
 * typed_per_filter_config keys of its routes are checked against these filters
 * (per_filter_config.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/internal.h"

#define ROUTER_TYPE          "envoy.extensions.filters.http.router.v3.Router"
#define LOCAL_RATELIMIT_TYPE "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
#define FAULT_TYPE           "envoy.extensions.filters.http.fault.v3.HTTPFault"
#define HEALTH_CHECK_TYPE    "envoy.extensions.filters.http.health_check.v3.HealthCheck"

static int router_suppress(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_http_filter *f = obj;

	return rw__get_bool(ctx, v, &f->u.router.suppress_envoy_headers);
}

static int router_dynamic_stats(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_http_filter *f = obj;

	return rw__get_bool(ctx, v, &f->u.router.dynamic_stats);
}

static const struct rw__field router_fields[] = {
    RW__IGNORED("@type"),
    /* Benchmarks switch it off (Envoy's FAQ says to): accepted so their configs load. */
    RW__FIELD("dynamic_stats", router_dynamic_stats),
    /* Accepted; ringway spawns no child span for it (README, "Tracing"). */
    RW__IGNORED("start_child_span"),
    RW__UNSUPPORTED("upstream_log"),
    RW__UNSUPPORTED("upstream_log_options"),
    RW__FIELD("suppress_envoy_headers", router_suppress),
    RW__UNSUPPORTED("strict_check_headers"),
    RW__UNSUPPORTED("respect_expected_rq_timeout"),
    RW__UNSUPPORTED("suppress_grpc_request_failure_code_stats"),
    RW__UNSUPPORTED("upstream_http_filters"),
};

static int hf_typed_config(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_http_filter *f = obj;
	const struct rw__node *type;
	const char *name;
	int rc = rw__any_type(ctx, v, ROUTER_TYPE, &type, &name);

	if (rc)
		return rc;
	if (strcmp(name, ROUTER_TYPE) == 0) {
		f->kind = RW_CONFIG_HTTP_FILTER_ROUTER;
		f->u.router.dynamic_stats = true;
		return rw__walk_map(ctx, v, router_fields, RW__N(router_fields), f);
	}
	if (strcmp(name, LOCAL_RATELIMIT_TYPE) == 0) {
		f->kind = RW_CONFIG_HTTP_FILTER_LOCAL_RATELIMIT;
		return rw__walk_local_ratelimit(ctx, v, &f->u.local_ratelimit, false);
	}
	if (strcmp(name, FAULT_TYPE) == 0) {
		f->kind = RW_CONFIG_HTTP_FILTER_FAULT;
		return rw__walk_fault(ctx, v, &f->u.fault);
	}
	if (strcmp(name, HEALTH_CHECK_TYPE) == 0) {
		f->kind = RW_CONFIG_HTTP_FILTER_HEALTH_CHECK;
		return rw__walk_health_check_filter(ctx, v, &f->u.health_check);
	}
	return rw__any_type_unsupported(ctx, type, name);
}

static int hf_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct rw_config_http_filter *)obj)->name);
}

static const struct rw__field http_filter_fields[] = {
    RW__FIELD("name", hf_name),          RW__FIELD("typed_config", hf_typed_config),
    RW__UNSUPPORTED("config_discovery"), RW__UNSUPPORTED("is_optional"),
    RW__UNSUPPORTED("disabled"),
};

static int walk_http_filter(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                            void *obj)
{
	struct rw_config_hcm *hcm = obj;
	struct rw_config_http_filter *f = &hcm->http_filters[index];
	int rc = rw__walk_map(ctx, item, http_filter_fields, RW__N(http_filter_fields), f);

	if (rc)
		return rc;
	if (!f->name || !f->name[0])
		return rw__fail(ctx, item, "missing required field 'name'");
	if (!f->kind)
		return rw__fail(ctx, item, "missing required field 'typed_config'");
	if (f->kind == RW_CONFIG_HTTP_FILTER_ROUTER && index + 1 != hcm->n_http_filters)
		return rw__fail(ctx, item,
		                "the router is a terminal filter and must be the last "
		                "in http_filters");
	if (f->kind != RW_CONFIG_HTTP_FILTER_ROUTER && index + 1 == hcm->n_http_filters)
		return rw__fail(ctx, item,
		                "http_filters must end with envoy.filters.http.router (this "
		                "filter is not terminal)");
	return 0;
}

/* UpgradeConfig (HCM level) and RouteAction.UpgradeConfig share this walk. */
static int up_type(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_upgrade *u = obj;
	int rc = rw__get_string(ctx, v, &u->upgrade_type);

	if (rc == 0 && !u->upgrade_type[0])
		return rw__fail(ctx, v, "upgrade_type must not be empty");
	return rc;
}

static int up_enabled(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct rw_config_upgrade *)obj)->enabled);
}

static const struct rw__field hcm_upgrade_fields[] = {
    RW__FIELD("upgrade_type", up_type),
    RW__UNSUPPORTED("filters"),
    RW__FIELD("enabled", up_enabled),
};

static const struct rw__field route_upgrade_fields[] = {
    RW__FIELD("upgrade_type", up_type),
    RW__FIELD("enabled", up_enabled),
    RW__UNSUPPORTED("connect_config"),
};

struct upgrade_walk {
	struct rw_config_upgrade *upgrades;
	bool route_level;
};

static int walk_upgrade(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	struct upgrade_walk *w = obj;
	struct rw_config_upgrade *u = &w->upgrades[index];
	int rc;

	u->enabled = true;
	if (w->route_level)
		rc = rw__walk_map(ctx, item, route_upgrade_fields, RW__N(route_upgrade_fields), u);
	else
		rc = rw__walk_map(ctx, item, hcm_upgrade_fields, RW__N(hcm_upgrade_fields), u);
	if (rc)
		return rc;
	if (!u->upgrade_type)
		return rw__fail(ctx, item, "missing required field 'upgrade_type'");
	/* Envoy refuses two configs for one upgrade type; types compare case-insensitively. */
	for (size_t i = 0; i < index; i++) {
		if (strcasecmp(w->upgrades[i].upgrade_type, u->upgrade_type) == 0) {
			char shown[80];

			rw__escape(shown, sizeof(shown), u->upgrade_type, strlen(u->upgrade_type));
			return rw__fail(ctx, item, "duplicate upgrade_type '%s'", shown);
		}
	}
	return 0;
}

int rw__walk_upgrades(struct rw__ctx *ctx, const struct rw__node *seq,
                      struct rw_config_upgrade **out, size_t *n, bool route_level)
{
	struct upgrade_walk w;
	int rc = rw__alloc_items(ctx, seq, sizeof(**out), (void **)out, n);

	if (rc)
		return rc;
	w.upgrades = *out;
	w.route_level = route_level;
	return rw__walk_seq(ctx, seq, walk_upgrade, &w);
}

void rw__upgrades_free(struct rw_config_upgrade *upgrades, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(upgrades[i].upgrade_type);
	free(upgrades);
}

/* Small typed setters for the many scalar HCM fields. */
#define HCM(obj) ((struct rw_config_hcm *)(obj))

static int get_u32(struct rw__ctx *ctx, const struct rw__node *v, uint32_t *out)
{
	uint64_t x;
	int rc = rw__get_uint(ctx, v, UINT32_MAX, &x);

	if (rc == 0)
		*out = (uint32_t)x;
	return rc;
}

static int hcm_stat_prefix(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &HCM(obj)->stat_prefix);
}

static int hcm_codec_type(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const codecs[] = {"AUTO", "HTTP1", "HTTP2", "HTTP3"};
	size_t c;
	int rc = rw__get_enum(ctx, v, codecs, RW__N(codecs), &c);

	if (rc)
		return rc;
	/* AUTO serves HTTP/1.1 until the HTTP/2 codec lands; an HTTP/2-only listener must not
	 * quietly speak HTTP/1.1. */
	if (c >= 2)
		return rw__fail(ctx, v, "codec_type '%s' is not supported by ringway yet",
		                codecs[c]);
	HCM(obj)->codec_type = (enum rw_config_codec_type)c;
	return 0;
}

static int hcm_route_config(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_route_config(ctx, v, &HCM(obj)->route_config);
}

static int hcm_http_filters(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_hcm *hcm = obj;
	int rc = rw__alloc_items(ctx, v, sizeof(*hcm->http_filters), (void **)&hcm->http_filters,
	                         &hcm->n_http_filters);

	return rc ? rc : rw__walk_seq(ctx, v, walk_http_filter, hcm);
}

static int hcm_access_log(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_access_logs(ctx, v, &HCM(obj)->access_logs, &HCM(obj)->n_access_logs);
}

static int hcm_use_remote_address(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &HCM(obj)->use_remote_address);
}

static int hcm_xff_hops(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_u32(ctx, v, &HCM(obj)->xff_num_trusted_hops);
}

static int hcm_skip_xff_append(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &HCM(obj)->skip_xff_append);
}

static int hcm_generate_request_id(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &HCM(obj)->generate_request_id);
}

static int hcm_preserve_request_id(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &HCM(obj)->preserve_external_request_id);
}

static int hcm_always_set_request_id(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &HCM(obj)->always_set_request_id_in_response);
}

static int hcm_server_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	int rc = rw__get_string(ctx, v, &HCM(obj)->server_name);

	if (rc == 0 && strpbrk(HCM(obj)->server_name, "\r\n"))
		return rw__fail(ctx, v, "server_name must not contain CR or LF");
	return rc;
}

static int hcm_server_header(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const modes[] = {"OVERWRITE", "APPEND_IF_ABSENT", "PASS_THROUGH"};
	size_t m;
	int rc = rw__get_enum(ctx, v, modes, RW__N(modes), &m);

	if (rc == 0)
		HCM(obj)->server_header_transformation = (enum rw_config_server_header)m;
	return rc;
}

static int hcm_stream_idle(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_duration_ms(ctx, v, &HCM(obj)->stream_idle_timeout_ms);
}

static int hcm_request_timeout(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_duration_ms(ctx, v, &HCM(obj)->request_timeout_ms);
}

static int hcm_request_headers_timeout(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_duration_ms(ctx, v, &HCM(obj)->request_headers_timeout_ms);
}

static int hcm_drain_timeout(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_duration_ms(ctx, v, &HCM(obj)->drain_timeout_ms);
}

static int hcm_delayed_close(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_duration_ms(ctx, v, &HCM(obj)->delayed_close_timeout_ms);
}

static int hcm_max_headers_kb(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t kb;
	int rc = rw__get_uint_range(ctx, v, "max_request_headers_kb", 1, 8192, &kb);

	if (rc == 0)
		HCM(obj)->max_request_headers_kb = (uint32_t)kb;
	return rc;
}

static int hcm_upgrades(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_upgrades(ctx, v, &HCM(obj)->upgrades, &HCM(obj)->n_upgrades, false);
}

static int hcm_proxy_100(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &HCM(obj)->proxy_100_continue);
}

static int hcm_normalize_path(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &HCM(obj)->normalize_path);
}

static int hcm_merge_slashes(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &HCM(obj)->merge_slashes);
}

static int hcm_strip_any_port(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &HCM(obj)->strip_any_host_port);
}

/* config.core.v3.HttpProtocolOptions */
#define COMMON(obj) (&HCM(obj)->common)

static int co_idle(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_duration_ms(ctx, v, &COMMON(obj)->idle_timeout_ms);
}

static int co_max_headers(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t n;
	int rc = rw__get_uint_range(ctx, v, "max_headers_count", 1, UINT32_MAX, &n);

	if (rc == 0)
		COMMON(obj)->max_headers_count = (uint32_t)n;
	return rc;
}

static int co_max_connection_duration(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_duration_ms(ctx, v, &COMMON(obj)->max_connection_duration_ms);
}

static int co_max_stream_duration(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_duration_ms(ctx, v, &COMMON(obj)->max_stream_duration_ms);
}

static int co_max_requests(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_u32(ctx, v, &COMMON(obj)->max_requests_per_connection);
}

static int co_underscores(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const actions[] = {"ALLOW", "REJECT_REQUEST", "DROP_HEADER"};
	size_t a;
	int rc = rw__get_enum(ctx, v, actions, RW__N(actions), &a);

	if (rc == 0)
		COMMON(obj)->headers_with_underscores_action = (enum rw_config_underscores_action)a;
	return rc;
}

static const struct rw__field common_fields[] = {
    RW__FIELD("idle_timeout", co_idle),
    RW__FIELD("max_connection_duration", co_max_connection_duration),
    RW__FIELD("max_headers_count", co_max_headers),
    RW__UNSUPPORTED("max_response_headers_kb"),
    RW__FIELD("max_stream_duration", co_max_stream_duration),
    RW__FIELD("headers_with_underscores_action", co_underscores),
    RW__FIELD("max_requests_per_connection", co_max_requests),
};

static int hcm_common(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_map(ctx, v, common_fields, RW__N(common_fields), obj);
}

/* config.core.v3.Http1ProtocolOptions */
#define HTTP1(obj) (&HCM(obj)->http1)

static int h1_absolute_url(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &HTTP1(obj)->allow_absolute_url);
}

static int h1_accept_10(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &HTTP1(obj)->accept_http_10);
}

static int h1_default_host(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &HTTP1(obj)->default_host_for_http_10);
}

static int h1_trailers(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &HTTP1(obj)->enable_trailers);
}

static int h1_chunked_length(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	int rc = rw__get_bool(ctx, v, &HTTP1(obj)->allow_chunked_length);

	/* The codec rejects Content-Length with Transfer-Encoding (request smuggling); a
	 * config asking to accept them must not be served as if it were honoured. */
	if (rc == 0 && HTTP1(obj)->allow_chunked_length)
		return rw__fail(ctx, v,
		                "allow_chunked_length: true is not supported by ringway (a message "
		                "with both Content-Length and Transfer-Encoding is rejected)");
	return rc;
}

static const struct rw__field http1_fields[] = {
    RW__FIELD("allow_absolute_url", h1_absolute_url),
    RW__FIELD("accept_http_10", h1_accept_10),
    RW__FIELD("default_host_for_http_10", h1_default_host),
    RW__UNSUPPORTED("header_key_format"),
    RW__FIELD("enable_trailers", h1_trailers),
    RW__FIELD("allow_chunked_length", h1_chunked_length),
    RW__UNSUPPORTED("override_stream_error_on_invalid_http_message"),
    RW__UNSUPPORTED("send_fully_qualified_url"),
    RW__UNSUPPORTED("use_balsa_parser"),
    RW__UNSUPPORTED("allow_custom_methods"),
    RW__UNSUPPORTED("ignore_http_11_upgrade"),
};

static int hcm_http1(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_map(ctx, v, http1_fields, RW__N(http1_fields), obj);
}

static int hcm_tracing(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_tracing(ctx, v, &HCM(obj)->tracing);
}

static const char *const route_oneof[] = {"rds", "route_config", "scoped_routes"};

static const struct rw__field hcm_fields[] = {
    RW__IGNORED("@type"),
    RW__FIELD("codec_type", hcm_codec_type),
    RW__FIELD("stat_prefix", hcm_stat_prefix),
    RW__UNSUPPORTED("rds"),
    RW__FIELD("route_config", hcm_route_config),
    RW__UNSUPPORTED("scoped_routes"),
    RW__FIELD("http_filters", hcm_http_filters),
    RW__UNSUPPORTED("add_user_agent"),
    RW__FIELD("tracing", hcm_tracing),
    RW__FIELD("common_http_protocol_options", hcm_common),
    RW__UNSUPPORTED("http1_safe_max_connection_duration"),
    RW__FIELD("http_protocol_options", hcm_http1),
    RW__UNSUPPORTED("http2_protocol_options"),
    RW__UNSUPPORTED("http3_protocol_options"),
    RW__FIELD("server_name", hcm_server_name),
    RW__FIELD("server_header_transformation", hcm_server_header),
    RW__UNSUPPORTED("scheme_header_transformation"),
    RW__FIELD("max_request_headers_kb", hcm_max_headers_kb),
    RW__FIELD("stream_idle_timeout", hcm_stream_idle),
    RW__FIELD("request_timeout", hcm_request_timeout),
    RW__FIELD("request_headers_timeout", hcm_request_headers_timeout),
    RW__FIELD("drain_timeout", hcm_drain_timeout),
    RW__FIELD("delayed_close_timeout", hcm_delayed_close),
    RW__FIELD("access_log", hcm_access_log),
    RW__UNSUPPORTED("access_log_flush_interval"),
    RW__UNSUPPORTED("flush_access_log_on_new_request"),
    RW__UNSUPPORTED("access_log_options"),
    RW__FIELD("use_remote_address", hcm_use_remote_address),
    RW__FIELD("xff_num_trusted_hops", hcm_xff_hops),
    RW__UNSUPPORTED("original_ip_detection_extensions"),
    RW__UNSUPPORTED("early_header_mutation_extensions"),
    RW__UNSUPPORTED("internal_address_config"),
    RW__FIELD("skip_xff_append", hcm_skip_xff_append),
    RW__UNSUPPORTED("via"),
    RW__FIELD("generate_request_id", hcm_generate_request_id),
    RW__FIELD("preserve_external_request_id", hcm_preserve_request_id),
    RW__FIELD("always_set_request_id_in_response", hcm_always_set_request_id),
    RW__UNSUPPORTED("forward_client_cert_details"),
    RW__UNSUPPORTED("set_current_client_cert_details"),
    RW__FIELD("proxy_100_continue", hcm_proxy_100),
    RW__UNSUPPORTED("represent_ipv4_remote_address_as_ipv4_mapped_ipv6"),
    RW__FIELD("upgrade_configs", hcm_upgrades),
    RW__FIELD("normalize_path", hcm_normalize_path),
    RW__FIELD("merge_slashes", hcm_merge_slashes),
    RW__UNSUPPORTED("path_with_escaped_slashes_action"),
    RW__UNSUPPORTED("request_id_extension"),
    RW__UNSUPPORTED("local_reply_config"),
    RW__UNSUPPORTED("strip_matching_host_port"),
    RW__FIELD("strip_any_host_port", hcm_strip_any_port),
    RW__UNSUPPORTED("stream_error_on_invalid_http_message"),
    RW__UNSUPPORTED("path_normalization_options"),
    RW__UNSUPPORTED("strip_trailing_host_dot"),
    RW__UNSUPPORTED("proxy_status_config"),
    RW__UNSUPPORTED("typed_header_validation_config"),
    RW__UNSUPPORTED("append_x_forwarded_port"),
    RW__UNSUPPORTED("append_local_overload"),
    RW__UNSUPPORTED("add_proxy_protocol_connection_state"),
};

static void set_defaults(struct rw_config_hcm *hcm)
{
	hcm->codec_type = RW_CONFIG_CODEC_AUTO;
	hcm->generate_request_id = true;
	hcm->server_header_transformation = RW_CONFIG_SERVER_HEADER_OVERWRITE;
	hcm->stream_idle_timeout_ms = RW_CONFIG_DEFAULT_STREAM_IDLE_MS;
	hcm->drain_timeout_ms = RW_CONFIG_DEFAULT_DRAIN_MS;
	hcm->delayed_close_timeout_ms = RW_CONFIG_DEFAULT_DELAYED_CLOSE_MS;
	hcm->max_request_headers_kb = RW_CONFIG_DEFAULT_MAX_REQUEST_HEADERS_KB;
	hcm->common.idle_timeout_ms = RW_CONFIG_DEFAULT_HTTP_IDLE_MS;
	hcm->common.max_headers_count = RW_CONFIG_DEFAULT_MAX_HEADERS_COUNT;
	hcm->common.headers_with_underscores_action = RW_CONFIG_UNDERSCORES_ALLOW;
	hcm->http1.allow_absolute_url = true;
}

int rw__walk_hcm(struct rw__ctx *ctx, const struct rw__node *any, struct rw_config_hcm *hcm)
{
	int which, rc = rw__oneof(ctx, any, route_oneof, RW__N(route_oneof), &which);

	if (rc)
		return rc;
	set_defaults(hcm);
	rc = rw__walk_map(ctx, any, hcm_fields, RW__N(hcm_fields), hcm);
	if (rc)
		return rc;
	if (!hcm->stat_prefix)
		return rw__fail(ctx, any, "missing required field 'stat_prefix'");
	if (!hcm->stat_prefix[0]) {
		rw__path_key(ctx, "stat_prefix", 11);
		return rw__fail(ctx, rw__map_get(any, "stat_prefix", false),
		                "stat_prefix must not be empty");
	}
	if (which < 0)
		return rw__fail(ctx, any, "missing required field 'route_config'");
	if (hcm->n_http_filters == 0)
		return rw__fail(ctx, any, "http_filters must end with envoy.filters.http.router");
	if (!hcm->server_name) {
		hcm->server_name = rw__strdup(RW_CONFIG_DEFAULT_SERVER_NAME);
		if (!hcm->server_name)
			return rw__fail_oom(ctx);
	}
	return rw__check_per_filter_keys(ctx, any, hcm);
}

void rw__hcm_free(struct rw_config_hcm *hcm)
{
	free(hcm->stat_prefix);
	rw__route_config_free(&hcm->route_config);
	for (size_t i = 0; i < hcm->n_http_filters; i++) {
		struct rw_config_http_filter *f = &hcm->http_filters[i];

		free(f->name);
		if (f->kind == RW_CONFIG_HTTP_FILTER_LOCAL_RATELIMIT)
			rw__local_ratelimit_free(&f->u.local_ratelimit);
		else if (f->kind == RW_CONFIG_HTTP_FILTER_FAULT)
			rw__fault_free(&f->u.fault);
		else if (f->kind == RW_CONFIG_HTTP_FILTER_HEALTH_CHECK)
			rw__health_check_filter_free(&f->u.health_check);
	}
	free(hcm->http_filters);
	free(hcm->server_name);
	free(hcm->http1.default_host_for_http_10);
	rw__upgrades_free(hcm->upgrades, hcm->n_upgrades);
	rw__access_logs_free(hcm->access_logs, hcm->n_access_logs);
	rw__tracing_free(&hcm->tracing);
}
