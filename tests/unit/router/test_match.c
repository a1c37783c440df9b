/*
 * Unit tests for router/router.c and router/route_match.c: virtual host precedence
 * (exact, longest suffix wildcard, longest prefix wildcard, "*"; ports; ignore_port),
 * first-match route order and every match kind, driven by a table of requests against
 * configs loaded through the real loader.
 */
#include <errno.h>

#include "tests/unit/router/fixture.h"

#define ROUTE(name, match)   "  - name: " name "\n    match: " match "\n    route: {cluster: c}\n"
#define VHOST(name, domains) "- name: " name "\n  domains: " domains "\n  routes:\n"

static const char main_config[] =
    "validate_clusters: false\n"
    "virtual_hosts:\n" VHOST(
	"exact", "[\"www.example.com\", \"api.example.com:8080\", "
		 "\"[::1]:9000\"]") ROUTE("exact", "{prefix: /}") VHOST("suffix_long",
                                                                        "[\"*-bar.example.com\"]")
	ROUTE("suffix_long", "{prefix: /}") VHOST("suffix", "[\"*.example.com\"]") ROUTE(
	    "suffix", "{prefix: /}") VHOST("suffix_port",
                                           "[\"*.example.com:8443\"]") ROUTE("suffix_port",
                                                                             "{prefix: /}")
	    VHOST("prefix_long", "[\"api.example.*\"]") ROUTE("prefix_long", "{prefix: /}") VHOST(
		"prefix", "[\"api.*\"]") ROUTE("prefix", "{prefix: /}") VHOST("default", "[\"*\"]")
		ROUTE("default", "{prefix: /}") VHOST("routes", "[routes.test]") ROUTE(
		    "exact_path", "{path: /exact}") ROUTE("ci_prefix",
                                                          "{prefix: /CI, case_sensitive: false}")
		    ROUTE("ci_path", "{path: /Exact-CI, case_sensitive: false}") ROUTE(
			"separated", "{path_separated_prefix: /sep}") ROUTE("regex",
                                                                            "{safe_regex: {regex: "
                                                                            "\"/re/[0-9]+\"}}")
			ROUTE("hdr_exact",
                              "{prefix: /hdr, headers: [{name: x-env, string_match: "
                              "{exact: prod}}]}") ROUTE("hdr_prefix_ci",
                                                        "{prefix: /hdr, headers: [{name: x-env, "
                                                        "string_match: "
                                                        "{prefix: STA, ignore_case: true}}]}")
			    ROUTE("hdr_present", "{prefix: /hdr, headers: [{name: x-debug, "
                                                 "present_match: true}]}")
				ROUTE(
				    "hdr_invert",
				    "{prefix: /hdr, headers: [{name: x-block, invert_match: true, "
				    "string_match: {exact: \"yes\"}}, {name: x-kind}]}")
				    ROUTE("hdr_missing", "{prefix: /hdr, headers: [{name: x-opt, "
                                                         "treat_missing_header_as_empty: true, "
                                                         "string_match: {exact: \"\"}}]}")
					ROUTE("multi", "{prefix: /multi, headers: [{name: x-multi, "
                                                       "string_match: {exact: \"a,b\"}}]}")
					    ROUTE("pseudo",
                                                  "{prefix: /pseudo, headers: [{name: "
                                                  "\":method\", string_match: {exact: POST}}]}")
						ROUTE("hdr_regex",
                                                      "{prefix: /rxh, headers: [{name: x-num, "
                                                      "string_match: "
                                                      "{safe_regex: {regex: \"[0-9]{3}\"}}}]}")
						    ROUTE(
							"hdr_sfx_contains",
							"{prefix: /hs, headers: [{name: x-s, "
							"string_match: {suffix: .com}}, "
							"{name: x-c, string_match: {contains: MID, "
							"ignore_case: true}}]}")
							ROUTE("q_exact",
                                                              "{prefix: /q, query_parameters: "
                                                              "[{name: "
                                                              "debug, string_match: {exact: "
                                                              "\"1\"}}]}")
							    ROUTE("q_present",
                                                                  "{prefix: /q, query_parameters: "
                                                                  "[{name: \"a b\", present_match: "
                                                                  "true}]}")
								ROUTE("q_regex",
                                                                      "{prefix: /q, "
                                                                      "query_parameters: "
                                                                      "[{name: v, string_match: "
                                                                      "{safe_regex: {regex: "
                                                                      "\"x+\"}}}]}")
								    ROUTE("absent",
                                                                          "{prefix: /absent, "
                                                                          "headers: "
                                                                          "[{name: x-gone, "
                                                                          "present_match: false}]}")
									ROUTE("api", "{prefix: "
                                                                                     "/api}")
									    ROUTE("api_shadowed",
                                                                                  "{prefix: "
                                                                                  "/api/v1}");

struct row {
	const char *authority, *method, *path;
	const char *headers[9];
	const char *vhost, *route; /* NULL = no match (-ENOENT) */
};

static const struct row rows[] = {
    /* Domain precedence. */
    {"www.example.com", "GET", "/", {0}, "exact", "exact"},
    {"WWW.Example.COM", "GET", "/", {0}, "exact", "exact"},
    {"www.example.com:80", "GET", "/", {0}, "default", "default"},
    {"api.example.com:8080", "GET", "/", {0}, "exact", "exact"},
    {"api.example.com:8081", "GET", "/", {0}, "prefix_long", "prefix_long"},
    {"[::1]:9000", "GET", "/", {0}, "exact", "exact"},
    {"[::1]:9001", "GET", "/", {0}, "default", "default"},
    {"foo-bar.example.com", "GET", "/", {0}, "suffix_long", "suffix_long"},
    {"-bar.example.com", "GET", "/", {0}, "suffix", "suffix"},
    {"x.example.com", "GET", "/", {0}, "suffix", "suffix"},
    {"a.b.example.com", "GET", "/", {0}, "suffix", "suffix"},
    {".example.com", "GET", "/", {0}, "default", "default"},
    {"x.example.com:8443", "GET", "/", {0}, "suffix_port", "suffix_port"},
    {"api.example.com", "GET", "/", {0}, "suffix", "suffix"},
    {"api.example.org", "GET", "/", {0}, "prefix_long", "prefix_long"},
    {"API.other", "GET", "/", {0}, "prefix", "prefix"},
    {"api.", "GET", "/", {0}, "default", "default"},
    {"other.test", "GET", "/", {0}, "default", "default"},
    {"", "GET", "/", {0}, "default", "default"},
    {NULL, "GET", "/", {0}, NULL, NULL},
    /* Path kinds and order. */
    {"routes.test", "GET", "/exact", {0}, "routes", "exact_path"},
    {"routes.test", "GET", "/exact?a=1", {0}, "routes", "exact_path"},
    {"routes.test", "GET", "/exact#frag", {0}, "routes", "exact_path"},
    {"routes.test", "GET", "/exact/", {0}, "routes", NULL},
    {"routes.test", "GET", "/Exact", {0}, "routes", NULL},
    {"routes.test", "GET", "/ci/x", {0}, "routes", "ci_prefix"},
    {"routes.test", "GET", "/cI", {0}, "routes", "ci_prefix"},
    {"routes.test", "GET", "/EXACT-ci?x", {0}, "routes", "ci_path"},
    {"routes.test", "GET", "/sep", {0}, "routes", "separated"},
    {"routes.test", "GET", "/sep/a", {0}, "routes", "separated"},
    {"routes.test", "GET", "/sep?x", {0}, "routes", "separated"},
    {"routes.test", "GET", "/sepx", {0}, "routes", NULL},
    {"routes.test", "GET", "/Sep", {0}, "routes", NULL},
    {"routes.test", "GET", "/re/123", {0}, "routes", "regex"},
    {"routes.test", "GET", "/re/123?q=a", {0}, "routes", "regex"},
    {"routes.test", "GET", "/re/123x", {0}, "routes", NULL},
    {"routes.test", "GET", "/x/re/123", {0}, "routes", NULL},
    {"routes.test", "GET", "/api/v1/x", {0}, "routes", "api"},
    {"routes.test", "GET", "/nothing", {0}, "routes", NULL},
    /* Headers. */
    {"routes.test", "GET", "/hdr", {"x-env", "prod", 0}, "routes", "hdr_exact"},
    {"routes.test", "GET", "/hdr", {"x-env", "Prod", 0}, "routes", "hdr_missing"},
    {"routes.test", "GET", "/hdr", {"x-env", "StAgInG", 0}, "routes", "hdr_prefix_ci"},
    {"routes.test", "GET", "/hdr", {"x-debug", "", 0}, "routes", "hdr_present"},
    {"routes.test", "GET", "/hdr", {"x-kind", "k", 0}, "routes", "hdr_invert"},
    {"routes.test", "GET", "/hdr", {"x-kind", "k", "x-block", "no", 0}, "routes", "hdr_invert"},
    {"routes.test", "GET", "/hdr", {"x-kind", "k", "x-block", "yes", 0}, "routes", "hdr_missing"},
    {"routes.test", "GET", "/hdr", {0}, "routes", "hdr_missing"},
    {"routes.test", "GET", "/hdr", {"x-opt", "", 0}, "routes", "hdr_missing"},
    {"routes.test", "GET", "/hdr", {"x-opt", "v", 0}, "routes", NULL},
    {"routes.test",
     "GET",
     "/multi",
     {"x-multi", "a", "x-other", "z", "x-multi", "b", 0},
     "routes",
     "multi"},
    {"routes.test", "GET", "/multi", {"x-multi", "a,b", 0}, "routes", "multi"},
    {"routes.test", "GET", "/multi", {"x-multi", "a", 0}, "routes", NULL},
    {"routes.test", "POST", "/pseudo", {0}, "routes", "pseudo"},
    {"routes.test", "GET", "/pseudo", {0}, "routes", NULL},
    {"routes.test", "GET", "/rxh", {"x-num", "123", 0}, "routes", "hdr_regex"},
    {"routes.test", "GET", "/rxh", {"x-num", "1234", 0}, "routes", NULL},
    {"routes.test",
     "GET",
     "/hs",
     {"x-s", "a.com", "x-c", "amidb", 0},
     "routes",
     "hdr_sfx_contains"},
    {"routes.test",
     "GET",
     "/hs",
     {"x-s", "a.com", "x-c", "aMiDb", 0},
     "routes",
     "hdr_sfx_contains"},
    {"routes.test", "GET", "/hs", {"x-s", "a.org", "x-c", "mid", 0}, "routes", NULL},
    {"routes.test", "GET", "/hs", {"x-s", "a.com", "x-c", "mi", 0}, "routes", NULL},
    {"routes.test", "GET", "/absent", {0}, "routes", "absent"},
    {"routes.test", "GET", "/absent", {"x-gone", "1", 0}, "routes", NULL},
    /* Query parameters. */
    {"routes.test", "GET", "/q?debug=1", {0}, "routes", "q_exact"},
    {"routes.test", "GET", "/q?x=2&debug=1", {0}, "routes", "q_exact"},
    {"routes.test", "GET", "/q?debug=%31", {0}, "routes", "q_exact"},
    {"routes.test", "GET", "/q?debug=2&debug=1", {0}, "routes", NULL},
    {"routes.test", "GET", "/q?debug=1#x", {0}, "routes", "q_exact"},
    {"routes.test", "GET", "/q?debug=1x", {0}, "routes", NULL},
    {"routes.test", "GET", "/q?a+b", {0}, "routes", "q_present"},
    {"routes.test", "GET", "/q?a%20b=z", {0}, "routes", "q_present"},
    {"routes.test", "GET", "/q?v=xxx", {0}, "routes", "q_regex"},
    {"routes.test", "GET", "/q?v=xxy", {0}, "routes", NULL},
    {"routes.test", "GET", "/q?v", {0}, "routes", NULL},
    {"routes.test", "GET", "/q", {0}, "routes", NULL},
    {"routes.test", "GET", "/q#debug=1", {0}, "routes", NULL},
};

static bool eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void run_rows(struct fixture *f)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		struct rw_http_header hs[4];
		struct rw_http_request_view v =
		    request("http", w->authority, w->method, w->path, hs, 4, w->headers);
		struct rw_route_result m;
		int rc = rw_router_match(f->router, &v, f->scratch, &m);
		bool ok = w->route ? rc == 0 && eq(m.route->name, w->route) : rc == -ENOENT;

		ok = ok && (w->vhost ? eq(m.vhost ? m.vhost->name : NULL, w->vhost) : !m.vhost);
		if (!ok) {
			fprintf(stderr, "row %zu (%s %s): rc %d vhost %s route %s, want %s %s\n", i,
			        w->authority ? w->authority : "(none)", w->path, rc,
			        m.vhost ? m.vhost->name : "-", m.route ? m.route->name : "-",
			        w->vhost ? w->vhost : "-", w->route ? w->route : "-");
			abort();
		}
	}
	printf("%zu match rows ok\n", sizeof(rows) / sizeof(rows[0]));
}

static const char *vhost_of(struct fixture *f, const char *authority)
{
	struct rw_http_request_view v = request("http", authority, "GET", "/", NULL, 0, NULL);
	const struct rw_config_virtual_host *vh = rw_router_vhost(f->router, &v, NULL);

	return vh ? vh->name : NULL;
}

static void test_ignore_port(void)
{
	struct fixture f;

	fixture_load(&f, "validate_clusters: false\n"
	                 "ignore_port_in_host_matching: true\n"
	                 "virtual_hosts:\n" VHOST("exact", "[www.example.com, \"[::1]\"]")
	                     ROUTE("a", "{prefix: /}") VHOST("suffix", "[\"*.example.com\"]")
	                         ROUTE("b", "{prefix: /}"));
	CHECK(eq(vhost_of(&f, "www.example.com:8080"), "exact"));
	CHECK(eq(vhost_of(&f, "www.example.com"), "exact"));
	CHECK(eq(vhost_of(&f, "[::1]:80"), "exact"));
	CHECK(eq(vhost_of(&f, "x.example.com:1"), "suffix"));
	CHECK(!vhost_of(&f, "example.org"));
	CHECK(!vhost_of(&f, "[::1"));
	CHECK(!vhost_of(&f, NULL));
	fixture_free(&f);
}

static void test_default_only(void)
{
	struct fixture f;
	struct rw_http_request_view v = request("http", NULL, "GET", "/x", NULL, 0, NULL);
	struct rw_route_result m;

	fixture_load(&f, "validate_clusters: false\n"
	                 "virtual_hosts:\n" VHOST("all", "[\"*\"]") ROUTE("only", "{prefix: /x}"));
	/* Envoy's fast path: with "*" alone even a request without a Host matches. */
	CHECK(eq(vhost_of(&f, NULL), "all"));
	CHECK(rw_router_match(f.router, &v, f.scratch, &m) == 0 && eq(m.route->name, "only"));
	v.path = "/y";
	CHECK(rw_router_match(f.router, &v, f.scratch, &m) == -ENOENT && m.vhost && !m.route);
	fixture_free(&f);
}

static void test_bad_regex(void)
{
	char pattern[] = "(", star[] = "*", name[] = "v";
	struct rw_config_route_match match = {
	    .kind = RW_CONFIG_PATH_REGEX, .path = pattern, .case_sensitive = true};
	struct rw_config_route route = {.match = match, .action = RW_CONFIG_ACTION_DIRECT_RESPONSE};
	char *domains[] = {star};
	struct rw_config_virtual_host vh = {
	    .name = name, .domains = domains, .n_domains = 1, .routes = &route, .n_routes = 1};
	struct rw_config_route_config rc = {.virtual_hosts = &vh, .n_virtual_hosts = 1};
	struct rw_router *r = NULL;
	char err[256];

	CHECK(rw_router_build(&rc, &r, err, sizeof(err)) == -EINVAL && !r);
	CHECK(strstr(err, "invalid regex"));
}

int main(void)
{
	struct fixture f;

	fixture_load(&f, main_config);
	run_rows(&f);
	fixture_free(&f);
	test_ignore_port();
	test_default_only();
	test_bad_regex();
	return 0;
}
