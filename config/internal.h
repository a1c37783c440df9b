/*
 * Internal to config/: the YAML node tree, the walk context that tracks the YAML path for
 * error messages, and the field-table walker every message type (Bootstrap, Listener,
 * Cluster, ...) is described with.
 *
 * Loading is two passes: yaml_tree.c turns libyaml events into an arena-allocated tree
 * whose nodes remember their line:column, then the walkers in bootstrap.c, listener.c and
 * cluster.c fill the public structs from it.  Keeping the tree lets a walker look at a whole
 * mapping (e.g. find "@type" first) and report positions long after libyaml has moved on.
 */
#ifndef RW_CONFIG_INTERNAL_H
#define RW_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Fuzz-safety limits: a deeper or larger document is refused, not parsed slowly. */
#define RW__CONFIG_MAX_DEPTH 64
#define RW__CONFIG_MAX_BYTES (16u * 1024u * 1024u)
/* Nodes a walk may visit, counting each alias expansion again (stops "billion laughs"). */
#define RW__CONFIG_MAX_WEIGHT 4000000u

enum rw__node_kind {
	RW__NODE_SCALAR = 1,
	RW__NODE_MAP,
	RW__NODE_SEQ,
};

/*
 * One YAML node.  Children are singly linked so the tree can live in an arena:
 *
 *   MAP:  child -> key0 -> key1 -> ...      (via next; keys are scalars)
 *                   |       |
 *                 value   value             (key->value)
 *   SEQ:  child -> item0 -> item1 -> ...    (via next)
 *
 * An alias is the very node its anchor names, so a node may hang under several parents;
 * "next" therefore cannot live in the node itself for aliased nodes.  To keep that simple,
 * every list cell is a small struct rw__node_link and nodes carry no sibling pointer.
 */
struct rw__node;

struct rw__node_link {
	struct rw__node_link *next;
	struct rw__node *node;  /* the item, or the key of a map entry */
	struct rw__node *value; /* map entries only */
};

struct rw__node {
	enum rw__node_kind kind;
	unsigned line, col; /* 1-based, where the node starts */
	size_t n;           /* items or entries for MAP/SEQ; byte length for SCALAR */
	union {
		struct {
			const char *text; /* NUL-terminated; may hold NULs (see len) */
			bool plain;       /* unquoted, so "~"/"null"/"" mean null */
		} s;
		struct rw__node_link *first; /* MAP/SEQ */
	} u;
	uint64_t weight; /* 1 + children's weights, aliases counted per use */
};

struct rw__arena;

/*
 * Parse text into a tree allocated from *arena (freed with rw__config_arena_free, also on
 * failure).  Returns 0 and the root, or -EINVAL / -ENOMEM with a message in err.
 */
int rw__config_yaml_parse(const char *text, size_t len, struct rw__arena **arena,
                          const struct rw__node **root, char *err, size_t errlen);
void rw__config_arena_free(struct rw__arena *arena);

/* What a loaded struct rw_config keeps of its document: the tree, for config/dump.c. */
struct rw_config_source {
	struct rw__arena *arena;
	const struct rw__node *root;
};

/* A cross-check that can only run when the whole document is known. */
struct rw__cluster_ref {
	char *path; /* YAML path of the "cluster" (or weighted cluster "name") value */
	unsigned line, col;
	const char *cluster; /* borrowed from the filter it came from */
	const char *what;    /* "tcp_proxy cluster", "route cluster", ... for the message */
};

/* Set of byte strings, used for duplicate-name and duplicate-address checks. */
struct rw__set {
	struct rw__set_slot {
		const void *key; /* borrowed */
		size_t len;
	} * slots;
	size_t cap, used;
};

#define RW__PATH_MAX 512

struct rw__ctx {
	char *err;
	size_t errlen;
	/* The first field that parses but is not acted on by the data path yet (see
	 * rw__unserved); reported once everything else was checked. */
	struct {
		bool seen;
		unsigned line, col;
		char path[RW__PATH_MAX];
		char what[96];
	} unserved;
	char path[RW__PATH_MAX]; /* "static_resources.clusters[1].connect_timeout" */
	size_t path_len;
	struct rw_config *cfg;
	struct rw__set listener_names, listener_addrs, cluster_names;
	struct rw__cluster_ref *refs;
	size_t n_refs, cap_refs;
	/* The route config being walked: direct_response bodies are bounded by it. */
	uint32_t max_direct_body;
};

/* A node's walker: fills obj from value.  Returns 0 or a negative errno after rw__fail(). */
typedef int (*rw__field_fn)(struct rw__ctx *ctx, const struct rw__node *value, void *obj);
/* A list item's walker: index is the item's position, as shown in the path. */
typedef int (*rw__item_fn)(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                           void *obj);

enum rw__field_mode {
	RW__FIELD_PARSE = 0,   /* fn parses it */
	RW__FIELD_UNSUPPORTED, /* an Envoy field ringway does not implement: error */
	RW__FIELD_IGNORE,      /* accepted and dropped (node.*) */
};

struct rw__field {
	const char *name;
	enum rw__field_mode mode;
	rw__field_fn fn;
};

#define RW__FIELD(name, fn)                                                                        \
	{                                                                                          \
		name, RW__FIELD_PARSE, fn                                                          \
	}
#define RW__UNSUPPORTED(name)                                                                      \
	{                                                                                          \
		name, RW__FIELD_UNSUPPORTED, NULL                                                  \
	}
#define RW__IGNORED(name)                                                                          \
	{                                                                                          \
		name, RW__FIELD_IGNORE, NULL                                                       \
	}
#define RW__N(array) (sizeof(array) / sizeof((array)[0]))

/* walk.c: path, errors, the table walker, allocation. */

/* Write "<path>: line L:C: <msg>" (or "line L:C: <msg>" at the root) and return -EINVAL. */
int rw__fail(struct rw__ctx *ctx, const struct rw__node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int rw__fail_at(struct rw__ctx *ctx, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int rw__fail_oom(struct rw__ctx *ctx);
void rw__errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Path segments: push returns the old length for pop. */
size_t rw__path_key(struct rw__ctx *ctx, const char *key, size_t len);
size_t rw__path_index(struct rw__ctx *ctx, size_t index);
void rw__path_pop(struct rw__ctx *ctx, size_t saved);

/* Copy bytes into dst (size dstlen) printable: quotes, controls and non-ASCII become \xNN. */
void rw__escape(char *dst, size_t dstlen, const char *src, size_t len);

/*
 * typed_config is a protobuf Any: a mapping whose "@type" is a type URL.  Returns 0 with *type
 * the "@type" node and *name the message name after the URL's last '/' (an Any may name any
 * host), the path unchanged; or fails at "<path>.@type".  `example` is the full message name
 * shown when the value is not a type URL.
 */
int rw__any_type(struct rw__ctx *ctx, const struct rw__node *v, const char *example,
                 const struct rw__node **type, const char **name);

/* The error for an "@type" nothing accepted: Envoy's own types are "not supported by ringway
 * yet" (so a user can tell a gap from a typo), anything else is "unknown @type". */
int rw__any_type_unsupported(struct rw__ctx *ctx, const struct rw__node *type, const char *name);

bool rw__is_null(const struct rw__node *node);
/* Does a YAML key name this field?  Proto3 JSON also allows lowerCamelCase names. */
bool rw__key_is(const struct rw__node *key, const char *field);
/* The value (or, with want_key, the key) of field in map, or NULL. */
const struct rw__node *rw__map_get(const struct rw__node *map, const char *field, bool want_key);

/* Walk a mapping against a field table (unknown/unsupported fields are errors). */
int rw__walk_map(struct rw__ctx *ctx, const struct rw__node *map, const struct rw__field *fields,
                 size_t n_fields, void *obj);
/* Check node is a SEQ, then call fn on each item with the path extended by [i]. */
int rw__walk_seq(struct rw__ctx *ctx, const struct rw__node *seq, rw__item_fn fn, void *obj);

/* Closest field name within edit distance 2, or NULL. */
const char *rw__did_you_mean(const char *key, size_t len, const struct rw__field *fields,
                             size_t n_fields);

/* Returns 1 if inserted, 0 if already present, -ENOMEM. */
int rw__set_add(struct rw__set *set, const void *key, size_t len);
bool rw__set_has(const struct rw__set *set, const void *key, size_t len);
void rw__set_free(struct rw__set *set);

/*
 * Test hook for the injectable-allocator tests: when non-zero, counts down on each
 * allocation made by config/ and the allocation that brings it to zero fails.
 */
extern unsigned long rw__config_fail_alloc_after;
void *rw__malloc(size_t size);
void *rw__calloc(size_t n, size_t size);
void *rw__realloc(void *p, size_t size);
char *rw__strdup(const char *s);
/* Grow *array (of elem-sized items) to hold at least want items; -ENOMEM on failure. */
int rw__grow(void **array, size_t *cap, size_t want, size_t elem);

/*
 * Remember that node (a field the loader checks but the data path does not serve yet) is in
 * use; the load then fails at the end, at the first such node, unless
 * rw__config_allow_unserved (a test hook for the parser's own tests) is set.  Returns 0.
 */
int rw__unserved(struct rw__ctx *ctx, const struct rw__node *node, const char *what);
extern bool rw__config_allow_unserved;

/* values.c: scalar conversions.  Each reports its own error against node. */
int rw__get_string(struct rw__ctx *ctx, const struct rw__node *node, char **out);
/* true/false (also quoted, as protobuf's JSON parser accepts). */
int rw__get_bool(struct rw__ctx *ctx, const struct rw__node *node, bool *out);
/* An unsigned integer in min..max, failing with "<what> must be in min..max". */
int rw__get_uint_range(struct rw__ctx *ctx, const struct rw__node *node, const char *what,
                       uint64_t min, uint64_t max, uint64_t *out);
int rw__get_uint(struct rw__ctx *ctx, const struct rw__node *node, uint64_t max, uint64_t *out);
int rw__get_duration_ms(struct rw__ctx *ctx, const struct rw__node *node, uint64_t *out);
/* Parse an Envoy core.v3.Address (only socket_address).  min_port is 0 or 1. */
int rw__get_address(struct rw__ctx *ctx, const struct rw__node *node, unsigned min_port,
                    struct rw_config_addr *out);
/*
 * A cluster endpoint's address (port_value required).  With dns (STRICT_DNS/LOGICAL_DNS)
 * the address text is stored as written in *hostname (a name or an IP literal, resolved
 * later) and out holds only the port; otherwise it must be an IP literal.  *port gets
 * port_value in host order.
 */
int rw__get_endpoint_address(struct rw__ctx *ctx, const struct rw__node *node, bool dns,
                             struct rw_config_addr *out, char **hostname, uint16_t *port);
/* Match a scalar against names[]; returns the index, or fails listing the names. */
int rw__get_enum(struct rw__ctx *ctx, const struct rw__node *node, const char *const *names,
                 size_t n_names, size_t *out);

/* Message walkers (bootstrap.c, listener.c, cluster.c). */
/* Allocate a zeroed array for seq's items; n is 0 (and *out NULL) for an empty list. */
int rw__alloc_items(struct rw__ctx *ctx, const struct rw__node *seq, size_t elem, void **out,
                    size_t *n);
int rw__walk_bootstrap(struct rw__ctx *ctx, const struct rw__node *root);
/* One element of static_resources.listeners / .clusters into cfg's preallocated array. */
int rw__walk_listener(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *cfg);
int rw__walk_cluster(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *cfg);

void rw__listener_free(struct rw_config_listener *listener);
void rw__cluster_free(struct rw_config_cluster *cluster);

/*
 * Remember that the value of map[key] names a cluster, to check once every cluster is known
 * (bootstrap.c).  what names the reference in the error ("route cluster").  cluster is
 * borrowed and must live as long as the config.
 */
int rw__remember_cluster_ref(struct rw__ctx *ctx, const struct rw__node *map, const char *key,
                             const char *cluster, const char *what);

/*
 * A protobuf oneof: at most one of names[] may be set in map (a null value is unset).
 * Returns the index of the one set, -1 if none, or a negative errno after failing at the
 * second one.  Errors on none are the caller's, as Envoy's wording differs per message.
 */
int rw__oneof(struct rw__ctx *ctx, const struct rw__node *map, const char *const *names,
              size_t n_names, int *which);

/* http.c: extensions.filters.network.http_connection_manager.v3.HttpConnectionManager. */
int rw__walk_hcm(struct rw__ctx *ctx, const struct rw__node *any, struct rw_config_hcm *hcm);
void rw__hcm_free(struct rw_config_hcm *hcm);
/* An upgrade_configs[] list (HCM or, with route_level, RouteAction) into *out. */
int rw__walk_upgrades(struct rw__ctx *ctx, const struct rw__node *seq,
                      struct rw_config_upgrade **out, size_t *n, bool route_level);
void rw__upgrades_free(struct rw_config_upgrade *upgrades, size_t n);
/* tracing.c: the HCM's tracing block (Envoy's defaults set first). */
int rw__walk_tracing(struct rw__ctx *ctx, const struct rw__node *map, struct rw_config_tracing *t);
void rw__tracing_free(struct rw_config_tracing *t);

/* route.c: RouteConfiguration, VirtualHost, Route. */
int rw__walk_route_config(struct rw__ctx *ctx, const struct rw__node *map,
                          struct rw_config_route_config *rc);
void rw__route_config_free(struct rw_config_route_config *rc);

/* route_match.c: RouteMatch and its header / query parameter / string matchers. */
int rw__walk_route_match(struct rw__ctx *ctx, const struct rw__node *map,
                         struct rw_config_route_match *m);
void rw__route_match_free(struct rw_config_route_match *m);

/* route_action.c: RouteAction, RedirectAction, DirectResponseAction. */
int rw__walk_route_action(struct rw__ctx *ctx, const struct rw__node *map,
                          struct rw_config_route_action *a);
int rw__walk_redirect(struct rw__ctx *ctx, const struct rw__node *map,
                      struct rw_config_redirect *r);
int rw__walk_direct_response(struct rw__ctx *ctx, const struct rw__node *map,
                             struct rw_config_direct_response *d);
void rw__route_action_free(struct rw_config_route_action *a);
void rw__redirect_free(struct rw_config_redirect *r);

/*
 * headers.c: header names and HeaderValueOption lists.  The four *_headers_to_add/remove
 * fields appear in four messages; their tables list them with RW__HEADER_MUTATION_FIELDS
 * (so typos and duplicates are caught by the table walk) and the walker then parses them
 * in a second step with rw__walk_header_mutations().
 */
#define RW__HEADER_MUTATION_FIELDS                                                                 \
	RW__IGNORED("request_headers_to_add"), RW__IGNORED("request_headers_to_remove"),           \
	    RW__IGNORED("response_headers_to_add"), RW__IGNORED("response_headers_to_remove")
int rw__walk_header_mutations(struct rw__ctx *ctx, const struct rw__node *map,
                              struct rw_config_header_mutations *hm);
void rw__header_mutations_free(struct rw_config_header_mutations *hm);
/* Check every %OPERATOR% in a header value (access_log: also the access-log-only ones, such
   as %DURATION%); %% is a literal percent sign.  0 or -EINVAL after rw__fail(). */
int rw__check_operators(struct rw__ctx *ctx, const struct rw__node *node, const char *v,
                        bool access_log);
/* http.c's access_log field: a list of config.accesslog.v3.AccessLog (access_log.c). */
int rw__walk_access_logs(struct rw__ctx *ctx, const struct rw__node *seq,
                         struct rw_config_access_log **out, size_t *n);
void rw__access_logs_free(struct rw_config_access_log *logs, size_t n);
/* A header name: a non-empty token, stored lowercased. */
int rw__get_header_name(struct rw__ctx *ctx, const struct rw__node *node, char **out);

/* metadata.c: a Metadata value; the keys of filter_metadata.ringway are walked with fields
   into obj, other namespaces and typed_filter_metadata ignored (opaque, as in Envoy). */
int rw__walk_metadata(struct rw__ctx *ctx, const struct rw__node *v, const struct rw__field *fields,
                      size_t n_fields, void *obj);

/* regex.c: compile-check a pattern (PCRE2 standing in for RE2); captures may be NULL. */
int rw__check_regex(struct rw__ctx *ctx, const struct rw__node *node, const char *pattern,
                    uint32_t *captures);
/* type.matcher.v3.RegexMatcher {regex, google_re2}: the checked pattern into *pattern. */
int rw__get_regex_matcher(struct rw__ctx *ctx, const struct rw__node *map, char **pattern,
                          uint32_t *captures);
/* A RegexMatchAndSubstitute {pattern, substitution}: both required, \N checked. */
int rw__get_regex_substitute(struct rw__ctx *ctx, const struct rw__node *map, char **pattern,
                             char **substitution);

/*
 * Route policies and the local_ratelimit / fault HTTP filters (route_match.c,
 * percent.c, retry_policy.c, hash_policy.c, local_ratelimit.c, fault.c,
 * per_filter_config.c).  The *_copy functions deep-copy (a virtual host's policy into
 * each of its routes) and return 0 or -ENOMEM; the *_free functions free the contents.
 */
int rw__walk_header_matchers(struct rw__ctx *ctx, const struct rw__node *seq,
                             struct rw_config_header_match **out, size_t *n);
/* One HeaderMatcher (a map, not a list) into *out, with the same rules; free its name and
   string.value. */
int rw__walk_header_matcher(struct rw__ctx *ctx, const struct rw__node *map,
                            struct rw_config_header_match *out);
int rw__header_matchers_copy(struct rw_config_header_match **dst,
                             const struct rw_config_header_match *src, size_t n);
void rw__header_matchers_free(struct rw_config_header_match *m, size_t n);
/* type.v3.FractionalPercent and core.v3.RuntimeFractionalPercent as parts per million. */
int rw__get_fractional_percent(struct rw__ctx *ctx, const struct rw__node *node,
                               rw_config_ppm *out);
/* A type.v3.FractionalPercent kept exact: numerator over 100, 10000 or 1000000. */
int rw__get_fraction(struct rw__ctx *ctx, const struct rw__node *node, uint32_t *numerator,
                     uint32_t *denominator);
int rw__get_runtime_percent(struct rw__ctx *ctx, const struct rw__node *node, rw_config_ppm *out);
int rw__walk_retry_policy(struct rw__ctx *ctx, const struct rw__node *map,
                          struct rw_config_retry_policy *p);
int rw__retry_policy_copy(struct rw_config_retry_policy *dst,
                          const struct rw_config_retry_policy *src);
void rw__retry_policy_free(struct rw_config_retry_policy *p);
int rw__walk_hash_policies(struct rw__ctx *ctx, const struct rw__node *seq,
                           struct rw_config_hash_policy **out, size_t *n);
void rw__hash_policies_free(struct rw_config_hash_policy *h, size_t n);
/* per_route: a typed_per_filter_config override, which needs a token_bucket. */
int rw__walk_local_ratelimit(struct rw__ctx *ctx, const struct rw__node *map,
                             struct rw_config_local_ratelimit *lr, bool per_route);
int rw__local_ratelimit_copy(struct rw_config_local_ratelimit *dst,
                             const struct rw_config_local_ratelimit *src);
void rw__local_ratelimit_free(struct rw_config_local_ratelimit *lr);
int rw__walk_fault(struct rw__ctx *ctx, const struct rw__node *map, struct rw_config_fault *f);
int rw__fault_copy(struct rw_config_fault *dst, const struct rw_config_fault *src);
void rw__fault_free(struct rw_config_fault *f);
/* health_check_filter.c: envoy.extensions.filters.http.health_check.v3.HealthCheck. */
int rw__walk_health_check_filter(struct rw__ctx *ctx, const struct rw__node *map,
                                 struct rw_config_health_check_filter *hc);
void rw__health_check_filter_free(struct rw_config_health_check_filter *hc);

/*
 * per_filter_config.c: typed_per_filter_config of a route or a virtual host.  The
 * overrides are parsed into (and later moved or copied out of) the ratelimit / fault
 * members of a zeroed holder action, which rw__route_action_free() frees.
 */
int rw__walk_typed_per_filter_config(struct rw__ctx *ctx, const struct rw__node *map,
                                     struct rw_config_route_action *holder);
/* Copy holder's overrides into a, except those a already has (its own are more specific). */
int rw__copy_filter_overrides(struct rw__ctx *ctx, const struct rw_config_route_action *holder,
                              struct rw_config_route_action *a);
/* After an HCM walk: every typed_per_filter_config key names one of its http_filters. */
int rw__check_per_filter_keys(struct rw__ctx *ctx, const struct rw__node *hcm_map,
                              const struct rw_config_hcm *hcm);

/*
 * A cluster's policy parts (cluster_lb.c, load_assignment.c, health_check.c, outlier.c,
 * circuit_breakers.c): field walkers of the Cluster table, obj being the struct
 * rw_config_cluster, whose Envoy defaults the cluster walker sets first.
 */
int rw__walk_lb_policy(struct rw__ctx *ctx, const struct rw__node *v, void *cluster);
int rw__walk_least_request_lb(struct rw__ctx *ctx, const struct rw__node *v, void *cluster);
int rw__walk_ring_hash_lb(struct rw__ctx *ctx, const struct rw__node *v, void *cluster);
int rw__walk_maglev_lb(struct rw__ctx *ctx, const struct rw__node *v, void *cluster);
int rw__walk_round_robin_lb(struct rw__ctx *ctx, const struct rw__node *v, void *cluster);
int rw__walk_common_lb(struct rw__ctx *ctx, const struct rw__node *v, void *cluster);
int rw__walk_load_assignment(struct rw__ctx *ctx, const struct rw__node *v, void *cluster);
int rw__walk_health_checks(struct rw__ctx *ctx, const struct rw__node *v, void *cluster);
void rw__health_checks_free(struct rw_config_health_check *hcs, size_t n);
int rw__walk_outlier_detection(struct rw__ctx *ctx, const struct rw__node *v, void *cluster);
int rw__walk_circuit_breakers(struct rw__ctx *ctx, const struct rw__node *v, void *cluster);
/* cluster_lb.c: a finite double (a number, possibly quoted); type.v3.Percent {value} 0..100. */
int rw__get_double(struct rw__ctx *ctx, const struct rw__node *node, double *out);
int rw__walk_percent(struct rw__ctx *ctx, const struct rw__node *map, double *out);

/* stats_sinks.c: bootstrap stats_sinks[] and stats_flush_interval (obj: struct rw_config). */
int rw__walk_stats_sinks(struct rw__ctx *ctx, const struct rw__node *v, void *obj);
int rw__walk_stats_flush_interval(struct rw__ctx *ctx, const struct rw__node *v, void *obj);
void rw__stats_sinks_free(struct rw_config *cfg);

#endif
