/*
 * Internal to router/: the compiled form of a route config.  Every compiled object keeps a
 * pointer to its config struct and adds what matching needs precomputed: lengths, PCRE2
 * programs, and the domain hash table.
 *
 *   rw_router -> vhosts[] -> routes[] -> {path regex, rewrite regex, headers[], queries[]}
 *             -> domains[] (open addressing; exact, suffix and prefix keys)
 *             -> suffix_lens[] / prefix_lens[] (distinct wildcard lengths, longest first)
 */
#ifndef RW_ROUTER_INTERNAL_H
#define RW_ROUTER_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "router/router.h"

/* A header matcher may name a pseudo-header, read from the request view instead. */
enum rw__router_pseudo {
	RW__PSEUDO_NONE = 0,
	RW__PSEUDO_METHOD,
	RW__PSEUDO_SCHEME,
	RW__PSEUDO_AUTHORITY,
	RW__PSEUDO_PATH,
};

struct rw__router_string {
	const struct rw_config_string_match *cfg;
	size_t len;
	pcre2_code *re; /* REGEX only: anchored at both ends (RE2 FullMatch) */
};

struct rw__router_header {
	const struct rw_config_header_match *cfg;
	size_t name_len;
	enum rw__router_pseudo pseudo;
	struct rw__router_string string;
};

struct rw__router_query {
	const struct rw_config_query_match *cfg;
	size_t name_len;
	struct rw__router_string string;
};

struct rw__router_route {
	const struct rw_config_route *cfg;
	size_t path_len;
	pcre2_code *path_re;    /* match.safe_regex, full match */
	pcre2_code *rewrite_re; /* regex_rewrite (route or redirect), unanchored */
	const char *rewrite_sub;
	const char *prefix_rewrite; /* route or redirect prefix_rewrite */
	struct rw__router_header *headers;
	size_t n_headers;
	struct rw__router_query *queries;
	size_t n_queries;
};

struct rw__router_vhost {
	const struct rw_config_virtual_host *cfg;
	struct rw__router_route *routes;
	size_t n_routes;
};

enum rw__domain_kind {
	RW__DOMAIN_EXACT = 1,
	RW__DOMAIN_SUFFIX, /* "*.foo.com" stored as ".foo.com" */
	RW__DOMAIN_PREFIX, /* "foo.*" stored as "foo." */
};

struct rw__domain {
	const char *key; /* NULL = empty slot; lowercase */
	size_t len;
	uint64_t hash;
	enum rw__domain_kind kind;
	size_t vhost;
};

struct rw_router {
	const struct rw_config_route_config *cfg;
	struct rw__router_vhost *vhosts;
	size_t n_vhosts;
	struct rw__domain *domains;
	size_t domain_mask; /* slots - 1, a power of two minus one */
	size_t *suffix_lens;
	size_t n_suffix_lens;
	size_t *prefix_lens;
	size_t n_prefix_lens;
	bool has_default;
	size_t default_vhost;  /* the "*" virtual host */
	uint32_t max_captures; /* over every program, for sizing match data */
};

struct rw_router_scratch {
	pcre2_match_data *md;
	char *buf;
	size_t cap;
};

/* route_match.c: does route rt match req?  scratch only for joins and decoding. */
bool rw__router_route_matches(const struct rw__router_route *rt,
                              const struct rw_http_request_view *req,
                              struct rw_router_scratch *scratch);

/* Length of the path without "?query" and "#fragment" (Envoy's removeQueryAndFragment). */
size_t rw__router_path_only(const char *path, size_t len);

#endif
