/*
 * Unit tests for the access-log filter tree and flags (proxy/access_log.c): each filter kind
 * against Envoy's semantics (config.accesslog.v3.AccessLogFilter), and/or short-circuit and
 * nesting, runtime_filter's consistent sampling from x-request-id versus independent draws,
 * header_filter on a session without headers (tcp_proxy), and %RESPONSE_FLAGS% order.
 * Trees come from YAML through the real loader, so config/ and proxy/ agree on them.
 */
#include <string.h>

#include "../check.h"
#include "config/config.h"
#include "proxy/access_log.h"
#include "proxy/http_headers.h"

#define HCM_TYPE                                                                                   \
	"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."         \
	"HttpConnectionManager"

/* One HCM with one stdout access log whose filter is the flow-style filter text. */
static struct rw_config *load(const char *filter)
{
	char yaml[4096], err[512];
	struct rw_config *cfg = NULL;
	int n = snprintf(yaml, sizeof(yaml),
	                 "static_resources:\n"
	                 "  listeners:\n"
	                 "  - address: {socket_address: {address: 127.0.0.1, port_value: 1}}\n"
	                 "    filter_chains:\n"
	                 "    - filters:\n"
	                 "      - name: hcm\n"
	                 "        typed_config:\n"
	                 "          \"@type\": " HCM_TYPE "\n"
	                 "          stat_prefix: s\n"
	                 "          http_filters: [{name: r, typed_config: {\"@type\": "
	                 "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]\n"
	                 "          route_config: {virtual_hosts: [{name: v, domains: [\"*\"], "
	                 "routes: [{match: {prefix: /}, direct_response: {status: 200}}]}]}\n"
	                 "          access_log: [{filter: %s, typed_config: {\"@type\": "
	                 "type.googleapis.com/"
	                 "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog}}]\n",
	                 filter);

	CHECK(n > 0 && (size_t)n < sizeof(yaml));
	if (rw_config_load_string(yaml, (size_t)n, &cfg, err, sizeof(err))) {
		fprintf(stderr, "load failed: %s\n", err);
		CHECK(0);
	}
	return cfg;
}

static const struct rw_config_access_log *log0(const struct rw_config *cfg)
{
	return &cfg->listeners[0].chains[0].filters[0].u.hcm.access_logs[0];
}

static void test_leaves(void)
{
	struct rw_config *cfg = load("{status_code_filter: {comparison: {op: GE, value: "
	                             "{default_value: 500, runtime_key: k}}}}");
	struct rw_access_log_facts f = {.status = 503};

	CHECK(rw_access_log_pass(log0(cfg), &f));
	f.status = 404;
	CHECK(!rw_access_log_pass(log0(cfg), &f));
	rw_config_free(cfg);

	cfg = load("{response_flag_filter: {flags: [UO, NR]}}");
	f.rflags = RW_RF_UH;
	CHECK(!rw_access_log_pass(log0(cfg), &f));
	f.rflags = RW_RF_UH | RW_RF_NR;
	CHECK(rw_access_log_pass(log0(cfg), &f));
	rw_config_free(cfg);

	cfg = load("{response_flag_filter: {}}"); /* any flag */
	f.rflags = 0;
	CHECK(!rw_access_log_pass(log0(cfg), &f));
	f.rflags = RW_RF_LH;
	CHECK(rw_access_log_pass(log0(cfg), &f));
	rw_config_free(cfg);

	/* traceable_filter: Envoy logs only service-forced traces, never a health check. */
	cfg = load("{traceable_filter: {}}");
	f = (struct rw_access_log_facts){.status = 200};
	CHECK(!rw_access_log_pass(log0(cfg), &f));
	f.trace_forced = true;
	CHECK(rw_access_log_pass(log0(cfg), &f));
	f.health_check = true;
	CHECK(!rw_access_log_pass(log0(cfg), &f));
	rw_config_free(cfg);
}

static void test_header_filter(void)
{
	struct rw_http_headers h = {0};
	struct rw_config *cfg = load("{header_filter: {header: {name: X-Debug, string_match: "
	                             "{prefix: \"on\"}}}}");
	struct rw_access_log_facts f = {.request = &h};

	CHECK(!rw_access_log_pass(log0(cfg), &f));
	CHECK(rw_http_headers_add(&h, RW_HTTP_LIT("x-debug"), RW_HTTP_LIT("only")) == 0);
	CHECK(rw_access_log_pass(log0(cfg), &f));
	f.request = NULL; /* tcp_proxy: no headers */
	CHECK(!rw_access_log_pass(log0(cfg), &f));
	rw_config_free(cfg);

	/* Envoy matches a headerless session against an empty map: an inverted or absent-header
	   matcher passes there. */
	cfg = load("{header_filter: {header: {name: x-debug, present_match: false}}}");
	CHECK(rw_access_log_pass(log0(cfg), &f));
	f.request = &h;
	CHECK(!rw_access_log_pass(log0(cfg), &f));
	rw_config_free(cfg);

	cfg = load("{header_filter: {header: {name: x-absent, string_match: {exact: \"\"}, "
	           "treat_missing_header_as_empty: true}}}");
	CHECK(rw_access_log_pass(log0(cfg), &f));
	rw_config_free(cfg);
	rw_http_headers_free(&h);
}

static void test_and_or(void)
{
	/* (status >= 500 or flag NR) and not a health check, nested 3 deep. */
	struct rw_config *cfg =
	    load("{and_filter: {filters: [{or_filter: {filters: [{status_code_filter: "
	         "{comparison: {op: GE, value: {default_value: 500, runtime_key: k}}}}, "
	         "{response_flag_filter: {flags: [NR]}}]}}, {not_health_check_filter: {}}]}}");
	const struct rw_config_access_log_filter *t = &log0(cfg)->filter;
	struct rw_access_log_facts f = {.status = 404, .rflags = RW_RF_NR};

	CHECK(t->kind == RW_CONFIG_AL_FILTER_AND && t->u.list.n == 2);
	CHECK(t->u.list.filters[0].kind == RW_CONFIG_AL_FILTER_OR);
	CHECK(t->u.list.filters[0].u.list.n == 2);
	CHECK(rw_access_log_pass(log0(cfg), &f));
	f.health_check = true;
	CHECK(!rw_access_log_pass(log0(cfg), &f));
	f = (struct rw_access_log_facts){.status = 200};
	CHECK(!rw_access_log_pass(log0(cfg), &f));
	f.status = 502;
	CHECK(rw_access_log_pass(log0(cfg), &f));
	rw_config_free(cfg);
}

static void test_runtime(void)
{
	struct rw_http_headers h = {0};
	uint64_t rng = 12345;
	struct rw_access_log_facts f = {.request = &h, .rng = &rng};
	struct rw_config *cfg = load("{runtime_filter: {runtime_key: k}}");
	const struct rw_config_access_log_filter *t = &log0(cfg)->filter;
	unsigned passed = 0;

	/* percent_sampled absent: 0 of HUNDRED (Envoy's default), never. */
	CHECK(t->u.runtime.numerator == 0 && t->u.runtime.denominator == 100);
	for (int i = 0; i < 100; i++)
		CHECK(!rw_access_log_pass(log0(cfg), &f));
	rw_config_free(cfg);

	/* 50/HUNDRED from x-request-id: the first 8 hex digits modulo 100 (0x00000031 = 49
	   passes, 0x00000032 = 50 does not), the same answer every time. */
	cfg = load("{runtime_filter: {runtime_key: k, percent_sampled: {numerator: 50}}}");
	CHECK(rw_http_headers_add(&h, RW_HTTP_LIT("x-request-id"),
	                          RW_HTTP_LIT("00000031-aaaa-4bbb-8ccc-dddddddddddd")) == 0);
	for (int i = 0; i < 20; i++)
		CHECK(rw_access_log_pass(log0(cfg), &f));
	CHECK(rw_http_headers_set(&h, RW_HTTP_LIT("x-request-id"),
	                          RW_HTTP_LIT("00000032-aaaa-4bbb-8ccc-dddddddddddd")) == 0);
	for (int i = 0; i < 20; i++)
		CHECK(!rw_access_log_pass(log0(cfg), &f));
	rw_config_free(cfg);

	/* use_independent_randomness: a fresh draw per evaluation, about half of 4000 pass. */
	cfg = load("{runtime_filter: {runtime_key: k, use_independent_randomness: true, "
	           "percent_sampled: {numerator: 5000, denominator: TEN_THOUSAND}}}");
	CHECK(log0(cfg)->filter.u.runtime.denominator == 10000);
	for (int i = 0; i < 4000; i++)
		passed += rw_access_log_pass(log0(cfg), &f);
	CHECK(passed > 1600 && passed < 2400);
	rw_config_free(cfg);

	/* No x-request-id (tcp_proxy): random draws too; MILLION denominator, 100%. */
	cfg = load("{runtime_filter: {runtime_key: k, percent_sampled: {numerator: 1000000, "
	           "denominator: MILLION}}}");
	f.request = NULL;
	for (int i = 0; i < 100; i++)
		CHECK(rw_access_log_pass(log0(cfg), &f));
	rw_config_free(cfg);
	rw_http_headers_free(&h);
}

static void test_flags_format(void)
{
	char buf[128];

	CHECK(strcmp(rw_access_log_flags_format(0, buf, sizeof(buf)), "-") == 0);
	CHECK(strcmp(rw_access_log_flags_format(RW_RF_LH | RW_RF_UH | RW_RF_URX | RW_RF_DC, buf,
	                                        sizeof(buf)),
	             "UH,URX,DC,LH") == 0);
	CHECK(strcmp(rw_access_log_flags_format(RW_RF_UT | RW_RF_UPE | RW_RF_DPE | RW_RF_RL, buf,
	                                        sizeof(buf)),
	             "UT,DPE,UPE,RL") == 0);
}

int main(void)
{
	test_leaves();
	test_header_filter();
	test_and_or();
	test_runtime();
	test_flags_format();
	printf("access log filters ok\n");
	return 0;
}
