/*
 * Route hash_policy: the request's hash for RING_HASH and MAGLEV clusters (Envoy's
 * semantics): header, cookie (generated and set when absent and a ttl is given), the client's
 * IP, a query parameter; several policies combine, a terminal one that produced a value
 * stops the walk.
 */
#include <stdio.h>
#include <string.h>

#include "lb/lb.h"
#include "proxy/http_internal.h"

/* The value of cookie `name` in the request's Cookie header(s), or NULL. */
static const char *find_cookie(const struct rw_http_headers *h, const char *name, size_t *len)
{
	size_t nl = strlen(name);

	for (int i = rw_http_headers_find(h, RW_HTTP_LIT("cookie"), 0); i >= 0;
	     i = rw_http_headers_find(h, RW_HTTP_LIT("cookie"), (uint32_t)i + 1)) {
		const char *v = rw_http_field_value(h, (uint32_t)i);
		size_t vl = h->f[i].value_len, p = 0;

		while (p < vl) {
			size_t e = p, eq;

			while (e < vl && v[e] != ';')
				e++;
			while (p < e && v[p] == ' ')
				p++;
			for (eq = p; eq < e && v[eq] != '='; eq++)
				;
			if (eq < e && eq - p == nl && memcmp(v + p, name, nl) == 0) {
				const char *val = v + eq + 1;
				size_t n = e - eq - 1;

				if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
					val++;
					n -= 2;
				}
				*len = n;
				return val;
			}
			p = e + 1;
		}
	}
	return NULL;
}

/* The value of query parameter `name` in :path, or NULL. */
static const char *find_query(const struct rw_http_headers *h, const char *name, size_t *len)
{
	size_t pl = 0, nl = strlen(name);
	const char *path = rw_http_headers_get(h, ":path", &pl);
	const char *q = path ? memchr(path, '?', pl) : NULL;
	size_t p, end;

	if (!q)
		return NULL;
	p = (size_t)(q - path) + 1;
	end = pl;
	for (size_t i = p; i < pl; i++)
		if (path[i] == '#') {
			end = i;
			break;
		}
	while (p < end) {
		size_t e = p, eq;

		while (e < end && path[e] != '&')
			e++;
		for (eq = p; eq < e && path[eq] != '='; eq++)
			;
		if (eq - p == nl && memcmp(path + p, name, nl) == 0) {
			*len = eq < e ? e - eq - 1 : 0;
			return eq < e ? path + eq + 1 : path + e;
		}
		p = e + 1;
	}
	return NULL;
}

bool rw__http_request_hash(struct http_stream *s, const struct rw_config_route_action *a,
                           uint64_t *out)
{
	bool have = false;
	uint64_t hash = 0;

	for (size_t i = 0; i < a->n_hash_policies; i++) {
		const struct rw_config_hash_policy *hp = &a->hash_policies[i];
		const char *v = NULL;
		size_t len = 0;
		char buf[64];

		switch (hp->kind) {
		case RW_CONFIG_HASH_HEADER:
			v = rw_http_headers_get(&s->req, hp->name, &len);
			break;
		case RW_CONFIG_HASH_COOKIE:
			v = find_cookie(&s->req, hp->name, &len);
			if (!v && hp->cookie_ttl_set) {
				/* Envoy: no cookie, a ttl: generate one from the client's address,
				 * route on it, and set it on the response. */
				const struct sockaddr_storage *peer = rw__http_conn_addr(s->c, 0);
				size_t n =
				    peer ? rw__http_addr_format(peer, true, buf, sizeof(buf)) : 0;

				snprintf(s->cookie_value, sizeof(s->cookie_value), "%016llx",
				         (unsigned long long)rw_lb_hash(buf, n));
				s->cookie_policy = hp;
				v = s->cookie_value;
				len = 16;
			}
			break;
		case RW_CONFIG_HASH_SOURCE_IP: {
			const struct sockaddr_storage *peer = rw__http_conn_addr(s->c, 0);

			if (peer) {
				len = rw__http_addr_format(peer, false, buf, sizeof(buf));
				v = buf;
			}
			break;
		}
		case RW_CONFIG_HASH_QUERY_PARAMETER:
			v = find_query(&s->req, hp->name, &len);
			break;
		}
		if (!v)
			continue;
		{
			uint64_t h = rw_lb_hash(v, len);

			/* Envoy's combination: rotate the running hash left by one, xor the new. */
			hash = have ? (((hash << 1) | (hash >> 63)) ^ h) : h;
			have = true;
		}
		if (hp->terminal)
			break;
	}
	*out = hash;
	return have;
}

int rw__http_hash_response_headers(struct http_stream *s)
{
	const struct rw_config_hash_policy *hp = s->cookie_policy;
	char v[512];
	int n;

	if (!hp)
		return 0;
	n = snprintf(v, sizeof(v), "%s=\"%s\"", hp->name, s->cookie_value);
	if (hp->cookie_ttl_ms)
		n += snprintf(v + n, sizeof(v) - (size_t)n, "; Max-Age=%llu",
		              (unsigned long long)(hp->cookie_ttl_ms / 1000));
	if (hp->cookie_path)
		n += snprintf(v + n, sizeof(v) - (size_t)n, "; Path=%s", hp->cookie_path);
	n += snprintf(v + n, sizeof(v) - (size_t)n, "; HttpOnly");
	if (n < 0 || (size_t)n >= sizeof(v))
		return 0;
	return rw_http_headers_add(&s->rsp, RW_HTTP_LIT("set-cookie"), v, (size_t)n);
}
