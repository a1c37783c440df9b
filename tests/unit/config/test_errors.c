/*
 * Unit tests for the config loader's error reporting: a table of bad documents, each with
 * the exact "<path>: line L:C: " prefix it must produce and a substring of the message.
 *
 * The prefix is the contract operators rely on to find the mistake, so it is compared
 * exactly; the message is matched loosely so wording can improve without churning the table.
 * Plain asserts that stay on in Release builds.
 */
#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

#define TCP_PROXY_TYPE "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"

/* Lines 1-5: one listener whose filter chains follow. */
#define LISTENER                                                                                   \
	"static_resources:\n"                                                                      \
	"  listeners:\n"                                                                           \
	"  - name: l0\n"                                                                           \
	"    address:\n"                                                                           \
	"      socket_address: {address: 127.0.0.1, port_value: 10000}\n"

/* Lines 6-9: a chain with one filter; its typed_config body starts on line 10, column 11. */
#define CHAIN                                                                                      \
	"    filter_chains:\n"                                                                     \
	"    - filters:\n"                                                                         \
	"      - name: tcp\n"                                                                      \
	"        typed_config:\n"

/* Lines 10-12 of a working tcp_proxy, then "  clusters:" with c0 from line 13. */
#define TCP_BODY                                                                                   \
	"          \"@type\": " TCP_PROXY_TYPE "\n"                                                \
	"          stat_prefix: s\n"                                                               \
	"          cluster: c0\n"

#define GOOD_LISTENER LISTENER CHAIN TCP_BODY

/* Lines 1-3; cluster fields go on from line 4 at column 5. */
#define CLUSTER "static_resources:\n  clusters:\n  - name: c0\n"

struct bad {
	const char *yaml;
	const char *prefix;  /* exact start of the message: "<path>: line L:C: " */
	const char *message; /* substring of the rest */
	int rc;
};

static const struct bad bad[] = {
    /* YAML itself. */
    {"a: [1, 2\n", "line 2:1: ", "YAML syntax error: ", -EINVAL},
    {"static_resources:\n  listeners: []\n listeners: []\n",
     "line 3:2: ", "YAML syntax error: ", -EINVAL},
    {"", "line 1:1: ", "empty document", -EINVAL},
    {"# only a comment\n", "line 2:1: ", "empty document", -EINVAL},
    {"~\n", "line 1:1: ", "empty document", -EINVAL},
    {"admin: {}\n---\nadmin: {}\n", "line 2:1: ", "more than one YAML document", -EINVAL},
    {"static_resources:\n  clusters: []\n  clusters: []\n",
     "line 3:3: ", "duplicate key 'clusters'", -EINVAL},
    {"a: *nope\n", "line 1:4: ", "undefined anchor", -EINVAL},
    {"? [a]\n: b\n", "line 1:3: ", "mapping keys must be plain strings", -EINVAL},
    {"a: \"\\x01\x01\"\n", "line 1:9: ", "YAML syntax error: control characters", -EINVAL},

    /* Kinds and unknown or unsupported fields. */
    {"- a\n", "line 1:1: ", "expected a mapping", -EINVAL},
    {"static_resources: []\n", "static_resources: line 1:19: ", "expected a mapping", -EINVAL},
    {"static_resources:\n  listeners: {}\n",
     "static_resources.listeners: line 2:14: ", "expected a list", -EINVAL},
    {"dynamic_resources: {}\n", "dynamic_resources: line 1:1: ",
     "field 'dynamic_resources' is not supported by ringway yet", -EINVAL},
    {"admin: {}\nstats_flush_interval: 301s\n",
     "stats_flush_interval: line 2:23: ", "between 1ms and 300s", -EINVAL},
    {"stats_flush_interval: 0s\n", "stats_flush_interval: line 1:23: ", "between 1ms and 300s",
     -EINVAL},
    {"stats_flush_interval: soon\n", "stats_flush_interval: line 1:23: ", "expected a duration",
     -EINVAL},
    {"stats_sinks:\n- name: envoy.stat_sinks.dog_statsd\n", "stats_sinks[0].name: line 2:9: ",
     "stats sink 'envoy.stat_sinks.dog_statsd' is not supported by ringway yet", -EINVAL},
    {"stats_sinks:\n- name: envoy.stat_sinks.statsd\n",
     "stats_sinks[0]: line 2:3: ", "missing required field 'typed_config'", -EINVAL},
    {"stats_sinks:\n- typed_config:\n    \"@type\": type.googleapis.com/envoy.config.metrics.v3"
     ".StatsdSink\n    prefix: p\n",
     "stats_sinks[0].typed_config: line 3:5: ", "missing required field 'address'", -EINVAL},
    {"stats_sinks:\n- typed_config:\n    \"@type\": type.googleapis.com/envoy.config.metrics.v3"
     ".StatsdSink\n    tcp_cluster_name: c\n",
     "stats_sinks[0].typed_config.tcp_cluster_name: line 4:5: ", "not supported by ringway yet",
     -EINVAL},
    {"stats_sinks:\n- typed_config:\n    \"@type\": type.googleapis.com/envoy.config.metrics.v3"
     ".StatsdSink\n    address: {socket_address: {address: 127.0.0.1, port_value: 0}}\n",
     "stats_sinks[0].typed_config.address", "", -EINVAL},
    {"static_resoures: {}\n", "static_resoures: line 1:1: ",
     "unknown field 'static_resoures' (did you mean 'static_resources'?)", -EINVAL},
    {"bogus: 1\n", "bogus: line 1:1: ", "unknown field 'bogus'", -EINVAL},
    {"node: {id: a, clustr: b}\n",
     "node.clustr: line 1:15: ", "unknown field 'clustr' (did you mean 'cluster'?)", -EINVAL},
    {"admin:\n  profile_path: /tmp/p\n", "admin.profile_path: line 2:3: ",
     "field 'profile_path' is not supported by ringway yet", -EINVAL},
    {"admin:\n  access_log:\n  - name: x\n",
     "admin.access_log: line 2:3: ", "not supported by ringway yet", -EINVAL},
    {"static_resources:\n  secrets: []\n",
     "static_resources.secrets: line 2:3: ", "not supported by ringway yet", -EINVAL},
    {"admin:\n  access_log_path: [a]\n", "admin.access_log_path: line 2:20: ", "expected a string",
     -EINVAL},

    /* Listeners. */
    {LISTENER, "static_resources.listeners[0]: line 3:5: ",
     "a listener needs at least one filter chain", -EINVAL},
    {LISTENER "    listener_filters: []\n",
     "static_resources.listeners[0].listener_filters: line 6:5: ",
     "field 'listener_filters' is not supported by ringway yet", -EINVAL},
    {LISTENER "    filter_chain: []\n", "static_resources.listeners[0].filter_chain: line 6:5: ",
     "(did you mean 'filter_chains'?)", -EINVAL},
    {"static_resources:\n  listeners:\n  - name: l0\n    filter_chains: []\n",
     "static_resources.listeners[0]: line 3:5: ", "missing required field 'address'", -EINVAL},
    {"static_resources:\n  listeners:\n  - address:\n      socket_address: {address: "
     "www.example.com, port_value: 80}\n",
     "static_resources.listeners[0].address.socket_address.address: line 4:33: ",
     "expected an IP address; DNS names need a STRICT_DNS cluster", -EINVAL},
    {"static_resources:\n  listeners:\n  - address:\n      socket_address: {address: \"::1\", "
     "port_value: 65536}\n",
     "static_resources.listeners[0].address.socket_address.port_value: line 4:52: ",
     "integer out of range (maximum 65535)", -EINVAL},
    {"static_resources:\n  listeners:\n  - address:\n      socket_address: {address: \"::1\", "
     "port_value: 1, protocol: UDP}\n",
     "static_resources.listeners[0].address.socket_address.protocol: line 4:65: ",
     "'UDP' is not supported by ringway yet", -EINVAL},
    {"static_resources:\n  listeners:\n  - address:\n      socket_address: {address: \"::1\", "
     "port_value: 1, protocol: SCTP}\n",
     "static_resources.listeners[0].address.socket_address.protocol: line 4:65: ",
     "invalid value 'SCTP' (valid: TCP, UDP)", -EINVAL},
    {"static_resources:\n  listeners:\n  - address:\n      socket_address: {address: \"::1\", "
     "port_value: 1, ipv4_compat: true}\n",
     "static_resources.listeners[0].address.socket_address.ipv4_compat: line 4:55: ",
     "not supported by ringway yet", -EINVAL},
    {"static_resources:\n  listeners:\n  - address:\n      pipe: {path: /tmp/s}\n",
     "static_resources.listeners[0].address.pipe: line 4:7: ", "not supported by ringway yet",
     -EINVAL},
    {LISTENER "    per_connection_buffer_limit_bytes: 4294967296\n",
     "static_resources.listeners[0].per_connection_buffer_limit_bytes: line 6:40: ",
     "integer out of range (maximum 4294967295)", -EINVAL},
    {LISTENER "    per_connection_buffer_limit_bytes: -1\n",
     "static_resources.listeners[0].per_connection_buffer_limit_bytes: line 6:40: ",
     "expected a non-negative integer", -EINVAL},
    {LISTENER "    per_connection_buffer_limit_bytes: 1.5\n",
     "static_resources.listeners[0].per_connection_buffer_limit_bytes: line 6:40: ",
     "expected an integer", -EINVAL},
    {LISTENER "    filter_chains:\n    - filters: []\n",
     "static_resources.listeners[0].filter_chains[0]: line 7:7: ",
     "a filter chain needs at least one filter", -EINVAL},
    {LISTENER "    filter_chains:\n    - transport_socket: {}\n",
     "static_resources.listeners[0].filter_chains[0].transport_socket: line 7:7: ",
     "not supported by ringway yet", -EINVAL},
    {LISTENER "    filter_chains:\n    - filter_chain_match: {}\n",
     "static_resources.listeners[0].filter_chains[0].filter_chain_match: line 7:7: ",
     "not supported by ringway yet", -EINVAL},
    {LISTENER CHAIN "          stat_prefix: s\n",
     "static_resources.listeners[0].filter_chains[0].filters[0].typed_config: line 10:11: ",
     "missing '@type'", -EINVAL},
    /* Echo: a terminal filter with no fields. */
    {LISTENER CHAIN "          \"@type\": type.googleapis.com/envoy.extensions.filters.network."
                    "echo.v3.Echo\n          stat_prefix: s\n",
     "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stat_prefix: "
     "line 11:11: ",
     "unknown field 'stat_prefix'", -EINVAL},
    {LISTENER CHAIN "          \"@type\": type.googleapis.com/envoy.extensions.filters.network."
                    "echo.v3.Echo\n      - name: second\n        typed_config:\n" TCP_BODY,
     "static_resources.listeners[0].filter_chains[0].filters[0]: line 8:9: ",
     "echo is a terminal filter and must be the last in its chain", -EINVAL},
    /* Two chains and no filter_chain_match: Envoy refuses the same way. */
    {GOOD_LISTENER "    - filters:\n      - name: tcp\n        typed_config:\n" TCP_BODY,
     "static_resources.listeners[0].filter_chains: line 7:5: ",
     "multiple filter chains with the same matching rules", -EINVAL},

    {LISTENER "    filter_chains:\n    - filters:\n      - name: envoy.filters.network.tcp_proxy\n",
     "static_resources.listeners[0].filter_chains[0].filters[0]: line 8:9: ",
     "missing required field 'typed_config'", -EINVAL},
    {LISTENER CHAIN "          \"@type\": type.googleapis.com/acme.Proxy\n",
     "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.@type: line 10:20: ",
     "unknown @type 'type.googleapis.com/acme.Proxy'", -EINVAL},
    {LISTENER CHAIN "          \"@type\": " TCP_PROXY_TYPE "\n          cluster: c0\n",
     "static_resources.listeners[0].filter_chains[0].filters[0].typed_config: line 10:11: ",
     "missing required field 'stat_prefix'", -EINVAL},
    {LISTENER CHAIN "          \"@type\": " TCP_PROXY_TYPE "\n          stat_prefix: s\n",
     "static_resources.listeners[0].filter_chains[0].filters[0].typed_config: line 10:11: ",
     "missing required field 'cluster'", -EINVAL},
    {GOOD_LISTENER "          weighted_clusters: {}\n",
     "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.weighted_clusters: "
     "line 13:11: ",
     "field 'weighted_clusters' is not supported by ringway yet", -EINVAL},
    {GOOD_LISTENER "          idle_timeout: 10\n",
     "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.idle_timeout: "
     "line 13:25: ",
     "expected a duration like \"0.25s\"", -EINVAL},
    {GOOD_LISTENER "          idle_timeout: -1s\n",
     "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.idle_timeout: "
     "line 13:25: ",
     "duration must not be negative", -EINVAL},
    {GOOD_LISTENER "          idle_timeout: 300ms\n",
     "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.idle_timeout: "
     "line 13:25: ",
     "expected a duration like \"0.25s\"", -EINVAL},
    {GOOD_LISTENER "          idle_timeout: 1.0000000001s\n",
     "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.idle_timeout: "
     "line 13:25: ",
     "expected a duration like \"0.25s\"", -EINVAL},
    {GOOD_LISTENER "          idle_timeout: {seconds: 1, nanos: 1000000000}\n",
     "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.idle_timeout.nanos: "
     "line 13:45: ",
     "integer out of range (maximum 999999999)", -EINVAL},
    {GOOD_LISTENER "          idle_timeout: {minutes: 1}\n",
     "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.idle_timeout.minutes: "
     "line 13:26: ",
     "unknown field 'minutes'", -EINVAL},
    {LISTENER "    filter_chains:\n    - filters:\n      - typed_config:\n          "
              "\"@type\": " TCP_PROXY_TYPE
              "\n          stat_prefix: s\n          cluster: c0\n      - name: second\n",
     "static_resources.listeners[0].filter_chains[0].filters[0]: line 8:9: ",
     "tcp_proxy is a terminal filter and must be the last in its chain", -EINVAL},
    {GOOD_LISTENER,
     "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.cluster: "
     "line 12:20: ",
     "tcp_proxy cluster 'c0' not found in static_resources.clusters", -EINVAL},
    {GOOD_LISTENER "  - name: l0\n    address:\n      socket_address: {address: 127.0.0.2, "
                   "port_value: 10000}\n" CHAIN TCP_BODY,
     "static_resources.listeners[1].name: line 13:11: ", "duplicate listener name 'l0'", -EINVAL},
    {GOOD_LISTENER "  - name: l1\n    address:\n      socket_address: {address: 127.0.0.1, "
                   "port_value: 10000}\n" CHAIN TCP_BODY,
     "static_resources.listeners[1].address: line 15:7: ",
     "duplicate listener address 127.0.0.1:10000", -EINVAL},

    /* Clusters. */
    {"static_resources:\n  clusters:\n  - connect_timeout: 1s\n",
     "static_resources.clusters[0]: line 3:5: ", "missing required field 'name'", -EINVAL},
    {CLUSTER "    conect_timeout: 1s\n", "static_resources.clusters[0].conect_timeout: line 4:5: ",
     "unknown field 'conect_timeout' (did you mean 'connect_timeout'?)", -EINVAL},
    {CLUSTER "    connect_timeout: 0s\n",
     "static_resources.clusters[0].connect_timeout: line 4:22: ",
     "connect_timeout must be greater than 0s", -EINVAL},
    {CLUSTER "    connect_timeout: 5\n",
     "static_resources.clusters[0].connect_timeout: line 4:22: ",
     "expected a duration like \"0.25s\"", -EINVAL},
    {CLUSTER "    type: EDS\n", "static_resources.clusters[0].type: line 4:11: ",
     "cluster type 'EDS' is not supported by ringway yet", -EINVAL},
    {CLUSTER "    type: EDS\n", "static_resources.clusters[0].type: line 4:11: ",
     "cluster type 'EDS' is not supported by ringway yet", -EINVAL},
    {CLUSTER "    type: STATICK\n", "static_resources.clusters[0].type: line 4:11: ",
     "invalid value 'STATICK' (valid: STATIC, STRICT_DNS, LOGICAL_DNS, EDS, ORIGINAL_DST)",
     -EINVAL},
    {CLUSTER "    lb_policy: CLUSTER_PROVIDED\n",
     "static_resources.clusters[0].lb_policy: line 4:16: ",
     "lb_policy 'CLUSTER_PROVIDED' is not supported by ringway yet", -EINVAL},
    {CLUSTER "    lb_policy: [ROUND_ROBIN]\n",
     "static_resources.clusters[0].lb_policy: line 4:16: ", "expected a string", -EINVAL},
    {CLUSTER "    lb_subset_config: {}\n",
     "static_resources.clusters[0].lb_subset_config: line 4:5: ",
     "field 'lb_subset_config' is not supported by ringway yet", -EINVAL},
    {CLUSTER "    circuit_breakers: {per_host_thresholds: []}\n",
     "static_resources.clusters[0].circuit_breakers.per_host_thresholds: line 4:24: ",
     "not supported by ringway yet", -EINVAL},
    {CLUSTER "  - name: c0\n",
     "static_resources.clusters[1].name: line 4:11: ", "duplicate cluster name 'c0'", -EINVAL},
    {CLUSTER "    per_connection_buffer_limit_bytes: \"12x\"\n",
     "static_resources.clusters[0].per_connection_buffer_limit_bytes: line 4:40: ",
     "expected an integer", -EINVAL},
    {CLUSTER "    load_assignment:\n      endpoints:\n      - proximity: 1\n",
     "static_resources.clusters[0].load_assignment.endpoints[0].proximity: line 6:9: ",
     "field 'proximity' is not supported by ringway yet", -EINVAL},
    {CLUSTER "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - "
             "endpoint_name: e\n",
     "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0]."
     "endpoint_name: line 7:11: ",
     "not supported by ringway yet", -EINVAL},
    {CLUSTER "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - {}\n",
     "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0]: line 7:11: ",
     "missing required field 'endpoint'", -EINVAL},
    {CLUSTER "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - endpoint:\n"
             "            hostname: db\n",
     "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint."
     "hostname: line 8:13: ",
     "not supported by ringway yet", -EINVAL},
    {CLUSTER "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - endpoint:\n"
             "            address:\n              socket_address: {address: 10.0.0.1}\n",
     "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint."
     "address.socket_address: line 9:31: ",
     "missing required field 'port_value'", -EINVAL},
    {CLUSTER
     "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - endpoint:\n"
     "            address:\n              socket_address: {address: 10.0.0.1, port_value: 0}\n",
     "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint."
     "address.socket_address.port_value: line 9:63: ",
     "port_value must be in 1..65535", -EINVAL},
    {CLUSTER
     "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - endpoint:\n"
     "            address:\n              socket_address: {address: db.local, port_value: 5}\n",
     "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint."
     "address.socket_address.address: line 9:41: ",
     "malformed IP address: db.local; DNS names need a cluster of type 'STRICT_DNS' or "
     "'LOGICAL_DNS'",
     -EINVAL},
    /* DNS clusters. */
    {CLUSTER "    type: STRICT_DNS\n    dns_lookup_family: V5_ONLY\n",
     "static_resources.clusters[0].dns_lookup_family: line 5:24: ", "V4_ONLY", -EINVAL},
    {CLUSTER "    type: STRICT_DNS\n    dns_refresh_rate: 0s\n",
     "static_resources.clusters[0].dns_refresh_rate: line 5:23: ",
     "dns_refresh_rate must be at least 1ms", -EINVAL},
    {CLUSTER "    dns_failure_refresh_rate: {base_interval: 2s, max_interval: 1s}\n",
     "static_resources.clusters[0].dns_failure_refresh_rate.max_interval: line 4:65: ",
     "max_interval must be greater than or equal to base_interval", -EINVAL},
    {CLUSTER "    type: LOGICAL_DNS\n"
             "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n"
             "        - endpoint: {address: {socket_address: {address: a.test, port_value: 1}}}\n"
             "        - endpoint: {address: {socket_address: {address: b.test, port_value: 1}}}\n",
     "static_resources.clusters[0].load_assignment: line 6:7: ",
     "LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint",
     -EINVAL},
    {CLUSTER
     "    typed_dns_resolver_config:\n      name: cares\n      typed_config:\n"
     "        \"@type\": type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3."
     "CaresDnsResolverConfig\n        use_resolvers_as_fallback: true\n",
     "static_resources.clusters[0].typed_dns_resolver_config.typed_config."
     "use_resolvers_as_fallback: line 8:9: ",
     "not supported by ringway yet", -EINVAL},
    {CLUSTER
     "    typed_dns_resolver_config:\n      typed_config:\n"
     "        \"@type\": type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3."
     "CaresDnsResolverConfig\n        dns_resolver_options: {use_tcp: true}\n",
     "static_resources.clusters[0].typed_dns_resolver_config.typed_config."
     "dns_resolver_options.use_tcp: line 7:32: ",
     "", -EINVAL},
    {CLUSTER "    typed_dns_resolver_config:\n      typed_config:\n"
             "        \"@type\": type.googleapis.com/envoy.extensions.network.dns_resolver."
             "getaddrinfo.v3.GetAddrInfoDnsResolverConfig\n",
     "static_resources.clusters[0].typed_dns_resolver_config.typed_config.@type: line 6:18: ",
     "is not supported by ringway", -EINVAL},
    {CLUSTER "    dns_resolvers: [{socket_address: {address: ns.local}}]\n",
     "static_resources.clusters[0].dns_resolvers[0].socket_address.address: line 4:48: ",
     "expected an IP address", -EINVAL},
    {CLUSTER "    load_assignment:\n      named_endpoints: {}\n",
     "static_resources.clusters[0].load_assignment.named_endpoints: line 5:7: ",
     "not supported by ringway yet", -EINVAL},

    /* JSON is parsed as YAML flow style, with the same positions. */
    {"{\"static_resources\": {\"clusters\": [{\"name\": \"c\", \"connect_timeout\": \"1m\"}]}}",
     "static_resources.clusters[0].connect_timeout: line 1:69: ",
     "expected a duration like \"0.25s\"", -EINVAL},
    /* camelCase and snake_case are one field to protobuf's JSON parser. */
    {"{\"admin\": {\"accessLogPath\": \"/a\", \"access_log_path\": \"/b\"}}",
     "admin.access_log_path: line 1:35: ", "field 'access_log_path' given twice", -EINVAL},

    /* Fuzz-safety limits. */
    {"a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]"
     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
     "line 1:67: ", "YAML nesting too deep", -EINVAL},
};

/* The header's own example, verbatim: cluster [1], connect_timeout on line 14, column 24. */
static void test_header_example(void)
{
	static const char yaml[] =
	    "static_resources:\n"
	    "  listeners: []\n"
	    "  clusters:\n"
	    "    - name: a\n"
	    "      connect_timeout: 1s\n"
	    "      load_assignment:\n"
	    "        cluster_name: a\n"
	    "        endpoints:\n"
	    "          - lb_endpoints:\n"
	    "              - endpoint:\n"
	    "                  address:\n"
	    "                    socket_address: {address: 10.0.0.1, port_value: 80}\n"
	    "    - name: b\n"
	    "      connect_timeout: 5 seconds\n";
	struct rw_config *cfg = (struct rw_config *)1;
	char err[512];

	CHECK(rw_config_load_string(yaml, strlen(yaml), &cfg, err, sizeof(err)) == -EINVAL);
	CHECK(cfg == NULL);
	CHECK(strcmp(err, "static_resources.clusters[1].connect_timeout: line 14:24: expected a "
	                  "duration like \"0.25s\"") == 0);
}

static void test_table(void)
{
	size_t failed = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad *b = &bad[i];
		struct rw_config *cfg = NULL;
		char err[512];
		int rc = rw_config_load_string(b->yaml, strlen(b->yaml), &cfg, err, sizeof(err));
		const char *rest = err + strlen(b->prefix);

		if (rc == b->rc && cfg == NULL && strncmp(err, b->prefix, strlen(b->prefix)) == 0 &&
		    strstr(rest, b->message) && !strchr(err, '\n'))
			continue;
		fprintf(stderr, "bad[%zu]: rc %d (want %d)\n  got:  %s\n  want: %s...%s\n", i, rc,
		        b->rc, err, b->prefix, b->message);
		rw_config_free(cfg);
		failed++;
	}
	CHECK(failed == 0);
	CHECK(sizeof(bad) / sizeof(bad[0]) >= 30);
}

/* A billion-laughs document must be refused quickly, not expanded. */
static void test_alias_bomb(void)
{
	char yaml[4096];
	size_t n = 0;
	struct rw_config *cfg;
	char err[256];

	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "a0: &a0 [x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 12; i++) {
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "a%d: &a%d [", i, i);
		for (int k = 0; k < 8; k++)
			n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%s*a%d", k ? ", " : "",
			                      i - 1);
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "]\n");
	}
	CHECK(n < sizeof(yaml));
	CHECK(rw_config_load_string(yaml, n, &cfg, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "document too large once YAML aliases are expanded"));
}

static void test_too_large(void)
{
	size_t len = 17u * 1024 * 1024;
	char *big = malloc(len);
	struct rw_config *cfg;
	char err[256];

	CHECK(big);
	memset(big, ' ', len);
	CHECK(rw_config_load_string(big, len, &cfg, err, sizeof(err)) == -EFBIG);
	CHECK(strstr(err, "document too large"));
	free(big);
}

/* Keys and values are echoed into messages: control bytes must not break the one line. */
static void test_escaping(void)
{
	static const char yaml[] = "\"a\\nb\\u0000c\": 1\n";
	struct rw_config *cfg;
	char err[256];

	CHECK(rw_config_load_string(yaml, strlen(yaml), &cfg, err, sizeof(err)) == -EINVAL);
	CHECK(strcmp(err, "a\\x0ab\\x00c: line 1:1: unknown field 'a\\x0ab\\x00c'") == 0);
}

/* A short or absent error buffer must be safe. */
static void test_small_err_buffer(void)
{
	struct rw_config *cfg;
	char err[8];

	CHECK(rw_config_load_string("bogus: 1", 8, &cfg, err, sizeof(err)) == -EINVAL);
	CHECK(strcmp(err, "bogus: ") == 0);
	CHECK(rw_config_load_string("bogus: 1", 8, &cfg, NULL, 0) == -EINVAL);
}

int main(void)
{
	test_header_example();
	test_table();
	test_alias_bomb();
	test_too_large();
	test_escaping();
	test_small_err_buffer();
	printf("config errors: %zu table entries ok\n", sizeof(bad) / sizeof(bad[0]));
	return 0;
}
