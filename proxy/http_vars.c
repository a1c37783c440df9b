/*
 * Header mutations with Envoy's command operators ("%DOWNSTREAM_REMOTE_ADDRESS%", ...).
 *
 * The loader already checked every operator is known and well formed, so expansion only
 * looks names up.  A value that is unknown at this point (an upstream before one was picked,
 * a response header while mutating the request) expands to nothing, as in Envoy's header
 * formatter; a header whose whole value expands to nothing is skipped unless
 * keep_empty_value is set.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lb/cluster.h"
#include "proxy/http_internal.h"
#include "ring/engine.h"

size_t rw__http_addr_format(const struct sockaddr_storage *ss, bool with_port, char *out,
                            size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		n = with_port ? snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port))
		              : snprintf(out, cap, "%s", ip);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		n = with_port ? snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port))
		              : snprintf(out, cap, "%s", ip);
	} else {
		n = snprintf(out, cap, "%s", "");
	}
	return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

bool rw__http_addr_parse(const char *ip, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)out)->sin_addr) == 1) {
		out->ss_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)out)->sin6_addr) == 1) {
		out->ss_family = AF_INET6;
		return true;
	}
	return false;
}

bool rw__http_addr_internal(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);

		return (a >> 24) == 10 || (a >> 24) == 127 || (a >> 20) == (172u << 4 | 1) ||
		       (a >> 16) == (192u << 8 | 168);
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (a->s6_addr[0] & 0xfe) == 0xfc;
	}
	return false;
}

static void put(struct rw_format_out *o, const char *s, size_t n)
{
	rw_format_put(o, s, n);
}

/* mode: 0 "ip:port", 1 "ip", 2 the port. */
static void put_addr(struct rw_format_out *o, const struct sockaddr_storage *ss, int mode)
{
	rw_format_put_addr(o, ss, (enum rw_format_addr)mode);
}

/* %REQ(name?alt):N% / %RESP(...)%: the first value of name, else of alt, cut to N bytes. */
static void put_header(struct rw_format_out *o, const struct rw_http_headers *h, const char *arg,
                       size_t arg_len, size_t limit)
{
	const char *q = memchr(arg, '?', arg_len);
	size_t first = q ? (size_t)(q - arg) : arg_len;
	char name[256];
	const char *v = NULL;
	size_t vlen = 0;

	for (int pass = 0; pass < 2 && !v; pass++) {
		const char *n = pass ? q + 1 : arg;
		size_t nl = pass ? arg_len - first - 1 : first;
		int i;

		if (pass && !q)
			break;
		if (nl >= sizeof(name))
			continue;
		for (size_t k = 0; k < nl; k++)
			name[k] = (char)((n[k] >= 'A' && n[k] <= 'Z') ? n[k] + 32 : n[k]);
		i = rw_http_headers_find(h, name, nl, 0);
		if (i >= 0) {
			v = rw_http_field_value(h, (uint32_t)i);
			vlen = h->f[i].value_len;
		}
	}
	if (v)
		put(o, v, vlen < limit ? vlen : limit);
}

static bool name_is(const char *n, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(n, lit, len) == 0;
}

/* Envoy's details are single tokens ("via_upstream"): spaces become underscores. */
static void put_details(struct rw_format_out *o, const struct http_stream *s)
{
	const char *d = s->details;

	if (!d && s->host && s->status)
		d = "via_upstream";
	if (!d)
		return;
	for (; *d; d++)
		put(o, *d == ' ' ? "_" : d, 1);
}

void rw__http_timing_points(const struct http_stream *s, uint64_t points[RW_PHASE_N])
{
	points[RW_PHASE_DS_RX_BEG] = s->t.ds_rx_beg;
	points[RW_PHASE_DS_RX_END] = s->t.ds_rx_end;
	points[RW_PHASE_US_CX_BEG] = s->t.us_cx_beg;
	points[RW_PHASE_US_CX_END] = s->t.us_cx_end;
	points[RW_PHASE_US_TX_BEG] = s->t.us_tx_beg;
	points[RW_PHASE_US_TX_END] = s->t.us_tx_end;
	points[RW_PHASE_US_RX_BEG] = s->t.us_rx_beg;
	points[RW_PHASE_US_RX_END] = s->t.us_rx_end;
	points[RW_PHASE_DS_TX_BEG] = s->t.ds_tx_beg;
	points[RW_PHASE_DS_TX_END] = s->t.ds_tx_end;
}

/* The operators only access logs may use (the loader refuses them in header values). */
static void put_log_var(struct rw_format_out *o, const struct http_stream *s, const char *name,
                        size_t len, const char *arg, size_t arg_len, size_t limit)
{
	const struct http_timing *t = &s->t;
	uint64_t points[RW_PHASE_N];

	if (name_is(name, len, "RESPONSE_CODE_DETAILS")) {
		put_details(o, s);
	} else if (name_is(name, len, "BYTES_RECEIVED")) {
		rw_format_put_u64(o, s->req_bytes);
	} else if (name_is(name, len, "BYTES_SENT")) {
		rw_format_put_u64(o, s->rsp_bytes);
	} else if (name_is(name, len, "DURATION")) {
		rw_format_put_ms(o, t->ds_rx_beg, rw_engine_now_us(s->c->l->worker->eng));
	} else if (name_is(name, len, "REQUEST_DURATION")) {
		rw_format_put_ms(o, t->ds_rx_beg, t->ds_rx_end);
	} else if (name_is(name, len, "RESPONSE_DURATION")) {
		rw_format_put_ms(o, t->ds_rx_beg, t->us_rx_beg);
	} else if (name_is(name, len, "RESPONSE_TX_DURATION")) {
		rw_format_put_ms(o, t->us_rx_beg, t->ds_tx_end);
	} else if (name_is(name, len, "COMMON_DURATION")) {
		rw__http_timing_points(s, points);
		rw_format_put_common_duration(o, points, arg, arg_len);
	} else if (name_is(name, len, "TRAILER")) {
		/* The response's trailers (enable_trailers); until the response head, s->trailers
		 * holds the request's, which this must not show. */
		if (t->us_rx_beg && (s->flags & S_RSP_STARTED))
			put_header(o, &s->trailers, arg, arg_len, limit);
	} else if (name_is(name, len, "UPSTREAM_TRANSPORT_FAILURE_REASON")) {
		rw_format_put_str(o, s->up_failure);
	} else if (name_is(name, len, "UPSTREAM_REQUEST_ATTEMPT_COUNT")) {
		rw_format_put_u64(o, s->cluster_name ? s->retries_done + 1u : 0);
	} else if (name_is(name, len, "CONNECTION_ID")) {
		rw_format_put_u64(o, s->c->id);
	}
}

static void put_var(struct rw_format_out *o, const struct http_vars_ctx *v, const char *name,
                    size_t len, const char *arg, size_t arg_len, size_t limit)
{
	struct http_stream *s = v->s;
	struct http_conn *c = s->c;
	const struct rw_http_config *cfg = c->l->cfg;
	char buf[96];

	if (name_is(name, len, "DOWNSTREAM_REMOTE_ADDRESS"))
		put_addr(o, rw__http_stream_remote(s), 0);
	else if (name_is(name, len, "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT"))
		put_addr(o, rw__http_stream_remote(s), 1);
	else if (name_is(name, len, "DOWNSTREAM_REMOTE_PORT"))
		put_addr(o, rw__http_stream_remote(s), 2);
	else if (name_is(name, len, "DOWNSTREAM_DIRECT_REMOTE_ADDRESS"))
		put_addr(o, rw__http_conn_addr(c, 0), 0);
	else if (name_is(name, len, "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT"))
		put_addr(o, rw__http_conn_addr(c, 0), 1);
	else if (name_is(name, len, "DOWNSTREAM_LOCAL_ADDRESS"))
		put_addr(o, rw__http_conn_addr(c, 1), 0);
	else if (name_is(name, len, "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT"))
		put_addr(o, rw__http_conn_addr(c, 1), 1);
	else if (name_is(name, len, "DOWNSTREAM_LOCAL_PORT"))
		put_addr(o, rw__http_conn_addr(c, 1), 2);
	else if (name_is(name, len, "HOSTNAME"))
		put(o, cfg->hostname, strlen(cfg->hostname));
	else if (name_is(name, len, "PROTOCOL"))
		put(o, s->head.version_minor ? "HTTP/1.1" : "HTTP/1.0", 8);
	else if (name_is(name, len, "REQ"))
		put_header(o, &s->req, arg, arg_len, limit);
	else if (name_is(name, len, "RESP")) {
		if (v->response)
			put_header(o, &s->rsp, arg, arg_len, limit);
	} else if (name_is(name, len, "START_TIME"))
		rw_format_put_start_time(o, rw_engine_now_us(s->c->l->worker->eng) - s->t.ds_rx_beg,
		                         arg, arg_len);
	else if (name_is(name, len, "UPSTREAM_REMOTE_ADDRESS")) {
		if (s->host)
			put_addr(o, &s->host->addr, 0);
	} else if (name_is(name, len, "UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT")) {
		if (s->host)
			put_addr(o, &s->host->addr, 1);
	} else if (name_is(name, len, "UPSTREAM_HOST")) {
		if (s->host)
			put_addr(o, &s->host->addr, 0);
	} else if (name_is(name, len, "UPSTREAM_CLUSTER")) {
		if (s->cluster_name)
			put(o, s->cluster_name, strlen(s->cluster_name));
	} else if (name_is(name, len, "RESPONSE_CODE")) {
		put(o, buf, (size_t)snprintf(buf, sizeof(buf), "%u", s->status));
	} else if (name_is(name, len, "RESPONSE_FLAGS")) {
		rw_access_log_flags_format(s->rflags, buf, sizeof(buf));
		put(o, buf, strlen(buf));
	} else if (name_is(name, len, "ROUTE_NAME")) {
		if (s->route.route && s->route.route->name)
			put(o, s->route.route->name, strlen(s->route.route->name));
	} else if (name_is(name, len, "TRACE_ID")) {
		/* Read back from the request: what it carries (tracing on: as forwarded). */
		char id[33];

		put(o, id, rw__http_trace_id(&s->req, id));
	} else if (name_is(name, len, "UPSTREAM_LOCAL_ADDRESS")) {
		put_addr(o, &s->up_local, 0); /* fetched only when an access log uses it */
	} else if (v->access_log) {
		put_log_var(o, s, name, len, arg, arg_len, limit);
	}
	/* REQUESTED_SERVER_NAME (no TLS yet): empty. */
}

void rw__http_vars_resolve(void *ctx, struct rw_format_out *o, const struct rw_format_op *op)
{
	put_var(o, ctx, op->name, op->len, op->arg, op->arg_len, op->limit);
}

int rw__http_expand(const struct http_vars_ctx *v, const char *value, char *outp, size_t cap)
{
	return rw_format_expand(value, rw__http_vars_resolve, (void *)v, v->access_log, outp, cap);
}

int rw__http_mutate(const struct http_vars_ctx *v, struct rw_http_headers *h,
                    const struct rw_config_header_add *add, size_t n_add, char *const *remove,
                    size_t n_remove)
{
	struct http_worker *hw = v->s->c->l->worker->http;

	for (size_t i = 0; i < n_remove; i++)
		rw_http_headers_remove(h, remove[i], strlen(remove[i]));
	for (size_t i = 0; i < n_add; i++) {
		const struct rw_config_header_add *a = &add[i];
		size_t klen = strlen(a->key);
		bool exists = rw_http_headers_find(h, a->key, klen, 0) >= 0;
		int n;

		if ((a->append_action == RW_CONFIG_ADD_IF_ABSENT && exists) ||
		    (a->append_action == RW_CONFIG_OVERWRITE_IF_EXISTS && !exists))
			continue;
		n = rw__http_expand(v, a->value, hw->scratch, sizeof(hw->scratch));
		if (n < 0)
			continue; /* longer than 8 KiB: dropped rather than cut */
		if (n == 0 && !a->keep_empty_value)
			continue;
		if (a->append_action == RW_CONFIG_APPEND_IF_EXISTS_OR_ADD) {
			if (rw_http_headers_add(h, a->key, klen, hw->scratch, (size_t)n))
				return -ENOMEM;
		} else if (rw_http_headers_set(h, a->key, klen, hw->scratch, (size_t)n)) {
			return -ENOMEM;
		}
	}
	return 0;
}
