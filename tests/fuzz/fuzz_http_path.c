/*
 * libFuzzer harness for the HTTP connection manager's path normalization
 * (rw__http_normalize_path: normalize_path and merge_slashes, proxy/http_util.c).
 *
 * Input: byte 0 picks the options (bit 0 normalize_path, bit 1 merge_slashes), the rest is a
 * request path.  Beyond "no crash, no overflow": the result never grows, the query is kept
 * byte for byte, a successful result starts with '/', normalizing again changes nothing
 * (idempotent), and with normalize_path no "." or ".." segment and no escape of an
 * unreserved character remains; with merge_slashes no "//" remains before the query.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy/http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_dot_segment(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t e = i + 1;

		if (p[i] != '/')
			continue;
		while (e < n && p[e] != '/')
			e++;
		if ((e - i == 2 && p[i + 1] == '.') ||
		    (e - i == 3 && p[i + 1] == '.' && p[i + 2] == '.'))
			return true;
	}
	return false;
}

static size_t path_len(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '?' || p[i] == '#')
			return i;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool normalize, merge;
	char *a, *b;
	ssize_t n, m;
	size_t len, q_in, q_out;

	if (size < 1 || size > 4096)
		return 0;
	normalize = data[0] & 1;
	merge = (data[0] & 2) != 0;
	len = size - 1;
	a = malloc(len + 1);
	b = malloc(len + 1);
	if (!a || !b)
		abort();
	memcpy(a, data + 1, len);
	q_in = path_len(a, len);
	n = rw__http_normalize_path(a, len, normalize, merge);
	if (n >= 0) {
		if ((size_t)n > len || n == 0 || a[0] != '/')
			abort();
		q_out = path_len(a, (size_t)n);
		/* the query (from the first '?' or '#') is untouched */
		if ((size_t)n - q_out != len - q_in ||
		    memcmp(a + q_out, (const char *)data + 1 + q_in, len - q_in) != 0)
			abort();
		if (normalize && has_dot_segment(a, q_out))
			abort();
		if (merge)
			for (size_t i = 0; i + 1 < q_out; i++)
				if (a[i] == '/' && a[i + 1] == '/')
					abort();
		memcpy(b, a, (size_t)n);
		m = rw__http_normalize_path(b, (size_t)n, normalize, merge);
		if (m != n || memcmp(a, b, (size_t)n) != 0)
			abort();
	}
	free(a);
	free(b);
	return 0;
}
