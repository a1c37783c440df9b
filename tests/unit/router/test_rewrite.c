/*
 * Unit tests for router/rewrite.c: the weighted cluster pick over a sweep of random
 * values, prefix_rewrite / regex_rewrite of the upstream path, and redirect Locations
 * (scheme, host with default ports dropped, port_redirect, path_redirect and its query,
 * prefix/regex rewrites, strip_query).
 */
#include <errno.h>

#include "tests/unit/router/fixture.h"

static const char config[] =
    "validate_clusters: false\n"
    "virtual_hosts:\n"
    "- name: rw\n"
    "  domains: [\"*\"]\n"
    "  routes:\n"
    "  - {match: {prefix: /old/}, route: {cluster: c, prefix_rewrite: /new/}}\n"
    "  - {match: {prefix: /strip}, route: {cluster: c, prefix_rewrite: /}}\n"
    "  - {match: {path: /Exact, case_sensitive: false}, route: {cluster: c, prefix_rewrite: /e}}\n"
    "  - {match: {safe_regex: {regex: \"/re/.*\"}}, route: {cluster: c, prefix_rewrite: /whole}}\n"
    "  - match: {prefix: /rx/}\n"
    "    route: {cluster: c, regex_rewrite: {pattern: {regex: \"^/rx/([^/]+)/(.*)$\"}, "
    "substitution: \"/\\\\2/\\\\1\"}}\n"
    "  - {match: {prefix: /g/}, route: {cluster: c, regex_rewrite: {pattern: {regex: o}, "
    "substitution: \"0\"}}}\n"
    "  - {match: {prefix: /e/}, route: {cluster: c, regex_rewrite: {pattern: {regex: \"x*\"}, "
    "substitution: \"-\"}}}\n"
    "  - match: {prefix: /w}\n"
    "    route:\n"
    "      weighted_clusters:\n"
    "        clusters:\n"
    "        - {name: a, weight: 1}\n"
    "        - {name: b, weight: 2}\n"
    "        - {name: z, weight: 0}\n"
    "        - {name: c, weight: 3}\n"
    "  - {match: {prefix: /plain}, route: {cluster: c}}\n"
    "  - {match: {prefix: /https}, redirect: {https_redirect: true}}\n"
    "  - {match: {prefix: /port}, redirect: {port_redirect: 8443}}\n"
    "  - {match: {prefix: /host}, redirect: {host_redirect: new.example.com}}\n"
    "  - {match: {prefix: /pr}, redirect: {path_redirect: /target}}\n"
    "  - {match: {prefix: /pq}, redirect: {path_redirect: \"/target?x=1\", strip_query: true}}\n"
    "  - {match: {prefix: /ps}, redirect: {path_redirect: /target, strip_query: true}}\n"
    "  - {match: {prefix: /rp/}, redirect: {prefix_rewrite: /moved/, response_code: FOUND}}\n"
    "  - match: {prefix: /rr/}\n"
    "    redirect: {regex_rewrite: {pattern: {regex: \"^/rr/(.*)$\"}, substitution: "
    "\"/x/\\\\1\"}, strip_query: true}\n"
    "  - {match: {prefix: /sch}, redirect: {scheme_redirect: HTTP, host_redirect: h.example, "
    "port_redirect: 81}}\n"
    "  - {match: {prefix: /np}, redirect: {prefix_rewrite: \"\"}}\n"
    "  - {match: {prefix: /d}, direct_response: {status: 200}}\n";

static struct fixture f;

static int match(const char *scheme, const char *authority, const char *path,
                 struct rw_http_request_view *v, struct rw_route_result *m)
{
	*v = request(scheme, authority, "GET", path, NULL, 0, NULL);
	return rw_router_match(f.router, v, f.scratch, m);
}

static void check_rewrite(const char *path, const char *want)
{
	struct rw_http_request_view v;
	struct rw_route_result m;
	char out[256];
	size_t len = 0;
	int rc;

	CHECK(match("http", "h", path, &v, &m) == 0);
	rc = rw_router_rewrite_path(f.router, &m, &v, f.scratch, out, sizeof(out), &len);
	if (!want) {
		CHECK(rc == 0);
		return;
	}
	if (rc != 1 || len != strlen(want) || memcmp(out, want, len) != 0) {
		fprintf(stderr, "rewrite %s: rc %d '%.*s', want '%s'\n", path, rc, (int)len, out,
		        want);
		abort();
	}
}

static void check_redirect(const char *scheme, const char *authority, const char *path,
                           const char *want)
{
	struct rw_http_request_view v;
	struct rw_route_result m;
	char out[256];
	size_t len = 0;
	int rc;

	CHECK(match(scheme, authority, path, &v, &m) == 0);
	CHECK(m.route->action == RW_CONFIG_ACTION_REDIRECT);
	rc = rw_router_redirect_location(f.router, &m, &v, f.scratch, out, sizeof(out), &len);
	if (rc != 0 || len != strlen(want) || memcmp(out, want, len) != 0) {
		fprintf(stderr, "redirect %s %s %s: rc %d '%.*s', want '%s'\n", scheme, authority,
		        path, rc, (int)len, out, want);
		abort();
	}
	/* Every shorter buffer is refused whole. */
	for (size_t cap = 0; cap < len; cap++)
		CHECK(rw_router_redirect_location(f.router, &m, &v, f.scratch, out, cap, &len) ==
		      -ENOSPC);
}

static void test_weighted(void)
{
	struct rw_http_request_view v;
	struct rw_route_result m;
	const struct rw_config_route_action *a;
	size_t counts[4] = {0};

	CHECK(match("http", "h", "/w", &v, &m) == 0);
	a = &m.route->u.route;
	CHECK(a->specifier == RW_CONFIG_ROUTE_WEIGHTED && a->total_weight == 6);
	for (uint64_t r = 0; r < 6000; r++) {
		const struct rw_config_weighted_cluster *w = rw_router_pick_weighted(a, r);
		uint64_t slot = r % 6;

		CHECK(w);
		/* Cumulative ranges in config order: a [0,1), b [1,3), z empty, c [3,6). */
		CHECK(strcmp(w->name, slot < 1 ? "a" : slot < 3 ? "b" : "c") == 0);
		counts[w - a->weighted]++;
	}
	CHECK(counts[0] == 1000 && counts[1] == 2000 && counts[2] == 0 && counts[3] == 3000);
	CHECK(strcmp(rw_router_pick_weighted(a, UINT64_MAX)->name, "c") == 0); /* 2^64-1 % 6 = 3 */
	CHECK(match("http", "h", "/plain", &v, &m) == 0);
	CHECK(rw_router_pick_weighted(&m.route->u.route, 0) == NULL);
}

static void test_rewrite(void)
{
	struct rw_http_request_view v;
	struct rw_route_result m;
	char out[8];
	size_t len;

	check_rewrite("/old/a/b?x=1", "/new/a/b?x=1");
	check_rewrite("/old/", "/new/");
	check_rewrite("/strip/x", "//x");
	check_rewrite("/stripped?q", "/ped?q");
	check_rewrite("/exact?x=1", "/e?x=1");
	check_rewrite("/EXACT", "/e");
	check_rewrite("/re/foo?q=1", "/whole?q=1");
	check_rewrite("/rx/a/b/c?z=1", "/b/c/a?z=1");
	check_rewrite("/g/foo/boo?o=o", "/g/f00/b00?o=o");
	check_rewrite("/e/ab", "-/-e-/-a-b-");
	check_rewrite("/plain/x", NULL);
	CHECK(match("http", "h", "/old/abcdefgh", &v, &m) == 0);
	CHECK(rw_router_rewrite_path(f.router, &m, &v, f.scratch, out, sizeof(out), &len) ==
	      -ENOSPC);
	CHECK(match("http", "h", "/https", &v, &m) == 0);
	CHECK(rw_router_rewrite_path(f.router, &m, &v, f.scratch, out, sizeof(out), &len) ==
	      -EINVAL);
}

static void test_redirect(void)
{
	struct rw_http_request_view v;
	struct rw_route_result m;
	char out[64];
	size_t len;

	check_redirect("http", "example.com:80", "/https", "https://example.com/https");
	check_redirect("http", "example.com", "/https?a=1", "https://example.com/https?a=1");
	check_redirect("http", "example.com:8080", "/https", "https://example.com:8080/https");
	check_redirect("https", "example.com:443", "/https", "https://example.com:443/https");
	check_redirect("http", "[::1]:80", "/https", "https://[::1]/https");
	check_redirect("http", "[::1]", "/https", "https://[::1]/https");
	check_redirect("http", "example.com:80", "/port", "http://example.com:8443/port");
	check_redirect("http", "example.com", "/port", "http://example.com:8443/port");
	check_redirect("https", "example.com:443", "/port?q", "https://example.com:8443/port?q");
	check_redirect("http", "old.com:8080", "/host", "http://new.example.com/host");
	check_redirect("http", "h", "/pr?q=1", "http://h/target?q=1");
	check_redirect("http", "h", "/pr", "http://h/target");
	check_redirect("http", "h", "/pq?q=1", "http://h/target?x=1");
	check_redirect("http", "h", "/ps?q=1", "http://h/target");
	check_redirect("http", "h", "/rp/a/b?z=1", "http://h/moved/a/b?z=1");
	check_redirect("http", "h", "/rr/abc?z=1", "http://h/x/abc");
	check_redirect("https", "h:443", "/sch", "http://h.example:81/sch");
	check_redirect("http", "h", "/np/x", "http://h/x");
	check_redirect("http", "h", "/np", "http://h/");
	CHECK(match("http", "h", "/d", &v, &m) == 0);
	CHECK(rw_router_redirect_location(f.router, &m, &v, f.scratch, out, sizeof(out), &len) ==
	      -EINVAL);
}

int main(void)
{
	fixture_load(&f, config);
	test_weighted();
	test_rewrite();
	test_redirect();
	fixture_free(&f);
	printf("router rewrite tests ok\n");
	return 0;
}
