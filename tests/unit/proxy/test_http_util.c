/*
 * Unit tests for the HTTP connection manager's pure helpers: header blocks
 * (proxy/http_headers.c) and path normalization (normalize_path / merge_slashes in
 * proxy/http_util.c), each against Envoy's documented results.
 */
#include <string.h>

#include "../check.h"
#include "proxy/http_headers.h"
#include "proxy/http_internal.h"

static void test_headers(void)
{
	struct rw_http_headers h = {0};
	size_t len = 0;
	const char *v;

	CHECK(rw_http_headers_add(&h, RW_HTTP_LIT("Content-Type"), RW_HTTP_LIT("text/plain")) == 0);
	CHECK(rw_http_headers_add(&h, RW_HTTP_LIT("X-A"), RW_HTTP_LIT("1")) == 0);
	CHECK(rw_http_headers_add(&h, RW_HTTP_LIT("x-a"), RW_HTTP_LIT("2")) == 0);
	/* Names are lowercased on the way in. */
	v = rw_http_headers_get(&h, "content-type", &len);
	CHECK(v && len == 10 && memcmp(v, "text/plain", 10) == 0);
	CHECK(rw_http_headers_find(&h, RW_HTTP_LIT("x-a"), 0) == 1);
	CHECK(rw_http_headers_find(&h, RW_HTTP_LIT("x-a"), 2) == 2);
	/* set replaces every copy by one, in place when it fits. */
	CHECK(rw_http_headers_set(&h, RW_HTTP_LIT("x-a"), RW_HTTP_LIT("z")) == 0);
	CHECK(h.n == 2 && rw_http_headers_find(&h, RW_HTTP_LIT("x-a"), 2) < 0);
	v = rw_http_headers_get(&h, "x-a", &len);
	CHECK(len == 1 && v[0] == 'z' && v[1] == '\0');
	/* A longer value is appended (the arena may move: nothing may keep old pointers). */
	for (int i = 0; i < 200; i++)
		CHECK(rw_http_headers_add(&h, RW_HTTP_LIT("x-many"), RW_HTTP_LIT("0123456789")) ==
		      0);
	CHECK(rw_http_headers_set(&h, RW_HTTP_LIT("x-a"), RW_HTTP_LIT("a longer value")) == 0);
	v = rw_http_headers_get(&h, "x-a", &len);
	CHECK(len == 14 && strcmp(v, "a longer value") == 0);
	CHECK(rw_http_headers_remove(&h, RW_HTTP_LIT("x-many")) == 200);
	CHECK(h.n == 2);
	rw_http_headers_clear(&h);
	CHECK(h.n == 0 && !rw_http_headers_get(&h, "x-a", NULL));
	rw_http_headers_free(&h);
	CHECK(h.arena == NULL && h.f == NULL);
}

static void norm(const char *in, bool normalize, bool merge, const char *want)
{
	char buf[256];
	size_t len = strlen(in);
	ssize_t n;

	memcpy(buf, in, len);
	n = rw__http_normalize_path(buf, len, normalize, merge);
	if (!want) {
		if (n >= 0)
			fprintf(stderr, "'%s': expected invalid, got '%.*s'\n", in, (int)n, buf);
		CHECK(n < 0);
		return;
	}
	if (n < 0 || (size_t)n != strlen(want) || memcmp(buf, want, (size_t)n) != 0)
		fprintf(stderr, "'%s' -> '%.*s', want '%s'\n", in, n < 0 ? 0 : (int)n, buf, want);
	CHECK(n >= 0 && (size_t)n == strlen(want) && memcmp(buf, want, (size_t)n) == 0);
}

static void test_normalize(void)
{
	norm("/", true, false, "/");
	norm("/a/b/c", true, false, "/a/b/c");
	norm("/a/./b", true, false, "/a/b");
	norm("/a/b/../c", true, false, "/a/c");
	norm("/a/b/..", true, false, "/a/");
	norm("/a/b/.", true, false, "/a/b/");
	norm("/../../x", true, false, "/x");
	norm("/..", true, false, "/");
	norm("/a/%2e%2E/b", true, false, "/b"); /* decoded dots are dot segments too */
	norm("/%7euser/%41", true, false, "/~user/A");
	norm("/a%2fb", true, false, "/a%2fb");              /* reserved: kept as sent */
	norm("/a/../b?x=/../y", true, false, "/b?x=/../y"); /* the query is untouched */
	norm("/a%zz", true, false, "/a%zz");                /* not an escape: passed through */
	norm("/a%4", true, false, "/a%4");
	norm("/a%00b", true, false, NULL);
	/* Decoding must not create an escape a second decoder would read ("%%34" is not "%4"). */
	norm("/%%3434", true, false, "/%%3434");
	norm("/%%34%35", true, false, "/%%345");
	norm("a/b", true, false, NULL);
	norm("//a///b//", false, true, "/a/b/");
	norm("/a//b?q=//", false, true, "/a/b?q=//");
	norm("/a/./b", false, true, "/a/./b"); /* merge only: dots stay */
	norm("//a/./..//b", true, true, "/b");
}

int main(void)
{
	test_headers();
	test_normalize();
	printf("proxy http util: ok\n");
	return 0;
}
