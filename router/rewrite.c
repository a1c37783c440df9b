/*
 * What a matched route does to a request: the weighted cluster pick, the upstream path
 * (prefix_rewrite / regex_rewrite) and a redirect's Location, each as Envoy computes it
 * (RouteEntryImplBase::currentUrlPathAfterRewriteWithMatchedPath, Utility::newUri and its
 * processRequestHost).  Output goes to a caller's buffer; nothing allocates.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "router/internal.h"

const struct rw_config_weighted_cluster *
rw_router_pick_weighted(const struct rw_config_route_action *a, uint64_t random)
{
	uint64_t pick, end = 0;

	if (a->specifier != RW_CONFIG_ROUTE_WEIGHTED || a->total_weight == 0)
		return NULL;
	pick = random % a->total_weight;
	for (size_t i = 0; i < a->n_weighted; i++) {
		end += a->weighted[i].weight;
		if (pick < end)
			return &a->weighted[i];
	}
	return NULL;
}

/* An output buffer that remembers it overflowed instead of failing each write. */
struct out {
	char *p;
	size_t cap, len;
	bool overflow;
};

static void put(struct out *o, const char *s, size_t len)
{
	if (o->overflow || o->cap - o->len < len) {
		o->overflow = true;
		return;
	}
	memcpy(o->p + o->len, s, len);
	o->len += len;
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_lower(struct out *o, const char *s, size_t len)
{
	size_t at = o->len;

	put(o, s, len);
	if (o->overflow)
		return;
	for (size_t i = at; i < o->len; i++)
		if (o->p[i] >= 'A' && o->p[i] <= 'Z')
			o->p[i] = (char)(o->p[i] + ('a' - 'A'));
}

/* RE2::Rewrite: "\N" is capture group N (empty when unset), "\\" a backslash. */
static void put_substitution(struct out *o, const char *sub, const char *subject,
                             const PCRE2_SIZE *ov, uint32_t groups)
{
	for (const char *s = sub; *s; s++) {
		if (*s != '\\' || !s[1]) {
			put(o, s, 1);
			continue;
		}
		s++;
		if (*s >= '0' && *s <= '9') {
			uint32_t g = (uint32_t)(*s - '0');

			if (g < groups && ov[2 * g] != PCRE2_UNSET)
				put(o, subject + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
		} else {
			put(o, s, 1);
		}
	}
}

/*
 * RE2::GlobalReplace: every non-overlapping match replaced; an empty match right after
 * the previous match is skipped by one character (a whole UTF-8 sequence).
 */
static void global_replace(struct out *o, const pcre2_code *re, const char *sub,
                           const char *subject, size_t len, struct rw_router_scratch *scratch)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(scratch->md);
	size_t p = 0, last_end = (size_t)-1;

	while (p <= len) {
		int rc = pcre2_match(re, (PCRE2_SPTR)subject, len, p, 0, scratch->md, NULL);

		if (rc <= 0)
			break;
		if (p < ov[0])
			put(o, subject + p, ov[0] - p);
		if (ov[0] == last_end && ov[0] == ov[1]) {
			size_t n = 1;

			if (p >= len)
				break;
			while (p + n < len && ((unsigned char)subject[p + n] & 0xc0) == 0x80)
				n++;
			put(o, subject + p, n);
			p += n;
			continue;
		}
		put_substitution(o, sub, subject, ov, (uint32_t)rc);
		p = last_end = ov[1];
	}
	if (p < len)
		put(o, subject + p, len - p);
}

/* Write the rewritten path; false when the route has no rewrite. */
static bool rewrite(const struct rw__router_route *rt, const struct rw_http_request_view *req,
                    struct rw_router_scratch *scratch, struct out *o)
{
	size_t plen = rw__router_path_only(req->path, req->path_len), matched;

	if (rt->prefix_rewrite) {
		/* A regex route "matched" the whole path; the others their path or prefix. */
		matched = rt->cfg->match.kind == RW_CONFIG_PATH_REGEX ? plen : rt->path_len;
		if (matched > req->path_len)
			matched = req->path_len;
		put_str(o, rt->prefix_rewrite);
		put(o, req->path + matched, req->path_len - matched);
		return true;
	}
	if (rt->rewrite_re) {
		global_replace(o, rt->rewrite_re, rt->rewrite_sub, req->path, plen, scratch);
		put(o, req->path + plen, req->path_len - plen);
		return true;
	}
	return false;
}

static const struct rw__router_route *route_of(const struct rw_router *r,
                                               const struct rw_route_result *m)
{
	if (!m->route || m->vhost_index >= r->n_vhosts ||
	    m->route_index >= r->vhosts[m->vhost_index].n_routes)
		return NULL;
	return &r->vhosts[m->vhost_index].routes[m->route_index];
}

int rw_router_rewrite_path(const struct rw_router *r, const struct rw_route_result *m,
                           const struct rw_http_request_view *req,
                           struct rw_router_scratch *scratch, char *out, size_t cap,
                           size_t *out_len)
{
	const struct rw__router_route *rt = route_of(r, m);
	struct out o = {.p = out, .cap = cap};

	if (!rt || rt->cfg->action != RW_CONFIG_ACTION_ROUTE)
		return -EINVAL;
	if (!rewrite(rt, req, scratch, &o))
		return 0;
	if (o.overflow)
		return -ENOSPC;
	*out_len = o.len;
	return 1;
}

static bool same_ci(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	return alen == blen && strncasecmp(a, b, blen) == 0;
}

/* Envoy's processRequestHost: drop the request's port when it would now be wrong. */
static void put_request_host(struct out *o, const struct rw_http_request_view *req,
                             const char *scheme, size_t scheme_len, bool new_port)
{
	const char *host = req->authority ? req->authority : "";
	size_t len = req->authority ? req->authority_len : 0, end = len;

	if (len && host[0] == '[') {
		for (size_t i = len; i-- > 1;)
			if (host[i] == ':' && host[i - 1] == ']') {
				end = i;
				break;
			}
	} else {
		for (size_t i = len; i-- > 0;)
			if (host[i] == ':') {
				end = i;
				break;
			}
	}
	if (end < len) {
		const char *port = host + end;
		size_t plen = len - end;
		bool drop = new_port;

		if (!(scheme_len == req->scheme_len &&
		      strncasecmp(scheme, req->scheme, scheme_len) == 0)) {
			drop |= same_ci(req->scheme, req->scheme_len, "https") && plen == 4 &&
			        memcmp(port, ":443", 4) == 0;
			drop |= same_ci(req->scheme, req->scheme_len, "http") && plen == 3 &&
			        memcmp(port, ":80", 3) == 0;
		}
		if (drop)
			len = end;
	}
	put(o, host, len);
}

int rw_router_redirect_location(const struct rw_router *r, const struct rw_route_result *m,
                                const struct rw_http_request_view *req,
                                struct rw_router_scratch *scratch, char *out, size_t cap,
                                size_t *out_len)
{
	const struct rw__router_route *rt = route_of(r, m);
	const struct rw_config_redirect *rd;
	struct out o = {.p = out, .cap = cap};
	const char *scheme;
	size_t scheme_len, path_at;
	bool path_has_query = false;

	if (!rt || rt->cfg->action != RW_CONFIG_ACTION_REDIRECT)
		return -EINVAL;
	rd = &rt->cfg->u.redirect;
	scheme = rd->scheme ? rd->scheme : req->scheme;
	scheme_len = rd->scheme ? strlen(rd->scheme) : req->scheme_len;
	if (!scheme)
		scheme = "", scheme_len = 0;
	put_lower(&o, scheme, scheme_len);
	put_str(&o, "://");
	if (rd->host)
		put_str(&o, rd->host);
	else
		put_request_host(&o, req, scheme, scheme_len, rd->port != 0);
	if (rd->port) {
		char port[8];
		size_t n = sizeof(port);

		/* ":%u" without stdio, digits right-aligned. */
		for (unsigned v = rd->port; v; v /= 10)
			port[--n] = (char)('0' + v % 10);
		port[--n] = ':';
		put(&o, port + n, sizeof(port) - n);
	}
	path_at = o.len;
	if (rd->path_kind == RW_CONFIG_REDIRECT_PATH_REPLACE) {
		/* A query in path_redirect wins over the request's and survives strip_query. */
		const char *q = memchr(req->path, '?', req->path_len);

		path_has_query = strchr(rd->path, '?') != NULL;
		put_str(&o, rd->path);
		if (!path_has_query && q)
			put(&o, q, req->path_len - (size_t)(q - req->path));
	} else if (!rewrite(rt, req, scratch, &o)) {
		put(&o, req->path, req->path_len);
	}
	if (!o.overflow && (o.len == path_at || o.p[path_at] != '/')) {
		put(&o, "/", 1); /* room check; then shift into place */
		if (!o.overflow) {
			memmove(o.p + path_at + 1, o.p + path_at, o.len - 1 - path_at);
			o.p[path_at] = '/';
		}
	}
	if (!o.overflow && !path_has_query && rd->strip_query) {
		char *q = memchr(o.p + path_at, '?', o.len - path_at);

		if (q)
			o.len = (size_t)(q - o.p);
	}
	if (o.overflow)
		return -ENOSPC;
	*out_len = o.len;
	return 0;
}
