/*
 * Unit tests for route retry / hash policies, the local_ratelimit and fault HTTP filters and
 * their typed_per_filter_config overrides: a fixture with every field, as YAML and as
 * camelCase JSON (data/route_policies_full.*), asserting each parsed value and the virtual
 * host's retry policy and overrides copied into its routes; a minimal fixture
 * (data/route_policies_min.yaml) asserting Envoy's defaults; and a table of bad documents,
 * each with the exact "<path>: line L:C: " prefix it must produce and a substring of the
 * message, like test_http_errors.c.  Plain asserts that stay on in Release builds.
 */
#include "config/config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/check.h"

#define PPM_ALL 1000000u

static bool eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static struct rw_config *load_file(const char *name)
{
	struct rw_config *cfg = NULL;
	char err[768];
	int rc = rw_config_load_file(name, &cfg, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "%s: unexpected error %d: %s\n", name, rc, err);
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

static void check_full_filters(const struct rw_config_hcm *h)
{
	const struct rw_config_fault *f;
	const struct rw_config_local_ratelimit *lr;

	CHECK(h->n_http_filters == 3);
	CHECK(eq(h->http_filters[0].name, "envoy.filters.http.fault"));
	CHECK(h->http_filters[0].kind == RW_CONFIG_HTTP_FILTER_FAULT);
	f = &h->http_filters[0].u.fault;
	CHECK(f->has_delay && f->delay_ms == 500 && !f->delay_from_header);
	CHECK(f->delay_percent == 2500); /* 25 / TEN_THOUSAND */
	CHECK(f->has_abort && f->abort_status == 503 && !f->abort_from_header);
	CHECK(f->abort_percent == 100000); /* 10 / HUNDRED (the default denominator) */
	CHECK(f->max_active_faults == 7 && f->n_headers == 2);
	CHECK(eq(f->headers[0].name, "x-fault") && f->headers[0].kind == RW_CONFIG_VALUE_STRING);
	CHECK(f->headers[0].string.kind == RW_CONFIG_STRING_EXACT);
	CHECK(eq(f->headers[0].string.value, "yes"));
	CHECK(eq(f->headers[1].name, "x-canary") && f->headers[1].kind == RW_CONFIG_VALUE_PRESENT);
	CHECK(f->headers[1].present);

	CHECK(eq(h->http_filters[1].name, "envoy.filters.http.local_ratelimit"));
	CHECK(h->http_filters[1].kind == RW_CONFIG_HTTP_FILTER_LOCAL_RATELIMIT);
	lr = &h->http_filters[1].u.local_ratelimit;
	CHECK(eq(lr->stat_prefix, "http_local_rate_limiter"));
	CHECK(lr->has_bucket && lr->max_tokens == 100 && lr->tokens_per_fill == 10);
	CHECK(lr->fill_interval_ms == 1000);
	CHECK(lr->filter_enabled == PPM_ALL && lr->filter_enforced == 500000);
	CHECK(lr->status == 503 && lr->x_ratelimit_headers);
	CHECK(lr->n_response_headers_to_add == 1);
	CHECK(eq(lr->response_headers_to_add[0].key, "x-local-rate-limit"));
	CHECK(eq(lr->response_headers_to_add[0].value, "true"));
	CHECK(lr->response_headers_to_add[0].append_action == RW_CONFIG_OVERWRITE_IF_EXISTS_OR_ADD);
	CHECK(lr->local_rate_limit_per_downstream_connection);

	CHECK(h->http_filters[2].kind == RW_CONFIG_HTTP_FILTER_ROUTER);
}

static void check_api_retry(const struct rw_config_retry_policy *p)
{
	CHECK(p->present);
	CHECK(p->retry_on ==
	      (RW_CONFIG_RETRY_5XX | RW_CONFIG_RETRY_GATEWAY_ERROR | RW_CONFIG_RETRY_RESET |
	       RW_CONFIG_RETRY_CONNECT_FAILURE | RW_CONFIG_RETRY_RETRIABLE_4XX |
	       RW_CONFIG_RETRY_REFUSED_STREAM | RW_CONFIG_RETRY_RETRIABLE_STATUS_CODES |
	       RW_CONFIG_RETRY_RETRIABLE_HEADERS | RW_CONFIG_RETRY_ENVOY_RATELIMITED |
	       RW_CONFIG_RETRY_HTTP3_POST_CONNECT_FAILURE));
	CHECK(p->num_retries == 3 && p->per_try_timeout_ms == 2000);
	CHECK(p->per_try_idle_timeout_ms == 500);
	CHECK(p->backoff_base_ms == 100 && p->backoff_max_ms == 1000);
	CHECK(p->n_retriable_status_codes == 2);
	CHECK(p->retriable_status_codes[0] == 409 && p->retriable_status_codes[1] == 503);
	CHECK(p->n_retriable_headers == 1 && eq(p->retriable_headers[0].name, "x-upstream-retry"));
	CHECK(p->retriable_headers[0].kind == RW_CONFIG_VALUE_STRING);
	CHECK(eq(p->retriable_headers[0].string.value, "yes"));
	CHECK(p->n_retriable_request_headers == 1);
	CHECK(eq(p->retriable_request_headers[0].name, ":method"));
	CHECK(eq(p->retriable_request_headers[0].string.value, "GET"));
	CHECK(p->previous_hosts && p->host_selection_retry_max_attempts == 5);
}

static void check_api_vhost(const struct rw_config_virtual_host *vh)
{
	const struct rw_config_route_action *a;
	const struct rw_config_hash_policy *hp;
	const struct rw_config_fault *f;
	const struct rw_config_local_ratelimit *lr;

	CHECK(eq(vh->name, "api") && vh->n_routes == 2);
	check_api_retry(&vh->retry);

	/* routes[0]: the virtual host's retry policy and fault override, deep-copied. */
	CHECK(eq(vh->routes[0].name, "inherits") && vh->routes[0].action == RW_CONFIG_ACTION_ROUTE);
	a = &vh->routes[0].u.route;
	check_api_retry(&a->retry);
	CHECK(a->retry.retriable_status_codes != vh->retry.retriable_status_codes);
	CHECK(a->retry.retriable_headers != vh->retry.retriable_headers);
	CHECK(a->retry.retriable_headers[0].name != vh->retry.retriable_headers[0].name);
	CHECK(a->n_hash_policies == 5);
	hp = a->hash_policies;
	CHECK(hp[0].kind == RW_CONFIG_HASH_HEADER && eq(hp[0].name, "x-user") && !hp[0].terminal);
	CHECK(hp[1].kind == RW_CONFIG_HASH_COOKIE && eq(hp[1].name, "session") && hp[1].terminal);
	CHECK(hp[1].cookie_ttl_set && hp[1].cookie_ttl_ms == 3600000);
	CHECK(eq(hp[1].cookie_path, "/"));
	CHECK(hp[2].kind == RW_CONFIG_HASH_SOURCE_IP && !hp[2].name && !hp[2].terminal);
	CHECK(hp[3].kind == RW_CONFIG_HASH_QUERY_PARAMETER && eq(hp[3].name, "userId"));
	CHECK(!hp[3].terminal);
	CHECK(hp[4].kind == RW_CONFIG_HASH_COOKIE && eq(hp[4].name, "sticky"));
	CHECK(hp[4].cookie_ttl_set && hp[4].cookie_ttl_ms == 0 && !hp[4].cookie_path);
	CHECK(a->has_ratelimit_override && a->ratelimit);
	lr = a->ratelimit;
	CHECK(eq(lr->stat_prefix, "vhost") && lr->has_bucket && lr->max_tokens == 50);
	CHECK(lr->tokens_per_fill == 2 && lr->fill_interval_ms == 250);
	CHECK(lr->filter_enabled == 200000 && lr->filter_enforced == 0 && lr->status == 403);
	CHECK(lr->n_response_headers_to_add == 1);
	CHECK(eq(lr->response_headers_to_add[0].key, "x-vhost-limited"));
	CHECK(eq(lr->response_headers_to_add[0].value, "%HOSTNAME%"));
	CHECK(lr->response_headers_to_add[0].keep_empty_value);
	CHECK(lr->response_headers_to_add[0].append_action == RW_CONFIG_APPEND_IF_EXISTS_OR_ADD);
	CHECK(a->has_fault_override && a->fault);
	f = a->fault;
	CHECK(f->has_delay && f->delay_from_header && f->delay_percent == PPM_ALL);
	CHECK(f->has_abort && f->abort_from_header && f->abort_percent == 1);
	CHECK(f->max_active_faults == 0 && f->n_headers == 1 &&
	      eq(f->headers[0].name, "x-fault-me"));

	/* routes[1]: its own retry policy and overrides. */
	a = &vh->routes[1].u.route;
	CHECK(eq(vh->routes[1].name, "own") && eq(a->cluster, "canary"));
	CHECK(a->retry.present && a->retry.retry_on == RW_CONFIG_RETRY_CONNECT_FAILURE);
	CHECK(a->retry.num_retries == 0 && a->retry.per_try_timeout_ms == 0);
	CHECK(a->retry.backoff_base_ms == 200 && a->retry.backoff_max_ms == 2000);
	CHECK(a->retry.previous_hosts && a->retry.host_selection_retry_max_attempts == 1);
	CHECK(a->retry.n_retriable_status_codes == 0 && a->retry.n_retriable_headers == 0);
	CHECK(a->n_hash_policies == 0 && !a->hash_policies);
	CHECK(a->has_ratelimit_override && a->ratelimit);
	lr = a->ratelimit;
	CHECK(eq(lr->stat_prefix, "per_route") && lr->has_bucket && lr->max_tokens == 5);
	CHECK(lr->tokens_per_fill == 1 && lr->fill_interval_ms == 60000);
	CHECK(lr->filter_enabled == PPM_ALL && lr->filter_enforced == 25000);
	CHECK(lr->status == 429 && !lr->x_ratelimit_headers);
	CHECK(lr->n_response_headers_to_add == 0 &&
	      !lr->local_rate_limit_per_downstream_connection);
	CHECK(a->has_fault_override && a->fault);
	f = a->fault;
	CHECK(!f->has_delay && f->has_abort && f->abort_status == 418 && !f->abort_from_header);
	CHECK(f->abort_percent == 0); /* Envoy's default: protobuf's zero FractionalPercent */
	CHECK(f->n_headers == 0);
}

static void check_fallback_vhost(const struct rw_config_virtual_host *vh)
{
	const struct rw_config_route_action *a;

	CHECK(eq(vh->name, "fallback") && !vh->retry.present && vh->n_routes == 2);
	CHECK(vh->routes[0].action == RW_CONFIG_ACTION_REDIRECT);
	a = &vh->routes[1].u.route;
	CHECK(vh->routes[1].action == RW_CONFIG_ACTION_ROUTE && !a->retry.present);
	CHECK(a->n_hash_policies == 0 && !a->ratelimit && !a->fault);
	CHECK(!a->has_ratelimit_override && !a->has_fault_override);
}

static void test_full(void)
{
	static const char *const files[] = {"route_policies_full.yaml", "route_policies_full.json"};

	for (size_t i = 0; i < 2; i++) {
		struct rw_config *cfg = load_file(files[i]);
		const struct rw_config_hcm *h = hcm_of(cfg);

		check_full_filters(h);
		CHECK(h->route_config.n_virtual_hosts == 2);
		check_api_vhost(&h->route_config.virtual_hosts[0]);
		check_fallback_vhost(&h->route_config.virtual_hosts[1]);
		rw_config_free(cfg);
	}
}

/* Envoy's defaults for everything the minimal fixture leaves out. */
static void test_defaults(void)
{
	struct rw_config *cfg = load_file("route_policies_min.yaml");
	const struct rw_config_hcm *h = hcm_of(cfg);
	const struct rw_config_local_ratelimit *lr = &h->http_filters[0].u.local_ratelimit;
	const struct rw_config_fault *f = &h->http_filters[1].u.fault;
	const struct rw_config_virtual_host *vh = &h->route_config.virtual_hosts[0];
	const struct rw_config_route_action *a = &vh->routes[0].u.route;

	CHECK(h->n_http_filters == 3);
	CHECK(h->http_filters[0].kind == RW_CONFIG_HTTP_FILTER_LOCAL_RATELIMIT);
	CHECK(eq(lr->stat_prefix, "rl") && !lr->has_bucket && lr->max_tokens == 0);
	CHECK(lr->tokens_per_fill == 1 && lr->fill_interval_ms == 0);
	CHECK(lr->filter_enabled == 0 && lr->filter_enforced == 0 && lr->status == 429);
	CHECK(!lr->x_ratelimit_headers && lr->n_response_headers_to_add == 0);
	CHECK(!lr->response_headers_to_add && !lr->local_rate_limit_per_downstream_connection);
	CHECK(h->http_filters[1].kind == RW_CONFIG_HTTP_FILTER_FAULT);
	CHECK(!f->has_delay && !f->has_abort && f->max_active_faults == 0 && f->n_headers == 0);
	CHECK(!vh->retry.present);

	/* retry_policy: {} and a hash policy Envoy drops (connection_properties: {}). */
	CHECK(a->retry.present && a->retry.retry_on == 0 && a->retry.num_retries == 1);
	CHECK(a->retry.per_try_timeout_ms == 0 && a->retry.per_try_idle_timeout_ms == 0);
	CHECK(a->retry.backoff_base_ms == RW_CONFIG_DEFAULT_RETRY_BASE_MS);
	CHECK(a->retry.backoff_max_ms == 10 * RW_CONFIG_DEFAULT_RETRY_BASE_MS);
	CHECK(a->retry.n_retriable_status_codes == 0 && !a->retry.retriable_status_codes);
	CHECK(a->retry.n_retriable_headers == 0 && a->retry.n_retriable_request_headers == 0);
	CHECK(!a->retry.previous_hosts && a->retry.host_selection_retry_max_attempts == 1);
	CHECK(a->n_hash_policies == 0);
	CHECK(!a->has_ratelimit_override && !a->ratelimit && !a->has_fault_override && !a->fault);

	/* base_interval alone: max_interval is 10 x base; minimal overrides. */
	a = &vh->routes[1].u.route;
	CHECK(a->retry.backoff_base_ms == 1000 && a->retry.backoff_max_ms == 10000);
	CHECK(a->n_hash_policies == 1 && a->hash_policies[0].kind == RW_CONFIG_HASH_COOKIE);
	CHECK(eq(a->hash_policies[0].name, "c") && !a->hash_policies[0].cookie_ttl_set);
	CHECK(!a->hash_policies[0].cookie_path && !a->hash_policies[0].terminal);
	CHECK(a->has_ratelimit_override && a->ratelimit->has_bucket);
	CHECK(a->ratelimit->max_tokens == 1 && a->ratelimit->tokens_per_fill == 1);
	CHECK(a->ratelimit->fill_interval_ms == 50 && a->ratelimit->status == 429);
	CHECK(a->ratelimit->filter_enabled == 0 && a->ratelimit->filter_enforced == 0);
	CHECK(a->has_fault_override && a->fault->has_delay && a->fault->delay_ms == 1000);
	CHECK(a->fault->delay_percent == 0 && a->fault->has_abort);
	CHECK(a->fault->abort_status == 200 && a->fault->abort_percent == 0);

	/* No retry_policy anywhere: not present. */
	a = &vh->routes[2].u.route;
	CHECK(!a->retry.present && a->retry.num_retries == 0 && a->n_hash_policies == 0);
	CHECK(!a->ratelimit && !a->fault);
	rw_config_free(cfg);
}

static struct rw_config *load_string(const char *yaml)
{
	struct rw_config *cfg = NULL;
	char err[768];
	int rc = rw_config_load_string(yaml, strlen(yaml), &cfg, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "unexpected error %d: %s\n", rc, err);
		abort();
	}
	return cfg;
}

#define HCM_TYPE                                                                                   \
	"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."         \
	"HttpConnectionManager"
#define ROUTER_TYPE "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
#define LR_TYPE                                                                                    \
	"type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
#define FAULT_TYPE "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"

/* Lines 1-11: a listener whose HCM has http_filters from line 12. */
#define HEAD                                                                                       \
	"static_resources:\n"                                                                      \
	"  clusters: [{name: c0}]\n"                                                               \
	"  listeners:\n"                                                                           \
	"  - address: {socket_address: {address: 127.0.0.1, port_value: 80}}\n"                    \
	"    filter_chains:\n"                                                                     \
	"    - filters:\n"                                                                         \
	"      - name: hcm\n"                                                                      \
	"        typed_config:\n"                                                                  \
	"          \"@type\": " HCM_TYPE "\n"                                                      \
	"          stat_prefix: s\n"                                                               \
	"          http_filters:\n"
/* Two lines each: the filter's name, then its typed_config (extra fields at the end). */
#define RL_NAME "          - name: envoy.filters.http.local_ratelimit\n"
#define RL_WITH(extra)                                                                             \
	RL_NAME "            typed_config: {\"@type\": " LR_TYPE ", stat_prefix: rl" extra "}\n"
#define FAULT_NAME        "          - name: envoy.filters.http.fault\n"
#define FAULT_WITH(extra) FAULT_NAME "            typed_config: {\"@type\": " FAULT_TYPE extra "}\n"
#define ROUTER                                                                                     \
	"          - name: router\n"                                                               \
	"            typed_config: {\"@type\": " ROUTER_TYPE "}\n"
/* Lines 12-17 in the base document. */
#define FILTERS RL_WITH("") FAULT_WITH("") ROUTER
/* Lines 18-23: route_config, virtual host v0 ("*") and its first route's match. */
#define RC_HEAD                                                                                    \
	"          route_config:\n"                                                                \
	"            virtual_hosts:\n"                                                             \
	"            - name: v0\n"                                                                 \
	"              domains: [\"*\"]\n"                                                         \
	"              routes:\n"                                                                  \
	"              - match: {prefix: /}\n"
/* Line 24: the route action; a line appended is line 25 (route fields at column 17, virtual
 * host fields at column 15). */
#define ROUTE_PRE    HEAD FILTERS RC_HEAD
#define ROUTE(extra) "                route: {cluster: c0" extra "}\n"
#define GOOD         ROUTE_PRE ROUTE("")

#define HC_TYPE "type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck"
/* Lines 12-13 instead of the local_ratelimit filter. */
#define HC_WITH(extra)                                                                             \
	"          - name: envoy.filters.http.health_check\n"                                      \
	"            typed_config: {\"@type\": " HC_TYPE extra "}\n"
#define HC_DOC(extra) HEAD HC_WITH(extra) FAULT_WITH("") ROUTER RC_HEAD ROUTE("")

#define TPFC_RL                                                                                    \
	"{\"@type\": " LR_TYPE ", stat_prefix: x, token_bucket: {max_tokens: 1, fill_interval: "   \
	"1s}}"
#define TPFC_FAULT "{\"@type\": " FAULT_TYPE ", abort: {http_status: 503}}"

#define TC  "static_resources.listeners[0].filter_chains[0].filters[0].typed_config"
#define HF  TC ".http_filters"
#define VH0 TC ".route_config.virtual_hosts[0]"
#define R0  VH0 ".routes[0]"
#define RP  R0 ".route.retry_policy"
#define HP  R0 ".route.hash_policy"

struct bad {
	const char *yaml;
	const char *prefix;  /* exact start of the message: "<path>: line L:C: " */
	const char *message; /* substring of the rest */
};

static const struct bad bad[] = {
    /* envoy.filters.http.health_check */
    {HC_DOC(""), HF "[0].typed_config: line 13:27: ", "missing required field 'pass_through_mode'"},
    {HC_DOC(", pass_through_mode: maybe"),
     HF "[0].typed_config.pass_through_mode: line 13:135: ", "expected true or false"},
    {HC_DOC(", pass_through_mode: false, headers: [{name: \":path\", string_match: {exakt: "
            "/healthz}}]"),
     HF "[0].typed_config.headers[0].string_match.exakt: line 13:183: ",
     "unknown field 'exakt' (did you mean 'exact'?)"},
    {HC_DOC(", pass_through_mode: false, headers: {name: x}"),
     HF "[0].typed_config.headers: line 13:151: ", "expected a list"},
    {HC_DOC(", pass_through_mode: false, cluster_min_healthy_percentages: {c0: {value: 101}}"),
     HF "[0].typed_config.cluster_min_healthy_percentages.c0.value: line 13:188: ",
     "value must be in 0..100"},
    {HC_DOC(", pass_through_mode: false, cluster_min_healthy_percentages: {c0: 50}"),
     HF "[0].typed_config.cluster_min_healthy_percentages.c0: line 13:180: ",
     "expected a type.v3.Percent mapping {value}"},
    /* RetryPolicy */
    {ROUTE_PRE ROUTE(", retry_policy: {retry_on: \"5xx, bogus\"}"),
     RP ".retry_on: line 24:63: ", "unknown retry_on condition 'bogus'"},
    {ROUTE_PRE ROUTE(", retry_policy: {retry_on: \"reset,cancelled\"}"),
     RP ".retry_on: line 24:63: ",
     "retry_on condition 'cancelled' is not supported by ringway yet"},
    {ROUTE_PRE ROUTE(", retry_policy: {retry_on: reset-before-request}"),
     RP ".retry_on: line 24:63: ",
     "retry_on condition 'reset-before-request' is not supported by ringway yet"},
    {ROUTE_PRE ROUTE(", retry_policy: {retry_on: 5XX}"),
     RP ".retry_on: line 24:63: ", "unknown retry_on condition '5XX'"},
    {ROUTE_PRE ROUTE(", retry_policy: {retry_on: [5xx]}"),
     RP ".retry_on: line 24:63: ", "expected a string"},
    {ROUTE_PRE ROUTE(", retry_policy: {retry_back_off: {base_interval: 1s, max_interval: 0.5s}}"),
     RP ".retry_back_off.max_interval: line 24:103: ",
     "max_interval (500ms) must be greater than or equal to base_interval (1000ms)"},
    {ROUTE_PRE ROUTE(", retry_policy: {retry_back_off: {max_interval: 1s}}"),
     RP ".retry_back_off: line 24:69: ", "missing required field 'base_interval'"},
    {ROUTE_PRE ROUTE(", retry_policy: {retry_back_off: {base_interval: 0s}}"),
     RP ".retry_back_off.base_interval: line 24:85: ", "base_interval must be greater than 0"},
    {ROUTE_PRE ROUTE(", retry_policy: {retry_back_off: {base_interval: 1s, max_interval: 0s}}"),
     RP ".retry_back_off.max_interval: line 24:103: ", "max_interval must be greater than 0"},
    {ROUTE_PRE ROUTE(", retry_policy: {num_retries: -1}"),
     RP ".num_retries: line 24:66: ", "expected a non-negative integer"},
    {ROUTE_PRE ROUTE(", retry_policy: {retriable_status_codes: [503, 99]}"),
     RP ".retriable_status_codes[1]: line 24:83: ", "a retriable status code must be in 100..599"},
    {ROUTE_PRE ROUTE(", retry_policy: {retriable_headers: [{exact_match: x}]}"),
     RP ".retriable_headers[0]: line 24:73: ", "missing required field 'name'"},
    {ROUTE_PRE ROUTE(", retry_policy: {retriable_request_headers: [{name: x, range_match: {}}]}"),
     RP ".retriable_request_headers[0].range_match: line 24:91: ",
     "field 'range_match' is not supported by ringway yet"},
    {ROUTE_PRE ROUTE(", retry_policy: {retry_host_predicate: [{name: "
                     "envoy.retry_host_predicates.omit_canary_hosts}]}"),
     RP ".retry_host_predicate[0].name: line 24:83: ",
     "retry host predicate 'envoy.retry_host_predicates.omit_canary_hosts' is not supported by "
     "ringway yet"},
    {ROUTE_PRE ROUTE(", retry_policy: {retry_host_predicate: [{name: acme.hosts}]}"),
     RP ".retry_host_predicate[0].name: line 24:83: ",
     "unknown retry host predicate 'acme.hosts' (ringway has "
     "'envoy.retry_host_predicates.previous_hosts')"},
    {ROUTE_PRE ROUTE(", retry_policy: {retry_host_predicate: [{typed_config: {\"@type\": "
                     "type.googleapis.com/"
                     "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate}}]}"),
     RP ".retry_host_predicate[0]: line 24:76: ", "missing required field 'name'"},
    {ROUTE_PRE ROUTE(
	 ", retry_policy: {retry_host_predicate: [{name: p, typed_config: {\"@type\": "
	 "type.googleapis.com/"
	 "envoy.extensions.retry.host.omit_canary_hosts.v3.OmitCanaryHostsPredicate}}]}"),
     RP ".retry_host_predicate[0].typed_config.@type: line 24:110: ",
     "'type.googleapis.com/"
     "envoy.extensions.retry.host.omit_canary_hosts.v3.OmitCanaryHostsPredicate' is not supported "
     "by ringway yet"},
    {ROUTE_PRE ROUTE(
	 ", retry_policy: {retry_host_predicate: [{name: "
	 "envoy.retry_host_predicates.previous_hosts, typed_config: {\"@type\": "
	 "type.googleapis.com/"
	 "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate, x: 1}}]}"),
     RP ".retry_host_predicate[0].typed_config.x: line 24:241: ", "unknown field 'x'"},
    {ROUTE_PRE ROUTE(", retry_policy: {retry_priority: {name: p}}"),
     RP ".retry_priority: line 24:53: ", "field 'retry_priority' is not supported by ringway yet"},
    {ROUTE_PRE ROUTE(", retry_policy: {retry_options_predicates: []}"),
     RP ".retry_options_predicates: line 24:53: ",
     "field 'retry_options_predicates' is not supported by ringway yet"},
    {ROUTE_PRE ROUTE(", retry_policy: {retries: 3}"),
     RP ".retries: line 24:53: ", "unknown field 'retries'"},
    {ROUTE_PRE ROUTE(", retry_policy_typed_config: {}"),
     R0 ".route.retry_policy_typed_config: line 24:38: ",
     "field 'retry_policy_typed_config' is not supported by ringway yet"},
    {GOOD "              retry_policy: {retry_on: \"5xx,unavailable\"}\n",
     VH0 ".retry_policy.retry_on: line 25:40: ",
     "retry_on condition 'unavailable' is not supported by ringway yet"},
    {GOOD "              retry_policy: {per_try_timeout: 1}\n",
     VH0 ".retry_policy.per_try_timeout: line 25:47: ", "expected a duration like \"0.25s\""},
    /* HashPolicy */
    {ROUTE_PRE ROUTE(", hash_policy: [{header: {header_name: a}, cookie: {name: b}}]"),
     HP "[0].cookie: line 24:79: ", "'header' and 'cookie' cannot both be set"},
    {ROUTE_PRE ROUTE(", hash_policy: [{terminal: true}]"), HP "[0]: line 24:52: ",
     "a hash policy needs one of 'header', 'cookie', 'connection_properties', 'query_parameter'"},
    {ROUTE_PRE ROUTE(", hash_policy: [{header: {}}]"),
     HP "[0].header: line 24:61: ", "missing required field 'header_name'"},
    {ROUTE_PRE ROUTE(", hash_policy: [{header: {header_name: \"a b\"}}]"),
     HP "[0].header.header_name: line 24:75: ", "invalid header name 'a b'"},
    {ROUTE_PRE ROUTE(", hash_policy: [{header: {header_name: a, regex_rewrite: {}}}]"),
     HP "[0].header.regex_rewrite: line 24:78: ",
     "field 'regex_rewrite' is not supported by ringway yet"},
    {ROUTE_PRE ROUTE(", hash_policy: [{cookie: {ttl: 1s}}]"),
     HP "[0].cookie: line 24:61: ", "missing required field 'name'"},
    {ROUTE_PRE ROUTE(", hash_policy: [{cookie: {name: \"a;b\"}}]"),
     HP "[0].cookie.name: line 24:68: ", "invalid cookie name 'a;b'"},
    {ROUTE_PRE ROUTE(", hash_policy: [{cookie: {name: a, path: \"/;x\"}}]"),
     HP "[0].cookie.path: line 24:77: ", "cookie path must not contain ';' or control characters"},
    {ROUTE_PRE ROUTE(", hash_policy: [{cookie: {name: a, attributes: []}}]"),
     HP "[0].cookie.attributes: line 24:71: ",
     "field 'attributes' is not supported by ringway yet"},
    {ROUTE_PRE ROUTE(", hash_policy: [{connection_properties: {source_ip: yes}}]"),
     HP "[0].connection_properties.source_ip: line 24:88: ", "expected true or false"},
    {ROUTE_PRE ROUTE(", hash_policy: [{query_parameter: {name: \"\"}}]"),
     HP "[0].query_parameter.name: line 24:77: ", "query parameter name must not be empty"},
    {ROUTE_PRE ROUTE(", hash_policy: [{query_parameter: {name: q}, filter_state: {key: k}}]"),
     HP "[0].filter_state: line 24:81: ",
     "'query_parameter' and 'filter_state' cannot both be set"},
    {ROUTE_PRE ROUTE(", hash_policy: {header: {header_name: a}}"),
     HP ": line 24:51: ", "expected a list"},
    /* LocalRateLimit filter */
    {HEAD RL_WITH(", token_bucket: {max_tokens: 1, fill_interval: 0.01s}") FAULT_WITH("")
         ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.token_bucket.fill_interval: line 13:184: ",
     "fill_interval must be at least 50ms (is 10ms)"},
    {HEAD RL_WITH(", token_bucket: {max_tokens: 0, fill_interval: 1s}") FAULT_WITH("")
         ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.token_bucket.max_tokens: line 13:166: ",
     "max_tokens must be in 1..4294967295"},
    {HEAD RL_WITH(", token_bucket: {max_tokens: 1}") FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.token_bucket: line 13:153: ", "missing required field 'fill_interval'"},
    {HEAD RL_WITH(", token_bucket: {fill_interval: 1s}") FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.token_bucket: line 13:153: ", "missing required field 'max_tokens'"},
    {HEAD RL_WITH(", token_bucket: {max_tokens: 1, fill_interval: 1s, tokens_per_fill: 0}")
         FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.token_bucket.tokens_per_fill: line 13:205: ",
     "tokens_per_fill must be in 1..4294967295"},
    {HEAD RL_NAME "            typed_config: {\"@type\": " LR_TYPE "}\n" FAULT_WITH("")
         ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config: line 13:27: ", "missing required field 'stat_prefix'"},
    {HEAD RL_NAME "            typed_config: {\"@type\": " LR_TYPE
                  ", stat_prefix: \"\"}\n" FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.stat_prefix: line 13:135: ", "stat_prefix must not be empty"},
    {HEAD RL_WITH(", descriptors: []") FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.descriptors: line 13:139: ",
     "field 'descriptors' is not supported by ringway yet"},
    {HEAD RL_WITH(", stage: 0") FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.stage: line 13:139: ", "field 'stage' is not supported by ringway yet"},
    {HEAD RL_WITH(", request_headers_to_add_when_not_enforced: []") FAULT_WITH("")
         ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.request_headers_to_add_when_not_enforced: line 13:139: ",
     "field 'request_headers_to_add_when_not_enforced' is not supported by ringway yet"},
    {HEAD RL_WITH(", rate_limited_as_resource_exhausted: true") FAULT_WITH("")
         ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.rate_limited_as_resource_exhausted: line 13:139: ",
     "field 'rate_limited_as_resource_exhausted' is not supported by ringway yet"},
    {HEAD RL_WITH(", always_consume_default_token_bucket: false") FAULT_WITH("")
         ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.always_consume_default_token_bucket: line 13:139: ",
     "field 'always_consume_default_token_bucket' is not supported by ringway yet"},
    {HEAD RL_WITH(", enable_x_ratelimit_headers: DRAFT_VERSION_04") FAULT_WITH("")
         ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.enable_x_ratelimit_headers: line 13:167: ",
     "invalid value 'DRAFT_VERSION_04' (valid: OFF, DRAFT_VERSION_03)"},
    {HEAD RL_WITH(", status: {code: Teapot}") FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.status.code: line 13:154: ",
     "unknown status code 'Teapot' (a number, or a name like 'TooManyRequests')"},
    {HEAD RL_WITH(", status: {code: 418}") FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.status.code: line 13:154: ",
     "418 is not one of Envoy's StatusCode values"},
    {HEAD RL_WITH(", status: {code: 600}") FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.status.code: line 13:154: ", "status code must be in 100..599"},
    {HEAD RL_WITH(", status: {}") FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.status: line 13:147: ", "missing required field 'code'"},
    {HEAD RL_WITH(", filter_enabled: {runtime_key: k}") FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.filter_enabled: line 13:155: ", "missing required field 'default_value'"},
    {HEAD RL_WITH(", filter_enforced: {default_value: {numerator: 1, denominator: THOUSAND}}")
         FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.filter_enforced.default_value.denominator: line 13:200: ",
     "invalid value 'THOUSAND' (valid: HUNDRED, TEN_THOUSAND, MILLION)"},
    {HEAD RL_WITH(", filter_enabled: {default_value: {numerator: -1}}") FAULT_WITH("")
         ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.filter_enabled.default_value.numerator: line 13:183: ",
     "expected a non-negative integer"},
    {HEAD RL_WITH(", response_headers_to_add: [{header: {key: \":status\", value: x}}]")
         FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.response_headers_to_add[0].header.key: line 13:180: ",
     "':'-prefixed or host headers may not be modified (':status')"},
    {HEAD RL_WITH(", request_headers_to_add: []") FAULT_WITH("") ROUTER RC_HEAD ROUTE(""),
     HF "[0].typed_config.request_headers_to_add: line 13:139: ",
     "unknown field 'request_headers_to_add'"},
    /* HTTPFault filter */
    {HEAD RL_WITH("") FAULT_WITH(", abort: {http_status: 700}") ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.abort.http_status: line 15:128: ", "http_status must be in 200..599"},
    {HEAD RL_WITH("") FAULT_WITH(", abort: {http_status: 199}") ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.abort.http_status: line 15:128: ", "http_status must be in 200..599"},
    {HEAD RL_WITH("") FAULT_WITH(", abort: {grpc_status: 14}") ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.abort.grpc_status: line 15:115: ",
     "field 'grpc_status' is not supported by ringway yet"},
    {HEAD RL_WITH("") FAULT_WITH(", abort: {http_status: 503, header_abort: {}}")
         ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.abort.header_abort: line 15:133: ",
     "'http_status' and 'header_abort' cannot both be set"},
    {HEAD RL_WITH("") FAULT_WITH(", abort: {percentage: {numerator: 1}}") ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.abort: line 15:114: ",
     "a fault abort needs one of 'http_status', 'header_abort'"},
    {HEAD RL_WITH("") FAULT_WITH(", abort: {header_abort: {x: 1}}") ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.abort.header_abort.x: line 15:130: ", "unknown field 'x'"},
    {HEAD RL_WITH("") FAULT_WITH(", delay: {fixed_delay: 0s}") ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.delay.fixed_delay: line 15:128: ", "fixed_delay must be greater than 0"},
    {HEAD RL_WITH("") FAULT_WITH(", delay: {percentage: {numerator: 1}}") ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.delay: line 15:114: ",
     "a fault delay needs one of 'fixed_delay', 'header_delay'"},
    {HEAD RL_WITH("") FAULT_WITH(", delay: {fixed_delay: 1s, header_delay: {}}")
         ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.delay.header_delay: line 15:132: ",
     "'fixed_delay' and 'header_delay' cannot both be set"},
    {HEAD RL_WITH("") FAULT_WITH(", delay: {type: FIXED, fixed_delay: 1s}")
         ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.delay.type: line 15:115: ", "unknown field 'type'"},
    {HEAD RL_WITH("") FAULT_WITH(", upstream_cluster: c0") ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.upstream_cluster: line 15:107: ",
     "field 'upstream_cluster' is not supported by ringway yet"},
    {HEAD RL_WITH("") FAULT_WITH(", response_rate_limit: {}") ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.response_rate_limit: line 15:107: ",
     "field 'response_rate_limit' is not supported by ringway yet"},
    {HEAD RL_WITH("") FAULT_WITH(", abort_percent_runtime: k") ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.abort_percent_runtime: line 15:107: ",
     "field 'abort_percent_runtime' is not supported by ringway yet"},
    {HEAD RL_WITH("") FAULT_WITH(", max_active_faults: 0") ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.max_active_faults: line 15:126: ",
     "max_active_faults: 0 (never inject) is not supported by ringway; remove the fault filter "
     "instead"},
    {HEAD RL_WITH("") FAULT_WITH(", headers: [{name: \"\"}]") ROUTER RC_HEAD ROUTE(""),
     HF "[1].typed_config.headers[0].name: line 15:124: ", "header name must not be empty"},
    /* The filter chain: the router last, filters before it in any order. */
    {HEAD ROUTER RL_WITH("") FAULT_WITH("") RC_HEAD ROUTE(""), HF "[0]: line 12:13: ",
     "the router is a terminal filter and must be the last in http_filters"},
    {HEAD FAULT_WITH("") RL_WITH("") RC_HEAD ROUTE(""), HF "[1]: line 14:13: ",
     "http_filters must end with envoy.filters.http.router (this filter is not terminal)"},
    {HEAD RL_WITH("") FAULT_NAME
     "            typed_config: {\"@type\": "
     "type.googleapis.com/envoy.extensions.filters.http.fault.v3.FaultAbort}\n" ROUTER RC_HEAD
         ROUTE(""),
     HF "[1].typed_config.@type: line 15:37: ",
     "'type.googleapis.com/envoy.extensions.filters.http.fault.v3.FaultAbort' is not supported by "
     "ringway yet"},
    /* typed_per_filter_config */
    {GOOD "                typed_per_filter_config: {nope: " TPFC_RL "}\n",
     R0 ".typed_per_filter_config.nope: line 25:43: ", "'nope' names no filter in http_filters"},
    {GOOD "                typed_per_filter_config: {envoy.filters.http.fault: " TPFC_RL "}\n",
     R0 ".typed_per_filter_config.envoy.filters.http.fault: line 25:43: ",
     "'envoy.filters.http.fault' is a fault filter, but this is a local_ratelimit configuration: a "
     "per-route config of another type is not supported by ringway yet"},
    {GOOD "                typed_per_filter_config: {router: " TPFC_FAULT "}\n",
     R0 ".typed_per_filter_config.router: line 25:43: ",
     "'router' is a router filter, but this is a fault configuration: a per-route config of "
     "another type is not supported by ringway yet"},
    {GOOD "                typed_per_filter_config: {envoy.filters.http.local_ratelimit: "
          "{\"@type\": " LR_TYPE ", stat_prefix: x}}\n",
     R0 ".typed_per_filter_config.envoy.filters.http.local_ratelimit: line 25:79: ",
     "a per-route local_ratelimit needs a token_bucket (as in Envoy)"},
    {GOOD "                typed_per_filter_config: {envoy.filters.http.local_ratelimit: "
          "{\"@type\": type.googleapis.com/envoy.config.route.v3.FilterConfig, disabled: true}}\n",
     R0 ".typed_per_filter_config.envoy.filters.http.local_ratelimit.@type: line 25:89: ",
     "'type.googleapis.com/envoy.config.route.v3.FilterConfig' is not supported by ringway yet"},
    {GOOD "                typed_per_filter_config: {envoy.filters.http.fault: {\"@type\": "
          "type.googleapis.com/acme.Fault}}\n",
     R0 ".typed_per_filter_config.envoy.filters.http.fault.@type: line 25:79: ",
     "unknown @type 'type.googleapis.com/acme.Fault'"},
    {GOOD "                typed_per_filter_config: {envoy.filters.http.fault: {abort: "
          "{http_status: 503}}}\n",
     R0 ".typed_per_filter_config.envoy.filters.http.fault: line 25:69: ", "missing '@type'"},
    {GOOD "                typed_per_filter_config: {envoy.filters.http.fault: " TPFC_FAULT
          ", f2: " TPFC_FAULT "}\n",
     R0 ".typed_per_filter_config.f2: line 25:177: ",
     "a second fault override is not supported by ringway yet"},
    {GOOD "                typed_per_filter_config: []\n",
     R0 ".typed_per_filter_config: line 25:42: ", "expected a mapping"},
    {GOOD
     "                typed_per_filter_config: {envoy.filters.http.fault: {\"@type\": " FAULT_TYPE
     ", abort: {http_status: 99}}}\n",
     R0 ".typed_per_filter_config.envoy.filters.http.fault.abort.http_status: line 25:170: ",
     "http_status must be in 200..599"},
    {ROUTE_PRE "                direct_response: {status: 200}\n                "
               "typed_per_filter_config: {envoy.filters.http.fault: " TPFC_FAULT "}\n",
     R0 ".typed_per_filter_config: line 25:17: ",
     "typed_per_filter_config on a 'direct_response' route is not supported by ringway yet (only "
     "'route' actions carry per-filter overrides)"},
    {GOOD "              - match: {prefix: /r}\n                redirect: {path_redirect: /x}\n    "
          "          typed_per_filter_config: {envoy.filters.http.fault: " TPFC_FAULT "}\n",
     VH0 ".typed_per_filter_config: line 27:15: ",
     "typed_per_filter_config on a virtual host with a 'redirect' route (routes[1]) is not "
     "supported by ringway yet (only 'route' actions carry per-filter overrides)"},
    {GOOD "              typed_per_filter_config: {nope: " TPFC_FAULT "}\n",
     VH0 ".typed_per_filter_config.nope: line 25:41: ", "'nope' names no filter in http_filters"},
    {HEAD RL_WITH("") "          - name: rl2\n            typed_config: {\"@type\": " LR_TYPE
                      ", stat_prefix: rl2}\n" ROUTER RC_HEAD ROUTE(
			  "") "                typed_per_filter_config: "
                              "{envoy.filters.http.local_ratelimit: " TPFC_RL "}\n",
     R0 ".typed_per_filter_config.envoy.filters.http.local_ratelimit: line 25:43: ",
     "a per-route config for one of 2 local_ratelimit filters is not supported by ringway yet (it "
     "would apply to all of them)"},
    {GOOD "            typed_per_filter_config: {}\n",
     TC ".route_config.typed_per_filter_config: line 25:13: ",
     "field 'typed_per_filter_config' is not supported by ringway yet"},
    {ROUTE_PRE "                route: {weighted_clusters: {clusters: [{name: c0, weight: 1, "
               "typed_per_filter_config: {}}]}}\n",
     R0 ".route.weighted_clusters.clusters[0].typed_per_filter_config: line 24:78: ",
     "field 'typed_per_filter_config' is not supported by ringway yet"},
};

static void test_table(void)
{
	size_t failed = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad *b = &bad[i];
		struct rw_config *cfg = NULL;
		char err[768];
		int rc = rw_config_load_string(b->yaml, strlen(b->yaml), &cfg, err, sizeof(err));
		const char *rest = err + strlen(b->prefix);

		if (rc == -EINVAL && cfg == NULL &&
		    strncmp(err, b->prefix, strlen(b->prefix)) == 0 && strstr(rest, b->message) &&
		    !strchr(err, '\n'))
			continue;
		fprintf(stderr, "bad[%zu]: rc %d\n  got:  %s\n  want: %s...%s\n", i, rc, err,
		        b->prefix, b->message);
		rw_config_free(cfg);
		failed++;
	}
	CHECK(failed == 0);
}

/* Small documents the loader must accept, and what they mean. */
static void test_good_details(void)
{
	struct rw_config *cfg;
	const struct rw_config_route_action *a;
	const struct rw_config_fault *f;

	/* retry_on: Envoy trims whitespace and skips empty items. */
	cfg = load_string(ROUTE_PRE ROUTE(", retry_policy: {retry_on: \" reset ,, 5xx,\"}"));
	a = &hcm_of(cfg)->route_config.virtual_hosts[0].routes[0].u.route;
	CHECK(a->retry.retry_on == (RW_CONFIG_RETRY_RESET | RW_CONFIG_RETRY_5XX));
	rw_config_free(cfg);

	/* A numerator above its denominator is 100%; the denominator defaults to HUNDRED. */
	cfg = load_string(HEAD RL_WITH("") FAULT_WITH(
	    ", delay: {fixed_delay: 1s, percentage: {numerator: 200}}, abort: {http_status: 500, "
	    "percentage: {numerator: 7, denominator: MILLION}}") ROUTER RC_HEAD ROUTE(""));
	f = &hcm_of(cfg)->http_filters[1].u.fault;
	CHECK(f->delay_percent == PPM_ALL && f->abort_percent == 7 && f->abort_status == 500);
	rw_config_free(cfg);

	/* A per-route override may name the filter by any name it was given, in any order. */
	cfg = load_string(HEAD FAULT_WITH(
	    "") "          - name: my_rl\n"
	        "            typed_config: {\"@type\": " LR_TYPE
	        ", stat_prefix: rl}\n" ROUTER RC_HEAD ROUTE(
		    "") "                typed_per_filter_config: {my_rl: " TPFC_RL "}\n");
	a = &hcm_of(cfg)->route_config.virtual_hosts[0].routes[0].u.route;
	CHECK(a->has_ratelimit_override && eq(a->ratelimit->stat_prefix, "x"));
	CHECK(!a->has_fault_override && !a->fault);
	rw_config_free(cfg);

	/* A virtual host retry policy reaches a route given after it, and typed_per_filter_config
	 * may come before the route's action. */
	cfg = load_string(
	    ROUTE_PRE
	    "                typed_per_filter_config: {envoy.filters.http.fault: " TPFC_FAULT
	    "}\n" ROUTE("") "              retry_policy: {num_retries: 4}\n");
	a = &hcm_of(cfg)->route_config.virtual_hosts[0].routes[0].u.route;
	CHECK(a->retry.present && a->retry.num_retries == 4 && a->fault->abort_status == 503);
	rw_config_free(cfg);
}

/* The good base document really is good, so each table entry fails for its own reason. */
static void test_base_is_good(void)
{
	static const char yaml[] = GOOD;
	struct rw_config *cfg = NULL;
	char err[512];

	if (rw_config_load_string(yaml, strlen(yaml), &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "base: %s\n", err);
		abort();
	}
	rw_config_free(cfg);
}

/* The parser's tests see every parsed field, served by the data path or not. */
extern bool rw__config_allow_unserved;

/* Without the test hook, what the data path does not serve yet fails the load at its line. */
static void test_unserved(void)
{
	static const char yaml[] =
	    "static_resources:\n"
	    "  listeners:\n"
	    "  - address: {socket_address: {address: 127.0.0.1, port_value: 0}}\n"
	    "    filter_chains:\n"
	    "    - filters:\n"
	    "      - name: hcm\n"
	    "        typed_config:\n"
	    "          \"@type\": type.googleapis.com/envoy.extensions.filters.network."
	    "http_connection_manager.v3.HttpConnectionManager\n"
	    "          stat_prefix: s\n"
	    "          http_filters: [{name: r, typed_config: {\"@type\": "
	    "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]\n"
	    "          route_config:\n"
	    "            virtual_hosts:\n"
	    "            - name: v\n"
	    "              domains: [\"*\"]\n"
	    "              routes:\n"
	    "              - match: {prefix: /}\n"
	    "                direct_response: {status: 200}\n"
	    "              retry_policy:\n"
	    "                retriable_headers: [{name: x, safe_regex_match: {regex: a.*}}]\n";
	struct rw_config *cfg = NULL;
	char err[512] = "";

	rw__config_allow_unserved = false;
	CHECK(rw_config_load_string(yaml, strlen(yaml), &cfg, err, sizeof(err)) == -EINVAL);
	if (!strstr(err, "retriable_headers: line 19:36: a safe_regex header matcher here is not "
	                 "supported by ringway yet (the rest of this configuration was checked "
	                 "and is valid)"))
		fprintf(stderr, "got: %s\n", err);
	CHECK(strstr(err, "retriable_headers: line 19:36: a safe_regex header matcher here is not "
	                  "supported by ringway yet (the rest of this configuration was checked "
	                  "and is valid)") != NULL);
	rw__config_allow_unserved = true;
}

/* The health_check HTTP filter's fields; cache_time is refused at its line. */
static void test_health_check_filter(void)
{
	static const char good[] = HC_DOC(
	    ", pass_through_mode: true, headers: [{name: \":path\", string_match: {exact: /hz}}], "
	    "cluster_min_healthy_percentages: {c0: {value: 50}, gone: {value: 0}}");
	static const char cached[] = HC_DOC(", pass_through_mode: true, cache_time: 5s");
	struct rw_config *cfg = NULL;
	const struct rw_config_health_check_filter *hc;
	char err[512] = "";

	CHECK(rw_config_load_string(good, strlen(good), &cfg, err, sizeof(err)) == 0);
	hc = &hcm_of(cfg)->http_filters[0].u.health_check;
	CHECK(hcm_of(cfg)->http_filters[0].kind == RW_CONFIG_HTTP_FILTER_HEALTH_CHECK);
	CHECK(hc->pass_through_mode);
	CHECK(hc->n_headers == 1 && strcmp(hc->headers[0].name, ":path") == 0);
	CHECK(hc->headers[0].string.kind == RW_CONFIG_STRING_EXACT);
	CHECK(strcmp(hc->headers[0].string.value, "/hz") == 0);
	CHECK(hc->n_clusters == 2 && strcmp(hc->clusters[1].cluster, "gone") == 0);
	CHECK(hc->clusters[0].min_healthy == 50.0 && hc->clusters[1].min_healthy == 0.0);
	rw_config_free(cfg);

	rw__config_allow_unserved = false;
	CHECK(rw_config_load_string(cached, strlen(cached), &cfg, err, sizeof(err)) == -EINVAL);
	if (!strstr(err, ".typed_config.cache_time: line 13:153: health_check cache_time is not "
	                 "supported by ringway yet"))
		fprintf(stderr, "got: %s\n", err);
	CHECK(strstr(err, ".typed_config.cache_time: line 13:153: health_check cache_time is not "
	                  "supported by ringway yet") != NULL);
	rw__config_allow_unserved = true;
}

int main(void)
{
	rw__config_allow_unserved = true;
	/* The fixtures are named relative to the data directory. */
	CHECK(chdir(RW_CONFIG_TEST_DATA) == 0);
	test_full();
	test_unserved();
	test_health_check_filter();
	test_defaults();
	test_good_details();
	test_base_is_good();
	test_table();
	printf("config route policies: %zu table entries ok\n", sizeof(bad) / sizeof(bad[0]));
	return 0;
}
