/*
 * health/state.c: Envoy's active health check state machine.  A new host is unhealthy and
 * pending; its first success makes it healthy at once; network failures count up to
 * unhealthy_threshold while an unexpected HTTP status ejects at once; successes while
 * unhealthy count up to healthy_threshold; streaks reset on the opposite result; the next
 * delay follows the interval table (edges while a streak is pending, no_traffic_interval
 * before any traffic) plus bounded jitter.
 */
#include <stdio.h>

#include "config/config.h"
#include "health/state.h"
#include "tests/unit/check.h"

static struct rw_config_health_check params(void)
{
	struct rw_config_health_check hc = {
	    .kind = RW_CONFIG_HC_HTTP,
	    .timeout_ms = 1000,
	    .interval_ms = 100,
	    .unhealthy_interval_ms = 200,
	    .healthy_edge_interval_ms = 30,
	    .unhealthy_edge_interval_ms = 40,
	    .no_traffic_interval_ms = 60000,
	    .unhealthy_threshold = 3,
	    .healthy_threshold = 2,
	};
	return hc;
}

static void test_first_success_is_healthy_at_once(void)
{
	struct rw_config_health_check hc = params();
	struct rw_health_state s;

	rw_health_state_init(&s);
	CHECK(s.unhealthy && s.pending);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_OK) == RW_HEALTH_CHANGED);
	CHECK(!s.unhealthy && !s.pending && s.ok_streak == 1);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_OK) == RW_HEALTH_UNCHANGED);
	CHECK(s.ok_streak == 2);
}

static void test_first_failure_stays_unhealthy(void)
{
	struct rw_config_health_check hc = params();
	struct rw_health_state s;

	rw_health_state_init(&s);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_FAIL_NETWORK) == RW_HEALTH_UNCHANGED);
	CHECK(s.unhealthy && !s.pending && s.fail_streak == 1);
	/* Now healthy_threshold applies: one success is not enough. */
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_OK) == RW_HEALTH_CHANGE_PENDING);
	CHECK(s.unhealthy);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_OK) == RW_HEALTH_CHANGED);
	CHECK(!s.unhealthy && s.ok_streak == 2 && s.fail_streak == 0);
}

static void test_unhealthy_threshold_counts_network_failures(void)
{
	struct rw_config_health_check hc = params();
	struct rw_health_state s;

	rw_health_state_init(&s);
	rw_health_state_record(&s, &hc, RW_HEALTH_OK);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_FAIL_NETWORK) == RW_HEALTH_CHANGE_PENDING);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_FAIL_NETWORK) == RW_HEALTH_CHANGE_PENDING);
	CHECK(!s.unhealthy);
	/* A success in between resets the streak. */
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_OK) == RW_HEALTH_UNCHANGED);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_FAIL_NETWORK) == RW_HEALTH_CHANGE_PENDING);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_FAIL_NETWORK) == RW_HEALTH_CHANGE_PENDING);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_FAIL_NETWORK) == RW_HEALTH_CHANGED);
	CHECK(s.unhealthy && s.fail_streak == 3);
	/* More failures change nothing. */
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_FAIL_NETWORK) == RW_HEALTH_UNCHANGED);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_FAIL_ACTIVE) == RW_HEALTH_UNCHANGED);
}

static void test_active_failure_ejects_at_once(void)
{
	struct rw_config_health_check hc = params();
	struct rw_health_state s;

	rw_health_state_init(&s);
	rw_health_state_record(&s, &hc, RW_HEALTH_OK);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_FAIL_ACTIVE) == RW_HEALTH_CHANGED);
	CHECK(s.unhealthy);
}

static void test_healthy_streak_resets_on_failure(void)
{
	struct rw_config_health_check hc = params();
	struct rw_health_state s;

	hc.healthy_threshold = 3;
	rw_health_state_init(&s);
	rw_health_state_record(&s, &hc, RW_HEALTH_FAIL_NETWORK);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_OK) == RW_HEALTH_CHANGE_PENDING);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_OK) == RW_HEALTH_CHANGE_PENDING);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_FAIL_NETWORK) == RW_HEALTH_UNCHANGED);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_OK) == RW_HEALTH_CHANGE_PENDING);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_OK) == RW_HEALTH_CHANGE_PENDING);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_OK) == RW_HEALTH_CHANGED);
	CHECK(!s.unhealthy);
}

static void test_thresholds_of_one(void)
{
	struct rw_config_health_check hc = params();
	struct rw_health_state s;

	hc.unhealthy_threshold = hc.healthy_threshold = 1;
	rw_health_state_init(&s);
	rw_health_state_record(&s, &hc, RW_HEALTH_OK);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_FAIL_NETWORK) == RW_HEALTH_CHANGED);
	CHECK(rw_health_state_record(&s, &hc, RW_HEALTH_OK) == RW_HEALTH_CHANGED);
}

static void test_intervals(void)
{
	struct rw_config_health_check hc = params();

	CHECK(rw_health_next_delay(&hc, true, RW_HEALTH_UNCHANGED, true, 0) == 100);
	CHECK(rw_health_next_delay(&hc, true, RW_HEALTH_CHANGED, true, 0) == 100);
	CHECK(rw_health_next_delay(&hc, true, RW_HEALTH_CHANGE_PENDING, true, 0) == 30);
	CHECK(rw_health_next_delay(&hc, false, RW_HEALTH_UNCHANGED, true, 0) == 200);
	CHECK(rw_health_next_delay(&hc, false, RW_HEALTH_CHANGED, true, 0) == 200);
	CHECK(rw_health_next_delay(&hc, false, RW_HEALTH_CHANGE_PENDING, true, 0) == 40);
	CHECK(rw_health_next_delay(&hc, true, RW_HEALTH_UNCHANGED, false, 0) == 60000);
	CHECK(rw_health_next_delay(&hc, false, RW_HEALTH_CHANGE_PENDING, false, 0) == 60000);
}

static void test_jitter_bounds(void)
{
	struct rw_config_health_check hc = params();
	uint64_t x = 88172645463325252ull, lo = UINT64_MAX, hi = 0;

	hc.interval_jitter_ms = 50;
	hc.interval_jitter_percent = 10; /* of 100 ms: up to 9 more */
	for (int i = 0; i < 10000; i++) {
		uint64_t d;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		d = rw_health_next_delay(&hc, true, RW_HEALTH_UNCHANGED, true, x);
		CHECK(d >= 100 && d < 100 + 10 + 50);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	CHECK(lo < 105 && hi > 150); /* the jitter really spreads */
	hc.interval_jitter_ms = 0;
	hc.interval_jitter_percent = 0;
	CHECK(rw_health_next_delay(&hc, true, RW_HEALTH_UNCHANGED, true, x) == 100);
}

int main(void)
{
	test_first_success_is_healthy_at_once();
	test_first_failure_stays_unhealthy();
	test_unhealthy_threshold_counts_network_failures();
	test_active_failure_ejects_at_once();
	test_healthy_streak_resets_on_failure();
	test_thresholds_of_one();
	test_intervals();
	test_jitter_bounds();
	printf("health state: ok\n");
	return 0;
}
