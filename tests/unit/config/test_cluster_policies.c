/*
 * Unit tests for a cluster's policy fields: lb_policy and the *_lb_config messages,
 * load_assignment's localities / priorities / weights / health status, health_checks,
 * outlier_detection and circuit_breakers.
 *
 *   - data/cluster_policies_full.yaml sets every field away from its default; each value
 *     is checked here.
 *   - A cluster with nothing but a name gets Envoy's defaults for all of them.
 *   - A table of bad documents, each with the exact error message (path, line:column and
 *     text) it must produce.
 *
 * Plain asserts that stay on in Release builds.
 */
#include "config/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

static struct rw_config *load(const char *yaml)
{
	struct rw_config *cfg = NULL;
	char err[512];
	int rc = rw_config_load_string(yaml, strlen(yaml), &cfg, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "unexpected error %d: %s\n", rc, err);
		abort();
	}
	CHECK(cfg);
	return cfg;
}

static const char *fmt(const struct rw_config_addr *addr)
{
	static char buf[64];

	return rw_config_addr_format(addr, buf, sizeof(buf));
}

static bool payload_is(const struct rw_config_payload *p, const char *bytes, size_t len)
{
	return p->len == len && (len == 0 || memcmp(p->bytes, bytes, len) == 0);
}

/* Envoy's defaults for everything but the endpoints, health checks and lb_policy. */
static void check_default_policies(const struct rw_config_cluster *c)
{
	const struct rw_config_outlier *od = &c->outlier;

	CHECK(c->lb.choice_count == 2);
	CHECK(c->lb.active_request_bias == 1.0);
	CHECK(c->lb.ring_min == 1024 && c->lb.ring_max == 8388608);
	CHECK(c->lb.maglev_table_size == 65537);
	CHECK(!c->lb.locality_weighted);
	CHECK(c->lb.healthy_panic_threshold_ppm == 500000);
	CHECK(c->lb.overprovisioning_factor == 140);

	CHECK(!od->present);
	CHECK(od->consecutive_5xx == 5 && od->consecutive_gateway_failure == 5);
	CHECK(od->consecutive_local_origin_failure == 5);
	CHECK(od->interval_ms == 10000 && od->base_ejection_time_ms == 30000);
	CHECK(od->max_ejection_time_ms == 300000 && od->max_ejection_percent == 10);
	CHECK(od->enforcing_consecutive_5xx == 100);
	CHECK(od->enforcing_consecutive_gateway_failure == 0);
	CHECK(od->enforcing_consecutive_local_origin_failure == 100);
	CHECK(od->enforcing_success_rate == 100);
	CHECK(od->enforcing_failure_percentage == 0);
	CHECK(od->enforcing_failure_percentage_local_origin == 0);
	CHECK(od->success_rate_minimum_hosts == 5 && od->success_rate_request_volume == 100);
	CHECK(od->success_rate_stdev_factor == 1900);
	CHECK(od->failure_percentage_threshold == 85);
	CHECK(od->failure_percentage_minimum_hosts == 5);
	CHECK(od->failure_percentage_request_volume == 50);
	CHECK(!od->split_external_local_origin_errors);

	for (int p = RW_CONFIG_PRIORITY_DEFAULT; p <= RW_CONFIG_PRIORITY_HIGH; p++) {
		const struct rw_config_cb_thresholds *t = &c->cb[p];

		CHECK(t->max_connections == 1024 && t->max_pending_requests == 1024);
		CHECK(t->max_requests == 1024 && t->max_retries == 3);
		CHECK(!t->has_retry_budget && t->budget_percent == 20.0);
		CHECK(t->min_retry_concurrency == 3 && !t->track_remaining);
	}
}

static void check_endpoint(const struct rw_config_endpoint *e, const char *addr, uint32_t weight,
                           uint32_t priority, uint32_t locality, uint32_t locality_weight,
                           enum rw_config_health_status status, uint16_t hc_port)
{
	if (strcmp(fmt(&e->addr), addr) != 0)
		fprintf(stderr, "endpoint %s, want %s\n", fmt(&e->addr), addr);
	CHECK(strcmp(fmt(&e->addr), addr) == 0);
	CHECK(e->weight == weight);
	CHECK(e->priority == priority);
	CHECK(e->locality == locality);
	CHECK(e->locality_weight == locality_weight);
	CHECK(e->health_status == status);
	CHECK(e->health_check_port == hc_port);
}

static void check_full(const struct rw_config *cfg)
{
	const struct rw_config_cluster *c = rw_config_find_cluster(cfg, "full");
	const struct rw_config_health_check *hc;
	const struct rw_config_outlier *od;
	const struct rw_config_cb_thresholds *t;

	CHECK(cfg->n_clusters == 5);
	CHECK(c && c->type == RW_CONFIG_CLUSTER_STATIC && c->connect_timeout_ms == 2000);
	CHECK(c->lb_policy == RW_CONFIG_LB_LEAST_REQUEST);
	CHECK(c->lb.choice_count == 3);
	CHECK(c->lb.active_request_bias == 1.5);
	CHECK(c->lb.healthy_panic_threshold_ppm == 255000);
	CHECK(c->lb.locality_weighted);
	CHECK(c->lb.overprovisioning_factor == 200);
	/* Not this cluster's policy, so still the defaults. */
	CHECK(c->lb.ring_min == 1024 && c->lb.ring_max == 8388608);
	CHECK(c->lb.maglev_table_size == 65537);

	/* load_assignment, flattened in config order. */
	CHECK(c->n_endpoints == 6);
	CHECK(c->n_priorities == 3);
	check_endpoint(&c->endpoints[0], "10.0.0.1:80", 5, 0, 0, 3, RW_CONFIG_HEALTH_HEALTHY, 8080);
	check_endpoint(&c->endpoints[1], "10.0.0.2:80", 1, 0, 0, 3, RW_CONFIG_HEALTH_DEGRADED, 0);
	check_endpoint(&c->endpoints[2], "[::1]:81", 1, 1, 1, 7, RW_CONFIG_HEALTH_DRAINING, 0);
	check_endpoint(&c->endpoints[3], "10.0.0.3:82", 1, 2, 2, 0, RW_CONFIG_HEALTH_UNHEALTHY, 0);
	check_endpoint(&c->endpoints[4], "10.0.0.4:83", 1, 1, 3, 0, RW_CONFIG_HEALTH_TIMEOUT, 0);
	check_endpoint(&c->endpoints[5], "10.0.0.5:84", UINT32_MAX - 1, 1, 3, 0,
	               RW_CONFIG_HEALTH_UNKNOWN, 0);
	for (size_t i = 0; i < c->n_endpoints; i++)
		CHECK(c->endpoints[i].hostname == NULL);

	/* health_checks[0]: HTTP, every field. */
	CHECK(c->n_health_checks == 2);
	hc = &c->health_checks[0];
	CHECK(hc->kind == RW_CONFIG_HC_HTTP);
	CHECK(hc->timeout_ms == 1000 && hc->interval_ms == 5000);
	CHECK(hc->interval_jitter_ms == 500 && hc->interval_jitter_percent == 10);
	CHECK(hc->unhealthy_threshold == 3 && hc->healthy_threshold == 2);
	CHECK(hc->no_traffic_interval_ms == 30000);
	CHECK(hc->unhealthy_interval_ms == 2000);
	CHECK(hc->unhealthy_edge_interval_ms == 1500);
	CHECK(hc->healthy_edge_interval_ms == 7000);
	CHECK(strcmp(hc->path, "/healthz") == 0);
	CHECK(strcmp(hc->host, "health.internal") == 0);
	CHECK(hc->n_expected_statuses == 2);
	CHECK(hc->expected_statuses[0].start == 200 && hc->expected_statuses[0].end == 300);
	CHECK(hc->expected_statuses[1].start == 404 && hc->expected_statuses[1].end == 405);
	CHECK(hc->n_request_headers_to_add == 1);
	CHECK(strcmp(hc->request_headers_to_add[0].key, "x-health") == 0);
	CHECK(strcmp(hc->request_headers_to_add[0].value, "%HOSTNAME%") == 0);
	CHECK(hc->request_headers_to_add[0].append_action == RW_CONFIG_OVERWRITE_IF_EXISTS_OR_ADD);
	CHECK(hc->n_request_headers_to_remove == 1);
	CHECK(strcmp(hc->request_headers_to_remove[0], "x-drop") == 0);
	CHECK(hc->send.len == 0 && hc->n_receive == 0);

	/* health_checks[1]: TCP with payloads, intervals defaulted. */
	hc = &c->health_checks[1];
	CHECK(hc->kind == RW_CONFIG_HC_TCP);
	CHECK(hc->timeout_ms == 250 && hc->interval_ms == 1000);
	CHECK(hc->interval_jitter_ms == 0 && hc->interval_jitter_percent == 0);
	CHECK(hc->unhealthy_threshold == 1 && hc->healthy_threshold == 1);
	CHECK(hc->no_traffic_interval_ms == 60000);
	CHECK(hc->unhealthy_interval_ms == 1000);
	CHECK(hc->unhealthy_edge_interval_ms == 1000);
	CHECK(hc->healthy_edge_interval_ms == 1000);
	CHECK(hc->path == NULL && hc->host == NULL && hc->n_expected_statuses == 0);
	CHECK(payload_is(&hc->send, "PING\r\n", 6));
	CHECK(hc->n_receive == 3);
	CHECK(payload_is(&hc->receive[0], "PONG", 4));
	CHECK(payload_is(&hc->receive[1], "OK", 2));
	CHECK(payload_is(&hc->receive[2], "\xfb\xff", 2));

	od = &c->outlier;
	CHECK(od->present);
	CHECK(od->consecutive_5xx == 6 && od->interval_ms == 11000);
	CHECK(od->base_ejection_time_ms == 31000 && od->max_ejection_percent == 11);
	CHECK(od->enforcing_consecutive_5xx == 91 && od->enforcing_success_rate == 92);
	CHECK(od->success_rate_minimum_hosts == 7 && od->success_rate_request_volume == 101);
	CHECK(od->success_rate_stdev_factor == 1901);
	CHECK(od->consecutive_gateway_failure == 8);
	CHECK(od->enforcing_consecutive_gateway_failure == 93);
	CHECK(od->split_external_local_origin_errors);
	CHECK(od->consecutive_local_origin_failure == 9);
	CHECK(od->enforcing_consecutive_local_origin_failure == 94);
	CHECK(od->failure_percentage_threshold == 86);
	CHECK(od->enforcing_failure_percentage == 95);
	CHECK(od->enforcing_failure_percentage_local_origin == 96);
	CHECK(od->failure_percentage_minimum_hosts == 12);
	CHECK(od->failure_percentage_request_volume == 51);
	CHECK(od->max_ejection_time_ms == 301000);

	t = &c->cb[RW_CONFIG_PRIORITY_HIGH];
	CHECK(t->max_connections == 10 && t->max_pending_requests == 11);
	CHECK(t->max_requests == 12 && t->max_retries == 13);
	CHECK(t->has_retry_budget && t->budget_percent == 33.5);
	CHECK(t->min_retry_concurrency == 7 && t->track_remaining);
	/* The DEFAULT entry sets only max_retries: the rest keep Envoy's defaults. */
	t = &c->cb[RW_CONFIG_PRIORITY_DEFAULT];
	CHECK(t->max_connections == 1024 && t->max_pending_requests == 1024);
	CHECK(t->max_requests == 1024 && t->max_retries == 9);
	CHECK(!t->has_retry_budget && t->budget_percent == 20.0);
	CHECK(t->min_retry_concurrency == 3 && !t->track_remaining);

	c = rw_config_find_cluster(cfg, "ring");
	CHECK(c && c->lb_policy == RW_CONFIG_LB_RING_HASH);
	CHECK(c->lb.ring_min == 512 && c->lb.ring_max == 4096);
	CHECK(c->n_endpoints == 0 && c->n_priorities == 1);

	c = rw_config_find_cluster(cfg, "maglev");
	CHECK(c && c->lb_policy == RW_CONFIG_LB_MAGLEV);
	CHECK(c->lb.maglev_table_size == 5000011);

	c = rw_config_find_cluster(cfg, "random");
	CHECK(c && c->lb_policy == RW_CONFIG_LB_RANDOM);
	check_default_policies(c);

	/* A DNS cluster gets the same per-endpoint fields. */
	c = rw_config_find_cluster(cfg, "dns");
	CHECK(c && c->type == RW_CONFIG_CLUSTER_STRICT_DNS);
	CHECK(c->lb_policy == RW_CONFIG_LB_ROUND_ROBIN);
	CHECK(c->n_endpoints == 2 && c->n_priorities == 2);
	CHECK(strcmp(c->endpoints[0].hostname, "a.test") == 0 && c->endpoints[0].port == 80);
	CHECK(c->endpoints[0].weight == 2 && c->endpoints[0].priority == 0);
	CHECK(c->endpoints[0].locality == 0 && c->endpoints[0].locality_weight == 4);
	CHECK(c->endpoints[0].health_status == RW_CONFIG_HEALTH_HEALTHY);
	CHECK(c->endpoints[0].health_check_port == 9000);
	CHECK(strcmp(c->endpoints[1].hostname, "b.test") == 0 && c->endpoints[1].port == 81);
	CHECK(c->endpoints[1].weight == 1 && c->endpoints[1].priority == 1);
	CHECK(c->endpoints[1].locality == 1 && c->endpoints[1].locality_weight == 0);
	CHECK(c->endpoints[1].health_status == RW_CONFIG_HEALTH_UNKNOWN);
	CHECK(c->endpoints[1].health_check_port == 0);
	CHECK(c->n_health_checks == 1 && c->health_checks[0].kind == RW_CONFIG_HC_TCP);
	CHECK(c->health_checks[0].send.len == 0 && c->health_checks[0].n_receive == 0);
}

static void test_full(void)
{
	struct rw_config *cfg = NULL;
	char err[512];
	int rc = rw_config_load_file(RW_CONFIG_TEST_DATA "/cluster_policies_full.yaml", &cfg, err,
	                             sizeof(err));

	if (rc)
		fprintf(stderr, "cluster_policies_full.yaml: %s\n", err);
	CHECK(rc == 0);
	check_full(cfg);
	rw_config_free(cfg);
}

/* A cluster with only a name: every policy field at Envoy's default. */
static void test_defaults(void)
{
	struct rw_config *cfg = load("static_resources:\n  clusters:\n  - name: c\n");
	const struct rw_config_cluster *c = &cfg->clusters[0];

	CHECK(c->lb_policy == RW_CONFIG_LB_ROUND_ROBIN);
	CHECK(c->n_endpoints == 0 && c->n_priorities == 1);
	CHECK(c->n_health_checks == 0 && c->health_checks == NULL);
	check_default_policies(c);
	rw_config_free(cfg);

	/* Endpoints with no weight, priority or status, and an HTTP check with only what is
	 * required: the defaults of those. */
	cfg = load("static_resources:\n"
	           "  clusters:\n"
	           "  - name: c\n"
	           "    load_assignment:\n"
	           "      endpoints:\n"
	           "      - lb_endpoints:\n"
	           "        - endpoint: {address: {socket_address: {address: 10.0.0.1, "
	           "port_value: 1}}}\n"
	           "      - lb_endpoints: []\n"
	           "    health_checks:\n"
	           "    - timeout: 1s\n"
	           "      interval: 3s\n"
	           "      unhealthy_interval: 4s\n"
	           "      unhealthy_threshold: 1\n"
	           "      healthy_threshold: 1\n"
	           "      http_health_check: {path: /, host: \"\", expected_statuses: []}\n"
	           "    outlier_detection: {}\n"
	           "    circuit_breakers: {thresholds: [{priority: HIGH, retry_budget: {}}]}\n"
	           "    common_lb_config: {}\n"
	           "    least_request_lb_config: {active_request_bias: {runtime_key: k}}\n");
	c = &cfg->clusters[0];
	CHECK(c->n_endpoints == 1 && c->n_priorities == 1);
	check_endpoint(&c->endpoints[0], "10.0.0.1:1", 1, 0, 0, 0, RW_CONFIG_HEALTH_UNKNOWN, 0);
	CHECK(c->n_health_checks == 1);
	CHECK(c->health_checks[0].kind == RW_CONFIG_HC_HTTP);
	CHECK(c->health_checks[0].host == NULL); /* empty is unset: the cluster's name */
	CHECK(c->health_checks[0].n_expected_statuses == 1);
	CHECK(c->health_checks[0].expected_statuses[0].start == 200);
	CHECK(c->health_checks[0].expected_statuses[0].end == 201);
	CHECK(c->health_checks[0].no_traffic_interval_ms == 60000);
	CHECK(c->health_checks[0].unhealthy_interval_ms == 4000);
	CHECK(c->health_checks[0].unhealthy_edge_interval_ms == 4000); /* unhealthy_interval */
	CHECK(c->health_checks[0].healthy_edge_interval_ms == 3000);   /* interval */
	CHECK(c->health_checks[0].n_request_headers_to_add == 0);
	CHECK(c->outlier.present && c->outlier.consecutive_5xx == 5);
	CHECK(c->outlier.max_ejection_time_ms == 300000);
	CHECK(c->cb[RW_CONFIG_PRIORITY_HIGH].has_retry_budget);
	CHECK(c->cb[RW_CONFIG_PRIORITY_HIGH].budget_percent == 20.0);
	CHECK(c->cb[RW_CONFIG_PRIORITY_HIGH].min_retry_concurrency == 3);
	CHECK(c->cb[RW_CONFIG_PRIORITY_HIGH].max_connections == 1024);
	CHECK(c->lb.healthy_panic_threshold_ppm == 500000);
	CHECK(c->lb.active_request_bias == 0.0); /* a RuntimeDouble without default_value */
	rw_config_free(cfg);
}

/* protobuf's JSON names (lowerCamelCase), quoted numbers and exponents. */
static void test_json(void)
{
	struct rw_config *cfg = load(
	    "{\"static_resources\": {\"clusters\": [{\"name\": \"j\", \"lbPolicy\": \"MAGLEV\", "
	    "\"maglevLbConfig\": {\"tableSize\": \"251\"}, \"commonLbConfig\": "
	    "{\"healthyPanicThreshold\": {\"value\": 1e1}}, \"outlierDetection\": "
	    "{\"baseEjectionTime\": \"400s\", \"maxEjectionTime\": \"400s\"}, "
	    "\"circuitBreakers\": {\"thresholds\": [{\"retryBudget\": {\"budgetPercent\": "
	    "{\"value\": \"0.5\"}}}]}, \"healthChecks\": [{\"timeout\": \"1s\", \"interval\": "
	    "\"1s\", \"unhealthyThreshold\": 1, \"healthyThreshold\": \"2\", "
	    "\"tcpHealthCheck\": {\"send\": {\"binary\": \"AAE=\"}}}]}]}}");
	const struct rw_config_cluster *c = &cfg->clusters[0];

	CHECK(c->lb_policy == RW_CONFIG_LB_MAGLEV && c->lb.maglev_table_size == 251);
	CHECK(c->lb.healthy_panic_threshold_ppm == 100000);
	CHECK(c->outlier.present && c->outlier.base_ejection_time_ms == 400000);
	CHECK(c->outlier.max_ejection_time_ms == 400000);
	CHECK(c->cb[RW_CONFIG_PRIORITY_DEFAULT].has_retry_budget);
	CHECK(fabs(c->cb[RW_CONFIG_PRIORITY_DEFAULT].budget_percent - 0.5) < 1e-12);
	CHECK(c->health_checks[0].healthy_threshold == 2);
	CHECK(payload_is(&c->health_checks[0].send, "\x00\x01", 2));
	rw_config_free(cfg);
}

/* Lines 1-3; cluster fields go on from line 4 at column 5. */
#define CLUSTER "static_resources:\n  clusters:\n  - name: c0\n"
#define C0      "static_resources.clusters[0]."

/* Lines 4-8: a health check whose own fields go on from line 9 at column 7. */
#define HC                                                                                         \
	CLUSTER "    health_checks:\n"                                                             \
		"    - timeout: 1s\n"                                                              \
		"      interval: 2s\n"                                                             \
		"      unhealthy_threshold: 1\n"                                                   \
		"      healthy_threshold: 1\n"
#define HC0 C0 "health_checks[0]."

/* Lines 4-6: load_assignment's first group, its fields from line 7 at column 9. */
#define LA  CLUSTER "    load_assignment:\n      endpoints:\n      - lb_endpoints: []\n"
#define LA0 C0 "load_assignment.endpoints[0]."
/* An lb_endpoint (7 lines in all); its fields from line 8 at column 11. */
#define EP                                                                                         \
	CLUSTER "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n"                  \
		"        - endpoint: {address: {socket_address: {address: 10.0.0.1, "              \
		"port_value: 1}}}\n"

static const struct bad {
	const char *yaml;
	const char *err; /* the whole message */
} bad[] = {
    /* lb_policy and the *_lb_config messages. */
    {CLUSTER "    lb_policy: LOAD_BALANCING_POLICY_CONFIG\n",
     C0 "lb_policy: line 4:16: lb_policy 'LOAD_BALANCING_POLICY_CONFIG' is not supported by "
        "ringway yet"},
    {CLUSTER "    lb_policy: LEAST_REQUESTS\n",
     C0 "lb_policy: line 4:16: invalid value 'LEAST_REQUESTS' (valid: ROUND_ROBIN, "
        "LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV, CLUSTER_PROVIDED, "
        "LOAD_BALANCING_POLICY_CONFIG)"},
    {CLUSTER "    maglev_lb_config: {table_size: 65536}\n",
     C0 "maglev_lb_config.table_size: line 4:36: table_size must be a prime number (65536 is "
        "not)"},
    {CLUSTER "    maglev_lb_config: {table_size: 5000012}\n",
     C0 "maglev_lb_config.table_size: line 4:36: table_size must be in 2..5000011"},
    {CLUSTER "    maglev_lb_config: {table_size: 1}\n",
     C0 "maglev_lb_config.table_size: line 4:36: table_size must be in 2..5000011"},
    {CLUSTER "    least_request_lb_config: {choice_count: 1}\n",
     C0 "least_request_lb_config.choice_count: line 4:45: choice_count must be in "
        "2..4294967295"},
    {CLUSTER "    least_request_lb_config: {active_request_bias: {default_value: -0.5}}\n",
     C0 "least_request_lb_config.active_request_bias.default_value: line 4:68: "
        "active_request_bias must be greater than or equal to 0"},
    {CLUSTER "    least_request_lb_config: {active_request_bias: {default_value: 1x}}\n",
     C0 "least_request_lb_config.active_request_bias.default_value: line 4:68: expected a "
        "number"},
    {CLUSTER "    least_request_lb_config: {slow_start_config: {}}\n",
     C0 "least_request_lb_config.slow_start_config: line 4:31: field 'slow_start_config' is not "
        "supported by ringway yet"},
    {CLUSTER "    ring_hash_lb_config: {minimum_ring_size: 4096, maximum_ring_size: 2048}\n",
     C0 "ring_hash_lb_config.minimum_ring_size: line 4:46: minimum_ring_size (4096) must not be "
        "greater than maximum_ring_size (2048)"},
    {CLUSTER "    ring_hash_lb_config: {maximum_ring_size: 512}\n",
     C0 "ring_hash_lb_config.maximum_ring_size: line 4:46: minimum_ring_size (1024) must not be "
        "greater than maximum_ring_size (512)"},
    {CLUSTER "    ring_hash_lb_config: {minimum_ring_size: 8388609}\n",
     C0 "ring_hash_lb_config.minimum_ring_size: line 4:46: minimum_ring_size must be in "
        "1..8388608"},
    {CLUSTER "    ring_hash_lb_config: {hash_function: MURMUR_HASH_2}\n",
     C0 "ring_hash_lb_config.hash_function: line 4:42: hash_function 'MURMUR_HASH_2' is not "
        "supported by ringway yet"},
    {CLUSTER "    ring_hash_lb_config: {}\n    maglev_lb_config: {}\n",
     C0 "maglev_lb_config: line 5:5: 'ring_hash_lb_config' and 'maglev_lb_config' cannot both "
        "be set"},
    {CLUSTER "    round_robin_lb_config: {slow_start_config: {}}\n",
     C0 "round_robin_lb_config.slow_start_config: line 4:29: field 'slow_start_config' is not "
        "supported by ringway yet"},
    {CLUSTER "    common_lb_config: {healthy_panic_threshold: {value: 100.5}}\n",
     C0 "common_lb_config.healthy_panic_threshold.value: line 4:57: value must be in 0..100"},
    {CLUSTER "    common_lb_config: {zone_aware_lb_config: {}}\n",
     C0 "common_lb_config.zone_aware_lb_config: line 4:24: field 'zone_aware_lb_config' is not "
        "supported by ringway yet"},
    {CLUSTER "    common_lb_config: {locality_weighted_lb_config: {x: 1}}\n",
     C0 "common_lb_config.locality_weighted_lb_config.x: line 4:54: unknown field 'x'"},

    /* load_assignment. */
    {LA "      - priority: 2\n",
     C0 "load_assignment.endpoints[1].priority: line 7:19: priority 2 leaves a gap: no locality "
        "group has priority 1 (priorities must be contiguous from 0)"},
    {CLUSTER "    load_assignment:\n      endpoints:\n      - priority: 1\n",
     C0 "load_assignment.endpoints[0].priority: line 6:19: priority 1 leaves a gap: no locality "
        "group has priority 0 (priorities must be contiguous from 0)"},
    {LA "        priority: 129\n", LA0 "priority: line 7:19: priority must be in 0..128"},
    {LA "        load_balancing_weight: 0\n",
     LA0 "load_balancing_weight: line 7:32: load_balancing_weight must be in 1..4294967295"},
    {LA "        locality: {regoin: r}\n",
     LA0 "locality.regoin: line 7:20: unknown field 'regoin' (did you mean 'region'?)"},
    {LA "        locality: {zone: [a]}\n", LA0 "locality.zone: line 7:26: expected a string"},
    {EP "          load_balancing_weight: 0\n",
     LA0 "lb_endpoints[0].load_balancing_weight: line 8:34: load_balancing_weight must be in "
         "1..4294967295"},
    {EP "          health_status: SICK\n",
     LA0 "lb_endpoints[0].health_status: line 8:26: invalid value 'SICK' (valid: UNKNOWN, "
         "HEALTHY, UNHEALTHY, DRAINING, TIMEOUT, DEGRADED)"},
    {CLUSTER "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n"
             "        - endpoint:\n            health_check_config: {port_value: 80}\n",
     LA0 "lb_endpoints[0].endpoint: line 8:13: missing required field 'address'"},
    {CLUSTER "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n"
             "        - endpoint:\n            health_check_config: {hostname: h}\n",
     LA0 "lb_endpoints[0].endpoint.health_check_config.hostname: line 8:35: field 'hostname' is "
         "not supported by ringway yet"},
    {CLUSTER "    load_assignment:\n      endpoints:\n      - lb_endpoints:\n"
             "        - endpoint:\n            health_check_config: {port_value: 65536}\n",
     LA0 "lb_endpoints[0].endpoint.health_check_config.port_value: line 8:47: integer out of "
         "range (maximum 65535)"},
    {CLUSTER "    load_assignment:\n      policy: {overprovisioning_factor: 0}\n",
     C0 "load_assignment.policy.overprovisioning_factor: line 5:41: overprovisioning_factor must "
        "be in 1..4294967295"},
    {CLUSTER "    load_assignment:\n      policy: {drop_overloads: []}\n",
     C0 "load_assignment.policy.drop_overloads: line 5:16: field 'drop_overloads' is not "
        "supported by ringway yet"},
    {CLUSTER "    type: LOGICAL_DNS\n    load_assignment:\n      endpoints:\n"
             "      - lb_endpoints: []\n      - priority: 1\n",
     C0 "load_assignment: line 6:7: LOGICAL_DNS clusters must have a single "
        "locality_lb_endpoint and a single lb_endpoint (found 0 endpoints)"},

    /* health_checks. */
    {CLUSTER "    health_checks:\n    - timeout: 1s\n      unhealthy_threshold: 1\n"
             "      healthy_threshold: 1\n      tcp_health_check: {}\n",
     C0 "health_checks[0]: line 5:7: missing required field 'interval'"},
    {CLUSTER "    health_checks:\n    - interval: 1s\n",
     C0 "health_checks[0]: line 5:7: missing required field 'timeout'"},
    {CLUSTER "    health_checks:\n    - {timeout: 1s, interval: 1s, healthy_threshold: 1}\n",
     C0 "health_checks[0]: line 5:7: missing required field 'unhealthy_threshold'"},
    {HC, C0 "health_checks[0]: line 5:7: missing the health checker: one of "
            "'http_health_check' or 'tcp_health_check'"},
    {HC "      http_health_check: {path: /}\n      tcp_health_check: {}\n",
     HC0 "tcp_health_check: line 10:7: 'http_health_check' and 'tcp_health_check' cannot both "
         "be set"},
    {HC "      grpc_health_check: {}\n",
     HC0 "grpc_health_check: line 9:7: field 'grpc_health_check' is not supported by ringway "
         "yet"},
    {HC "      custom_health_check: {}\n",
     HC0 "custom_health_check: line 9:7: field 'custom_health_check' is not supported by "
         "ringway yet"},
    {HC "      event_log_path: /tmp/hc\n",
     HC0 "event_log_path: line 9:7: field 'event_log_path' is not supported by ringway yet"},
    {HC "      transport_socket_match_criteria: {}\n",
     HC0 "transport_socket_match_criteria: line 9:7: field 'transport_socket_match_criteria' is "
         "not supported by ringway yet"},
    {HC "      reuse_connection: yes\n", HC0 "reuse_connection: line 9:25: expected true or false"},
    {CLUSTER "    health_checks:\n    - timeout: 0s\n",
     C0 "health_checks[0].timeout: line 5:16: timeout must be greater than 0s"},
    {HC "      unhealthy_edge_interval: 0s\n",
     HC0 "unhealthy_edge_interval: line 9:32: unhealthy_edge_interval must be greater than 0s"},
    {CLUSTER "    health_checks:\n    - healthy_threshold: 0\n",
     C0 "health_checks[0].healthy_threshold: line 5:26: healthy_threshold must be in "
        "1..4294967295"},
    {HC "      http_health_check: {host: h}\n",
     HC0 "http_health_check: line 9:26: missing required field 'path'"},
    {HC "      http_health_check: {path: \"\"}\n",
     HC0 "http_health_check.path: line 9:33: path must not be empty"},
    {HC "      http_health_check: {path: \"/\\r\\n\"}\n",
     HC0 "http_health_check.path: line 9:33: path must not contain CR or LF"},
    {HC "      http_health_check:\n        path: /\n        expected_statuses: [{start: 200, "
        "end: 200}]\n",
     HC0 "http_health_check.expected_statuses[0].end: line 11:47: end (200) must be greater than "
         "start (200)"},
    {HC "      http_health_check:\n        path: /\n        expected_statuses: [{start: 300, "
        "end: 200}]\n",
     HC0 "http_health_check.expected_statuses[0].end: line 11:47: end (200) must be greater than "
         "start (300)"},
    {HC "      http_health_check:\n        path: /\n        expected_statuses: [{start: 99, "
        "end: 200}]\n",
     HC0 "http_health_check.expected_statuses[0].start: line 11:37: start must be in 100..599"},
    {HC "      http_health_check:\n        path: /\n        expected_statuses: [{start: 200, "
        "end: 601}]\n",
     HC0 "http_health_check.expected_statuses[0].end: line 11:47: end must be in 101..600"},
    {HC "      http_health_check:\n        path: /\n        expected_statuses: [{start: 200}]\n",
     HC0 "http_health_check.expected_statuses[0]: line 11:29: missing required field 'end'"},
    {HC "      http_health_check: {path: /, codec_client_type: HTTP2}\n",
     HC0 "http_health_check.codec_client_type: line 9:55: codec_client_type 'HTTP2' is not "
         "supported by ringway yet"},
    {HC "      http_health_check: {path: /, retriable_statuses: []}\n",
     HC0 "http_health_check.retriable_statuses: line 9:36: field 'retriable_statuses' is not "
         "supported by ringway yet"},
    {HC "      http_health_check:\n        path: /\n        request_headers_to_add:\n"
        "        - header: {key: Host, value: x}\n",
     HC0 "http_health_check.request_headers_to_add[0].header.key: line 12:25: ':'-prefixed or "
         "host headers may not be modified ('host')"},
    {HC "      http_health_check: {path: /, response_headers_to_add: []}\n",
     HC0 "http_health_check.response_headers_to_add: line 9:36: unknown field "
         "'response_headers_to_add'"},
    {HC "      tcp_health_check: {send: {text: \"0\"}}\n",
     HC0 "tcp_health_check.send.text: line 9:39: text must be hex digits, two per byte (odd "
         "length 1)"},
    {HC "      tcp_health_check: {send: {text: \"0g\"}}\n",
     HC0 "tcp_health_check.send.text: line 9:39: text must be hex digits (offset 1 is not)"},
    {HC "      tcp_health_check: {receive: [{binary: \"a*==\"}]}\n",
     HC0 "tcp_health_check.receive[0].binary: line 9:45: binary must be base64 (offset 1 is "
         "not)"},
    {HC "      tcp_health_check: {receive: [{binary: \"a\"}]}\n",
     HC0 "tcp_health_check.receive[0].binary: line 9:45: binary must be base64 (truncated)"},
    {HC "      tcp_health_check: {send: {text: \"00\", binary: \"AA==\"}}\n",
     HC0 "tcp_health_check.send.binary: line 9:45: 'text' and 'binary' cannot both be set"},
    {HC "      tcp_health_check: {send: {}}\n",
     HC0 "tcp_health_check.send: line 9:32: missing one of 'text' or 'binary'"},

    /* outlier_detection. */
    {CLUSTER "    outlier_detection:\n      consecutive_5xxx: 3\n",
     C0 "outlier_detection.consecutive_5xxx: line 5:7: unknown field 'consecutive_5xxx' (did you "
        "mean 'consecutive_5xx'?)"},
    {CLUSTER "    outlier_detection:\n      bogus: 3\n",
     C0 "outlier_detection.bogus: line 5:7: unknown field 'bogus'"},
    {CLUSTER "    outlier_detection:\n      enforcing_success_rate: 101\n",
     C0 "outlier_detection.enforcing_success_rate: line 5:31: enforcing_success_rate must be in "
        "0..100"},
    {CLUSTER "    outlier_detection:\n      max_ejection_percent: 200\n",
     C0 "outlier_detection.max_ejection_percent: line 5:29: max_ejection_percent must be in "
        "0..100"},
    {CLUSTER "    outlier_detection:\n      interval: 0s\n",
     C0 "outlier_detection.interval: line 5:17: interval must be greater than 0s"},
    {CLUSTER "    outlier_detection:\n      base_ejection_time: 400s\n",
     C0 "outlier_detection.base_ejection_time: line 5:27: max_ejection_time (300000ms) must not "
        "be smaller than base_ejection_time (400000ms)"},
    {CLUSTER "    outlier_detection:\n      max_ejection_time: 10s\n",
     C0 "outlier_detection.max_ejection_time: line 5:26: max_ejection_time (10000ms) must not be "
        "smaller than base_ejection_time (30000ms)"},
    {CLUSTER "    outlier_detection:\n      enforcing_local_origin_success_rate: 10\n",
     C0 "outlier_detection.enforcing_local_origin_success_rate: line 5:7: field "
        "'enforcing_local_origin_success_rate' is not supported by ringway yet"},
    {CLUSTER "    outlier_detection: []\n", C0 "outlier_detection: line 4:24: expected a mapping"},

    /* circuit_breakers. */
    {CLUSTER "    circuit_breakers:\n      thresholds:\n      - max_retries: 1\n"
             "      - priority: DEFAULT\n",
     C0 "circuit_breakers.thresholds[1].priority: line 7:19: duplicate thresholds for priority "
        "DEFAULT"},
    {CLUSTER "    circuit_breakers:\n      thresholds:\n      - priority: HIGH\n"
             "      - priority: HIGH\n",
     C0 "circuit_breakers.thresholds[1].priority: line 7:19: duplicate thresholds for priority "
        "HIGH"},
    {CLUSTER "    circuit_breakers:\n      thresholds:\n      - priority: DEFAULT\n"
             "      - max_requests: 5\n",
     C0 "circuit_breakers.thresholds[1]: line 7:9: duplicate thresholds for priority DEFAULT"},
    {CLUSTER "    circuit_breakers:\n      thresholds: [{priority: LOW}]\n",
     C0 "circuit_breakers.thresholds[0].priority: line 5:31: invalid value 'LOW' (valid: "
        "DEFAULT, HIGH)"},
    {CLUSTER "    circuit_breakers:\n      thresholds: [{max_connection_pools: 1}]\n",
     C0 "circuit_breakers.thresholds[0].max_connection_pools: line 5:21: field "
        "'max_connection_pools' is not supported by ringway yet"},
    {CLUSTER "    circuit_breakers:\n      thresholds: [{max_connections: 4294967296}]\n",
     C0 "circuit_breakers.thresholds[0].max_connections: line 5:38: integer out of range "
        "(maximum 4294967295)"},
    {CLUSTER "    circuit_breakers:\n      thresholds: [{retry_budget: {budget_percent: {value: "
             "120}}}]\n",
     C0 "circuit_breakers.thresholds[0].retry_budget.budget_percent.value: line 5:60: value must "
        "be in 0..100"},
    {CLUSTER "    circuit_breakers:\n      per_host_thresholds: []\n",
     C0 "circuit_breakers.per_host_thresholds: line 5:7: field 'per_host_thresholds' is not "
        "supported by ringway yet"},
};

static void test_bad(void)
{
	size_t failed = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rw_config *cfg = (struct rw_config *)1;
		char err[512] = "";
		int rc =
		    rw_config_load_string(bad[i].yaml, strlen(bad[i].yaml), &cfg, err, sizeof(err));

		if (rc == -EINVAL && cfg == NULL && strcmp(err, bad[i].err) == 0)
			continue;
		fprintf(stderr, "bad[%zu]: rc %d\n  got:  %s\n  want: %s\n", i, rc, err,
		        bad[i].err);
		if (rc == 0)
			rw_config_free(cfg);
		failed++;
	}
	CHECK(failed == 0);
}

/* The parser's tests see every parsed field, served by the data path or not. */
extern bool rw__config_allow_unserved;

/* Every cluster feature of this file is served: with the test hook off such a cluster loads. */
static void test_served(void)
{
	static const char yaml[] =
	    "static_resources:\n"
	    "  clusters:\n"
	    "  - name: c\n"
	    "    lb_policy: MAGLEV\n"
	    "    outlier_detection: {consecutive_5xx: 3}\n"
	    "    circuit_breakers: {thresholds: [{max_requests: 10}]}\n"
	    "    health_checks:\n"
	    "    - {timeout: 1s, interval: 1s, unhealthy_threshold: 1, healthy_threshold: 1,\n"
	    "       http_health_check: {path: /h}}\n"
	    "    common_lb_config: {locality_weighted_lb_config: {}}\n"
	    "    load_assignment:\n"
	    "      cluster_name: c\n"
	    "      endpoints:\n"
	    "      - priority: 0\n"
	    "        load_balancing_weight: 2\n"
	    "        lb_endpoints:\n"
	    "        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}\n"
	    "          load_balancing_weight: 3\n"
	    "          health_status: DRAINING\n"
	    "      - priority: 1\n"
	    "        lb_endpoints:\n"
	    "        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: "
	    "2}}}\n";
	struct rw_config *cfg = NULL;
	char err[512] = "";

	rw__config_allow_unserved = false;
	if (rw_config_load_string(yaml, strlen(yaml), &cfg, err, sizeof(err)) != 0)
		fprintf(stderr, "got: %s\n", err);
	CHECK(cfg != NULL);
	rw_config_free(cfg);
	rw__config_allow_unserved = true;
}

int main(void)
{
	rw__config_allow_unserved = true;
	test_full();
	test_defaults();
	test_json();
	test_bad();
	test_served();
	printf("config cluster policies: %zu bad documents ok\n", sizeof(bad) / sizeof(bad[0]));
	return 0;
}
