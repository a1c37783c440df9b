/*
 * The connection manager's request checks and Envoy's edge handling, before routing:
 * absolute URLs, header names with underscores, path normalization, the Host port;
 * x-forwarded-for / -proto, x-envoy-internal / x-envoy-external-address, x-request-id, and
 * the trusted client address those rules decide.
 */
#include <arpa/inet.h>
#include <string.h>

#include "proxy/http_internal.h"
#include "ring/engine.h"

static const struct rw_config_hcm *hcm_of(const struct http_stream *s)
{
	return s->c->l->cfg->hcm;
}

/* The k-th address from the right of x-forwarded-for (k = 1: the last), as an address. */
static bool xff_from_right(const struct rw_http_headers *h, uint32_t k,
                           struct sockaddr_storage *out)
{
	size_t len = 0;
	const char *v = rw_http_headers_get(h, "x-forwarded-for", &len);
	size_t end = len;
	char ip[64];

	if (!v || k == 0)
		return false;
	while (k--) {
		size_t start = end;

		while (start > 0 && v[start - 1] != ',')
			start--;
		if (k == 0) {
			size_t a = start, b = end;

			while (a < b && (v[a] == ' ' || v[a] == '\t'))
				a++;
			while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
				b--;
			if (b - a == 0 || b - a >= sizeof(ip))
				return false;
			memcpy(ip, v + a, b - a);
			ip[b - a] = '\0';
			return rw__http_addr_parse(ip, out);
		}
		if (start == 0)
			return false;
		end = start - 1;
	}
	return false;
}

/*
 * Envoy's edge handling.  The "trusted client address" is the peer with
 * use_remote_address, else the x-forwarded-for entry xff_num_trusted_hops + 1 from the
 * right; with use_remote_address and trusted hops it is the entry that many from the right.
 * It decides x-envoy-internal and whether an external x-request-id is replaced, and is what
 * %DOWNSTREAM_REMOTE_ADDRESS% prints.  XFF is appended to only with use_remote_address.
 */
const struct sockaddr_storage *rw__http_stream_remote(struct http_stream *s)
{
	const struct rw_config_hcm *hcm = hcm_of(s);
	const struct sockaddr_storage *peer;
	uint32_t hops = hcm->xff_num_trusted_hops;

	if (s->have_remote)
		return &s->remote;
	if (hcm->use_remote_address)
		s->have_remote = hops && xff_from_right(&s->req, hops, &s->remote);
	else
		s->have_remote = xff_from_right(&s->req, hops + 1, &s->remote);
	if (!s->have_remote) {
		peer = rw__http_conn_addr(s->c, 0);
		if (!peer)
			return NULL;
		s->remote = *peer;
		s->have_remote = true;
	}
	return &s->remote;
}

int rw__http_edge_headers(struct http_stream *s)
{
	const struct rw_config_hcm *hcm = hcm_of(s);
	struct rw_http_headers *h = &s->req;
	char *buf = s->c->l->worker->http->scratch;
	bool internal = false;
	char ip[64];
	int r = 0;

	if (hcm->use_remote_address) {
		/* Envoy (conn_manager_utility.cc): internal = the client sent no x-forwarded-for
		 * and its address is internal; only such a request keeps x-envoy-internal and
		 * its x-request-id.  Others are edge requests. */
		const struct sockaddr_storage *peer = rw__http_conn_addr(s->c, 0);
		const struct sockaddr_storage *remote = rw__http_stream_remote(s);
		size_t old_len = 0;
		const char *old = rw_http_headers_get(h, "x-forwarded-for", &old_len);

		internal = !old && peer && rw__http_addr_internal(peer);
		r = rw_http_headers_set(h, RW_HTTP_LIT("x-forwarded-proto"), RW_HTTP_LIT("http"));
		if (!r && peer && !hcm->skip_xff_append) {
			size_t iplen = rw__http_addr_format(peer, false, ip, sizeof(ip));

			if (old && old_len + iplen + 2 < sizeof(s->c->l->worker->http->scratch)) {
				memcpy(buf, old, old_len);
				memcpy(buf + old_len, ", ", 2);
				memcpy(buf + old_len + 2, ip, iplen);
				r = rw_http_headers_set(h, RW_HTTP_LIT("x-forwarded-for"), buf,
				                        old_len + 2 + iplen);
			} else if (!old) {
				r = rw_http_headers_add(h, RW_HTTP_LIT("x-forwarded-for"), ip,
				                        iplen);
			}
		}
		if (!r) {
			rw_http_headers_remove(h, RW_HTTP_LIT("x-envoy-internal"));
			rw_http_headers_remove(h, RW_HTTP_LIT("x-envoy-external-address"));
			if (internal) {
				r = rw_http_headers_add(h, RW_HTTP_LIT("x-envoy-internal"),
				                        RW_HTTP_LIT("true"));
			} else if (remote) {
				size_t n = rw__http_addr_format(remote, false, ip, sizeof(ip));

				r = rw_http_headers_add(h, RW_HTTP_LIT("x-envoy-external-address"),
				                        ip, n);
			}
		}
	} else if (rw_http_headers_find(h, RW_HTTP_LIT("x-forwarded-proto"), 0) < 0) {
		r = rw_http_headers_add(h, RW_HTTP_LIT("x-forwarded-proto"), RW_HTTP_LIT("http"));
	}
	if (!r && rw_http_headers_find(h, RW_HTTP_LIT(":scheme"), 0) < 0)
		r = rw_http_headers_add(h, RW_HTTP_LIT(":scheme"), RW_HTTP_LIT("http"));
	if (!r && hcm->generate_request_id) {
		bool have = rw_http_headers_find(h, RW_HTTP_LIT("x-request-id"), 0) >= 0;
		bool edge = hcm->use_remote_address && !internal;

		/* An edge request's id is replaced unless preserve_external_request_id. */
		if (!have || (edge && !hcm->preserve_external_request_id)) {
			char id[37];

			rw__http_uuid4(s->c->l->worker->http, id);
			r = rw_http_headers_set(h, RW_HTTP_LIT("x-request-id"), id, 36);
		}
	}
	return r;
}

/*
 * The HCM's request checks and rewrites before routing: absolute URLs, header names with
 * underscores, path normalization, the Host port.  Returns false when it answered.
 */
bool rw__http_sanitize_request(struct http_stream *s)
{
	const struct rw_config_hcm *hcm = hcm_of(s);
	struct rw_http_headers *h = &s->req;
	int i;

	if ((s->flags & S_ABSOLUTE) && !hcm->http1.allow_absolute_url) {
		/* Envoy answers an absolute URL it may not take like an unknown path. */
		rw__http_stream_local_reply(s, 404, NULL, 0, "absolute_path_rejected");
		return false;
	}
	if (hcm->common.headers_with_underscores_action != RW_CONFIG_UNDERSCORES_ALLOW) {
		for (uint32_t k = 0; k < h->n;) {
			const char *name = rw_http_field_name(h, k);

			if (name[0] == ':' || !memchr(name, '_', h->f[k].name_len)) {
				k++;
				continue;
			}
			if (hcm->common.headers_with_underscores_action ==
			    RW_CONFIG_UNDERSCORES_REJECT_REQUEST) {
				/* A protocol error in Envoy's codec: answered, then closed. */
				s->flags |= S_CLOSE_AFTER;
				rw__http_stream_local_reply(s, 400, "Bad Request", RW_RF_DPE,
				                            "unexpected_underscore");
				return false;
			}
			rw_http_headers_remove_at(h, k);
		}
	}
	i = rw_http_headers_find(h, RW_HTTP_LIT(":path"), 0);
	if (i >= 0 && (hcm->normalize_path || hcm->merge_slashes) && !(s->flags & S_CONNECT) &&
	    rw_http_field_value(h, (uint32_t)i)[0] != '*') {
		ssize_t n = rw__http_normalize_path(h->arena + h->f[i].value_off, h->f[i].value_len,
		                                    hcm->normalize_path, hcm->merge_slashes);

		if (n < 0) {
			rw__http_stream_local_reply(s, 400, NULL, RW_RF_DPE,
			                            "path_normalization_failed");
			return false;
		}
		h->f[i].value_len = (uint32_t)n; /* shorter or equal: rewritten in place */
		h->arena[h->f[i].value_off + (uint32_t)n] = '\0';
	}
	i = rw_http_headers_find(h, RW_HTTP_LIT(":authority"), 0);
	if (i >= 0 && hcm->strip_any_host_port && !(s->flags & S_CONNECT)) {
		const char *a = rw_http_field_value(h, (uint32_t)i);
		uint32_t n = h->f[i].value_len, k = n;

		while (k > 0 && a[k - 1] >= '0' && a[k - 1] <= '9')
			k--;
		/* "host:123" or "[v6]:123", not the last group of a bare IPv6 address */
		if (k > 1 && k < n && a[k - 1] == ':' && (a[0] != '[' || a[k - 2] == ']')) {
			h->f[i].value_len = k - 1;
			h->arena[h->f[i].value_off + k - 1] = '\0';
		}
	}
	return true;
}
