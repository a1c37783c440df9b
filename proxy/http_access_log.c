/*
 * The HTTP connection manager's access logs and its x-ringway-debug response header.
 *
 * Files, formats, filters and the per-worker writers are shared with tcp_proxy
 * (access_log.c); the HCM supplies its operators (http_vars.c resolves them on a stream)
 * and the facts its filters test.  One line per stream, written when the stream ends.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lb/cluster.h"
#include "proxy/http_internal.h"
#include "ring/engine.h"

/* Whether a JSON field (or one nested in it) uses op. */
static bool json_uses(const struct rw_config_access_log_json_field *f, const char *op)
{
	if (f->format)
		return strstr(f->format, op) != NULL;
	for (size_t i = 0; i < f->n_fields; i++)
		if (json_uses(&f->fields[i], op))
			return true;
	return false;
}

int rw__http_access_logs_open(struct rw_http_config *c, char *err, size_t errlen)
{
	const struct rw_config_hcm *hcm = c->hcm;
	int r = rw_access_logs_open(hcm->access_logs, hcm->n_access_logs, &c->logs, err, errlen);

	if (r)
		return r;
	c->n_logs = hcm->n_access_logs;
	/* %UPSTREAM_LOCAL_ADDRESS% costs a getsockname per upstream connection: only then. */
	for (size_t i = 0; i < c->n_logs; i++) {
		const struct rw_config_access_log *l = c->logs[i].cfg;

		if (l->format && strstr(l->format, "%UPSTREAM_LOCAL_ADDRESS%"))
			c->want_up_local = true;
		for (size_t j = 0; l->json && j < l->n_json_fields; j++)
			c->want_up_local |=
			    json_uses(&l->json_fields[j], "%UPSTREAM_LOCAL_ADDRESS%");
	}
	return 0;
}

void rw__http_access_logs_close(struct rw_http_config *c)
{
	rw_access_logs_close(c->logs, c->n_logs);
	c->logs = NULL;
	c->n_logs = 0;
}

void rw__http_access_log(struct http_stream *s)
{
	const struct rw_http_config *cfg = s->c->l->cfg;
	struct rw_proxy_worker *pw = s->c->l->worker;
	struct http_vars_ctx v = {.s = s, .response = true, .access_log = true};
	struct rw_access_log_facts facts = {
	    .status = s->status,
	    .duration_ms = (rw_engine_now_us(pw->eng) - s->t.ds_rx_beg) / 1000u,
	    .rflags = s->rflags,
	    .health_check = (s->flags & S_HEALTH_CHECK) != 0,
	    .trace_forced = (s->flags & S_TRACE_FORCED) != 0,
	    .request = &s->req,
	    .rng = &pw->log_rng,
	};

	for (size_t i = 0; i < cfg->n_logs; i++)
		rw_access_log_write(pw, &cfg->logs[i], &facts, rw__http_vars_resolve, &v);
}

/* ---- x-ringway-debug ---- */

/* " name=ms.µµµ" relative to the request's first byte, "-" when the point was not reached. */
static int put_point(char *p, size_t cap, const char *name, uint64_t beg, uint64_t at)
{
	if (!at || at < beg)
		return snprintf(p, cap, "; %s=-", name);
	return snprintf(p, cap, "; %s=%llu.%03llu", name, (unsigned long long)((at - beg) / 1000u),
	                (unsigned long long)((at - beg) % 1000u));
}

int rw__http_debug_header(struct http_stream *s)
{
	const struct http_timing *t = &s->t;
	const char *route = s->route.route ? s->route.route->name : NULL;
	char v[512], host[64] = "-";
	size_t n;

	if (!s->debug_header)
		return 0;
	if (s->host)
		rw__http_addr_format(&s->host->addr, true, host, sizeof(host));
	n = (size_t)snprintf(v, sizeof(v), "cluster=%s; host=%s; conn=%s; tries=%u; route=%s",
	                     s->cluster_name ? s->cluster_name : "-", host,
	                     !t->us_cx_end ? "-"
	                     : t->reused   ? "reused"
	                                   : "new",
	                     t->tries, route && route[0] ? route : "-");
	/* The parts are bounded (names are cut by snprintf): n stays below sizeof(v). */
	if (n >= sizeof(v))
		n = sizeof(v) - 1;
	n += (size_t)put_point(v + n, sizeof(v) - n, "rx_headers", t->ds_rx_beg, t->rx_head);
	if (n < sizeof(v))
		n += (size_t)put_point(v + n, sizeof(v) - n, "route_ms", t->ds_rx_beg, t->route);
	if (n < sizeof(v))
		n += (size_t)put_point(v + n, sizeof(v) - n, "connect", t->ds_rx_beg, t->us_cx_end);
	if (n < sizeof(v))
		n += (size_t)put_point(v + n, sizeof(v) - n, "sent", t->ds_rx_beg, t->us_tx_end);
	if (n < sizeof(v))
		n += (size_t)put_point(v + n, sizeof(v) - n, "first_byte", t->ds_rx_beg,
		                       t->us_rx_beg);
	if (n >= sizeof(v))
		n = sizeof(v) - 1;
	return rw_http_headers_set(&s->rsp, RW_HTTP_LIT("x-ringway-debug"), v, n) ? -ENOMEM : 0;
}
