/*
 * Envoy's router retries: which failures and responses are retried (retry_on, the
 * x-envoy-retry-on / x-envoy-max-retries request headers), the jittered exponential back-off,
 * picking another host, and re-sending the request from its replay copy.
 *
 * The request is kept, by reference, as the bytes sent upstream (head and framed body) while
 * it fits the replay limit; a request that outgrew it is no longer retried (Envoy buffers a
 * retriable request up to the connection's buffer limit).  A retry is a new upstream
 * exchange: the failed connection is closed, the response (a retriable 5xx) never reaches the
 * client.  Back-off waits on the connection's one timer (retry_at is a stream deadline).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "lb/cluster.h"
#include "proxy/http_internal.h"
#include "ring/engine.h"

static struct rw_engine *eng(const struct http_stream *s)
{
	return s->c->l->worker->eng;
}

/* x-envoy-retry-on: a comma-separated list of retry_on conditions; unknown ones ignored. */
static uint32_t parse_retry_on(const char *v, size_t len)
{
	uint32_t bits = 0;
	size_t i = 0;

	while (i < len) {
		size_t j = i, a, b;

		while (j < len && v[j] != ',')
			j++;
		a = i;
		b = j;
		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		bits |= rw_config_retry_condition(v + a, b - a, true);
		i = j + 1;
	}
	return bits;
}

void rw__http_retry_setup(struct http_stream *s, const struct rw_config_retry_policy *p)
{
	struct rw_http_headers *h = &s->req;
	size_t len = 0;
	const char *v;

	s->retry = p->present ? p : NULL;
	s->retry_on = p->present ? p->retry_on : 0;
	s->retries_left = p->present ? p->num_retries : 0;
	s->per_try_timeout_ms = p->present ? p->per_try_timeout_ms : 0;
	s->per_try_idle_ms = p->present ? p->per_try_idle_timeout_ms : 0;
	/* Envoy honours these request headers (external ones were stripped at the edge). */
	v = rw_http_headers_get(h, "x-envoy-retry-on", &len);
	if (v) {
		s->retry_on |= parse_retry_on(v, len);
		if (!p->present)
			s->retries_left = 1;
	}
	v = rw_http_headers_get(h, "x-envoy-max-retries", &len);
	if (v && len && len < 6) {
		uint32_t n = 0;
		size_t i;

		for (i = 0; i < len && v[i] >= '0' && v[i] <= '9'; i++)
			n = n * 10 + (uint32_t)(v[i] - '0');
		if (i == len)
			s->retries_left = n;
	}
	rw_http_headers_remove(h, RW_HTTP_LIT("x-envoy-retry-on"));
	rw_http_headers_remove(h, RW_HTTP_LIT("x-envoy-max-retries"));
	if (!s->retry_on)
		s->retries_left = 0;
}

bool rw__http_retry_failure_retriable(const struct http_stream *s, enum http_up_failure kind)
{
	uint32_t on = s->retry_on;

	switch (kind) {
	case UPF_CONNECT:
	case UPF_CONNECT_TIMEOUT:
		return on & (RW_CONFIG_RETRY_CONNECT_FAILURE | RW_CONFIG_RETRY_RESET |
		             RW_CONFIG_RETRY_5XX | RW_CONFIG_RETRY_GATEWAY_ERROR);
	case UPF_RESET:
		return on & (RW_CONFIG_RETRY_RESET | RW_CONFIG_RETRY_5XX |
		             RW_CONFIG_RETRY_GATEWAY_ERROR);
	case UPF_PER_TRY_TIMEOUT:
		return on & (RW_CONFIG_RETRY_5XX | RW_CONFIG_RETRY_GATEWAY_ERROR |
		             RW_CONFIG_RETRY_RESET);
	case UPF_PROTOCOL:
		return on & RW_CONFIG_RETRY_5XX; /* answered as a 502 */
	}
	return false;
}

bool rw__http_retry_response_retriable(const struct http_stream *s, uint16_t status)
{
	uint32_t on = s->retry_on;
	const struct rw_config_retry_policy *p = s->retry;

	if ((on & RW_CONFIG_RETRY_5XX) && status >= 500 && status <= 599)
		return true;
	if ((on & RW_CONFIG_RETRY_GATEWAY_ERROR) && status >= 502 && status <= 504)
		return true;
	if ((on & RW_CONFIG_RETRY_RETRIABLE_4XX) && status == 409)
		return true;
	if ((on & RW_CONFIG_RETRY_RETRIABLE_STATUS_CODES) && p)
		for (size_t i = 0; i < p->n_retriable_status_codes; i++)
			if (p->retriable_status_codes[i] == status)
				return true;
	if ((on & RW_CONFIG_RETRY_RETRIABLE_HEADERS) && p)
		for (size_t i = 0; i < p->n_retriable_headers; i++)
			if (rw__http_header_matches(&s->rsp, &p->retriable_headers[i]))
				return true;
	return false;
}

bool rw__http_retry_schedule(struct http_stream *s)
{
	const struct rw_config_retry_policy *p = s->retry;
	uint64_t base =
	    p && p->backoff_base_ms ? p->backoff_base_ms : RW_CONFIG_DEFAULT_RETRY_BASE_MS;
	uint64_t max = p && p->backoff_max_ms ? p->backoff_max_ms : 10 * base;
	uint64_t interval, delay;
	uint32_t n = s->retries_done;

	if (!s->retries_left || !(s->flags & S_REPLAYABLE) || (s->flags & S_RSP_STARTED)) {
		if (s->retry_on && !s->retries_left)
			s->rflags |= RW_RF_URX;
		return false;
	}
	if (p && p->n_retriable_request_headers) {
		for (size_t i = 0; i < p->n_retriable_request_headers; i++)
			if (!rw__http_header_matches(&s->req, &p->retriable_request_headers[i]))
				return false;
	}
	/* Circuit breaker: max_retries / retry_budget across the cluster. */
	if (!rw__http_cb_retry_begin(s))
		return false;
	if (s->up) {
		rw__http_upstream_release(s->up, false);
		s->up = NULL;
	}
	s->retries_left--;
	s->retries_done++;
	/* Jittered exponential back-off (Envoy): random in [0, min(base * 2^n, max)). */
	interval = n < 20 ? base << n : max;
	if (interval > max)
		interval = max;
	delay = interval ? rw__http_random(s->c->l->worker->http) % interval : 0;
	s->retry_at = rw_engine_now_ms(eng(s)) + delay;
	s->flags |= S_RETRY_PENDING;
	rw_log_debug("http", "[C%llu] retry %u in %llu ms", (unsigned long long)s->id,
	             s->retries_done, (unsigned long long)delay);
	rw__http_conn_arm_timer(s->c);
	return true;
}

void rw__http_retry_now(struct http_stream *s)
{
	const struct rw_config_retry_policy *p = s->retry;
	int r;

	s->flags &= ~S_RETRY_PENDING;
	s->retry_at = 0;
	/* previous_hosts: the balancer avoids the host that just failed when it has another. */
	if (!rw__http_stream_pick_host(s, p && p->previous_hosts ? s->host : NULL)) {
		rw__http_local_reply_full(s, 503, RW_HTTP_LIT("no healthy upstream"), NULL, false,
		                          RW_RF_UH, "no_healthy_upstream");
		return;
	}
	r = rw__http_stream_try(s, false, SEND_RETRY);
	if (r == -EUSERS)
		rw__http_stream_overflow(s); /* Envoy does not retry an overflow */
	else if (r)
		rw__http_stream_upstream_failed(s, r, UPF_CONNECT, false);
}

void rw__http_retry_send(struct http_stream *s)
{
	struct rw_chain *out = rw__http_upstream_out(s->up);

	if (s->route.vhost && s->route.vhost->include_request_attempt_count) {
		/* A new head (its x-envoy-attempt-count changed), then the body as kept. */
		struct rw_chain body = {0};
		int r = rw__http_encode_request_head(s, out);

		if (!r)
			r = rw__http_chain_clone(&body, &s->replay);
		if (!r) {
			rw_chain_consume(&body, s->head_len);
			r = rw_chain_move(out, &body);
		}
		rw_chain_reset(&body);
		if (r) {
			rw__http_stream_abort(s, RW_RF_LR, "out of memory");
			return;
		}
	} else if (rw__http_chain_clone(out, &s->replay)) {
		rw__http_stream_abort(s, RW_RF_LR, "out of memory");
		return;
	}
	rw__http_upstream_expect(s->up, s->head.method);
	s->up_start_ms = s->up_activity_ms = rw_engine_now_ms(eng(s));
	s->t.us_tx_beg = rw_engine_now_us(eng(s));
	if (s->flags & S_REQ_DONE)
		s->t.us_tx_end = s->t.us_tx_beg; /* the kept request is whole */
	rw__http_upstream_flush(s->up);
	rw__http_conn_arm_timer(s->c);
}
