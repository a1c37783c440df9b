/*
 * Unit tests for the HttpConnectionManager and its route configuration on documents the
 * loader must accept: one fixture with every supported field, as YAML and as camelCase
 * JSON (data/hcm.yaml, data/hcm.json), asserting each parsed value; a minimal HCM asserting
 * Envoy's defaults; validate_clusters: false; and the gate that refuses HTTP while the
 * data path does not exist.  Plain asserts that stay on in Release builds.
 */
#include "config/config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/check.h"

/* config/'s HTTP gate hook (config/internal.h); only tests touch it. */

#define HCM_TYPE                                                                                   \
	"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."         \
	"HttpConnectionManager"
#define ROUTER_TYPE "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"

/* A minimal HCM: lines 1-7 listener and chain, body from line 8 (column 11). */
#define MINIMAL                                                                                    \
	"static_resources:\n"                                                                      \
	"  listeners:\n"                                                                           \
	"  - address: {socket_address: {address: 127.0.0.1, port_value: 80}}\n"                    \
	"    filter_chains:\n"                                                                     \
	"    - filters:\n"                                                                         \
	"      - name: hcm\n"                                                                      \
	"        typed_config:\n"                                                                  \
	"          \"@type\": " HCM_TYPE "\n"                                                      \
	"          stat_prefix: s\n"                                                               \
	"          http_filters:\n"                                                                \
	"          - name: router\n"                                                               \
	"            typed_config: {\"@type\": " ROUTER_TYPE "}\n"                                 \
	"          route_config:\n"                                                                \
	"            virtual_hosts:\n"                                                             \
	"            - name: all\n"                                                                \
	"              domains: [\"*\"]\n"                                                         \
	"              routes:\n"                                                                  \
	"              - match: {prefix: /}\n"

static struct rw_config *load(const char *yaml)
{
	struct rw_config *cfg = NULL;
	char err[512];
	int rc = rw_config_load_string(yaml, strlen(yaml), &cfg, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "unexpected error %d: %s\n", rc, err);
		abort();
	}
	return cfg;
}

static const struct rw_config_hcm *hcm_of(const struct rw_config *cfg)
{
	const struct rw_config_filter *f = &cfg->listeners[0].chains[0].filters[0];

	CHECK(f->kind == RW_CONFIG_FILTER_HTTP_CONNECTION_MANAGER);
	return &f->u.hcm;
}

static bool eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void check_hcm_top(const struct rw_config_hcm *h)
{
	CHECK(eq(h->stat_prefix, "ingress_http"));
	CHECK(h->codec_type == RW_CONFIG_CODEC_HTTP1);
	CHECK(h->use_remote_address && h->xff_num_trusted_hops == 2 && h->skip_xff_append);
	CHECK(!h->generate_request_id && h->preserve_external_request_id &&
	      h->always_set_request_id_in_response);
	CHECK(eq(h->server_name, "ringway-test"));
	CHECK(h->server_header_transformation == RW_CONFIG_SERVER_HEADER_APPEND_IF_ABSENT);
	CHECK(h->stream_idle_timeout_ms == 30000 && h->request_timeout_ms == 60000);
	CHECK(h->request_headers_timeout_ms == 10000 && h->drain_timeout_ms == 2000);
	CHECK(h->delayed_close_timeout_ms == 0 && h->max_request_headers_kb == 96);
	CHECK(h->common.idle_timeout_ms == 120000 && h->common.max_headers_count == 50);
	CHECK(h->common.max_connection_duration_ms == 600000);
	CHECK(h->common.max_stream_duration_ms == 30000);
	CHECK(h->common.max_requests_per_connection == 1000);
	CHECK(h->common.headers_with_underscores_action == RW_CONFIG_UNDERSCORES_REJECT_REQUEST);
	CHECK(!h->http1.allow_absolute_url && h->http1.accept_http_10);
	CHECK(eq(h->http1.default_host_for_http_10, "legacy.example.com"));
	CHECK(h->http1.enable_trailers && !h->http1.allow_chunked_length);
	CHECK(h->n_upgrades == 2);
	CHECK(eq(h->upgrades[0].upgrade_type, "websocket") && h->upgrades[0].enabled);
	CHECK(eq(h->upgrades[1].upgrade_type, "CONNECT") && !h->upgrades[1].enabled);
	CHECK(h->proxy_100_continue && h->normalize_path && h->merge_slashes &&
	      h->strip_any_host_port);
	CHECK(h->n_http_filters == 1);
	CHECK(eq(h->http_filters[0].name, "envoy.filters.http.router"));
	CHECK(h->http_filters[0].kind == RW_CONFIG_HTTP_FILTER_ROUTER);
	CHECK(h->http_filters[0].u.router.suppress_envoy_headers);
}

static void check_route_config(const struct rw_config_route_config *rc)
{
	const struct rw_config_header_mutations *hm = &rc->headers;

	CHECK(eq(rc->name, "local_route"));
	CHECK(rc->validate_clusters && rc->most_specific_header_mutations_wins);
	CHECK(rc->ignore_port_in_host_matching && rc->max_direct_response_body_size_bytes == 1024);
	CHECK(hm->n_request_add == 2);
	CHECK(eq(hm->request_add[0].key, "x-client-ip"));
	CHECK(eq(hm->request_add[0].value, "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"));
	CHECK(hm->request_add[0].append_action == RW_CONFIG_OVERWRITE_IF_EXISTS_OR_ADD);
	CHECK(!hm->request_add[0].keep_empty_value);
	CHECK(eq(hm->request_add[1].value, "%START_TIME(%s)% 100%% %REQ(user-agent):10%"));
	CHECK(hm->request_add[1].append_action == RW_CONFIG_APPEND_IF_EXISTS_OR_ADD);
	CHECK(hm->request_add[1].keep_empty_value);
	CHECK(hm->n_request_remove == 1 && eq(hm->request_remove[0], "x-internal"));
	CHECK(hm->n_response_add == 1 && eq(hm->response_add[0].value, "%HOSTNAME%"));
	CHECK(hm->response_add[0].append_action == RW_CONFIG_OVERWRITE_IF_EXISTS_OR_ADD);
	CHECK(hm->n_response_remove == 1 && eq(hm->response_remove[0], "server-timing"));
	CHECK(rc->n_virtual_hosts == 2);
}

static void check_api_vhost(const struct rw_config_virtual_host *vh)
{
	const struct rw_config_route *r;
	const struct rw_config_route_match *m;
	const struct rw_config_route_action *a;

	CHECK(eq(vh->name, "api") && vh->n_domains == 3);
	CHECK(eq(vh->domains[0], "api.example.com") && eq(vh->domains[1], "*.api.example.com"));
	CHECK(eq(vh->domains[2], "api.*"));
	CHECK(vh->headers.n_request_add == 1 && eq(vh->headers.request_add[0].key, "x-vhost"));
	CHECK(vh->headers.request_add[0].append_action == RW_CONFIG_ADD_IF_ABSENT);
	CHECK(vh->headers.n_response_remove == 1);
	CHECK(vh->n_routes == 5);

	r = &vh->routes[0];
	CHECK(eq(r->name, "exact") && r->match.kind == RW_CONFIG_PATH_EXACT);
	CHECK(eq(r->match.path, "/healthz") && !r->match.case_sensitive);
	CHECK(r->action == RW_CONFIG_ACTION_DIRECT_RESPONSE);
	CHECK(r->u.direct_response.status == 200 && r->u.direct_response.body_len == 2);
	CHECK(eq(r->u.direct_response.body, "ok"));

	r = &vh->routes[1];
	m = &r->match;
	CHECK(eq(r->name, "split") && m->kind == RW_CONFIG_PATH_PREFIX && m->case_sensitive);
	CHECK(m->n_headers == 8);
	CHECK(eq(m->headers[0].name, "x-canary") && m->headers[0].kind == RW_CONFIG_VALUE_STRING);
	CHECK(m->headers[0].string.kind == RW_CONFIG_STRING_EXACT);
	CHECK(eq(m->headers[0].string.value, "yes") && m->headers[0].string.ignore_case);
	CHECK(m->headers[1].kind == RW_CONFIG_VALUE_PRESENT && m->headers[1].present);
	CHECK(m->headers[2].string.kind == RW_CONFIG_STRING_EXACT);
	CHECK(m->headers[3].string.kind == RW_CONFIG_STRING_PREFIX && m->headers[3].invert_match);
	CHECK(m->headers[4].string.kind == RW_CONFIG_STRING_SUFFIX);
	CHECK(m->headers[5].string.kind == RW_CONFIG_STRING_CONTAINS);
	CHECK(m->headers[5].treat_missing_header_as_empty);
	CHECK(m->headers[6].string.kind == RW_CONFIG_STRING_REGEX);
	CHECK(eq(m->headers[6].string.value, "^[0-9]+$"));
	CHECK(m->headers[7].kind == RW_CONFIG_VALUE_PRESENT && m->headers[7].present);
	CHECK(m->n_query_parameters == 2 && eq(m->query_parameters[0].name, "debug"));
	CHECK(m->query_parameters[0].kind == RW_CONFIG_VALUE_PRESENT);
	CHECK(m->query_parameters[1].string.kind == RW_CONFIG_STRING_REGEX);
	a = &r->u.route;
	CHECK(r->action == RW_CONFIG_ACTION_ROUTE && a->specifier == RW_CONFIG_ROUTE_WEIGHTED);
	CHECK(a->n_weighted == 2 && a->total_weight == 100);
	CHECK(eq(a->weighted[0].name, "backend") && a->weighted[0].weight == 90);
	CHECK(a->weighted[0].headers.n_request_add == 1);
	CHECK(eq(a->weighted[1].name, "canary") && a->weighted[1].weight == 10);
	CHECK(a->weighted[1].headers.n_response_remove == 1);
	CHECK(a->cluster_not_found_status == 404 && a->timeout_ms == 0);
	CHECK(a->idle_timeout_set && a->idle_timeout_ms == 5000);
	CHECK(a->n_upgrades == 1 && !a->upgrades[0].enabled);
	CHECK(r->headers.n_request_remove == 1 && eq(r->headers.request_remove[0], "x-route-drop"));

	r = &vh->routes[2];
	a = &r->u.route;
	CHECK(!r->name && r->match.kind == RW_CONFIG_PATH_REGEX);
	CHECK(eq(r->match.path, "^/v[0-9]+/items/([a-z]+)$"));
	CHECK(a->specifier == RW_CONFIG_ROUTE_CLUSTER && eq(a->cluster, "backend"));
	CHECK(eq(a->regex_rewrite_pattern, "^/v[0-9]+/items/([a-z]+)$"));
	CHECK(eq(a->regex_rewrite_substitution, "/items/\\1"));
	CHECK(a->host_rewrite == RW_CONFIG_HOST_REWRITE_LITERAL);
	CHECK(eq(a->host_rewrite_value, "items.internal"));
	CHECK(a->timeout_ms == RW_CONFIG_DEFAULT_ROUTE_TIMEOUT_MS && !a->idle_timeout_set);
	CHECK(a->cluster_not_found_status == 503);

	r = &vh->routes[3];
	a = &r->u.route;
	CHECK(r->match.kind == RW_CONFIG_PATH_SEPARATED_PREFIX && eq(r->match.path, "/sep"));
	CHECK(a->specifier == RW_CONFIG_ROUTE_CLUSTER_HEADER);
	CHECK(eq(a->cluster, "x-target-cluster") && eq(a->prefix_rewrite, "/"));
	CHECK(a->host_rewrite == RW_CONFIG_HOST_REWRITE_HEADER &&
	      eq(a->host_rewrite_value, "x-host"));

	a = &vh->routes[4].u.route;
	CHECK(eq(a->cluster, "canary") && a->host_rewrite == RW_CONFIG_HOST_REWRITE_AUTO);
}

static void check_fallback_vhost(const struct rw_config_virtual_host *vh)
{
	const struct rw_config_redirect *rd;
	const struct rw_config_direct_response *d;

	CHECK(eq(vh->name, "fallback") && vh->n_domains == 1 && eq(vh->domains[0], "*"));
	CHECK(vh->n_routes == 6);
	rd = &vh->routes[0].u.redirect;
	CHECK(vh->routes[0].action == RW_CONFIG_ACTION_REDIRECT);
	CHECK(eq(rd->scheme, "https") && eq(rd->host, "new.example.com") && rd->port == 8443);
	CHECK(rd->path_kind == RW_CONFIG_REDIRECT_PATH_PREFIX && eq(rd->path, "/new"));
	CHECK(rd->response_code == 308 && rd->strip_query);
	rd = &vh->routes[1].u.redirect;
	CHECK(eq(rd->scheme, "ftp") && !rd->host && rd->port == 0);
	CHECK(rd->path_kind == RW_CONFIG_REDIRECT_PATH_REPLACE && eq(rd->path, "/other"));
	CHECK(rd->response_code == 301 && !rd->strip_query);
	rd = &vh->routes[2].u.redirect;
	CHECK(!rd->scheme && rd->path_kind == RW_CONFIG_REDIRECT_PATH_REGEX);
	CHECK(eq(rd->path, "^/regex/(.*)$") && eq(rd->regex_substitution, "/r/\\1"));
	d = &vh->routes[3].u.direct_response;
	CHECK(d->status == 503 && d->body_len == 2 && memcmp(d->body, "hi", 2) == 0);
	d = &vh->routes[4].u.direct_response;
	CHECK(d->status == 404 && eq(d->body, "hello from a file\n"));
	d = &vh->routes[5].u.direct_response;
	CHECK(d->status == 204 && !d->body && d->body_len == 0);
}

static void test_fixtures(void)
{
	static const char *const files[] = {"hcm.yaml", "hcm.json"};
	char err[512];

	/* direct_response body filenames are relative to the working directory. */
	CHECK(chdir(RW_CONFIG_TEST_DATA) == 0);
	for (size_t i = 0; i < 2; i++) {
		struct rw_config *cfg = NULL;
		int rc = rw_config_load_file(files[i], &cfg, err, sizeof(err));

		if (rc)
			fprintf(stderr, "%s: %s\n", files[i], err);
		CHECK(rc == 0);
		check_hcm_top(hcm_of(cfg));
		check_route_config(&hcm_of(cfg)->route_config);
		check_api_vhost(&hcm_of(cfg)->route_config.virtual_hosts[0]);
		check_fallback_vhost(&hcm_of(cfg)->route_config.virtual_hosts[1]);
		rw_config_free(cfg);
	}
}

/* Only what Envoy requires is given; everything else is Envoy's default. */
static void test_defaults(void)
{
	struct rw_config *cfg = load(MINIMAL "                direct_response: {status: 200}\n");
	const struct rw_config_hcm *h = hcm_of(cfg);
	const struct rw_config_route_config *rc = &h->route_config;

	CHECK(h->codec_type == RW_CONFIG_CODEC_AUTO);
	CHECK(!h->use_remote_address && h->xff_num_trusted_hops == 0 && !h->skip_xff_append);
	CHECK(h->generate_request_id && !h->preserve_external_request_id);
	CHECK(!h->always_set_request_id_in_response);
	CHECK(eq(h->server_name, "envoy"));
	CHECK(h->server_header_transformation == RW_CONFIG_SERVER_HEADER_OVERWRITE);
	CHECK(h->stream_idle_timeout_ms == 300000 && h->request_timeout_ms == 0);
	CHECK(h->request_headers_timeout_ms == 0 && h->drain_timeout_ms == 5000);
	CHECK(h->delayed_close_timeout_ms == 1000 && h->max_request_headers_kb == 60);
	CHECK(h->common.idle_timeout_ms == 3600000 && h->common.max_headers_count == 100);
	CHECK(h->common.max_connection_duration_ms == 0 && h->common.max_stream_duration_ms == 0);
	CHECK(h->common.max_requests_per_connection == 0);
	CHECK(h->common.headers_with_underscores_action == RW_CONFIG_UNDERSCORES_ALLOW);
	CHECK(h->http1.allow_absolute_url && !h->http1.accept_http_10);
	CHECK(!h->http1.default_host_for_http_10 && !h->http1.enable_trailers);
	CHECK(!h->http1.allow_chunked_length);
	CHECK(h->n_upgrades == 0 && !h->proxy_100_continue && !h->normalize_path);
	CHECK(!h->merge_slashes && !h->strip_any_host_port);
	CHECK(!h->http_filters[0].u.router.suppress_envoy_headers);
	CHECK(h->http_filters[0].u.router.dynamic_stats);
	CHECK(!rc->name && rc->validate_clusters && !rc->most_specific_header_mutations_wins);
	CHECK(!rc->ignore_port_in_host_matching);
	CHECK(rc->max_direct_response_body_size_bytes == 4096);
	CHECK(rc->virtual_hosts[0].routes[0].match.case_sensitive);
	CHECK(rc->virtual_hosts[0].routes[0].u.direct_response.status == 200);
	rw_config_free(cfg);

	cfg = load(MINIMAL "                route: {cluster: c}\n"
	                   "  clusters: [{name: c}]\n");
	h = hcm_of(cfg);
	{
		const struct rw_config_route_action *a =
		    &h->route_config.virtual_hosts[0].routes[0].u.route;

		CHECK(a->timeout_ms == 15000 && !a->idle_timeout_set);
		CHECK(a->cluster_not_found_status == 503 && a->host_rewrite == 0);
		CHECK(!a->prefix_rewrite && !a->regex_rewrite_pattern && a->n_upgrades == 0);
	}
	rw_config_free(cfg);
}

/* validate_clusters: false skips the cluster check, as Envoy does. */
static void test_validate_clusters_false(void)
{
	struct rw_config *cfg = load(MINIMAL "                route: {cluster: nowhere}\n"
	                                     "            validate_clusters: false\n");

	CHECK(!hcm_of(cfg)->route_config.validate_clusters);
	rw_config_free(cfg);
}

/* HCM tracing: Envoy's defaults, then each provider's fields (config/tracing.c). */
static void test_tracing(void)
{
	const char *dr = "                direct_response: {status: 200}\n";
	char yaml[4096];
	struct rw_config *cfg = load(MINIMAL "                direct_response: {status: 200}\n");
	const struct rw_config_tracing *t = &hcm_of(cfg)->tracing;

	CHECK(!t->present); /* no block: ringway leaves trace headers alone */
	rw_config_free(cfg);

	snprintf(yaml, sizeof(yaml), "%s%s          tracing: {}\n", MINIMAL, dr);
	cfg = load(yaml);
	t = &hcm_of(cfg)->tracing;
	CHECK(t->present && t->provider == RW_CONFIG_TRACER_NONE);
	CHECK(t->client_sampling == 10000 && t->random_sampling == 10000);
	CHECK(t->overall_sampling == 10000 && t->max_path_tag_length == 256);
	CHECK(!t->spawn_upstream_span && !t->verbose && t->n_custom_tags == 0);
	CHECK(!t->trace_id_128bit && t->shared_span_context);
	rw_config_free(cfg);

	snprintf(
	    yaml, sizeof(yaml),
	    "%s%s"
	    "          tracing:\n"
	    "            random_sampling: {value: 12.34}\n"
	    "            client_sampling: {value: 0}\n"
	    "            overall_sampling: {value: 50}\n"
	    "            verbose: true\n"
	    "            spawn_upstream_span: true\n"
	    "            max_path_tag_length: 64\n"
	    "            custom_tags:\n"
	    "            - {tag: a, literal: {value: x}}\n"
	    "            - {tag: b, request_header: {name: x-b, default_value: none}}\n"
	    "            provider:\n"
	    "              name: envoy.tracers.zipkin\n"
	    "              typed_config:\n"
	    "                \"@type\": type.googleapis.com/envoy.config.trace.v3.ZipkinConfig\n"
	    "                collector_cluster: zipkin\n"
	    "                collector_endpoint: /api/v2/spans\n"
	    "                collector_endpoint_version: HTTP_JSON\n"
	    "                trace_id_128bit: true\n"
	    "                shared_span_context: false\n",
	    MINIMAL, dr);
	cfg = load(yaml);
	t = &hcm_of(cfg)->tracing;
	CHECK(t->present && t->provider == RW_CONFIG_TRACER_ZIPKIN);
	CHECK(t->random_sampling == 1234 && t->client_sampling == 0);
	CHECK(t->overall_sampling == 5000 && t->verbose && t->spawn_upstream_span);
	CHECK(t->max_path_tag_length == 64 && t->n_custom_tags == 2);
	CHECK(eq(t->collector_cluster, "zipkin") && eq(t->collector_endpoint, "/api/v2/spans"));
	CHECK(t->trace_id_128bit && !t->shared_span_context);
	rw_config_free(cfg);

	snprintf(yaml, sizeof(yaml),
	         "%s%s"
	         "          tracing:\n"
	         "            provider:\n"
	         "              name: envoy.tracers.opentelemetry\n"
	         "              typed_config:\n"
	         "                \"@type\": type.googleapis.com/"
	         "envoy.config.trace.v3.OpenTelemetryConfig\n"
	         "                grpc_service: {envoy_grpc: {cluster_name: otel}}\n"
	         "                service_name: edge\n",
	         MINIMAL, dr);
	cfg = load(yaml);
	t = &hcm_of(cfg)->tracing;
	CHECK(t->provider == RW_CONFIG_TRACER_OPENTELEMETRY && eq(t->service_name, "edge"));
	rw_config_free(cfg);
}

int main(void)
{
	test_fixtures();
	test_defaults();
	test_validate_clusters_false();
	test_tracing();
	printf("config http: ok\n");
	return 0;
}
