/*
 * The route table the HTTP connection manager consults once per request: virtual host
 * selection on :authority, first-match route selection, weighted cluster picks, path
 * rewrites and redirect Locations, all with Envoy's semantics.
 *
 * Pure: no I/O, no clock, randomness passed in.  A router is compiled once at start-up
 * from a loaded route_config and then shared read-only by every worker; each worker owns
 * one scratch (PCRE2 match data and a bounded buffer), so matching never allocates.
 */
#ifndef RW_ROUTER_ROUTER_H
#define RW_ROUTER_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rw_config_route_config;
struct rw_config_virtual_host;
struct rw_config_route;
struct rw_config_route_action;
struct rw_config_weighted_cluster;
struct rw_router;
struct rw_router_scratch;

/* One request header; names are lowercase.  Repeated names are separate entries. */
struct rw_http_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/*
 * What the router looks at.  Nothing is copied or kept past the call.  scheme is the
 * request's effective scheme (Envoy's x-forwarded-proto once the HCM settled it);
 * authority is Host / :authority as received (any case, may carry ":port"; NULL when
 * absent); path is origin-form and includes "?query".  Header matchers naming
 * ":method", ":scheme", ":authority" or ":path" see these fields, as in Envoy.
 */
struct rw_http_request_view {
	const char *method;
	size_t method_len;
	const char *scheme;
	size_t scheme_len;
	const char *authority;
	size_t authority_len;
	const char *path;
	size_t path_len;
	const struct rw_http_header *headers;
	size_t n_headers;
};

/* The selected virtual host and route; both point into the route config. */
struct rw_route_result {
	const struct rw_config_virtual_host *vhost;
	const struct rw_config_route *route;
	size_t vhost_index;
	size_t route_index;
};

/* Default scratch buffer: Envoy's default max_request_headers_kb (60 KiB) plus slack. */
#define RW_ROUTER_SCRATCH_DEFAULT (64u * 1024u)

/*
 * Compile rc (domain tables, PCRE2 programs).  rc must outlive the router, which keeps
 * pointers into it.  Returns 0, or -EINVAL (a regex PCRE2 refuses; message in err) or
 * -ENOMEM.  The router is immutable afterwards and safe to share between threads.
 */
int rw_router_build(const struct rw_config_route_config *rc, struct rw_router **out, char *err,
                    size_t errlen);
void rw_router_free(struct rw_router *r);

/*
 * Per-worker matching state for router r, with a buffer of buf_cap bytes (0 picks
 * RW_ROUTER_SCRATCH_DEFAULT) for joining repeated headers and decoding query values; a
 * value that does not fit does not match.  Returns 0 or -ENOMEM.
 */
int rw_router_scratch_create(const struct rw_router *r, size_t buf_cap,
                             struct rw_router_scratch **out);
void rw_router_scratch_free(struct rw_router_scratch *s);

/* Select the virtual host for req; NULL when none matches (Envoy's 404 "NR"). */
const struct rw_config_virtual_host *
rw_router_vhost(const struct rw_router *r, const struct rw_http_request_view *req, size_t *index);

/*
 * Select the virtual host, then the first route of it that matches.  Returns 0 and fills
 * out, or -ENOENT when no virtual host or no route matches (404 NR); out->vhost is still
 * set when only the route was missing.
 */
int rw_router_match(const struct rw_router *r, const struct rw_http_request_view *req,
                    struct rw_router_scratch *scratch, struct rw_route_result *out);

/*
 * Envoy's weighted_clusters pick: random % total_weight walks the cumulative weights in
 * config order.  Returns NULL unless a is a WEIGHTED action with a non-zero total.
 */
const struct rw_config_weighted_cluster *
rw_router_pick_weighted(const struct rw_config_route_action *a, uint64_t random);

/*
 * The upstream path after the matched route's prefix_rewrite or regex_rewrite (the query
 * and fragment kept), written to out (not NUL-terminated).  Returns 1 when rewritten, 0
 * when the route has no rewrite (out untouched), -ENOSPC when cap is too small, -EINVAL
 * when m is not a ROUTE action.
 */
int rw_router_rewrite_path(const struct rw_router *r, const struct rw_route_result *m,
                           const struct rw_http_request_view *req,
                           struct rw_router_scratch *scratch, char *out, size_t cap,
                           size_t *out_len);

/*
 * The Location of a REDIRECT route: scheme (https_redirect / scheme_redirect or the
 * request's), host (host_redirect, or the authority with ":80"/":443" dropped when the
 * scheme changes away from that port's scheme, or any port when port_redirect is set),
 * port_redirect, then the path (path_redirect, which keeps the request's query unless it
 * has its own; prefix_rewrite / regex_rewrite as for routes) and strip_query.  Written to
 * out (not NUL-terminated).  Returns 0, -ENOSPC, or -EINVAL when m is not a redirect.
 */
int rw_router_redirect_location(const struct rw_router *r, const struct rw_route_result *m,
                                const struct rw_http_request_view *req,
                                struct rw_router_scratch *scratch, char *out, size_t cap,
                                size_t *out_len);

#endif
