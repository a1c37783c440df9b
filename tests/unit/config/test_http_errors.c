/*
 * Unit tests for HttpConnectionManager / route configuration errors: a table of bad
 * documents, each with the exact "<path>: line L:C: " prefix it must produce and a substring
 * of the message, like test_errors.c.  The documents are built from one good HCM (GOOD) by
 * appending a line, or from its pieces with one piece replaced; line numbers below refer to
 * the numbered layout of those pieces.
 */
#include "config/config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

/* config/'s HTTP gate hook (config/internal.h): on, so errors are never the gate's. */

#define HCM_TYPE                                                                                   \
	"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."         \
	"HttpConnectionManager"
#define ROUTER_TYPE "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
#define ZIPKIN_TYPE "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig"
#define OTEL_TYPE   "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig"

/* Lines 1-9: a listener whose HCM typed_config starts at line 9, column 11. */
#define HEAD0                                                                                      \
	"static_resources:\n"                                                                      \
	"  clusters: [{name: c0}]\n"                                                               \
	"  listeners:\n"                                                                           \
	"  - address: {socket_address: {address: 127.0.0.1, port_value: 80}}\n"                    \
	"    filter_chains:\n"                                                                     \
	"    - filters:\n"                                                                         \
	"      - name: hcm\n"                                                                      \
	"        typed_config:\n"                                                                  \
	"          \"@type\": " HCM_TYPE "\n"
/* Line 10. */
#define HEAD HEAD0 "          stat_prefix: s\n"
/* Lines 11-13 (ROUTER_ITEM is 12-13). */
#define ROUTER_ITEM                                                                                \
	"          - name: router\n"                                                               \
	"            typed_config: {\"@type\": " ROUTER_TYPE "}\n"
#define ROUTER "          http_filters:\n" ROUTER_ITEM
/* Lines 14-18: route_config with virtual host v0 ("*"), whose routes follow. */
#define RC_HEAD                                                                                    \
	"          route_config:\n"                                                                \
	"            virtual_hosts:\n"                                                             \
	"            - name: v0\n"                                                                 \
	"              domains: [\"*\"]\n"                                                         \
	"              routes:\n"
/* Line 19: the first route; its other fields go at column 17. */
#define ROUTE0 "              - match: {prefix: /}\n"
/* Line 20. */
#define DR "                direct_response: {status: 200}\n"

#define ROUTE_PRE HEAD ROUTER RC_HEAD ROUTE0
/* 20 lines; a line appended is line 21. */
#define GOOD ROUTE_PRE DR

#define TC  "static_resources.listeners[0].filter_chains[0].filters[0].typed_config"
#define RCP TC ".route_config"
#define VH0 RCP ".virtual_hosts[0]"
#define R0  VH0 ".routes[0]"

/* Line 21: an HCM access log (stdout) whose filter is f; the filter's value is at column 33. */
#define AL(f)                                                                                      \
	GOOD "          access_log: [{filter: " f                                                  \
	     ", typed_config: {\"@type\": type.googleapis.com/"                                    \
	     "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog}}]\n"
#define ALF TC ".access_log[0].filter"

struct bad {
	const char *yaml;
	const char *prefix;  /* exact start of the message: "<path>: line L:C: " */
	const char *message; /* substring of the rest */
};

static const struct bad bad[] = {
    {GOOD "          stat_prefx: x\n",
     TC ".stat_prefx"
        ": line 21:11: ",
     "unknown field 'stat_prefx' (did you mean 'stat_prefix'?)"},
    /* metadata.filter_metadata.ringway (config/metadata.c): other namespaces are opaque */
    {ROUTE_PRE DR "                metadata: {filter_metadata: {ringway: {debug_header: 3}}}\n",
     R0 ".metadata.filter_metadata.ringway.debug_header: line 21:70: ", "expected true or false"},
    {ROUTE_PRE DR "                metadata: {filter_metadata: {ringway: {debug_headr: true}}}\n",
     R0 ".metadata.filter_metadata.ringway.debug_headr: line 21:56: ",
     "unknown field 'debug_headr' (did you mean 'debug_header'?)"},
    {ROUTE_PRE DR "                metadata: {filter_metadata: {ringway: [true]}}\n",
     R0 ".metadata.filter_metadata.ringway: line 21:55: ", "expected a mapping"},
    {ROUTE_PRE DR "                metadata: {filter_metadata: {other: 1, ringway: {x: 1}}}\n",
     R0 ".metadata.filter_metadata.ringway.x: line 21:66: ", "unknown field 'x'"},
    {GOOD "    metadata: {filter_metadata: {ringway: {debug_request_header: [a]}}}\n",
     "static_resources.listeners[0].metadata.filter_metadata.ringway.debug_request_header"
     ": line 21:66: ",
     "expected a string"},
    {GOOD "    metadata: {filter_metadata: {ringway: {debug_request_header: \"a b\"}}}\n",
     "static_resources.listeners[0].metadata.filter_metadata.ringway.debug_request_header"
     ": line 21:66: ",
     "invalid header name 'a b'"},
    {GOOD "          access_log: [{typed_config: {\"@type\": type.googleapis.com/"
          "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog, log_format: "
          "{text_format_source: {inline_string: \"%COMMON_DURATION(DS_RX_BEG:X:ms)%\"}}}}]\n",
     TC ".access_log[0].typed_config.log_format.text_format_source.inline_string: line 21:",
     "COMMON_DURATION needs START:END:PRECISION"},
    {GOOD "          codec_type: HTTP3\n",
     TC ".codec_type"
        ": line 21:23: ",
     "codec_type 'HTTP3' is not supported by ringway yet"},
    {GOOD "          http_protocol_options: {allow_chunked_length: true}\n",
     TC ".http_protocol_options.allow_chunked_length"
        ": line 21:57: ",
     "allow_chunked_length: true is not supported by ringway (a message with both "
     "Content-Length and Transfer-Encoding is rejected)"},
    {GOOD "          codec_type: HTTP2\n",
     TC ".codec_type"
        ": line 21:23: ",
     "codec_type 'HTTP2' is not supported by ringway yet"},
    {GOOD "          codec_type: SPDY\n",
     TC ".codec_type"
        ": line 21:23: ",
     "invalid value 'SPDY' (valid: AUTO, HTTP1, HTTP2, HTTP3)"},
    /* access log filters (config/access_log.c) */
    {AL("{runtime_filter: {runtime_key: k, percent_sampled: {numerator: 1, denominator: "
        "BILLION}}}"),
     ALF ".runtime_filter.percent_sampled.denominator: line 21:112: ",
     "invalid value 'BILLION' (valid: HUNDRED, TEN_THOUSAND, MILLION)"},
    {AL("{runtime_filter: {percent_sampled: {numerator: 1}}}"),
     ALF ".runtime_filter: line 21:50: ", "missing required field 'runtime_key'"},
    {AL("{runtime_filter: {runtime_key: \"\"}}"),
     ALF ".runtime_filter.runtime_key: line 21:64: ", "runtime_key must not be empty"},
    {AL("{and_filter: {filters: [{not_health_check_filter: {}}, {status_code_filter: "
        "{comparison: {op: GEQ}}}]}}"),
     ALF ".and_filter.filters[1].status_code_filter.comparison.op: line 21:127: ",
     "invalid value 'GEQ'"},
    {AL("{or_filter: {filters: [{traceable_filter: {}}, {or_filter: {filters: [{header_filter: "
        "{header: {name: x}}}, {grpc_status_filter: {}}]}}]}}"),
     ALF ".or_filter.filters[1].or_filter.filters[1].grpc_status_filter: line 21:142: ",
     "field 'grpc_status_filter' is not supported by ringway yet"},
    {AL("{and_filter: {filters: [{traceable_filter: {}}]}}"),
     ALF ".and_filter.filters: line 21:56: ", "filters needs at least 2 filters (has 1)"},
    {AL("{or_filter: {}}"),
     ALF ".or_filter: line 21:45: ", "missing required field 'filters' (at least 2 filters)"},
    {AL("{header_filter: {}}"),
     ALF ".header_filter: line 21:49: ", "missing required field 'header'"},
    {AL("{header_filter: {header: {exact_match: a}}}"),
     ALF ".header_filter.header: line 21:58: ", "missing required field 'name'"},
    {AL("{traceable_filter: {sampled: true}}"),
     ALF ".traceable_filter: line 21:52: ", "traceable_filter has no fields"},
    {AL("{}"), ALF ": line 21:33: ", "an access log filter needs one of"},
    {AL("{status_code_filter: {comparison: {op: GE}}, header_filter: {header: {name: x}}}"),
     ALF ".header_filter: line 21:78: ",
     "'status_code_filter' and 'header_filter' cannot both be set"},
    {GOOD "          access_log_options: {}\n",
     TC ".access_log_options"
        ": line 21:11: ",
     "field 'access_log_options' is not supported by ringway yet"},
    /* tracing (config/tracing.c) */
    {GOOD "          tracing: {provider: {name: envoy.tracers.jaeger}}\n",
     TC ".tracing.provider.name"
        ": line 21:38: ",
     "unknown tracer 'envoy.tracers.jaeger'"},
    {GOOD "          tracing:\n"
          "            provider:\n"
          "              name: zipkin\n",
     TC ".tracing.provider.name"
        ": line 23:21: ",
     "unknown tracer 'zipkin'"},
    {GOOD "          tracing: {provider: {name: envoy.tracers.datadog}}\n",
     TC ".tracing.provider.name"
        ": line 21:38: ",
     "tracer 'envoy.tracers.datadog' is not supported by ringway yet"},
    {GOOD "          tracing: {provider: {typed_config: {}}}\n",
     TC ".tracing.provider"
        ": line 21:31: ",
     "missing required field 'name'"},
    {GOOD "          tracing: {random_sampling: {value: 150}}\n",
     TC ".tracing.random_sampling.value"
        ": line 21:46: ",
     "value must be in 0..100"},
    {GOOD "          tracing: {overall_sampling: {value: -1}}\n",
     TC ".tracing.overall_sampling.value"
        ": line 21:47: ",
     "value must be in 0..100"},
    {GOOD "          tracing: {client_sampling: 50}\n",
     TC ".tracing.client_sampling"
        ": line 21:38: ",
     "expected a mapping"},
    {GOOD "          tracing: {provider: {name: envoy.tracers.zipkin, typed_config: {\"@type\": "
          "\"" OTEL_TYPE "\"}}}\n",
     TC ".tracing.provider.typed_config.@type"
        ": line 21:84: ",
     "tracer 'envoy.tracers.zipkin' takes a envoy.config.trace.v3.ZipkinConfig"},
    {GOOD "          tracing: {provider: {name: envoy.tracers.zipkin, typed_config: {\"@type\": "
          "\"" ZIPKIN_TYPE "\", trace_id_128bt: true}}}\n",
     TC ".tracing.provider.typed_config.trace_id_128bt"
        ": line 21:142: ",
     "unknown field 'trace_id_128bt' (did you mean 'trace_id_128bit'?)"},
    {GOOD "          tracing: {provider: {name: envoy.tracers.opentelemetry, typed_config: "
          "{\"@type\": \"" OTEL_TYPE "\", sampler: {}}}}\n",
     TC ".tracing.provider.typed_config.sampler"
        ": line 21:156: ",
     "field 'sampler' is not supported by ringway yet"},
    {GOOD "          tracing: {custom_tags: [{tag: t}]}\n",
     TC ".tracing.custom_tags[0]"
        ": line 21:35: ",
     "a custom tag needs one of"},
    {GOOD "          tracing: {verbos: true}\n",
     TC ".tracing.verbos"
        ": line 21:21: ",
     "unknown field 'verbos' (did you mean 'verbose'?)"},
    {GOOD "          http2_protocol_options: {}\n",
     TC ".http2_protocol_options"
        ": line 21:11: ",
     "not supported by ringway yet"},
    {GOOD "          rds: {route_config_name: r}\n",
     TC ".rds"
        ": line 21:11: ",
     "'route_config' and 'rds' cannot both be set"},
    {HEAD ROUTER, TC ": line 9:11: ", "missing required field 'route_config'"},
    {HEAD0 ROUTER RC_HEAD ROUTE0 DR, TC ": line 9:11: ", "missing required field 'stat_prefix'"},
    {HEAD0 "          stat_prefix: \"\"\n" ROUTER RC_HEAD ROUTE0 DR,
     TC ".stat_prefix"
        ": line 10:24: ",
     "stat_prefix must not be empty"},
    {HEAD RC_HEAD ROUTE0 DR,
     TC ": line 9:11: ", "http_filters must end with envoy.filters.http.router"},
    {HEAD "          http_filters: []\n" RC_HEAD ROUTE0 DR,
     TC ": line 9:11: ", "http_filters must end with envoy.filters.http.router"},
    {HEAD ROUTER "          - name: router2\n            typed_config: {\"@type\": " ROUTER_TYPE
                 "}\n" RC_HEAD ROUTE0 DR,
     TC ".http_filters[0]"
        ": line 12:13: ",
     "the router is a terminal filter and must be the last in http_filters"},
    {HEAD "          http_filters:\n          - name: cors\n            typed_config: {\"@type\": "
          "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors}\n" ROUTER_ITEM RC_HEAD
              ROUTE0 DR,
     TC ".http_filters[0].typed_config.@type"
        ": line 13:37: ",
     "'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' is not supported by ringway "
     "yet"},
    {HEAD "          http_filters:\n          - name: x\n            typed_config: {\"@type\": "
          "type.googleapis.com/acme.Filter}\n" RC_HEAD ROUTE0 DR,
     TC ".http_filters[0].typed_config.@type"
        ": line 13:37: ",
     "unknown @type 'type.googleapis.com/acme.Filter'"},
    {HEAD "          http_filters:\n          - name: router\n            typed_config: "
          "{\"@type\": " ROUTER_TYPE ", dynamic_stats: perhaps}\n" RC_HEAD ROUTE0 DR,
     TC ".http_filters[0].typed_config.dynamic_stats"
        ": line 13:120: ",
     "expected true or false"},
    {HEAD "          http_filters:\n          - name: router\n" RC_HEAD ROUTE0 DR,
     TC ".http_filters[0]"
        ": line 12:13: ",
     "missing required field 'typed_config'"},
    {GOOD "          max_request_headers_kb: 0\n",
     TC ".max_request_headers_kb"
        ": line 21:35: ",
     "max_request_headers_kb must be in 1..8192"},
    {GOOD "          max_request_headers_kb: 8193\n",
     TC ".max_request_headers_kb"
        ": line 21:35: ",
     "max_request_headers_kb must be in 1..8192"},
    {GOOD "          common_http_protocol_options: {max_headers_count: 0}\n",
     TC ".common_http_protocol_options.max_headers_count"
        ": line 21:61: ",
     "max_headers_count must be in 1..4294967295"},
    {GOOD "          common_http_protocol_options: {headers_with_underscores_action: DROP}\n",
     TC ".common_http_protocol_options.headers_with_underscores_action"
        ": line 21:75: ",
     "invalid value 'DROP' (valid: ALLOW, REJECT_REQUEST, DROP_HEADER)"},
    {GOOD "          common_http_protocol_options: {max_response_headers_kb: 80}\n",
     TC ".common_http_protocol_options.max_response_headers_kb"
        ": line 21:42: ",
     "not supported by ringway yet"},
    {GOOD "          http_protocol_options: {allow_absolute_url: maybe}\n",
     TC ".http_protocol_options.allow_absolute_url"
        ": line 21:55: ",
     "expected true or false"},
    {GOOD "          http_protocol_options: {accept_http10: true}\n",
     TC ".http_protocol_options.accept_http10"
        ": line 21:35: ",
     "unknown field 'accept_http10' (did you mean 'accept_http_10'?)"},
    {GOOD "          stream_idle_timeout: 5m\n",
     TC ".stream_idle_timeout"
        ": line 21:32: ",
     "expected a duration like \"0.25s\""},
    {GOOD "          upgrade_configs: [{upgrade_type: websocket}, {upgrade_type: WebSocket}]\n",
     TC ".upgrade_configs[1]"
        ": line 21:56: ",
     "duplicate upgrade_type 'WebSocket'"},
    {GOOD "          upgrade_configs: [{upgrade_type: websocket, filters: []}]\n",
     TC ".upgrade_configs[0].filters"
        ": line 21:55: ",
     "field 'filters' is not supported by ringway yet"},
    {GOOD "          server_header_transformation: REPLACE\n",
     TC ".server_header_transformation"
        ": line 21:41: ",
     "invalid value 'REPLACE' (valid: OVERWRITE, APPEND_IF_ABSENT, PASS_THROUGH)"},
    {GOOD "          path_with_escaped_slashes_action: KEEP_UNCHANGED\n",
     TC ".path_with_escaped_slashes_action"
        ": line 21:11: ",
     "not supported by ringway yet"},
    {GOOD "            vhds: {}\n",
     RCP ".vhds"
         ": line 21:13: ",
     "field 'vhds' is not supported by ringway yet"},
    {GOOD "            internal_only_headers: [x-a]\n",
     RCP ".internal_only_headers"
         ": line 21:13: ",
     "field 'internal_only_headers' is not supported by ringway yet"},
    {GOOD "            max_direct_response_body_size_bytes: -1\n",
     RCP ".max_direct_response_body_size_bytes"
         ": line 21:50: ",
     "expected a non-negative integer"},
    {GOOD "            validate_clusters: 1\n",
     RCP ".validate_clusters"
         ": line 21:32: ",
     "expected true or false"},
    {GOOD "            - name: v1\n              domains: [a.com, \"*\"]\n",
     RCP ".virtual_hosts[1].domains[1]"
         ": line 22:32: ",
     "only a single wildcard domain '*' is permitted in a route configuration"},
    {GOOD "            - name: v1\n              domains: [A.com, a.COM]\n",
     RCP ".virtual_hosts[1].domains[1]"
         ": line 22:32: ",
     "duplicate domain 'a.com'"},
    {GOOD "            - name: v1\n              domains: [a.com]\n            - name: v2\n        "
          "      domains: [b.com, A.Com]\n",
     RCP ".virtual_hosts[2].domains[1]"
         ": line 24:32: ",
     "duplicate domain 'a.com' (each domain must be unique across the virtual hosts"},
    {GOOD "            - name: v1\n              domains: [a.*.com]\n",
     RCP ".virtual_hosts[1].domains[0]"
         ": line 22:25: ",
     "invalid domain 'a.*.com': a wildcard may only be the first or the last character"},
    {GOOD "            - name: v1\n              domains: [\"*a*\"]\n",
     RCP ".virtual_hosts[1].domains[0]"
         ": line 22:25: ",
     "invalid domain '*a*'"},
    {GOOD "            - name: v1\n              domains: [\"\"]\n",
     RCP ".virtual_hosts[1].domains[0]"
         ": line 22:25: ",
     "domain must not be empty"},
    {GOOD "            - domains: [b.com]\n",
     RCP ".virtual_hosts[1]"
         ": line 21:15: ",
     "missing required field 'name'"},
    {GOOD "            - name: v1\n              domains: []\n",
     RCP ".virtual_hosts[1]"
         ": line 21:15: ",
     "a virtual host needs at least one domain"},
    {GOOD "              require_tls: ALL\n",
     VH0 ".require_tls"
         ": line 21:15: ",
     "field 'require_tls' is not supported by ringway yet"},
    {GOOD "              retry_policy: {retry_priority: {}}\n",
     VH0 ".retry_policy.retry_priority"
         ": line 21:30: ",
     "field 'retry_priority' is not supported by ringway yet"},
    {GOOD "              rate_limits: []\n",
     VH0 ".rate_limits"
         ": line 21:15: ",
     "not supported by ringway yet"},
    {GOOD "              rutes: []\n",
     VH0 ".rutes"
         ": line 21:15: ",
     "unknown field 'rutes' (did you mean 'routes'?)"},
    {ROUTE_PRE "                route: {cluster: c0}\n" DR,
     R0 ".direct_response"
        ": line 21:17: ",
     "'route' and 'direct_response' cannot both be set"},
    {ROUTE_PRE, R0 ": line 19:17: ", "a route needs one of 'route', 'redirect', 'direct_response'"},
    {ROUTE_PRE "                route: {cluster: nope}\n",
     R0 ".route.cluster"
        ": line 20:34: ",
     "route cluster 'nope' not found in static_resources.clusters"},
    {ROUTE_PRE "                route: {weighted_clusters: {clusters: [{name: c0, weight: 1}, "
               "{name: zz, weight: 1}]}}\n",
     R0 ".route.weighted_clusters.clusters[1].name"
        ": line 20:86: ",
     "weighted cluster 'zz' not found in static_resources.clusters"},
    {ROUTE_PRE "                route: {weighted_clusters: {total_weight: 10, clusters: [{name: "
               "c0, weight: 3}]}}\n",
     R0 ".route.weighted_clusters.total_weight"
        ": line 20:59: ",
     "the weights of weighted_clusters add up to 3, not total_weight 10"},
    {ROUTE_PRE "                route: {weighted_clusters: {clusters: [{name: c0}]}}\n",
     R0 ".route.weighted_clusters"
        ": line 20:44: ",
     "the sum of the weights must be in 1..4294967295 (is 0)"},
    {ROUTE_PRE "                route: {weighted_clusters: {clusters: [{name: c0, weight: 1}], "
               "runtime_key_prefix: r}}\n",
     R0 ".route.weighted_clusters.runtime_key_prefix"
        ": line 20:80: ",
     "not supported by ringway yet"},
    {HEAD ROUTER RC_HEAD "              - match: {safe_regex: {regex: \"a(b\"}}\n" DR,
     R0 ".match.safe_regex.regex"
        ": line 19:45: ",
     "invalid regex: missing closing parenthesis at offset 3"},
    {HEAD ROUTER RC_HEAD "              - match: {safe_regex: {regex: \"(a)\\\\1\"}}\n" DR,
     R0 ".match.safe_regex.regex"
        ": line 19:45: ",
     "invalid regex: backreferences are not supported"},
    {HEAD ROUTER RC_HEAD "              - match: {safe_regex: {regex: \"\"}}\n" DR,
     R0 ".match.safe_regex.regex"
        ": line 19:45: ",
     "regex must not be empty"},
    {HEAD ROUTER RC_HEAD "              - match: {prefix: /, path: /x}\n" DR,
     R0 ".match.path"
        ": line 19:36: ",
     "'prefix' and 'path' cannot both be set"},
    {HEAD ROUTER RC_HEAD "              - match: {case_sensitive: true}\n" DR,
     R0 ".match"
        ": line 19:24: ",
     "a route match needs one of 'prefix', 'path', 'safe_regex'"},
    {HEAD ROUTER RC_HEAD "              - direct_response: {status: 200}\n",
     R0 ": line 19:17: ", "missing required field 'match'"},
    {HEAD ROUTER RC_HEAD "              - match: {connect_matcher: {}}\n" DR,
     R0 ".match.connect_matcher"
        ": line 19:25: ",
     "field 'connect_matcher' is not supported by ringway yet"},
    {HEAD ROUTER RC_HEAD "              - match: {prefix: /, grpc: {}}\n" DR,
     R0 ".match.grpc"
        ": line 19:36: ",
     "field 'grpc' is not supported by ringway yet"},
    {HEAD ROUTER RC_HEAD "              - match: {path_separated_prefix: /a/}\n" DR,
     R0 ".match.path_separated_prefix"
        ": line 19:48: ",
     "path_separated_prefix must be at least 2 characters"},
    {HEAD ROUTER RC_HEAD "              - match: {prefix: /, headers: [{name: x, range_match: "
                         "{start: 1, end: 2}}]}\n" DR,
     R0 ".match.headers[0].range_match"
        ": line 19:56: ",
     "field 'range_match' is not supported by ringway yet"},
    {HEAD ROUTER RC_HEAD "              - match: {prefix: /, headers: [{name: x, string_match: "
                         "{exact: a, prefix: b}}]}\n" DR,
     R0 ".match.headers[0].string_match.prefix"
        ": line 19:81: ",
     "'exact' and 'prefix' cannot both be set"},
    {HEAD ROUTER RC_HEAD "              - match: {prefix: /, headers: [{name: x, exact_match: a, "
                         "string_match: {exact: a}}]}\n" DR,
     R0 ".match.headers[0].string_match"
        ": line 19:72: ",
     "'exact_match' and 'string_match' cannot both be set"},
    {HEAD ROUTER RC_HEAD
     "              - match: {prefix: /, headers: [{name: \"bad header\", exact_match: a}]}\n" DR,
     R0 ".match.headers[0].name"
        ": line 19:53: ",
     "invalid header name 'bad header'"},
    {HEAD ROUTER RC_HEAD "              - match: {prefix: /, headers: [{exact_match: a}]}\n" DR,
     R0 ".match.headers[0]"
        ": line 19:46: ",
     "missing required field 'name'"},
    {HEAD ROUTER RC_HEAD
     "              - match: {prefix: /, headers: [{name: x, string_match: {prefix: \"\"}}]}\n" DR,
     R0 ".match.headers[0].string_match.prefix"
        ": line 19:79: ",
     "value must not be empty"},
    {HEAD ROUTER RC_HEAD "              - match: {prefix: /, headers: [{name: x, string_match: "
                         "{ignore_case: true}}]}\n" DR,
     R0 ".match.headers[0].string_match"
        ": line 19:70: ",
     "a string matcher needs one of"},
    {HEAD ROUTER RC_HEAD
     "              - match: {prefix: /, query_parameters: [{string_match: {exact: a}}]}\n" DR,
     R0 ".match.query_parameters[0]"
        ": line 19:55: ",
     "missing required field 'name'"},
    {HEAD ROUTER RC_HEAD
     "              - match: {prefix: /, query_parameters: [{name: q, present_match: yes}]}\n" DR,
     R0 ".match.query_parameters[0].present_match"
        ": line 19:80: ",
     "expected true or false"},
    {ROUTE_PRE "                direct_response: {status: 600}\n",
     R0 ".direct_response.status"
        ": line 20:43: ",
     "status must be in 100..599"},
    {ROUTE_PRE "                direct_response: {status: 99}\n",
     R0 ".direct_response.status"
        ": line 20:43: ",
     "status must be in 100..599"},
    {ROUTE_PRE "                direct_response: {body: {inline_string: x}}\n",
     R0 ".direct_response"
        ": line 20:34: ",
     "missing required field 'status'"},
    {ROUTE_PRE "                direct_response: {status: 200, body: {inline_string: abc}}\n       "
               "     max_direct_response_body_size_bytes: 2\n",
     R0 ".direct_response.body.inline_string"
        ": line 20:70: ",
     "direct_response body is larger than max_direct_response_body_size_bytes (2)"},
    {ROUTE_PRE
     "                direct_response: {status: 200, body: {filename: /nonexistent/body}}\n",
     R0 ".direct_response.body.filename"
        ": line 20:65: ",
     "cannot read '/nonexistent/body': No such file or directory"},
    {ROUTE_PRE "                direct_response: {status: 200, body: {inline_bytes: \"a*b=\"}}\n",
     R0 ".direct_response.body.inline_bytes"
        ": line 20:69: ",
     "invalid base64 at offset 1"},
    {ROUTE_PRE
     "                direct_response: {status: 200, body: {inline_string: a, filename: b}}\n",
     R0 ".direct_response.body.filename"
        ": line 20:73: ",
     "'inline_string' and 'filename' cannot both be set"},
    {ROUTE_PRE "                direct_response: {status: 200, body: {environment_variable: X}}\n",
     R0 ".direct_response.body.environment_variable"
        ": line 20:55: ",
     "not supported by ringway yet"},
    {ROUTE_PRE "                redirect: {response_code: 302}\n",
     R0 ".redirect.response_code"
        ": line 20:43: ",
     "invalid value '302' (valid: MOVED_PERMANENTLY, FOUND, SEE_OTHER, TEMPORARY_REDIRECT, "
     "PERMANENT_REDIRECT)"},
    {ROUTE_PRE "                redirect: {https_redirect: true, scheme_redirect: http}\n",
     R0 ".redirect.scheme_redirect"
        ": line 20:50: ",
     "'https_redirect' and 'scheme_redirect' cannot both be set"},
    {ROUTE_PRE "                redirect: {path_redirect: /a, prefix_rewrite: /b}\n",
     R0 ".redirect.prefix_rewrite"
        ": line 20:47: ",
     "'path_redirect' and 'prefix_rewrite' cannot both be set"},
    {ROUTE_PRE "                redirect: {port_redirect: 70000}\n",
     R0 ".redirect.port_redirect"
        ": line 20:43: ",
     "integer out of range (maximum 65535)"},
    {ROUTE_PRE "                route: {cluster: c0, cluster_header: x}\n",
     R0 ".route.cluster_header"
        ": line 20:38: ",
     "'cluster' and 'cluster_header' cannot both be set"},
    {ROUTE_PRE "                route: {timeout: 1s}\n",
     R0 ".route"
        ": line 20:24: ",
     "a route action needs one of 'cluster', 'cluster_header', 'weighted_clusters'"},
    {ROUTE_PRE
     "                route: {cluster: c0, host_rewrite_literal: a, auto_host_rewrite: true}\n",
     R0 ".route.auto_host_rewrite"
        ": line 20:63: ",
     "'host_rewrite_literal' and 'auto_host_rewrite' cannot both be set"},
    {ROUTE_PRE "                route: {cluster: c0, prefix_rewrite: /, regex_rewrite: {pattern: "
               "{regex: a}, substitution: b}}\n",
     R0 ".route.regex_rewrite"
        ": line 20:57: ",
     "'prefix_rewrite' and 'regex_rewrite' cannot both be set"},
    {ROUTE_PRE "                route: {cluster: c0, regex_rewrite: {pattern: {regex: \"^/(a)$\"}, "
               "substitution: \"/\\\\2\"}}\n",
     R0 ".route.regex_rewrite.substitution"
        ": line 20:96: ",
     "substitution uses \\2 but the pattern has 1 capture group(s)"},
    {ROUTE_PRE "                route: {cluster: c0, regex_rewrite: {substitution: x}}\n",
     R0 ".route.regex_rewrite"
        ": line 20:53: ",
     "missing required field 'pattern'"},
    {ROUTE_PRE "                route: {cluster: c0, retry_policy: {rate_limited_retry_back_off: "
               "{}}}\n",
     R0 ".route.retry_policy.rate_limited_retry_back_off"
        ": line 20:53: ",
     "field 'rate_limited_retry_back_off' is not supported by ringway yet"},
    {ROUTE_PRE "                route: {cluster: c0, hash_policy: [{filter_state: {key: k}}]}\n",
     R0 ".route.hash_policy[0].filter_state"
        ": line 20:53: ",
     "field 'filter_state' is not supported by ringway yet"},
    {ROUTE_PRE
     "                route: {cluster: c0, cluster_not_found_response_code: BAD_GATEWAY}\n",
     R0 ".route.cluster_not_found_response_code"
        ": line 20:71: ",
     "invalid value 'BAD_GATEWAY' (valid: SERVICE_UNAVAILABLE, NOT_FOUND, INTERNAL_SERVER_ERROR)"},
    {ROUTE_PRE "                route: {cluster: c0, idle_timeout: soon}\n",
     R0 ".route.idle_timeout"
        ": line 20:52: ",
     "expected a duration like \"0.25s\""},
    {ROUTE_PRE "                route: {cluster: c0, upgrade_configs: [{upgrade_type: CONNECT, "
               "connect_config: {}}]}\n",
     R0 ".route.upgrade_configs[0].connect_config"
        ": line 20:80: ",
     "field 'connect_config' is not supported by ringway yet"},
    {ROUTE_PRE DR "                typed_per_filter_config: {cors: {\"@type\": "
                  "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy}}\n",
     R0 ".typed_per_filter_config.cors.@type"
        ": line 21:59: ",
     "'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy' is not supported by "
     "ringway yet"},
    {ROUTE_PRE DR "                decorator: {operation: x}\n",
     R0 ".decorator"
        ": line 21:17: ",
     "field 'decorator' is not supported by ringway yet"},
    {ROUTE_PRE "                redirct: {path_redirect: /}\n",
     R0 ".redirct"
        ": line 20:17: ",
     "unknown field 'redirct' (did you mean 'redirect'?)"},
    {ROUTE_PRE DR
     "                request_headers_to_add: [{header: {key: \":path\", value: x}}]\n",
     R0 ".request_headers_to_add[0].header.key"
        ": line 21:57: ",
     "':'-prefixed or host headers may not be modified (':path')"},
    {ROUTE_PRE DR "                request_headers_to_add: [{header: {key: Host, value: x}}]\n",
     R0 ".request_headers_to_add[0].header.key"
        ": line 21:57: ",
     "':'-prefixed or host headers may not be modified ('host')"},
    {ROUTE_PRE DR "                response_headers_to_remove: [\":status\"]\n",
     R0 ".response_headers_to_remove[0]"
        ": line 21:46: ",
     "':'-prefixed or host headers may not be removed"},
    {ROUTE_PRE DR
     "                request_headers_to_add: [{header: {key: x, value: \"%FOO%\"}}]\n",
     R0 ".request_headers_to_add[0].header.value"
        ": line 21:67: ",
     "unknown variable '%FOO%' at offset 0"},
    {ROUTE_PRE DR
     "                request_headers_to_add: [{header: {key: x, value: \"50% off\"}}]\n",
     R0 ".request_headers_to_add[0].header.value"
        ": line 21:67: ",
     "stray '%' at offset 2 (write %% for a literal %)"},
    {ROUTE_PRE DR
     "                request_headers_to_add: [{header: {key: x, value: \"a %HOSTNAME\"}}]\n",
     R0 ".request_headers_to_add[0].header.value"
        ": line 21:67: ",
     "unterminated '%' operator at offset 2"},
    {ROUTE_PRE DR
     "                request_headers_to_add: [{header: {key: x, value: \"%REQ%\"}}]\n",
     R0 ".request_headers_to_add[0].header.value"
        ": line 21:67: ",
     "'REQ' needs an argument like %REQ(x)%"},
    {ROUTE_PRE DR
     "                request_headers_to_add: [{header: {key: x, value: \"%HOSTNAME(a)%\"}}]\n",
     R0 ".request_headers_to_add[0].header.value"
        ": line 21:67: ",
     "'HOSTNAME' takes no argument"},
    {ROUTE_PRE DR "                request_headers_to_add: [{header: {key: x, value: y}, append: "
                  "true, append_action: ADD_IF_ABSENT}]\n",
     R0 ".request_headers_to_add[0].append_action"
        ": line 21:85: ",
     "'append' and 'append_action' cannot both be set"},
    {ROUTE_PRE DR "                request_headers_to_add: [{header: {key: x, value: y}, "
                  "append_action: APPEND}]\n",
     R0 ".request_headers_to_add[0].append_action"
        ": line 21:86: ",
     "invalid value 'APPEND' (valid: APPEND_IF_EXISTS_OR_ADD, ADD_IF_ABSENT"},
    {ROUTE_PRE DR "                request_headers_to_add: [{append: true}]\n",
     R0 ".request_headers_to_add[0]"
        ": line 21:42: ",
     "missing required field 'header'"},
    {ROUTE_PRE DR "                request_headers_to_add: [{header: {value: x}}]\n",
     R0 ".request_headers_to_add[0].header"
        ": line 21:51: ",
     "missing required field 'key'"},
    {ROUTE_PRE DR "                response_headers_to_add: [{header: {key: x, value: y}, "
                  "keep_empty_valu: true}]\n",
     R0 ".response_headers_to_add[0].keep_empty_valu"
        ": line 21:72: ",
     "unknown field 'keep_empty_valu' (did you mean 'keep_empty_value'?)"},
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
	CHECK(sizeof(bad) / sizeof(bad[0]) >= 40);
}

/* The good base document really is good, so each table entry fails for its own reason. */
static void test_base_is_good(void)
{
	static const char yaml[] = GOOD;
	struct rw_config *cfg = NULL;
	char err[512];

	CHECK(rw_config_load_string(yaml, strlen(yaml), &cfg, err, sizeof(err)) == 0);
	rw_config_free(cfg);
}

/* and_filter nests to RW_CONFIG_AL_FILTER_MAX_DEPTH levels; one more is refused where the
   17th level's list starts. */
static void test_filter_depth(void)
{
	static const char head[] = HEAD ROUTER RC_HEAD ROUTE0 DR
	    "          access_log:\n"
	    "          - typed_config: {\"@type\": type.googleapis.com/"
	    "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog}\n"
	    "            filter: ";
	static const char leaf[] = "{not_health_check_filter: {}}";
	char yaml[4096], err[1024];

	for (int levels = 16; levels <= 17; levels++) {
		struct rw_config *cfg = NULL;
		size_t n = (size_t)snprintf(yaml, sizeof(yaml), "%s", head);
		int rc;

		/* Levels 1..levels-1 are and_filters; the last level is two leaves. */
		for (int i = 1; i < levels; i++)
			n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
			                      "{and_filter: {filters: [%s, ", leaf);
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%s", leaf);
		for (int i = 1; i < levels; i++)
			n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "]}}");
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "\n");
		CHECK(n < sizeof(yaml));
		rc = rw_config_load_string(yaml, n, &cfg, err, sizeof(err));
		if (levels == 16) {
			CHECK(rc == 0);
			CHECK(cfg->listeners[0]
			          .chains[0]
			          .filters[0]
			          .u.hcm.access_logs[0]
			          .filter.kind == RW_CONFIG_AL_FILTER_AND);
			rw_config_free(cfg);
		} else {
			CHECK(rc == -EINVAL && cfg == NULL);
			CHECK(strstr(err, "access log filters nest deeper than 16 levels"));
			/* The 16th and_filter's list: 15 levels of 55 columns after column 21. */
			char want[1024];
			size_t w = (size_t)snprintf(want, sizeof(want), "%s", ALF);

			for (int i = 1; i < 16; i++)
				w += (size_t)snprintf(want + w, sizeof(want) - w,
				                      ".and_filter.filters[1]");
			snprintf(want + w, sizeof(want) - w,
			         ".and_filter.filters: line 23:%d: ", 21 + 15 * 55 + 23);
			CHECK(strncmp(err, want, strlen(want)) == 0);
		}
	}
}

int main(void)
{
	test_base_is_good();
	test_table();
	test_filter_depth();
	printf("config http errors: %zu table entries ok\n", sizeof(bad) / sizeof(bad[0]));
	return 0;
}
