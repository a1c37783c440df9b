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

#include "core/clock.h"
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

static uint16_t addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

struct out {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (n > o->cap - o->len) {
		o->overflow = true;
		n = o->cap - o->len;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void put_addr(struct out *o, const struct sockaddr_storage *ss, int mode)
{
	char buf[64];
	size_t n;

	if (!ss)
		return;
	if (mode == 2) { /* port only */
		n = (size_t)snprintf(buf, sizeof(buf), "%u", addr_port(ss));
	} else {
		n = rw__http_addr_format(ss, mode == 0, buf, sizeof(buf));
	}
	put(o, buf, n);
}

/* %REQ(name?alt):N% / %RESP(...)%: the first value of name, else of alt, cut to N bytes. */
static void put_header(struct out *o, const struct rw_http_headers *h, const char *arg,
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

/* %START_TIME(fmt)%: strftime plus Envoy's %E3S / %3f style sub-second specifiers. */
static void put_start_time(struct out *o, const struct http_stream *s, const char *arg,
                           size_t arg_len)
{
	struct timespec now;
	uint64_t age_ms = rw_clock_ms() - s->start_ms;
	char fmt[128], buf[256], frac[24];
	size_t f = 0;
	struct tm tm;
	time_t sec;
	long ms;

	clock_gettime(CLOCK_REALTIME, &now);
	ms = (long)(now.tv_nsec / 1000000) - (long)(age_ms % 1000);
	sec = now.tv_sec - (time_t)(age_ms / 1000);
	if (ms < 0) {
		ms += 1000;
		sec--;
	}
	gmtime_r(&sec, &tm);
	if (!arg_len) {
		arg = "%Y-%m-%dT%H:%M:%E3SZ";
		arg_len = strlen(arg);
	}
	/* Envoy's sub-second specifiers become digits before strftime sees the format. */
	snprintf(frac, sizeof(frac), "%03ld000000", ms % 1000);
	for (size_t i = 0; i < arg_len && f + 16 < sizeof(fmt); i++) {
		size_t digits = 0, skip = 0;

		if (arg[i] == '%' && i + 3 < arg_len && arg[i + 1] == 'E' && arg[i + 3] == 'S' &&
		    arg[i + 2] >= '1' && arg[i + 2] <= '9') {
			memcpy(fmt + f, "%S.", 3);
			f += 3;
			digits = (size_t)(arg[i + 2] - '0');
			skip = 3;
		} else if (arg[i] == '%' && i + 2 < arg_len && arg[i + 1] >= '1' &&
		           arg[i + 1] <= '9' && arg[i + 2] == 'f') {
			digits = (size_t)(arg[i + 1] - '0');
			skip = 2;
		}
		if (skip) {
			memcpy(fmt + f, frac, digits);
			f += digits;
			i += skip;
			continue;
		}
		fmt[f++] = arg[i];
	}
	fmt[f] = '\0';
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	f = strftime(buf, sizeof(buf), fmt, &tm);
#pragma GCC diagnostic pop
	put(o, buf, f);
}

static bool name_is(const char *n, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(n, lit, len) == 0;
}

/* Envoy's details are single tokens ("via_upstream"): spaces become underscores. */
static void put_details(struct out *o, const struct http_stream *s)
{
	const char *d = s->details;

	if (!d && s->host && s->status)
		d = "via_upstream";
	if (!d)
		return;
	for (; *d; d++)
		put(o, *d == ' ' ? "_" : d, 1);
}

/* The operators only access logs may use (the loader refuses them in header values). */
static void put_log_var(struct out *o, const struct http_stream *s, const char *name, size_t len)
{
	char buf[32];
	uint64_t n;

	if (name_is(name, len, "RESPONSE_CODE_DETAILS")) {
		put_details(o, s);
		return;
	}
	if (name_is(name, len, "BYTES_RECEIVED"))
		n = s->req_bytes;
	else if (name_is(name, len, "BYTES_SENT"))
		n = s->rsp_bytes;
	else if (name_is(name, len, "DURATION"))
		n = rw_clock_ms() - s->start_ms;
	else if (name_is(name, len, "UPSTREAM_REQUEST_ATTEMPT_COUNT"))
		n = s->cluster_name ? s->retries_done + 1u : 0;
	else if (name_is(name, len, "CONNECTION_ID"))
		n = s->c->id;
	else
		return;
	put(o, buf, (size_t)snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n));
}

static void put_var(struct out *o, const struct http_vars_ctx *v, const char *name, size_t len,
                    const char *arg, size_t arg_len, size_t limit)
{
	struct http_stream *s = v->s;
	struct http_conn *c = s->c;
	const struct rw_http_config *cfg = c->l->cfg;
	char buf[32];

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
		put_start_time(o, s, arg, arg_len);
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
		rw__http_flags_format(s->rflags, buf, sizeof(buf));
		put(o, buf, strlen(buf));
	} else if (name_is(name, len, "ROUTE_NAME")) {
		if (s->route.route && s->route.route->name)
			put(o, s->route.route->name, strlen(s->route.route->name));
	} else if (v->access_log) {
		put_log_var(o, s, name, len);
	}
	/* UPSTREAM_LOCAL_ADDRESS and REQUESTED_SERVER_NAME (no TLS yet): empty. */
}

int rw__http_expand(const struct http_vars_ctx *v, const char *value, char *outp, size_t cap)
{
	struct out o = {.p = outp, .cap = cap};
	const char *p = value;

	while (*p) {
		const char *pct = strchr(p, '%');
		const char *name, *end, *arg = NULL;
		size_t name_len, arg_len = 0, limit = SIZE_MAX;

		if (!pct) {
			put(&o, p, strlen(p));
			break;
		}
		put(&o, p, (size_t)(pct - p));
		if (pct[1] == '%') {
			put(&o, "%", 1);
			p = pct + 2;
			continue;
		}
		name = pct + 1;
		name_len = strcspn(name, "(%");
		end = name + name_len;
		if (*end == '(') {
			arg = end + 1;
			end = strchr(arg, ')');
			if (!end)
				break;
			arg_len = (size_t)(end - arg);
			end++;
			if (*end == ':') {
				limit = 0;
				for (end++; *end >= '0' && *end <= '9'; end++)
					limit = limit * 10 + (size_t)(*end - '0');
			}
		}
		if (*end != '%')
			break; /* the loader rejects this; stop rather than guess */
		{
			size_t before = o.len;

			put_var(&o, v, name, name_len, arg, arg_len, limit);
			if (v->access_log && o.len == before)
				put(&o, "-",
				    1); /* Envoy's access logs show a missing value as "-" */
		}
		p = end + 1;
	}
	return o.overflow ? -ENOSPC : (int)o.len;
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
