/*
 * Does one route match a request?  Envoy's RouteEntryImplBase::matchRoute plus the path
 * matchers: the path (without query and fragment) by prefix / exact / path_separated_prefix
 * / full-match regex, then every header matcher, then every query parameter matcher.
 *
 * Headers repeated under one name are matched as their values joined by ',' (Envoy's
 * getAllOfHeaderAsString); query names and values are URL-decoded ('+' is a space, %XX a
 * byte) and only the first occurrence of a name counts.  Both need the scratch buffer; a
 * value too large for it does not match, so a request can never make this allocate.
 */
#include <string.h>

#include "core/hex.h"
#include "router/internal.h"

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

static bool equal(const char *a, const char *b, size_t len, bool ignore_case)
{
	if (!ignore_case)
		return memcmp(a, b, len) == 0;
	for (size_t i = 0; i < len; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

size_t rw__router_path_only(const char *path, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (path[i] == '?' || path[i] == '#')
			return i;
	return len;
}

static bool regex_full(const pcre2_code *re, const char *s, size_t len,
                       struct rw_router_scratch *scratch)
{
	return pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, scratch->md, NULL) >= 0;
}

/* type.matcher.v3.StringMatcher; ignore_case does not apply to safe_regex, as in Envoy. */
static bool string_matches(const struct rw__router_string *s, const char *v, size_t len,
                           struct rw_router_scratch *scratch)
{
	bool icase = s->cfg->ignore_case;
	const char *want = s->cfg->value;

	switch (s->cfg->kind) {
	case RW_CONFIG_STRING_EXACT:
		return len == s->len && equal(v, want, len, icase);
	case RW_CONFIG_STRING_PREFIX:
		return len >= s->len && equal(v, want, s->len, icase);
	case RW_CONFIG_STRING_SUFFIX:
		return len >= s->len && equal(v + len - s->len, want, s->len, icase);
	case RW_CONFIG_STRING_CONTAINS:
		for (size_t i = 0; i + s->len <= len; i++)
			if (equal(v + i, want, s->len, icase))
				return true;
		return false;
	case RW_CONFIG_STRING_REGEX:
		return regex_full(s->re, v, len, scratch);
	}
	return false;
}

static bool path_matches(const struct rw__router_route *rt, const struct rw_http_request_view *req,
                         struct rw_router_scratch *scratch)
{
	const struct rw_config_route_match *m = &rt->cfg->match;
	size_t len = rw__router_path_only(req->path, req->path_len), want = rt->path_len;
	bool icase = !m->case_sensitive;

	switch (m->kind) {
	case RW_CONFIG_PATH_PREFIX:
		return len >= want && equal(req->path, m->path, want, icase);
	case RW_CONFIG_PATH_EXACT:
		return len == want && equal(req->path, m->path, want, icase);
	case RW_CONFIG_PATH_SEPARATED_PREFIX:
		return len >= want && equal(req->path, m->path, want, icase) &&
		       (len == want || req->path[want] == '/');
	case RW_CONFIG_PATH_REGEX:
		return regex_full(rt->path_re, req->path, len, scratch);
	}
	return false;
}

enum lookup {
	ABSENT = 0,
	PRESENT,
	TOO_LONG, /* present, but the joined value does not fit the scratch buffer */
};

/* Find a header's value, joining repeats with ',' into the scratch buffer. */
static enum lookup header_value(const struct rw__router_header *h,
                                const struct rw_http_request_view *req,
                                struct rw_router_scratch *scratch, const char **value, size_t *len)
{
	size_t used = 0, found = 0;

	switch (h->pseudo) {
	case RW__PSEUDO_METHOD:
		*value = req->method, *len = req->method_len;
		return *value ? PRESENT : ABSENT;
	case RW__PSEUDO_SCHEME:
		*value = req->scheme, *len = req->scheme_len;
		return *value ? PRESENT : ABSENT;
	case RW__PSEUDO_AUTHORITY:
		*value = req->authority, *len = req->authority_len;
		return *value ? PRESENT : ABSENT;
	case RW__PSEUDO_PATH:
		*value = req->path, *len = req->path_len;
		return *value ? PRESENT : ABSENT;
	case RW__PSEUDO_NONE:
		break;
	}
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct rw_http_header *hd = &req->headers[i];

		if (hd->name_len != h->name_len || memcmp(hd->name, h->cfg->name, h->name_len) != 0)
			continue;
		if (found++ == 0) {
			*value = hd->value, *len = hd->value_len;
			continue;
		}
		if (found == 2) {
			if (*len > scratch->cap)
				return TOO_LONG;
			memcpy(scratch->buf, *value, *len);
			used = *len;
		}
		if (scratch->cap - used < hd->value_len + 1)
			return TOO_LONG;
		scratch->buf[used++] = ',';
		memcpy(scratch->buf + used, hd->value, hd->value_len);
		used += hd->value_len;
	}
	if (found > 1)
		*value = scratch->buf, *len = used;
	return found ? PRESENT : ABSENT;
}

/* config.route.v3.HeaderMatcher, as Envoy's HeaderUtility::matchHeaders. */
static bool header_matches(const struct rw__router_header *h,
                           const struct rw_http_request_view *req,
                           struct rw_router_scratch *scratch)
{
	const struct rw_config_header_match *cfg = h->cfg;
	const char *value = NULL;
	size_t len = 0;
	enum lookup found = header_value(h, req, scratch, &value, &len);

	if (cfg->kind == RW_CONFIG_VALUE_PRESENT)
		return ((found != ABSENT) == cfg->present) != cfg->invert_match;
	if (found == TOO_LONG)
		return false;
	if (found == ABSENT) {
		if (!cfg->treat_missing_header_as_empty)
			return cfg->invert_match;
		value = "", len = 0;
	}
	return string_matches(&h->string, value, len, scratch) != cfg->invert_match;
}

/*
 * URL-decode s into out (at most cap bytes) as Envoy's urlDecodeQueryParameter: "+" is a
 * space, "%XX" a byte, a malformed escape stays as written.  Returns the decoded length,
 * or cap + 1 when it does not fit.
 */
static size_t url_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (n == cap)
			return cap + 1;
		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < len && rw_hex_value(s[i + 1]) >= 0 &&
		           rw_hex_value(s[i + 2]) >= 0) {
			c = (unsigned char)(rw_hex_value(s[i + 1]) << 4 | rw_hex_value(s[i + 2]));
			i += 2;
		}
		out[n++] = (char)c;
	}
	return n;
}

/*
 * config.route.v3.QueryParameterMatcher: the first parameter whose decoded name equals
 * the matcher's must exist; present_match (true or false, as in Envoy) only asks for that.
 */
static bool query_matches(const struct rw__router_query *q, const char *query, size_t len,
                          struct rw_router_scratch *scratch)
{
	size_t start = 0;

	while (start <= len && len) {
		size_t end = start, eq, n;

		while (end < len && query[end] != '&')
			end++;
		eq = start;
		while (eq < end && query[eq] != '=')
			eq++;
		n = url_decode(query + start, eq - start, scratch->buf, scratch->cap);
		if (n == q->name_len && memcmp(scratch->buf, q->cfg->name, n) == 0) {
			if (q->cfg->kind == RW_CONFIG_VALUE_PRESENT)
				return true;
			if (eq == end)
				n = 0;
			else
				n = url_decode(query + eq + 1, end - eq - 1, scratch->buf,
				               scratch->cap);
			return n <= scratch->cap &&
			       string_matches(&q->string, scratch->buf, n, scratch);
		}
		start = end + 1;
	}
	return false;
}

bool rw__router_route_matches(const struct rw__router_route *rt,
                              const struct rw_http_request_view *req,
                              struct rw_router_scratch *scratch)
{
	const char *query = NULL;
	size_t qlen = 0;

	if (!path_matches(rt, req, scratch))
		return false;
	for (size_t i = 0; i < rt->n_headers; i++)
		if (!header_matches(&rt->headers[i], req, scratch))
			return false;
	if (rt->n_queries) {
		size_t q = rw__router_path_only(req->path, req->path_len);

		if (q < req->path_len && req->path[q] == '?') {
			query = req->path + q + 1;
			/* A later '?' belongs to the query; only '#' ends it. */
			qlen = req->path_len - q - 1;
			for (size_t i = 0; i < qlen; i++)
				if (query[i] == '#') {
					qlen = i;
					break;
				}
		}
	}
	for (size_t i = 0; i < rt->n_queries; i++)
		if (!query || !query_matches(&rt->queries[i], query, qlen, scratch))
			return false;
	return true;
}
