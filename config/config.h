/*
 * Envoy v3 bootstrap (YAML or JSON) -> ringway's typed configuration.
 *
 * The loader accepts a documented subset of Envoy's v3 API unchanged.  It is strict on
 * purpose: a misspelled field, a field Envoy has but ringway does not support yet, or an
 * unsupported "@type" is an error, never silently ignored, because a proxy that quietly
 * drops half its config is worse than one that refuses to start.  Every error names the
 * YAML path and the line:column it came from:
 *
 *   static_resources.clusters[1].connect_timeout: line 14:24: expected a duration like "0.25s"
 *
 * The result is plain data owned by one struct rw_config; nothing here does I/O other than
 * reading the file named by rw_config_load_file().
 */
#ifndef RW_CONFIG_CONFIG_H
#define RW_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Envoy's defaults, used when a field is absent. */
#define RW_CONFIG_DEFAULT_BUFFER_LIMIT (1024u * 1024u) /* per_connection_buffer_limit_bytes */
#define RW_CONFIG_DEFAULT_CONNECT_MS   5000u           /* Cluster.connect_timeout */
#define RW_CONFIG_DEFAULT_TCP_IDLE_MS  3600000u        /* TcpProxy.idle_timeout (1h) */
/* HttpConnectionManager, RouteConfiguration and Route defaults (Envoy's). */
#define RW_CONFIG_DEFAULT_STREAM_IDLE_MS         300000u /* stream_idle_timeout (5m) */
#define RW_CONFIG_DEFAULT_DRAIN_MS               5000u   /* drain_timeout */
#define RW_CONFIG_DEFAULT_DELAYED_CLOSE_MS       1000u   /* delayed_close_timeout */
#define RW_CONFIG_DEFAULT_MAX_REQUEST_HEADERS_KB 60u     /* max_request_headers_kb (1..8192) */
#define RW_CONFIG_DEFAULT_HTTP_IDLE_MS           3600000u /* common_http_protocol_options.idle_timeout */
#define RW_CONFIG_DEFAULT_MAX_HEADERS_COUNT      100u    /* ...max_headers_count */
#define RW_CONFIG_DEFAULT_SERVER_NAME            "envoy" /* server_name */
#define RW_CONFIG_DEFAULT_ROUTE_TIMEOUT_MS       15000u  /* RouteAction.timeout */
#define RW_CONFIG_DEFAULT_MAX_DIRECT_BODY        4096u   /* max_direct_response_body_size_bytes */

/* A resolved socket address (IPv4 or IPv6, numeric only in this subset). */
struct rw_config_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* envoy.filters.network.tcp_proxy */
struct rw_config_access_log;

struct rw_config_tcp_proxy {
	char *stat_prefix;        /* required, as in Envoy */
	char *cluster;            /* required in this subset; names an entry of clusters[] */
	uint64_t idle_timeout_ms; /* 0 disables; default RW_CONFIG_DEFAULT_TCP_IDLE_MS */
	struct rw_config_access_log *access_logs; /* one line per connection, at its end */
	size_t n_access_logs;
};

/*
 * envoy.filters.network.http_connection_manager and its inline RouteConfiguration.
 *
 *   hcm -> route_config -> virtual_hosts[] -> routes[] -> {match, route | redirect |
 *                                                          direct_response}
 *
 * Strings are NUL-terminated and owned by the config.  Header names (mutation keys,
 * matcher names, cluster_header, ...) are stored lowercased; header values are kept as
 * written, so "%VAR%" command operators are still in them (the loader only checked they
 * are balanced and name a known variable; the data path interprets them).  Regexes are
 * stored as pattern strings (checked with PCRE2 at load; see config/regex.c for how that
 * differs from Envoy's RE2).
 */

enum rw_config_header_append {
	RW_CONFIG_APPEND_IF_EXISTS_OR_ADD = 0, /* Envoy's default */
	RW_CONFIG_ADD_IF_ABSENT,
	RW_CONFIG_OVERWRITE_IF_EXISTS_OR_ADD,
	RW_CONFIG_OVERWRITE_IF_EXISTS,
};

/* config.core.v3.HeaderValueOption; the deprecated append: true/false maps to
 * APPEND_IF_EXISTS_OR_ADD / OVERWRITE_IF_EXISTS_OR_ADD as in Envoy. */
struct rw_config_header_add {
	char *key;   /* lowercased, a valid header name, not ":..." nor "host" */
	char *value; /* raw, may hold %VAR% operators */
	enum rw_config_header_append append_action;
	bool keep_empty_value;
};

/* The *_headers_to_add / *_headers_to_remove quartet found at four levels. */
struct rw_config_header_mutations {
	struct rw_config_header_add *request_add;
	size_t n_request_add;
	char **request_remove; /* lowercased names */
	size_t n_request_remove;
	struct rw_config_header_add *response_add;
	size_t n_response_add;
	char **response_remove;
	size_t n_response_remove;
};

enum rw_config_string_match_kind {
	RW_CONFIG_STRING_EXACT = 1,
	RW_CONFIG_STRING_PREFIX,
	RW_CONFIG_STRING_SUFFIX,
	RW_CONFIG_STRING_CONTAINS,
	RW_CONFIG_STRING_REGEX, /* value is the pattern; full match; ignore_case has no effect */
};

/* type.matcher.v3.StringMatcher */
struct rw_config_string_match {
	enum rw_config_string_match_kind kind;
	char *value;
	bool ignore_case;
};

enum rw_config_value_match_kind {
	RW_CONFIG_VALUE_STRING = 1, /* string_match, or a deprecated *_match field */
	RW_CONFIG_VALUE_PRESENT,    /* present_match, or no matcher at all (presence) */
};

/* config.route.v3.HeaderMatcher */
struct rw_config_header_match {
	char *name; /* lowercased */
	enum rw_config_value_match_kind kind;
	struct rw_config_string_match string; /* kind == STRING */
	bool present;                         /* kind == PRESENT: true = must be present */
	bool invert_match;
	bool treat_missing_header_as_empty;
};

/* config.route.v3.QueryParameterMatcher */
struct rw_config_query_match {
	char *name; /* as written (query names are case-sensitive) */
	enum rw_config_value_match_kind kind;
	struct rw_config_string_match string;
	bool present;
};

enum rw_config_path_match_kind {
	RW_CONFIG_PATH_PREFIX = 1,
	RW_CONFIG_PATH_EXACT,            /* match.path */
	RW_CONFIG_PATH_REGEX,            /* match.safe_regex: path is the pattern */
	RW_CONFIG_PATH_SEPARATED_PREFIX, /* match.path_separated_prefix */
};

/* config.route.v3.RouteMatch */
struct rw_config_route_match {
	enum rw_config_path_match_kind kind;
	char *path;
	bool case_sensitive; /* default true; not applied to REGEX (as in Envoy) */
	struct rw_config_header_match *headers;
	size_t n_headers;
	struct rw_config_query_match *query_parameters;
	size_t n_query_parameters;
};

/* HCM upgrade_configs[] and RouteAction.upgrade_configs[] */
struct rw_config_upgrade {
	char *upgrade_type; /* as written; compare case-insensitively */
	bool enabled;       /* default true */
};

struct rw_config_weighted_cluster {
	char *name;
	uint32_t weight;
	struct rw_config_header_mutations headers;
};

enum rw_config_cluster_specifier {
	RW_CONFIG_ROUTE_CLUSTER = 1,    /* cluster names a static cluster */
	RW_CONFIG_ROUTE_CLUSTER_HEADER, /* cluster is a (lowercased) request header name */
	RW_CONFIG_ROUTE_WEIGHTED,
};

enum rw_config_host_rewrite {
	RW_CONFIG_HOST_REWRITE_NONE = 0,
	RW_CONFIG_HOST_REWRITE_LITERAL, /* host_rewrite_literal */
	RW_CONFIG_HOST_REWRITE_AUTO,    /* auto_host_rewrite: true */
	RW_CONFIG_HOST_REWRITE_HEADER,  /* host_rewrite_header (lowercased) */
};

struct rw_config_local_ratelimit;
struct rw_config_fault;

/* RetryPolicy.retry_on conditions (Envoy's names). */
enum {
	RW_CONFIG_RETRY_5XX = 1u << 0,                        /* "5xx" */
	RW_CONFIG_RETRY_GATEWAY_ERROR = 1u << 1,              /* "gateway-error": 502, 503, 504 */
	RW_CONFIG_RETRY_RESET = 1u << 2,                      /* "reset" */
	RW_CONFIG_RETRY_CONNECT_FAILURE = 1u << 3,            /* "connect-failure" */
	RW_CONFIG_RETRY_RETRIABLE_4XX = 1u << 4,              /* "retriable-4xx": 409 */
	RW_CONFIG_RETRY_REFUSED_STREAM = 1u << 5,             /* "refused-stream" */
	RW_CONFIG_RETRY_RETRIABLE_STATUS_CODES = 1u << 6,     /* "retriable-status-codes" */
	RW_CONFIG_RETRY_RETRIABLE_HEADERS = 1u << 7,          /* "retriable-headers" */
	RW_CONFIG_RETRY_ENVOY_RATELIMITED = 1u << 8,          /* "envoy-ratelimited" */
	RW_CONFIG_RETRY_HTTP3_POST_CONNECT_FAILURE = 1u << 9, /* accepted, never true here */
};

#define RW_CONFIG_DEFAULT_RETRY_BASE_MS 25u /* retry_back_off.base_interval */

/* The RW_CONFIG_RETRY_* bit of one retry_on condition name (also what x-envoy-retry-on
   carries), or 0 when it is not one ringway knows. */
uint32_t rw_config_retry_condition(const char *name, size_t len, bool ignore_case);

/* config.route.v3.RetryPolicy (route or virtual host; the route's wins when both). */
struct rw_config_retry_policy {
	bool present;
	uint32_t retry_on;                /* RW_CONFIG_RETRY_* bits */
	uint32_t num_retries;             /* default 1 */
	uint64_t per_try_timeout_ms;      /* 0: none (the route timeout covers all tries) */
	uint64_t per_try_idle_timeout_ms; /* 0: none */
	uint64_t backoff_base_ms;         /* default 25 */
	uint64_t backoff_max_ms;          /* default 10 x base */
	uint16_t *retriable_status_codes;
	size_t n_retriable_status_codes;
	struct rw_config_header_match *retriable_headers; /* response headers that trigger */
	size_t n_retriable_headers;
	struct rw_config_header_match *retriable_request_headers; /* only such requests retry */
	size_t n_retriable_request_headers;
	bool previous_hosts; /* retry_host_predicate envoy.retry_host_predicates.previous_hosts */
	uint32_t host_selection_retry_max_attempts; /* default 1 */
};

enum rw_config_hash_kind {
	RW_CONFIG_HASH_HEADER = 1,
	RW_CONFIG_HASH_COOKIE,
	RW_CONFIG_HASH_SOURCE_IP, /* connection_properties.source_ip */
	RW_CONFIG_HASH_QUERY_PARAMETER,
};

/* config.route.v3.RouteAction.HashPolicy */
struct rw_config_hash_policy {
	enum rw_config_hash_kind kind;
	char *name; /* HEADER: lowercased header name; COOKIE / QUERY_PARAMETER: as written */
	bool cookie_ttl_set;    /* COOKIE: ttl given: set the cookie when the request has none */
	uint64_t cookie_ttl_ms; /* 0 = a session cookie */
	char *cookie_path;      /* COOKIE: path attribute, NULL when absent */
	bool terminal;
};

/* config.route.v3.RouteAction */
struct rw_config_route_action {
	enum rw_config_cluster_specifier specifier;
	char *cluster; /* CLUSTER: cluster name; CLUSTER_HEADER: header name */
	struct rw_config_weighted_cluster *weighted;
	size_t n_weighted;
	uint32_t total_weight;             /* sum of the weights (> 0) when WEIGHTED */
	uint16_t cluster_not_found_status; /* 503 (default), 404 or 500 */
	char *prefix_rewrite;              /* at most one of prefix_rewrite / regex_rewrite */
	char *regex_rewrite_pattern;
	char *regex_rewrite_substitution;
	enum rw_config_host_rewrite host_rewrite;
	char *host_rewrite_value; /* LITERAL: the host; HEADER: the header name */
	uint64_t timeout_ms;      /* default RW_CONFIG_DEFAULT_ROUTE_TIMEOUT_MS; 0 disables */
	bool idle_timeout_set;    /* unset: the HCM's stream_idle_timeout applies */
	uint64_t idle_timeout_ms; /* 0 disables */
	struct rw_config_upgrade *upgrades;
	size_t n_upgrades;
	struct rw_config_retry_policy retry; /* route's retry_policy (or the virtual host's) */
	struct rw_config_hash_policy *hash_policies;
	size_t n_hash_policies;
	bool has_ratelimit_override;                 /* typed_per_filter_config local_ratelimit */
	struct rw_config_local_ratelimit *ratelimit; /* the override; NULL when none */
	bool has_fault_override;
	struct rw_config_fault *fault; /* typed_per_filter_config fault; NULL when none */
};

enum rw_config_redirect_path {
	RW_CONFIG_REDIRECT_PATH_KEEP = 0,
	RW_CONFIG_REDIRECT_PATH_REPLACE, /* path_redirect */
	RW_CONFIG_REDIRECT_PATH_PREFIX,  /* prefix_rewrite */
	RW_CONFIG_REDIRECT_PATH_REGEX,   /* regex_rewrite: path = pattern */
};

/* config.route.v3.RedirectAction */
struct rw_config_redirect {
	char *scheme;  /* "https" for https_redirect: true, scheme_redirect, or NULL to keep */
	char *host;    /* host_redirect or NULL */
	uint16_t port; /* port_redirect; 0 keeps the port */
	enum rw_config_redirect_path path_kind;
	char *path;
	char *regex_substitution; /* PATH_REGEX only */
	uint16_t response_code;   /* 301 (default), 302, 303, 307 or 308 */
	bool strip_query;
};

/* config.route.v3.DirectResponseAction; the body was read at load (filename) or decoded
 * (inline_bytes), bounded by the route config's max_direct_response_body_size_bytes. */
struct rw_config_direct_response {
	uint16_t status; /* 100..599 */
	char *body;      /* NULL when absent; NUL-terminated but may hold NULs (see body_len) */
	size_t body_len;
};

enum rw_config_route_action_kind {
	RW_CONFIG_ACTION_ROUTE = 1,
	RW_CONFIG_ACTION_REDIRECT,
	RW_CONFIG_ACTION_DIRECT_RESPONSE,
};

struct rw_config_route {
	char *name; /* NULL when absent */
	struct rw_config_route_match match;
	enum rw_config_route_action_kind action;
	union {
		struct rw_config_route_action route;
		struct rw_config_redirect redirect;
		struct rw_config_direct_response direct_response;
	} u;
	struct rw_config_header_mutations headers;
	/* metadata.filter_metadata.ringway.debug_header: x-ringway-debug on its responses */
	bool debug_header;
};

struct rw_config_virtual_host {
	struct rw_config_retry_policy retry;    /* virtual host retry_policy (routes inherit it) */
	bool include_request_attempt_count;     /* x-envoy-attempt-count on upstream requests */
	bool include_attempt_count_in_response; /* ... and on the response to the client */
	char *name;
	char **domains; /* lowercased, >= 1, unique across the route config */
	size_t n_domains;
	struct rw_config_route *routes; /* first match wins */
	size_t n_routes;
	struct rw_config_header_mutations headers;
};

/* config.route.v3.RouteConfiguration (inline route_config only) */
struct rw_config_route_config {
	char *name; /* NULL when absent */
	struct rw_config_virtual_host *virtual_hosts;
	size_t n_virtual_hosts;
	struct rw_config_header_mutations headers;
	bool validate_clusters; /* default true for an inline route_config, as in Envoy */
	bool most_specific_header_mutations_wins;
	bool ignore_port_in_host_matching;
	/* Bounds direct_response bodies; default RW_CONFIG_DEFAULT_MAX_DIRECT_BODY. */
	uint32_t max_direct_response_body_size_bytes;
};

enum rw_config_codec_type {
	RW_CONFIG_CODEC_AUTO = 0,
	RW_CONFIG_CODEC_HTTP1,
	RW_CONFIG_CODEC_HTTP2,
};

enum rw_config_server_header {
	RW_CONFIG_SERVER_HEADER_OVERWRITE = 0,
	RW_CONFIG_SERVER_HEADER_APPEND_IF_ABSENT,
	RW_CONFIG_SERVER_HEADER_PASS_THROUGH,
};

enum rw_config_underscores_action {
	RW_CONFIG_UNDERSCORES_ALLOW = 0,
	RW_CONFIG_UNDERSCORES_REJECT_REQUEST,
	RW_CONFIG_UNDERSCORES_DROP_HEADER,
};

/* config.core.v3.HttpProtocolOptions (common_http_protocol_options); 0 = off/unlimited. */
struct rw_config_http_common_options {
	uint64_t idle_timeout_ms;   /* default RW_CONFIG_DEFAULT_HTTP_IDLE_MS; 0 disables */
	uint32_t max_headers_count; /* default RW_CONFIG_DEFAULT_MAX_HEADERS_COUNT; >= 1 */
	uint64_t max_connection_duration_ms;
	uint64_t max_stream_duration_ms;
	uint32_t max_requests_per_connection;
	enum rw_config_underscores_action headers_with_underscores_action;
};

/* config.core.v3.Http1ProtocolOptions (http_protocol_options) */
struct rw_config_http1_options {
	bool allow_absolute_url; /* default true */
	bool accept_http_10;
	char *default_host_for_http_10; /* NULL when absent */
	bool enable_trailers;
	bool allow_chunked_length;
};

enum rw_config_http_filter_kind {
	RW_CONFIG_HTTP_FILTER_ROUTER = 1,      /* envoy.extensions.filters.http.router.v3.Router */
	RW_CONFIG_HTTP_FILTER_LOCAL_RATELIMIT, /* ...local_ratelimit.v3.LocalRateLimit */
	RW_CONFIG_HTTP_FILTER_FAULT,           /* ...fault.v3.HTTPFault */
	RW_CONFIG_HTTP_FILTER_HEALTH_CHECK,    /* ...health_check.v3.HealthCheck */
};

/* A runtime fractional percent, as parts per million (100% = 1000000). */
typedef uint32_t rw_config_ppm;

/* envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit (also the per-route
 * typed_per_filter_config override). */
struct rw_config_local_ratelimit {
	char *stat_prefix;
	bool has_bucket; /* token_bucket given (without one the filter passes all) */
	uint32_t max_tokens;
	uint32_t tokens_per_fill; /* default 1 */
	uint64_t fill_interval_ms;
	rw_config_ppm filter_enabled;  /* filter_enabled.default_value; default 0 (off) */
	rw_config_ppm filter_enforced; /* filter_enforced.default_value; default 0 */
	uint16_t status;               /* status.code; default 429 */
	bool x_ratelimit_headers;      /* enable_x_ratelimit_headers: DRAFT_VERSION_03 */
	struct rw_config_header_add *response_headers_to_add;
	size_t n_response_headers_to_add;
	bool local_rate_limit_per_downstream_connection;
};

/* envoy.extensions.filters.http.fault.v3.HTTPFault */
struct rw_config_fault {
	bool has_delay;
	uint64_t delay_ms;           /* delay.fixed_delay */
	bool delay_from_header;      /* delay.header_delay: x-envoy-fault-delay-request */
	rw_config_ppm delay_percent; /* delay.percentage; unset = 0 (Envoy: never) */
	bool has_abort;
	uint16_t abort_status;  /* abort.http_status */
	bool abort_from_header; /* abort.header_abort: x-envoy-fault-abort-request */
	rw_config_ppm abort_percent;
	uint32_t max_active_faults;             /* 0 = unlimited */
	struct rw_config_header_match *headers; /* fault only requests matching all */
	size_t n_headers;
};

/*
 * envoy.extensions.filters.http.health_check.v3.HealthCheck: a request matching every
 * header matcher is a health check, answered locally (200, or 503 while the server is
 * health-check failed) unless pass_through_mode sends it upstream (still 503 when failed).
 */
struct rw_config_hc_cluster_min {
	char *cluster;      /* need not exist: a missing cluster fails the check (Envoy) */
	double min_healthy; /* percent, 0..100 */
};

struct rw_config_health_check_filter {
	bool pass_through_mode;                 /* required */
	struct rw_config_header_match *headers; /* all must match */
	size_t n_headers;
	/* cluster_min_healthy_percentages: each cluster needs this share of healthy hosts */
	struct rw_config_hc_cluster_min *clusters;
	size_t n_clusters;
};

struct rw_config_http_filter {
	char *name; /* a label, e.g. "envoy.filters.http.router" */
	enum rw_config_http_filter_kind kind;
	union {
		struct {
			bool suppress_envoy_headers;
			bool dynamic_stats; /* default true; only turns extra stats off */
		} router;
		struct rw_config_local_ratelimit local_ratelimit;
		struct rw_config_fault fault;
		struct rw_config_health_check_filter health_check;
	} u;
};

/* extensions.filters.network.http_connection_manager.v3.HttpConnectionManager */
/* An access log's filter (config.accesslog.v3.AccessLogFilter): every kind but the gRPC,
   metadata, log type and extension filters.  and / or hold a list of filters of any kind. */
enum rw_config_access_log_filter_kind {
	RW_CONFIG_AL_FILTER_NONE = 0,
	RW_CONFIG_AL_FILTER_STATUS_CODE,
	RW_CONFIG_AL_FILTER_DURATION,
	RW_CONFIG_AL_FILTER_NOT_HEALTH_CHECK,
	RW_CONFIG_AL_FILTER_RESPONSE_FLAG,
	RW_CONFIG_AL_FILTER_RUNTIME,
	RW_CONFIG_AL_FILTER_AND,
	RW_CONFIG_AL_FILTER_OR,
	RW_CONFIG_AL_FILTER_HEADER,
	RW_CONFIG_AL_FILTER_TRACEABLE,
};

/* How deep and_filter / or_filter may nest (the top filter is level 1): evaluation recurses. */
#define RW_CONFIG_AL_FILTER_MAX_DEPTH 16

/* ComparisonFilter.Op (EQ, GE, LE as Envoy; NE, LT, GT accepted too). */
enum rw_config_cmp_op {
	RW_CONFIG_CMP_EQ = 0,
	RW_CONFIG_CMP_GE,
	RW_CONFIG_CMP_LE,
	RW_CONFIG_CMP_NE,
	RW_CONFIG_CMP_LT,
	RW_CONFIG_CMP_GT,
};

enum rw_config_access_log_kind {
	RW_CONFIG_ACCESS_LOG_FILE = 1,
	RW_CONFIG_ACCESS_LOG_STDOUT,
	RW_CONFIG_ACCESS_LOG_STDERR,
};

/* One json_format entry: a formatted value, or (format NULL) a nested object. */
struct rw_config_access_log_json_field {
	char *key;
	char *format; /* checked %OPERATOR% text, as in a header value */
	struct rw_config_access_log_json_field *fields;
	size_t n_fields;
};

/*
 * One node of an access log's filter tree.  and / or own an array of child nodes; the
 * tree is at most RW_CONFIG_AL_FILTER_MAX_DEPTH deep and is evaluated without allocating
 * (proxy/access_log.c rw_access_log_pass).
 */
struct rw_config_access_log_filter {
	enum rw_config_access_log_filter_kind kind;
	union {
		struct {
			enum rw_config_cmp_op op;
			uint64_t value; /* default_value (no runtime layer) */
		} cmp;                  /* STATUS_CODE, DURATION */
		uint32_t flag_mask;     /* RESPONSE_FLAG: RW_RF_* bits; 0 = any flag set */
		struct {
			uint32_t numerator;   /* percent_sampled; default 0 (never), as Envoy */
			uint32_t denominator; /* 100, 10000 or 1000000 */
			bool independent_randomness;
		} runtime;
		struct rw_config_header_match header; /* HEADER: on the request headers */
		struct {
			struct rw_config_access_log_filter *filters;
			size_t n; /* >= 2, as Envoy */
		} list;           /* AND, OR */
	} u;
};

struct rw_config_access_log {
	char *name;
	enum rw_config_access_log_kind kind;
	char *path;   /* FILE only */
	char *format; /* text format; NULL = Envoy's default (RW_CONFIG_ACCESS_LOG_DEFAULT) */
	bool json;    /* json_format: one object per line from json_fields */
	struct rw_config_access_log_json_field *json_fields;
	size_t n_json_fields;
	struct rw_config_access_log_filter filter; /* kind NONE: every line is written */
};

#define RW_CONFIG_ACCESS_LOG_DEFAULT                                                               \
	"[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "         \
	"%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "               \
	"%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "  \
	"\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n"

enum rw_config_tracer {
	RW_CONFIG_TRACER_NONE = 0,      /* tracing without a provider: W3C trace context */
	RW_CONFIG_TRACER_ZIPKIN,        /* envoy.tracers.zipkin: B3 headers */
	RW_CONFIG_TRACER_OPENTELEMETRY, /* envoy.tracers.opentelemetry: W3C trace context */
};

/*
 * HttpConnectionManager.Tracing with its provider (config/tracing.c).  ringway propagates
 * trace context (W3C traceparent, B3) and logs trace ids; it reports no spans, so the
 * collector settings are checked and kept only for the start-up message.  Sampling
 * percentages are stored per ten thousand (100% = 10000), Envoy's own resolution.
 */
struct rw_config_tracing {
	bool present; /* the HCM has a tracing block: ringway handles trace headers */
	enum rw_config_tracer provider;
	uint32_t client_sampling;     /* default 10000 */
	uint32_t random_sampling;     /* default 10000 */
	uint32_t overall_sampling;    /* default 10000 */
	bool spawn_upstream_span;     /* a child span for the upstream request */
	bool verbose;                 /* span annotations: accepted, nothing to annotate */
	uint32_t max_path_tag_length; /* default 256; span tags only */
	size_t n_custom_tags;         /* checked, never used (no span is reported) */
	/* envoy.config.trace.v3.ZipkinConfig */
	char *collector_cluster;  /* NULL when absent */
	char *collector_endpoint; /* NULL when absent */
	bool trace_id_128bit;     /* new traces get 128-bit ids (default 64-bit) */
	bool shared_span_context; /* default true: see README "Tracing" */
	/* envoy.config.trace.v3.OpenTelemetryConfig */
	char *service_name; /* NULL when absent */
};

#define RW_CONFIG_DEFAULT_TRACING_PERCENT  10000u /* 100%, per ten thousand */
#define RW_CONFIG_DEFAULT_MAX_PATH_TAG_LEN 256u

struct rw_config_hcm {
	char *stat_prefix; /* required, non-empty */
	enum rw_config_codec_type codec_type;
	struct rw_config_route_config route_config;
	struct rw_config_http_filter *http_filters; /* >= 1, the router last */
	size_t n_http_filters;
	bool use_remote_address;
	uint32_t xff_num_trusted_hops;
	bool skip_xff_append;
	bool generate_request_id; /* default true */
	bool preserve_external_request_id;
	bool always_set_request_id_in_response;
	char *server_name; /* default RW_CONFIG_DEFAULT_SERVER_NAME (always set) */
	enum rw_config_server_header server_header_transformation;
	uint64_t stream_idle_timeout_ms;     /* default 5m; 0 disables */
	uint64_t request_timeout_ms;         /* 0 (default) disables */
	uint64_t request_headers_timeout_ms; /* 0 (default) disables */
	uint64_t drain_timeout_ms;           /* default 5s */
	uint64_t delayed_close_timeout_ms;   /* default 1s; 0 disables */
	uint32_t max_request_headers_kb;     /* default 60 */
	struct rw_config_http_common_options common;
	struct rw_config_http1_options http1;
	struct rw_config_upgrade *upgrades;
	size_t n_upgrades;
	bool proxy_100_continue;
	bool normalize_path;
	bool merge_slashes;
	bool strip_any_host_port;
	struct rw_config_access_log *access_logs;
	size_t n_access_logs;
	struct rw_config_tracing tracing;
	/* The listener's metadata.filter_metadata.ringway.debug_request_header (lowercased;
	   borrowed from the listener, NULL when unset): a request carrying it gets
	   x-ringway-debug on its response. */
	const char *debug_request_header;
};

enum rw_config_filter_kind {
	RW_CONFIG_FILTER_TCP_PROXY = 1,
	RW_CONFIG_FILTER_ECHO, /* envoy.filters.network.echo (no fields) */
	RW_CONFIG_FILTER_HTTP_CONNECTION_MANAGER,
};

struct rw_config_filter {
	char *name; /* e.g. "envoy.filters.network.tcp_proxy" */
	enum rw_config_filter_kind kind;
	union {
		struct rw_config_tcp_proxy tcp_proxy;
		struct rw_config_hcm hcm;
	} u;
};

struct rw_config_filter_chain {
	struct rw_config_filter *filters;
	size_t n_filters;
};

struct rw_config_listener {
	char *name; /* Envoy requires it unique; ringway invents "listener_<i>" when absent */
	struct rw_config_addr addr;
	uint32_t buffer_limit;      /* per_connection_buffer_limit_bytes */
	char *debug_request_header; /* metadata.filter_metadata.ringway (see rw_config_hcm) */
	struct rw_config_filter_chain *chains;
	size_t n_chains; /* >= 1 */
};

enum rw_config_cluster_type {
	RW_CONFIG_CLUSTER_STATIC = 1,
	RW_CONFIG_CLUSTER_STRICT_DNS,  /* every address of every endpoint's name is a host */
	RW_CONFIG_CLUSTER_LOGICAL_DNS, /* one endpoint; the first address of each answer */
};

/* Cluster.dns_lookup_family (same order as Envoy's enum and rw_dns_family). */
enum rw_config_dns_family {
	RW_CONFIG_DNS_AUTO = 0, /* Envoy's default: AAAA, falling back to A */
	RW_CONFIG_DNS_V4_ONLY,
	RW_CONFIG_DNS_V6_ONLY,
	RW_CONFIG_DNS_V4_PREFERRED,
	RW_CONFIG_DNS_ALL,
};

#define RW_CONFIG_DEFAULT_DNS_REFRESH_MS 5000u /* Cluster.dns_refresh_rate */

/*
 * The c-ares resolver a DNS cluster uses: from dns_resolvers (deprecated) or
 * typed_dns_resolver_config (envoy.network.dns_resolvers.cares).  Clusters with equal
 * settings share one resolver.  No nameserver = /etc/resolv.conf (and /etc/hosts).
 */
struct rw_config_dns_resolver {
	char **nameservers; /* "ip", "ip:port" or "[ipv6]:port" */
	size_t n_nameservers;
	bool use_tcp;   /* dns_resolver_options.use_tcp_for_dns_lookups */
	bool no_search; /* dns_resolver_options.no_default_search_domain */
	bool typed;     /* from typed_dns_resolver_config, which wins over dns_resolvers */
};

enum rw_config_lb_policy {
	RW_CONFIG_LB_ROUND_ROBIN = 1,
	RW_CONFIG_LB_LEAST_REQUEST,
	RW_CONFIG_LB_RANDOM,
	RW_CONFIG_LB_RING_HASH,
	RW_CONFIG_LB_MAGLEV,
};

/* The policy's own settings (least_request_lb_config, ring_hash_lb_config,
 * maglev_lb_config, common_lb_config); Envoy's defaults always set. */
struct rw_config_lb {
	uint32_t choice_count;                /* default 2 (>= 2) */
	double active_request_bias;           /* default 1.0 (>= 0) */
	uint64_t ring_min;                    /* minimum_ring_size, default 1024 */
	uint64_t ring_max;                    /* maximum_ring_size, default 8388608 */
	uint64_t maglev_table_size;           /* default 65537, a prime */
	bool locality_weighted;               /* common_lb_config.locality_weighted_lb_config */
	uint32_t healthy_panic_threshold_ppm; /* common_lb_config.healthy_panic_threshold (50%) */
	uint32_t overprovisioning_factor;     /* load_assignment.policy (default 140) */
};

enum rw_config_health_status {
	RW_CONFIG_HEALTH_UNKNOWN = 0, /* Envoy's default: treated as healthy */
	RW_CONFIG_HEALTH_HEALTHY,
	RW_CONFIG_HEALTH_UNHEALTHY,
	RW_CONFIG_HEALTH_DRAINING,
	RW_CONFIG_HEALTH_TIMEOUT,
	RW_CONFIG_HEALTH_DEGRADED,
};

struct rw_config_endpoint {
	struct rw_config_addr addr; /* STATIC, or an IP literal in a DNS cluster */
	/* DNS clusters: the address to resolve as written (a name or an IP literal) and the
	 * port_value (host order) every resolved address gets.  NULL / 0 in STATIC clusters. */
	char *hostname;
	uint16_t port;
	uint16_t health_check_port; /* endpoint.health_check_config.port_value; 0 = port */
	uint32_t weight;            /* lb_endpoints[].load_balancing_weight; default 1 */
	uint32_t priority;          /* its locality group's priority; default 0 */
	uint32_t locality_weight;   /* its group's load_balancing_weight; 0 = unset */
	uint32_t locality;          /* index of its endpoints[] group */
	enum rw_config_health_status health_status;
};

enum rw_config_health_check_kind {
	RW_CONFIG_HC_HTTP = 1,
	RW_CONFIG_HC_TCP,
};

/* A range [start, end) of statuses (expected_statuses). */
struct rw_config_status_range {
	uint16_t start, end;
};

/* A tcp_health_check payload (text as hex, or binary), decoded. */
struct rw_config_payload {
	uint8_t *bytes;
	size_t len;
};

/* config.core.v3.HealthCheck */
struct rw_config_health_check {
	enum rw_config_health_check_kind kind;
	uint64_t timeout_ms;         /* required */
	uint64_t interval_ms;        /* required */
	uint64_t interval_jitter_ms; /* default 0 */
	uint32_t interval_jitter_percent;
	uint64_t no_traffic_interval_ms;     /* default 60s */
	uint64_t unhealthy_interval_ms;      /* default interval */
	uint64_t healthy_edge_interval_ms;   /* default interval */
	uint64_t unhealthy_edge_interval_ms; /* default unhealthy_interval */
	uint32_t unhealthy_threshold;        /* required */
	uint32_t healthy_threshold;          /* required */
	/* HTTP */
	char *path;                                       /* required for HTTP */
	char *host;                                       /* NULL: the cluster name, as in Envoy */
	struct rw_config_status_range *expected_statuses; /* default [200, 201) */
	size_t n_expected_statuses;
	struct rw_config_header_add *request_headers_to_add;
	size_t n_request_headers_to_add;
	char **request_headers_to_remove;
	size_t n_request_headers_to_remove;
	/* TCP: send, then every receive payload must be found, in order, in what comes back */
	struct rw_config_payload send;
	struct rw_config_payload *receive;
	size_t n_receive;
};

/* config.cluster.v3.OutlierDetection; Envoy's defaults always set. */
struct rw_config_outlier {
	bool present;
	uint32_t consecutive_5xx;                            /* 5 */
	uint32_t consecutive_gateway_failure;                /* 5 */
	uint32_t consecutive_local_origin_failure;           /* 5 */
	uint64_t interval_ms;                                /* 10s */
	uint64_t base_ejection_time_ms;                      /* 30s */
	uint64_t max_ejection_time_ms;                       /* 300s */
	uint32_t max_ejection_percent;                       /* 10 */
	uint32_t enforcing_consecutive_5xx;                  /* 100 */
	uint32_t enforcing_consecutive_gateway_failure;      /* 0 */
	uint32_t enforcing_consecutive_local_origin_failure; /* 100 */
	uint32_t enforcing_success_rate;                     /* 100 */
	uint32_t enforcing_failure_percentage;               /* 0 */
	uint32_t enforcing_failure_percentage_local_origin;  /* 0 */
	uint32_t success_rate_minimum_hosts;                 /* 5 */
	uint32_t success_rate_request_volume;                /* 100 */
	uint32_t success_rate_stdev_factor;                  /* 1900 (= 1.9) */
	uint32_t failure_percentage_threshold;               /* 85 */
	uint32_t failure_percentage_minimum_hosts;           /* 5 */
	uint32_t failure_percentage_request_volume;          /* 50 */
	bool split_external_local_origin_errors;
};

/* circuit_breakers.thresholds[] for one RoutingPriority; Envoy's defaults always set. */
struct rw_config_cb_thresholds {
	uint32_t max_connections;      /* 1024 */
	uint32_t max_pending_requests; /* 1024 */
	uint32_t max_requests;         /* 1024 */
	uint32_t max_retries;          /* 3 */
	bool has_retry_budget;
	double budget_percent;          /* retry_budget.budget_percent, default 20.0 */
	uint32_t min_retry_concurrency; /* default 3 */
	bool track_remaining;
};

enum { RW_CONFIG_PRIORITY_DEFAULT = 0, RW_CONFIG_PRIORITY_HIGH = 1 };

struct rw_config_cluster {
	char *name;
	enum rw_config_cluster_type type;     /* default STATIC */
	uint64_t connect_timeout_ms;          /* default RW_CONFIG_DEFAULT_CONNECT_MS */
	enum rw_config_lb_policy lb_policy;   /* default ROUND_ROBIN */
	uint32_t buffer_limit;                /* per_connection_buffer_limit_bytes */
	struct rw_config_endpoint *endpoints; /* flattened lb_endpoints, in config order */
	size_t n_endpoints;
	/* STRICT_DNS / LOGICAL_DNS only (defaults set for every cluster). */
	enum rw_config_dns_family dns_lookup_family; /* default AUTO */
	uint64_t dns_refresh_ms;                     /* default 5000, >= 1 */
	bool respect_dns_ttl;                        /* default false */
	uint64_t dns_failure_base_ms;                /* dns_failure_refresh_rate; 0 = unset */
	uint64_t dns_failure_max_ms;                 /* 0 = unset (10 x base) */
	struct rw_config_dns_resolver dns_resolver;
	struct rw_config_lb lb;
	struct rw_config_health_check *health_checks;
	size_t n_health_checks;
	struct rw_config_outlier outlier;
	struct rw_config_cb_thresholds cb[2]; /* [RW_CONFIG_PRIORITY_DEFAULT], [..._HIGH] */
	uint32_t n_priorities;                /* highest endpoint priority + 1 */
};

/* admin: parsed now, served by a later release. */
struct rw_config_admin {
	bool present; /* admin.address was given, so an admin listener is wanted */
	struct rw_config_addr addr;
	char *access_log_path; /* admin.access_log_path or NULL */
};

/* stats_sinks[]: envoy.stat_sinks.statsd (StatsdSink with an address: UDP). */
struct rw_config_stats_sink {
	struct rw_config_addr addr;
	char *prefix; /* default "envoy" */
};

#define RW_CONFIG_DEFAULT_STATS_FLUSH_MS 5000u

struct rw_config_source;

struct rw_config {
	struct rw_config_listener *listeners;
	size_t n_listeners;
	struct rw_config_cluster *clusters;
	size_t n_clusters;
	struct rw_config_admin admin;
	struct rw_config_stats_sink *stats_sinks;
	size_t n_stats_sinks;
	uint64_t stats_flush_interval_ms; /* default 5 s; Envoy's range 1 ms .. 300 s */
	/* The parsed document itself, kept read-only for the rw_config_dump_* calls. */
	struct rw_config_source *source;
};

/*
 * Parse and validate a bootstrap document.  On success returns 0 and stores a config the
 * caller frees with rw_config_free().  On failure returns a negative errno (-EINVAL for a
 * bad document, -EFBIG for one over 16 MiB, -ENOENT/-EACCES/... for a file that cannot be
 * read, -ENOMEM) and writes a one-line, NUL-terminated message into err (path, line:column,
 * what is wrong).  err may be NULL when errlen is 0.
 */
int rw_config_load_string(const char *text, size_t len, struct rw_config **out, char *err,
                          size_t errlen);
int rw_config_load_file(const char *path, struct rw_config **out, char *err, size_t errlen);

/* Look a cluster up by name; NULL when absent. */
const struct rw_config_cluster *rw_config_find_cluster(const struct rw_config *cfg,
                                                       const char *name);

/* Format an address as "1.2.3.4:80" or "[::1]:80" into buf; returns buf. */
const char *rw_config_addr_format(const struct rw_config_addr *addr, char *buf, size_t len);

void rw_config_free(struct rw_config *cfg);

/*
 * The loaded document as JSON, for the admin's /config_dump (config/dump.c).  Reading only,
 * so any thread may call these while the config lives.  Mappings become objects, sequences
 * arrays; plain scalars true/false become booleans, null/~/empty null, JSON-shaped numbers
 * numbers, anything else (and every quoted scalar) a string.  Every scalar under a secret
 * field (private_key, password, ...) is written as "[redacted]".
 */
typedef void (*rw_config_write_fn)(void *ctx, const char *p, size_t len);

/* One node of the document (a resource), borrowed from the config. */
struct rw_config_node;

enum rw_config_resource_kind {
	RW_CONFIG_RESOURCE_LISTENER,     /* static_resources.listeners[] */
	RW_CONFIG_RESOURCE_CLUSTER,      /* static_resources.clusters[] */
	RW_CONFIG_RESOURCE_ROUTE_CONFIG, /* every HCM's inline route_config, listener order */
};

/* A FieldMask path, "a.b.c" (len bytes, not NUL-terminated). */
struct rw_config_field_path {
	const char *p;
	size_t len;
};

/* fn(ctx, name, node) for each resource of kind, in document order; name is "" if unset. */
void rw_config_each_resource(const struct rw_config *cfg, enum rw_config_resource_kind kind,
                             void (*fn)(void *ctx, const char *name,
                                        const struct rw_config_node *node),
                             void *ctx);
/* The whole bootstrap document (NULL for a config built without source). */
const struct rw_config_node *rw_config_root(const struct rw_config *cfg);
/*
 * Write node as JSON.  A mapping gets "@type": type_url first when type_url is not NULL.
 * With n_paths > 0 only the fields the paths name are written (a mapping's field paths,
 * dotted into nested mappings: Envoy's FieldMask).
 */
void rw_config_node_json(const struct rw_config_node *node, const char *type_url,
                         const struct rw_config_field_path *paths, size_t n_paths,
                         rw_config_write_fn write, void *ctx);

#endif
