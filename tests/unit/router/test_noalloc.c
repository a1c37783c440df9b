/*
 * The router's promise that matching allocates nothing: 100k matches, rewrites and
 * redirects (regexes, joined headers, decoded query values included) under a malloc
 * counter.  The counter interposes malloc/calloc/realloc for the whole process, so PCRE2's
 * allocations count too; sanitizer builds bring their own allocator and skip (77).
 */
#include <errno.h>

#include "tests/unit/router/fixture.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define NO_INTERPOSE 1
#endif
#endif

/* Counted by the interposed allocator; stays 0 (and the test skips) under sanitizers. */
static size_t allocations;

#ifndef NO_INTERPOSE
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);

void *malloc(size_t n)
{
	allocations++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	allocations++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	allocations++;
	return __libc_realloc(p, n);
}
#endif

static const char config[] =
    "validate_clusters: false\n"
    "virtual_hosts:\n"
    "- name: a\n"
    "  domains: [www.example.com, \"*.example.com\", \"api.*\"]\n"
    "  routes:\n"
    "  - match: {safe_regex: {regex: \"/v[0-9]+/(items|users)/[a-z]+\"}, headers: [{name: x-m, "
    "string_match: {safe_regex: {regex: \"a.*\"}}}], query_parameters: [{name: q, "
    "string_match: {prefix: hello}}]}\n"
    "    route: {cluster: c, regex_rewrite: {pattern: {regex: \"([a-z]+)\"}, substitution: "
    "\"<\\\\1>\"}}\n"
    "  - match: {prefix: /r}\n"
    "    redirect: {https_redirect: true, regex_rewrite: {pattern: {regex: \"r\"}, "
    "substitution: R}}\n"
    "- name: b\n"
    "  domains: [\"*\"]\n"
    "  routes: [{match: {prefix: /}, route: {cluster: c}}]\n";

int main(void)
{
	static const char *const headers[] = {"x-m", "ab", "x-m", "cd", "x-z", "1", NULL};
	struct rw_http_header hs[4];
	struct rw_http_request_view v = request(
	    "http", "Foo.Example.com", "GET", "/v2/users/bob?z=1&q=hello%20world", hs, 4, headers);
	struct rw_http_request_view r = request("http", "api.x:80", "GET", "/rrr?x", NULL, 0, NULL);
	struct rw_route_result m;
	struct fixture f;
	char out[256];
	size_t len, before;

#ifdef NO_INTERPOSE
	return 77;
#endif
	fixture_load(&f, config);
	/* Warm up once (JIT stacks, lazily sized PCRE2 frames) before counting. */
	CHECK(rw_router_match(f.router, &v, f.scratch, &m) == 0 && m.route_index == 0);
	CHECK(rw_router_rewrite_path(f.router, &m, &v, f.scratch, out, sizeof(out), &len) == 1);
	CHECK(len == 39 && memcmp(out, "/<v>2/<users>/<bob>?z=1&q=hello%20world", len) == 0);
	CHECK(rw_router_match(f.router, &r, f.scratch, &m) == 0);
	CHECK(rw_router_redirect_location(f.router, &m, &r, f.scratch, out, sizeof(out), &len) ==
	      0);
	CHECK(len == 19 && memcmp(out, "https://api.x/RRR?x", len) == 0);
	before = allocations;
	for (int i = 0; i < 100000; i++) {
		CHECK(rw_router_match(f.router, &v, f.scratch, &m) == 0);
		CHECK(rw_router_rewrite_path(f.router, &m, &v, f.scratch, out, sizeof(out), &len) ==
		      1);
		CHECK(rw_router_match(f.router, &r, f.scratch, &m) == 0);
		CHECK(rw_router_redirect_location(f.router, &m, &r, f.scratch, out, sizeof(out),
		                                  &len) == 0);
	}
	if (allocations != before) {
		fprintf(stderr, "%zu allocations in the matching loop\n", allocations - before);
		return 1;
	}
	fixture_free(&f);
	printf("no allocation in 100000 iterations\n");
	return 0;
}
