/*
 * Cluster.health_checks[] (config.core.v3.HealthCheck): HTTP and TCP active health checks.
 *
 * timeout, interval, unhealthy_threshold and healthy_threshold are required, as in Envoy,
 * and exactly one of http_health_check / tcp_health_check must be given (gRPC and custom
 * checkers are not supported yet).  Every interval Envoy defaults from another is filled in
 * here, so the checker never has to know the rules:
 *
 *   unhealthy_interval       <- interval
 *   unhealthy_edge_interval  <- unhealthy_interval
 *   healthy_edge_interval    <- interval
 *   no_traffic_interval      <- 60s
 *   expected_statuses (HTTP) <- [200, 201)
 *
 * TCP payloads are decoded here: text is hex ("000000FF"), binary is protobuf JSON's
 * base64 (standard or URL-safe alphabet, padding optional).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "core/hex.h"

#define DEFAULT_NO_TRAFFIC_MS 60000u

/* A Duration Envoy requires to be greater than 0 (gt: {}); 0 doubles as "unset" here. */
static int get_positive(struct rw__ctx *ctx, const struct rw__node *v, const char *what,
                        uint64_t *out)
{
	int rc = rw__get_duration_ms(ctx, v, out);

	if (rc == 0 && *out == 0)
		return rw__fail(ctx, v, "%s must be greater than 0s", what);
	return rc;
}

#define HC(obj) ((struct rw_config_health_check *)(obj))

static int hc_timeout(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_positive(ctx, v, "timeout", &HC(obj)->timeout_ms);
}

static int hc_interval(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_positive(ctx, v, "interval", &HC(obj)->interval_ms);
}

static int hc_interval_jitter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_duration_ms(ctx, v, &HC(obj)->interval_jitter_ms);
}

static int hc_interval_jitter_percent(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t p;
	int rc = rw__get_uint(ctx, v, UINT32_MAX, &p);

	if (rc == 0)
		HC(obj)->interval_jitter_percent = (uint32_t)p;
	return rc;
}

static int hc_unhealthy_threshold(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t n;
	int rc = rw__get_uint_range(ctx, v, "unhealthy_threshold", 1, UINT32_MAX, &n);

	if (rc == 0)
		HC(obj)->unhealthy_threshold = (uint32_t)n;
	return rc;
}

static int hc_healthy_threshold(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t n;
	int rc = rw__get_uint_range(ctx, v, "healthy_threshold", 1, UINT32_MAX, &n);

	if (rc == 0)
		HC(obj)->healthy_threshold = (uint32_t)n;
	return rc;
}

static int hc_no_traffic_interval(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_positive(ctx, v, "no_traffic_interval", &HC(obj)->no_traffic_interval_ms);
}

static int hc_unhealthy_interval(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_positive(ctx, v, "unhealthy_interval", &HC(obj)->unhealthy_interval_ms);
}

static int hc_unhealthy_edge_interval(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_positive(ctx, v, "unhealthy_edge_interval",
	                    &HC(obj)->unhealthy_edge_interval_ms);
}

static int hc_healthy_edge_interval(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_positive(ctx, v, "healthy_edge_interval", &HC(obj)->healthy_edge_interval_ms);
}

/* Accepted and dropped: reuse_connection (ringway always reuses the connection, Envoy's
 * default) and always_log_health_check_failures (there is no health check event log). */
static int hc_bool_ignored(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	bool b;

	(void)obj;
	return rw__get_bool(ctx, v, &b);
}

/* http_health_check */

/* A header value as Envoy's HTTP_HEADER_VALUE rule has it: no NUL, CR or LF. */
static int get_header_value(struct rw__ctx *ctx, const struct rw__node *v, const char *what,
                            char **out)
{
	int rc = rw__get_string(ctx, v, out);

	if (rc == 0 && strpbrk(*out, "\r\n"))
		return rw__fail(ctx, v, "%s must not contain CR or LF", what);
	return rc;
}

static int http_host(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_health_check *hc = obj;
	int rc = get_header_value(ctx, v, "host", &hc->host);

	/* Empty is Envoy's "unset": the cluster's name is sent. */
	if (rc == 0 && !hc->host[0]) {
		free(hc->host);
		hc->host = NULL;
	}
	return rc;
}

static int http_path(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_health_check *hc = obj;
	int rc = get_header_value(ctx, v, "path", &hc->path);

	if (rc == 0 && !hc->path[0])
		return rw__fail(ctx, v, "path must not be empty");
	return rc;
}

/* type.v3.Int64Range [start, end) of HTTP statuses: 100 <= start < end <= 600. */
struct status_range {
	struct rw_config_status_range *r;
	bool have_start, have_end;
};

static int range_start(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct status_range *sr = obj;
	uint64_t n;
	int rc = rw__get_uint_range(ctx, v, "start", 100, 599, &n);

	if (rc)
		return rc;
	sr->r->start = (uint16_t)n;
	sr->have_start = true;
	return 0;
}

static int range_end(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct status_range *sr = obj;
	uint64_t n;
	int rc = rw__get_uint_range(ctx, v, "end", 101, 600, &n);

	if (rc)
		return rc;
	sr->r->end = (uint16_t)n;
	sr->have_end = true;
	return 0;
}

static const struct rw__field range_fields[] = {
    RW__FIELD("start", range_start),
    RW__FIELD("end", range_end),
};

static int walk_status_range(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                             void *obj)
{
	struct status_range sr = {&((struct rw_config_status_range *)obj)[index], false, false};
	int rc = rw__walk_map(ctx, item, range_fields, RW__N(range_fields), &sr);

	if (rc)
		return rc;
	if (!sr.have_start)
		return rw__fail(ctx, item, "missing required field 'start'");
	if (!sr.have_end)
		return rw__fail(ctx, item, "missing required field 'end'");
	if (sr.r->end <= sr.r->start) {
		rw__path_key(ctx, "end", 3);
		return rw__fail(ctx, rw__map_get(item, "end", false),
		                "end (%u) must be greater than start (%u)", sr.r->end, sr.r->start);
	}
	return 0;
}

static int http_expected_statuses(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_health_check *hc = obj;
	int rc = rw__alloc_items(ctx, v, sizeof(*hc->expected_statuses),
	                         (void **)&hc->expected_statuses, &hc->n_expected_statuses);

	return rc ? rc : rw__walk_seq(ctx, v, walk_status_range, hc->expected_statuses);
}

static int http_codec_client_type(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const codecs[] = {"HTTP1", "HTTP2", "HTTP3"};
	size_t c;
	int rc = rw__get_enum(ctx, v, codecs, RW__N(codecs), &c);

	(void)obj;
	if (rc)
		return rc;
	if (c != 0)
		return rw__fail(ctx, v, "codec_client_type '%s' is not supported by ringway yet",
		                codecs[c]);
	return 0;
}

static const struct rw__field http_fields[] = {
    RW__FIELD("host", http_host),
    RW__FIELD("path", http_path),
    RW__UNSUPPORTED("send"),
    RW__UNSUPPORTED("receive"),
    RW__UNSUPPORTED("response_buffer_size"),
    /* Parsed after the walk by headers.c's HeaderValueOption walker. */
    RW__IGNORED("request_headers_to_add"),
    RW__IGNORED("request_headers_to_remove"),
    RW__FIELD("expected_statuses", http_expected_statuses),
    RW__UNSUPPORTED("retriable_statuses"),
    RW__FIELD("codec_client_type", http_codec_client_type),
    RW__UNSUPPORTED("service_name_matcher"),
    RW__UNSUPPORTED("method"),
};

static int hc_http(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_health_check *hc = obj;
	struct rw_config_header_mutations hm = {0};
	int rc = rw__walk_map(ctx, v, http_fields, RW__N(http_fields), hc);

	hc->kind = RW_CONFIG_HC_HTTP;
	if (rc)
		return rc;
	if (!hc->path)
		return rw__fail(ctx, v, "missing required field 'path'");
	/* Only the request_* pair is in the table above, so only those can be set. */
	rc = rw__walk_header_mutations(ctx, v, &hm);
	hc->request_headers_to_add = hm.request_add;
	hc->n_request_headers_to_add = hm.n_request_add;
	hc->request_headers_to_remove = hm.request_remove;
	hc->n_request_headers_to_remove = hm.n_request_remove;
	return rc;
}

/* tcp_health_check and its Payloads */

static int payload_text(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_payload *p = obj;
	const char *t = v->u.s.text;

	if (v->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, v, "expected a string");
	if (v->n == 0)
		return rw__fail(ctx, v, "text must not be empty");
	if (v->n % 2)
		return rw__fail(ctx, v, "text must be hex digits, two per byte (odd length %zu)",
		                v->n);
	for (size_t i = 0; i < v->n; i++)
		if (rw_hex_value(t[i]) < 0)
			return rw__fail(ctx, v, "text must be hex digits (offset %zu is not)", i);
	free(p->bytes);
	p->len = 0;
	p->bytes = rw__malloc(v->n / 2);
	if (!p->bytes)
		return rw__fail_oom(ctx);
	for (size_t i = 0; i < v->n; i += 2)
		p->bytes[p->len++] = (uint8_t)(rw_hex_value(t[i]) << 4 | rw_hex_value(t[i + 1]));
	return 0;
}

static int base64_digit(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static int payload_binary(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_payload *p = obj;
	const char *t = v->u.s.text;
	size_t n, bits = 0;
	uint32_t acc = 0;

	if (v->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, v, "expected a string");
	n = v->n;
	/* Padding is optional, but when present it completes the last quantum. */
	if (n % 4 == 0 && n >= 1 && t[n - 1] == '=')
		n -= (n >= 2 && t[n - 2] == '=') ? 2 : 1;
	if (n % 4 == 1)
		return rw__fail(ctx, v, "binary must be base64 (truncated)");
	for (size_t i = 0; i < n; i++)
		if (base64_digit(t[i]) < 0)
			return rw__fail(ctx, v, "binary must be base64 (offset %zu is not)", i);
	free(p->bytes);
	p->len = 0;
	p->bytes = rw__malloc(n * 3 / 4 + 1);
	if (!p->bytes)
		return rw__fail_oom(ctx);
	for (size_t i = 0; i < n; i++) {
		acc = acc << 6 | (uint32_t)base64_digit(t[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p->bytes[p->len++] = (uint8_t)(acc >> bits);
		}
	}
	return 0;
}

static const struct rw__field payload_fields[] = {
    RW__FIELD("text", payload_text),
    RW__FIELD("binary", payload_binary),
};

static int walk_payload(struct rw__ctx *ctx, const struct rw__node *map,
                        struct rw_config_payload *p)
{
	static const char *const oneof[] = {"text", "binary"};
	int which, rc = rw__walk_map(ctx, map, payload_fields, RW__N(payload_fields), p);

	if (rc == 0)
		rc = rw__oneof(ctx, map, oneof, RW__N(oneof), &which);
	if (rc == 0 && which < 0)
		rc = rw__fail(ctx, map, "missing one of 'text' or 'binary'");
	return rc;
}

static int tcp_send(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return walk_payload(ctx, v, &HC(obj)->send);
}

static int walk_receive(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	return walk_payload(ctx, item, &((struct rw_config_payload *)obj)[index]);
}

static int tcp_receive(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_health_check *hc = obj;
	int rc =
	    rw__alloc_items(ctx, v, sizeof(*hc->receive), (void **)&hc->receive, &hc->n_receive);

	return rc ? rc : rw__walk_seq(ctx, v, walk_receive, hc->receive);
}

static const struct rw__field tcp_fields[] = {
    RW__FIELD("send", tcp_send),
    RW__FIELD("receive", tcp_receive),
    RW__UNSUPPORTED("proxy_protocol_config"),
};

static int hc_tcp(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	HC(obj)->kind = RW_CONFIG_HC_TCP;
	return rw__walk_map(ctx, v, tcp_fields, RW__N(tcp_fields), obj);
}

static const struct rw__field health_check_fields[] = {
    RW__FIELD("timeout", hc_timeout),
    RW__FIELD("interval", hc_interval),
    RW__UNSUPPORTED("initial_jitter"),
    RW__FIELD("interval_jitter", hc_interval_jitter),
    RW__FIELD("interval_jitter_percent", hc_interval_jitter_percent),
    RW__FIELD("unhealthy_threshold", hc_unhealthy_threshold),
    RW__FIELD("healthy_threshold", hc_healthy_threshold),
    RW__UNSUPPORTED("alt_port"),
    RW__FIELD("reuse_connection", hc_bool_ignored),
    RW__FIELD("http_health_check", hc_http),
    RW__FIELD("tcp_health_check", hc_tcp),
    RW__UNSUPPORTED("grpc_health_check"),
    RW__UNSUPPORTED("custom_health_check"),
    RW__FIELD("no_traffic_interval", hc_no_traffic_interval),
    RW__UNSUPPORTED("no_traffic_healthy_interval"),
    RW__FIELD("unhealthy_interval", hc_unhealthy_interval),
    RW__FIELD("unhealthy_edge_interval", hc_unhealthy_edge_interval),
    RW__FIELD("healthy_edge_interval", hc_healthy_edge_interval),
    RW__UNSUPPORTED("event_log_path"),
    RW__UNSUPPORTED("event_logger"),
    RW__FIELD("always_log_health_check_failures", hc_bool_ignored),
    RW__UNSUPPORTED("always_log_health_check_success"),
    RW__UNSUPPORTED("tls_options"),
    RW__UNSUPPORTED("transport_socket_match_criteria"),
};

static int walk_health_check(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                             void *obj)
{
	static const char *const checkers[] = {"http_health_check", "tcp_health_check"};
	static const char *const required[] = {"timeout", "interval", "unhealthy_threshold",
	                                       "healthy_threshold"};
	struct rw_config_health_check *hc = &((struct rw_config_health_check *)obj)[index];
	int which,
	    rc = rw__walk_map(ctx, item, health_check_fields, RW__N(health_check_fields), hc);
	/* All four must be > 0 when given, so 0 means absent. */
	const bool set[] = {hc->timeout_ms, hc->interval_ms, hc->unhealthy_threshold,
	                    hc->healthy_threshold};

	if (rc)
		return rc;
	for (size_t i = 0; i < RW__N(required); i++)
		if (!set[i])
			return rw__fail(ctx, item, "missing required field '%s'", required[i]);
	rc = rw__oneof(ctx, item, checkers, RW__N(checkers), &which);
	if (rc)
		return rc;
	if (which < 0)
		return rw__fail(ctx, item,
		                "missing the health checker: one of 'http_health_check' or "
		                "'tcp_health_check'");
	if (!hc->no_traffic_interval_ms)
		hc->no_traffic_interval_ms = DEFAULT_NO_TRAFFIC_MS;
	if (!hc->unhealthy_interval_ms)
		hc->unhealthy_interval_ms = hc->interval_ms;
	if (!hc->unhealthy_edge_interval_ms)
		hc->unhealthy_edge_interval_ms = hc->unhealthy_interval_ms;
	if (!hc->healthy_edge_interval_ms)
		hc->healthy_edge_interval_ms = hc->interval_ms;
	if (hc->kind == RW_CONFIG_HC_HTTP && !hc->n_expected_statuses) {
		free(hc->expected_statuses); /* an empty list: Envoy's default applies */
		hc->expected_statuses = rw__malloc(sizeof(*hc->expected_statuses));
		if (!hc->expected_statuses)
			return rw__fail_oom(ctx);
		hc->expected_statuses[0] = (struct rw_config_status_range){200, 201};
		hc->n_expected_statuses = 1;
	}
	return 0;
}

static int rw__walk_health_checks_impl(struct rw__ctx *ctx, const struct rw__node *v, void *cluster)
{
	struct rw_config_cluster *c = cluster;
	int rc = rw__alloc_items(ctx, v, sizeof(*c->health_checks), (void **)&c->health_checks,
	                         &c->n_health_checks);

	return rc ? rc : rw__walk_seq(ctx, v, walk_health_check, c->health_checks);
}

void rw__health_checks_free(struct rw_config_health_check *hcs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct rw_config_health_check *hc = &hcs[i];
		struct rw_config_header_mutations hm = {
		    .request_add = hc->request_headers_to_add,
		    .n_request_add = hc->n_request_headers_to_add,
		    .request_remove = hc->request_headers_to_remove,
		    .n_request_remove = hc->n_request_headers_to_remove,
		};

		free(hc->path);
		free(hc->host);
		free(hc->expected_statuses);
		rw__header_mutations_free(&hm);
		free(hc->send.bytes);
		for (size_t j = 0; j < hc->n_receive; j++)
			free(hc->receive[j].bytes);
		free(hc->receive);
	}
	free(hcs);
}

/* Served by health/checker.c. */
int rw__walk_health_checks(struct rw__ctx *ctx, const struct rw__node *v, void *cluster)
{
	return rw__walk_health_checks_impl(ctx, v, cluster);
}
