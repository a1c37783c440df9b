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
struct rw_config_tcp_proxy {
	char *stat_prefix;        /* required, as in Envoy */
	char *cluster;            /* required in this subset; names an entry of clusters[] */
	uint64_t idle_timeout_ms; /* 0 disables; default RW_CONFIG_DEFAULT_TCP_IDLE_MS */
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
};

struct rw_config_virtual_host {
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
	RW_CONFIG_HTTP_FILTER_ROUTER = 1, /* envoy.extensions.filters.http.router.v3.Router */
};

struct rw_config_http_filter {
	char *name; /* a label, e.g. "envoy.filters.http.router" */
	enum rw_config_http_filter_kind kind;
	union {
		struct {
			bool suppress_envoy_headers;
			bool dynamic_stats; /* default true; only turns extra stats off */
		} router;
	} u;
};

/* extensions.filters.network.http_connection_manager.v3.HttpConnectionManager */
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
	uint32_t buffer_limit; /* per_connection_buffer_limit_bytes */
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
};

struct rw_config_endpoint {
	struct rw_config_addr addr; /* STATIC, or an IP literal in a DNS cluster */
	/* DNS clusters: the address to resolve as written (a name or an IP literal) and the
	 * port_value (host order) every resolved address gets.  NULL / 0 in STATIC clusters. */
	char *hostname;
	uint16_t port;
};

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
};

/* admin: parsed now, served by a later release. */
struct rw_config_admin {
	bool present; /* admin.address was given, so an admin listener is wanted */
	struct rw_config_addr addr;
	char *access_log_path; /* admin.access_log_path or NULL */
};

struct rw_config {
	struct rw_config_listener *listeners;
	size_t n_listeners;
	struct rw_config_cluster *clusters;
	size_t n_clusters;
	struct rw_config_admin admin;
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

#endif
