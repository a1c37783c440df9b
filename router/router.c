/*
 * Building the route table and selecting a virtual host, as Envoy's RouteMatcher does.
 *
 * Every domain that is not "*" goes into one open-addressing hash table keyed by
 * (kind, lowercase text): exact names as written, "*.foo.com" as the suffix ".foo.com",
 * "foo.*" as the prefix "foo.".  Selection is one probe for the exact name, then one probe
 * per distinct suffix length (longest first), then per distinct prefix length, then "*".
 * A wildcard must cover at least one character, so a length >= the host's is skipped.
 * The authority is hashed and compared case-insensitively in place; nothing is copied.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/internal.h"

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* FNV-1a over the kind and the lowercased bytes. */
static uint64_t domain_hash(enum rw__domain_kind kind, const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)kind;

	h *= 0x100000001b3ull;
	for (size_t i = 0; i < len; i++) {
		h ^= lower((unsigned char)s[i]);
		h *= 0x100000001b3ull;
	}
	return h;
}

static bool same_lower(const char *key, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)key[i] != lower((unsigned char)s[i]))
			return false;
	return true;
}

static const struct rw__domain *domain_find(const struct rw_router *r, enum rw__domain_kind kind,
                                            const char *s, size_t len)
{
	uint64_t h = domain_hash(kind, s, len);

	for (size_t i = (size_t)h & r->domain_mask;; i = (i + 1) & r->domain_mask) {
		const struct rw__domain *d = &r->domains[i];

		if (!d->key)
			return NULL;
		if (d->hash == h && d->kind == kind && d->len == len && same_lower(d->key, s, len))
			return d;
	}
}

/* Envoy's HeaderUtility::getPortStart: the last ':' unless it is inside "[v6]". */
static size_t port_start(const char *host, size_t len)
{
	size_t colon = len, bracket = len;

	for (size_t i = len; i-- > 0;) {
		if (host[i] == ':' && colon == len)
			colon = i;
		if (host[i] == ']') {
			bracket = i;
			break;
		}
	}
	if (colon == len || (bracket != len && bracket > colon))
		return len;
	return colon;
}

const struct rw_config_virtual_host *
rw_router_vhost(const struct rw_router *r, const struct rw_http_request_view *req, size_t *index)
{
	const struct rw__domain *d;
	size_t vh = 0, len;
	const char *host;

	if (r->domain_mask == 0) {
		/* Only "*" (or nothing): Envoy's fast path, taken even without a Host. */
		if (!r->has_default)
			return NULL;
		vh = r->default_vhost;
		goto found;
	}
	if (!req->authority)
		return NULL;
	host = req->authority;
	len = req->authority_len;
	if (r->cfg->ignore_port_in_host_matching)
		len = port_start(host, len);
	d = domain_find(r, RW__DOMAIN_EXACT, host, len);
	for (size_t i = 0; !d && i < r->n_suffix_lens; i++) {
		size_t l = r->suffix_lens[i];

		if (l < len)
			d = domain_find(r, RW__DOMAIN_SUFFIX, host + len - l, l);
	}
	for (size_t i = 0; !d && i < r->n_prefix_lens; i++) {
		size_t l = r->prefix_lens[i];

		if (l < len)
			d = domain_find(r, RW__DOMAIN_PREFIX, host, l);
	}
	if (d)
		vh = d->vhost;
	else if (r->has_default)
		vh = r->default_vhost;
	else
		return NULL;
found:
	if (index)
		*index = vh;
	return r->vhosts[vh].cfg;
}

int rw_router_match(const struct rw_router *r, const struct rw_http_request_view *req,
                    struct rw_router_scratch *scratch, struct rw_route_result *out)
{
	const struct rw__router_vhost *vh;
	size_t vi = 0;

	memset(out, 0, sizeof(*out));
	out->vhost = rw_router_vhost(r, req, &vi);
	if (!out->vhost)
		return -ENOENT;
	out->vhost_index = vi;
	vh = &r->vhosts[vi];
	for (size_t i = 0; i < vh->n_routes; i++) {
		if (rw__router_route_matches(&vh->routes[i], req, scratch)) {
			out->route = vh->routes[i].cfg;
			out->route_index = i;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- building ---- */

struct build {
	struct rw_router *r;
	char *err;
	size_t errlen;
	size_t n_suffix, n_prefix;
};

__attribute__((format(printf, 3, 4))) static int fail(struct build *b, int rc, const char *fmt, ...)
{
	va_list ap;

	if (b->errlen) {
		va_start(ap, fmt);
		vsnprintf(b->err, b->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/*
 * Compile a pattern as UTF-8 that tolerates invalid UTF-8 subjects; full = RE2 FullMatch
 * (anchored at both ends, compile-time so JIT still applies).
 */
static int compile(struct build *b, const char *pattern, bool full, pcre2_code **out)
{
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, captures = 0;
	PCRE2_UCHAR message[160];
	PCRE2_SIZE offset = 0;
	int error = 0;

	if (full)
		opts |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
	*out =
	    pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &error, &offset, NULL);
	if (!*out) {
		if (error == PCRE2_ERROR_HEAP_FAILED)
			return fail(b, -ENOMEM, "out of memory compiling a regex");
		pcre2_get_error_message(error, message, sizeof(message));
		return fail(b, -EINVAL, "invalid regex '%s': %s at offset %zu", pattern,
		            (const char *)message, (size_t)offset);
	}
	/* JIT is an optimisation only: the interpreter is used when it is unavailable. */
	(void)pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
	pcre2_pattern_info(*out, PCRE2_INFO_CAPTURECOUNT, &captures);
	if (captures > b->r->max_captures)
		b->r->max_captures = captures;
	return 0;
}

static int build_string(struct build *b, const struct rw_config_string_match *cfg,
                        struct rw__router_string *s)
{
	s->cfg = cfg;
	s->len = strlen(cfg->value);
	if (cfg->kind == RW_CONFIG_STRING_REGEX)
		return compile(b, cfg->value, true, &s->re);
	return 0;
}

static enum rw__router_pseudo pseudo_of(const char *name)
{
	if (strcmp(name, ":method") == 0)
		return RW__PSEUDO_METHOD;
	if (strcmp(name, ":scheme") == 0)
		return RW__PSEUDO_SCHEME;
	if (strcmp(name, ":authority") == 0)
		return RW__PSEUDO_AUTHORITY;
	if (strcmp(name, ":path") == 0)
		return RW__PSEUDO_PATH;
	return RW__PSEUDO_NONE;
}

static int build_route(struct build *b, const struct rw_config_route *cfg,
                       struct rw__router_route *rt)
{
	const struct rw_config_route_match *m = &cfg->match;
	int rc = 0;

	rt->cfg = cfg;
	rt->path_len = m->path ? strlen(m->path) : 0;
	if (m->kind == RW_CONFIG_PATH_REGEX && (rc = compile(b, m->path, true, &rt->path_re)))
		return rc;
	rt->headers = calloc(m->n_headers ? m->n_headers : 1, sizeof(*rt->headers));
	rt->queries =
	    calloc(m->n_query_parameters ? m->n_query_parameters : 1, sizeof(*rt->queries));
	if (!rt->headers || !rt->queries)
		return fail(b, -ENOMEM, "out of memory");
	for (size_t i = 0; i < m->n_headers; i++, rt->n_headers++) {
		struct rw__router_header *h = &rt->headers[i];

		h->cfg = &m->headers[i];
		h->name_len = strlen(h->cfg->name);
		h->pseudo = pseudo_of(h->cfg->name);
		if (h->cfg->kind == RW_CONFIG_VALUE_STRING &&
		    (rc = build_string(b, &h->cfg->string, &h->string)))
			return rc;
	}
	for (size_t i = 0; i < m->n_query_parameters; i++, rt->n_queries++) {
		struct rw__router_query *q = &rt->queries[i];

		q->cfg = &m->query_parameters[i];
		q->name_len = strlen(q->cfg->name);
		if (q->cfg->kind == RW_CONFIG_VALUE_STRING &&
		    (rc = build_string(b, &q->cfg->string, &q->string)))
			return rc;
	}
	if (cfg->action == RW_CONFIG_ACTION_ROUTE) {
		const struct rw_config_route_action *a = &cfg->u.route;

		rt->prefix_rewrite = a->prefix_rewrite;
		if (a->regex_rewrite_pattern) {
			rt->rewrite_sub = a->regex_rewrite_substitution;
			rc = compile(b, a->regex_rewrite_pattern, false, &rt->rewrite_re);
		}
	} else if (cfg->action == RW_CONFIG_ACTION_REDIRECT) {
		const struct rw_config_redirect *rd = &cfg->u.redirect;

		if (rd->path_kind == RW_CONFIG_REDIRECT_PATH_PREFIX)
			rt->prefix_rewrite = rd->path;
		if (rd->path_kind == RW_CONFIG_REDIRECT_PATH_REGEX) {
			rt->rewrite_sub = rd->regex_substitution;
			rc = compile(b, rd->path, false, &rt->rewrite_re);
		}
	}
	return rc;
}

static void route_free(struct rw__router_route *rt)
{
	for (size_t i = 0; i < rt->n_headers; i++)
		pcre2_code_free(rt->headers[i].string.re);
	for (size_t i = 0; i < rt->n_queries; i++)
		pcre2_code_free(rt->queries[i].string.re);
	pcre2_code_free(rt->path_re);
	pcre2_code_free(rt->rewrite_re);
	free(rt->headers);
	free(rt->queries);
}

static void domain_insert(struct rw_router *r, enum rw__domain_kind kind, const char *key,
                          size_t len, size_t vhost)
{
	uint64_t h = domain_hash(kind, key, len);
	size_t i = (size_t)h & r->domain_mask;

	while (r->domains[i].key)
		i = (i + 1) & r->domain_mask;
	r->domains[i] =
	    (struct rw__domain){.key = key, .len = len, .hash = h, .kind = kind, .vhost = vhost};
}

/* Insert len into a descending list of distinct lengths. */
static void add_len(size_t *lens, size_t *n, size_t len)
{
	size_t i = 0;

	while (i < *n && lens[i] > len)
		i++;
	if (i < *n && lens[i] == len)
		return;
	memmove(&lens[i + 1], &lens[i], (*n - i) * sizeof(*lens));
	lens[i] = len;
	(*n)++;
}

static int build_domains(struct build *b)
{
	struct rw_router *r = b->r;
	const struct rw_config_route_config *rc = r->cfg;
	size_t n = 0, slots = 8;

	for (size_t v = 0; v < rc->n_virtual_hosts; v++)
		n += rc->virtual_hosts[v].n_domains;
	while (slots < 2 * n)
		slots *= 2;
	r->domains = calloc(slots, sizeof(*r->domains));
	r->suffix_lens = calloc(n ? n : 1, sizeof(*r->suffix_lens));
	r->prefix_lens = calloc(n ? n : 1, sizeof(*r->prefix_lens));
	if (!r->domains || !r->suffix_lens || !r->prefix_lens)
		return fail(b, -ENOMEM, "out of memory");
	r->domain_mask = slots - 1;
	n = 0;
	for (size_t v = 0; v < rc->n_virtual_hosts; v++) {
		const struct rw_config_virtual_host *vh = &rc->virtual_hosts[v];

		for (size_t i = 0; i < vh->n_domains; i++) {
			const char *d = vh->domains[i];
			size_t len = strlen(d);

			if (strcmp(d, "*") == 0) {
				r->has_default = true;
				r->default_vhost = v;
				continue;
			}
			n++;
			if (d[0] == '*') {
				domain_insert(r, RW__DOMAIN_SUFFIX, d + 1, len - 1, v);
				add_len(r->suffix_lens, &r->n_suffix_lens, len - 1);
			} else if (d[len - 1] == '*') {
				domain_insert(r, RW__DOMAIN_PREFIX, d, len - 1, v);
				add_len(r->prefix_lens, &r->n_prefix_lens, len - 1);
			} else {
				domain_insert(r, RW__DOMAIN_EXACT, d, len, v);
			}
		}
	}
	if (n == 0)
		r->domain_mask = 0; /* only "*": the fast path */
	return 0;
}

int rw_router_build(const struct rw_config_route_config *rc, struct rw_router **out, char *err,
                    size_t errlen)
{
	struct build b = {.err = err, .errlen = errlen};
	struct rw_router *r;
	int ret = 0;

	if (errlen)
		err[0] = '\0';
	*out = NULL;
	r = b.r = calloc(1, sizeof(*r));
	if (!r)
		return fail(&b, -ENOMEM, "out of memory");
	r->cfg = rc;
	r->vhosts = calloc(rc->n_virtual_hosts ? rc->n_virtual_hosts : 1, sizeof(*r->vhosts));
	if (!r->vhosts) {
		ret = fail(&b, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t v = 0; v < rc->n_virtual_hosts; v++) {
		const struct rw_config_virtual_host *cfg = &rc->virtual_hosts[v];
		struct rw__router_vhost *vh = &r->vhosts[v];

		r->n_vhosts++; /* counted first so a half-built vhost is freed too */
		vh->cfg = cfg;
		vh->routes = calloc(cfg->n_routes ? cfg->n_routes : 1, sizeof(*vh->routes));
		if (!vh->routes) {
			ret = fail(&b, -ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < cfg->n_routes; i++) {
			/* Counted first so a half-built route is freed too. */
			vh->n_routes++;
			ret = build_route(&b, &cfg->routes[i], &vh->routes[i]);
			if (ret)
				goto out;
		}
	}
	ret = build_domains(&b);
out:
	if (ret)
		rw_router_free(r);
	else
		*out = r;
	return ret;
}

void rw_router_free(struct rw_router *r)
{
	if (!r)
		return;
	for (size_t v = 0; v < r->n_vhosts; v++) {
		for (size_t i = 0; i < r->vhosts[v].n_routes; i++)
			route_free(&r->vhosts[v].routes[i]);
		free(r->vhosts[v].routes);
	}
	free(r->vhosts);
	free(r->domains);
	free(r->suffix_lens);
	free(r->prefix_lens);
	free(r);
}

int rw_router_scratch_create(const struct rw_router *r, size_t buf_cap,
                             struct rw_router_scratch **out)
{
	struct rw_router_scratch *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->cap = buf_cap ? buf_cap : RW_ROUTER_SCRATCH_DEFAULT;
	s->buf = malloc(s->cap);
	s->md = pcre2_match_data_create(r->max_captures + 1, NULL);
	if (!s->buf || !s->md) {
		rw_router_scratch_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void rw_router_scratch_free(struct rw_router_scratch *s)
{
	if (!s)
		return;
	pcre2_match_data_free(s->md);
	free(s->buf);
	free(s);
}
