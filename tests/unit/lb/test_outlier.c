/*
 * Outlier detection (lb/outlier.c) with time and randomness in hand: consecutive 5xx and
 * gateway-failure thresholds fire at exactly N, the local-origin split, max_ejection_percent,
 * ejection time growing with repeated ejections up to max_ejection_time and decaying while
 * healthy, success-rate and failure-percentage ejections, unejection when time is up, and
 * workers reporting while a tick thread ejects (run under -DRW_TSAN=ON as well).
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lb/cluster.h"
#include "lb/outlier.h"
#include "tests/unit/check.h"

/* Envoy's defaults (config/config.h), interval 100 ms, base 1 s, max 300 s. */
static struct rw_outlier_config defaults(void)
{
	return (struct rw_outlier_config){
	    .consecutive_5xx = 5,
	    .consecutive_gateway_failure = 5,
	    .consecutive_local_origin_failure = 5,
	    .interval_ms = 100,
	    .base_ejection_time_ms = 1000,
	    .max_ejection_time_ms = 300000,
	    .max_ejection_percent = 10,
	    .enforcing_consecutive_5xx = 100,
	    .enforcing_consecutive_gateway_failure = 0,
	    .enforcing_consecutive_local_origin_failure = 100,
	    .enforcing_success_rate = 100,
	    .enforcing_local_origin_success_rate = 100,
	    .enforcing_failure_percentage = 0,
	    .enforcing_failure_percentage_local_origin = 0,
	    .success_rate_minimum_hosts = 5,
	    .success_rate_request_volume = 100,
	    .success_rate_stdev_factor = 1900,
	    .failure_percentage_threshold = 85,
	    .failure_percentage_minimum_hosts = 5,
	    .failure_percentage_request_volume = 50,
	};
}

static struct rw_host_set *make_set(size_t n)
{
	struct rw_lb_address a[16];
	struct rw_host_set *set;

	CHECK(n <= 16);
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a[i].addr;

		memset(&a[i], 0, sizeof(a[i]));
		in->sin_family = AF_INET;
		in->sin_port = htons(8000);
		in->sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)i);
		a[i].len = sizeof(*in);
	}
	CHECK(rw_host_set_build(NULL, a, n, &set) == 0);
	return set;
}

static bool ejected(const struct rw_host *h)
{
	return atomic_load(&h->health) & RW_HOST_EJECTED;
}

static void report_n(struct rw_host *h, enum rw_outlier_result r, unsigned n)
{
	while (n--)
		CHECK(!rw_outlier_report(h, r));
}

static void test_consecutive_5xx(void)
{
	struct rw_outlier_config cfg = defaults();
	struct rw_outlier_detector d;
	struct rw_host_set *set = make_set(10);
	struct rw_host *h = set->hosts[0];
	struct rw_outlier_changes ch;

	rw_outlier_detector_init(&d, &cfg, 0);
	CHECK(!rw_outlier_report(h, RW_OUTLIER_5XX)); /* no state attached yet: ignored */
	CHECK(!rw_outlier_tick(&d, set, 0, 1, NULL));
	CHECK(h->od && h->od->det == &d);
	CHECK(rw_outlier_result_of_status(200) == RW_OUTLIER_SUCCESS);
	CHECK(rw_outlier_result_of_status(404) == RW_OUTLIER_SUCCESS);
	CHECK(rw_outlier_result_of_status(500) == RW_OUTLIER_5XX);
	CHECK(rw_outlier_result_of_status(503) == RW_OUTLIER_GATEWAY);

	/* N-1, then a success resets the count. */
	report_n(h, RW_OUTLIER_5XX, 4);
	CHECK(!rw_outlier_tick(&d, set, 10, 1, NULL) && !ejected(h));
	report_n(h, RW_OUTLIER_SUCCESS, 1);
	report_n(h, RW_OUTLIER_5XX, 4);
	CHECK(!rw_outlier_tick(&d, set, 20, 1, NULL) && !ejected(h));
	/* The Nth in a row requests the ejection; the tick carries it out. */
	CHECK(rw_outlier_report(h, RW_OUTLIER_5XX));
	CHECK(!ejected(h)); /* a worker never ejects */
	CHECK(atomic_load(&d.dirty) == 1);
	CHECK(rw_outlier_tick(&d, set, 30, 1, &ch));
	CHECK(ch.ejected == 1 && ch.unejected == 0 && ejected(h));
	CHECK(d.ejections_enforced[RW_OUTLIER_EJECT_CONSECUTIVE_5XX] == 1);
	CHECK(atomic_load(&h->od->consecutive_5xx) == 0);
	for (size_t i = 1; i < set->n; i++)
		CHECK(!ejected(set->hosts[i]));
	rw_host_set_free(set); /* frees the hosts' state too (ASan checks) */
}

static void test_gateway_failures(void)
{
	struct rw_outlier_config cfg = defaults();
	struct rw_outlier_detector d;
	struct rw_host_set *set = make_set(10);
	struct rw_host *h = set->hosts[1], *g = set->hosts[2];

	cfg.consecutive_5xx = 100;
	cfg.consecutive_gateway_failure = 3;
	rw_outlier_detector_init(&d, &cfg, 0);
	rw_outlier_tick(&d, set, 0, 1, NULL);
	/* A plain 500 breaks a gateway run; connect failures and timeouts count as 503/504. */
	report_n(h, RW_OUTLIER_GATEWAY, 2);
	report_n(h, RW_OUTLIER_5XX, 1);
	report_n(h, RW_OUTLIER_CONNECT_FAILED, 1);
	report_n(h, RW_OUTLIER_TIMEOUT, 1);
	CHECK(rw_outlier_report(h, RW_OUTLIER_GATEWAY));
	/* enforcing_consecutive_gateway_failure defaults to 0: detected, not ejected. */
	CHECK(!rw_outlier_tick(&d, set, 10, 1, NULL) && !ejected(h));
	CHECK(d.ejections_detected[RW_OUTLIER_EJECT_CONSECUTIVE_GATEWAY] == 1);
	CHECK(atomic_load(&h->od->consecutive_gateway) == 0);

	d.cfg.enforcing_consecutive_gateway_failure = 100;
	report_n(g, RW_OUTLIER_CONNECT_FAILED, 2);
	CHECK(rw_outlier_report(g, RW_OUTLIER_GATEWAY));
	CHECK(rw_outlier_tick(&d, set, 20, 1, NULL) && ejected(g));
	CHECK(d.ejections_enforced[RW_OUTLIER_EJECT_CONSECUTIVE_GATEWAY] == 1);
	rw_host_set_free(set);
}

static void test_split_local_origin(void)
{
	struct rw_outlier_config cfg = defaults();
	struct rw_outlier_detector d;
	struct rw_host_set *set = make_set(10);
	struct rw_host *h = set->hosts[0];

	cfg.split_external_local_origin_errors = true;
	cfg.consecutive_5xx = 2;
	cfg.consecutive_local_origin_failure = 3;
	rw_outlier_detector_init(&d, &cfg, 0);
	rw_outlier_tick(&d, set, 0, 1, NULL);
	/* Local-origin errors leave the 5xx counter alone; a response resets theirs. */
	report_n(h, RW_OUTLIER_5XX, 1);
	report_n(h, RW_OUTLIER_CONNECT_FAILED, 2);
	report_n(h, RW_OUTLIER_CONNECT_SUCCESS, 1);
	report_n(h, RW_OUTLIER_TIMEOUT, 2);
	CHECK(atomic_load(&h->od->consecutive_5xx) == 1);
	CHECK(!rw_outlier_tick(&d, set, 10, 1, NULL) && !ejected(h));
	CHECK(rw_outlier_report(h, RW_OUTLIER_CONNECT_FAILED));
	CHECK(rw_outlier_tick(&d, set, 20, 1, NULL) && ejected(h));
	CHECK(d.ejections_enforced[RW_OUTLIER_EJECT_CONSECUTIVE_LOCAL] == 1);
	rw_host_set_free(set);
}

static void test_max_ejection_percent(void)
{
	struct rw_outlier_config cfg = defaults();
	struct rw_outlier_detector d;
	struct rw_host_set *set = make_set(4);
	struct rw_outlier_changes ch;

	cfg.max_ejection_percent = 50;
	rw_outlier_detector_init(&d, &cfg, 0);
	rw_outlier_tick(&d, set, 0, 1, NULL);
	for (size_t i = 0; i < 3; i++) {
		report_n(set->hosts[i], RW_OUTLIER_5XX, 4);
		CHECK(rw_outlier_report(set->hosts[i], RW_OUTLIER_5XX));
	}
	CHECK(rw_outlier_tick(&d, set, 10, 1, &ch));
	/* 2 of 4 is 50%: a third would make 75%. */
	CHECK(ch.ejected == 2 && d.n_ejected == 2 && d.ejections_overflow == 1);
	CHECK(ejected(set->hosts[0]) && ejected(set->hosts[1]) && !ejected(set->hosts[2]));
	rw_host_set_free(set);

	/* 0: never. */
	set = make_set(2);
	cfg.max_ejection_percent = 0;
	rw_outlier_detector_init(&d, &cfg, 0);
	rw_outlier_tick(&d, set, 0, 1, NULL);
	report_n(set->hosts[0], RW_OUTLIER_5XX, 4);
	CHECK(rw_outlier_report(set->hosts[0], RW_OUTLIER_5XX));
	CHECK(!rw_outlier_tick(&d, set, 10, 1, NULL) && !ejected(set->hosts[0]));
	CHECK(d.ejections_overflow == 1);
	rw_host_set_free(set);
}

/* Eject h now by five 5xx and a tick at now. */
static void eject_now(struct rw_outlier_detector *d, struct rw_host_set *set, struct rw_host *h,
                      uint64_t now)
{
	report_n(h, RW_OUTLIER_5XX, 4);
	CHECK(rw_outlier_report(h, RW_OUTLIER_5XX));
	CHECK(rw_outlier_tick(d, set, now, 1, NULL) && ejected(h));
}

/* Tick every 10 ms from *now until h is unejected; returns how long it stayed out. */
static uint64_t until_unejected(struct rw_outlier_detector *d, struct rw_host_set *set,
                                struct rw_host *h, uint64_t *now)
{
	uint64_t start = *now;

	while (ejected(h)) {
		*now += 10;
		rw_outlier_tick(d, set, *now, 1, NULL);
		CHECK(*now - start < 1000000);
	}
	return *now - start;
}

static void test_ejection_time_grows_and_caps(void)
{
	struct rw_outlier_config cfg = defaults();
	struct rw_outlier_detector d;
	struct rw_host_set *set = make_set(10);
	struct rw_host *h = set->hosts[4];
	struct rw_outlier_changes ch;
	uint64_t now = 0, out;

	cfg.max_ejection_time_ms = 2500;
	rw_outlier_detector_init(&d, &cfg, 0);
	rw_outlier_tick(&d, set, 0, 1, NULL);
	eject_now(&d, set, h, 5);
	CHECK(rw_outlier_ejection_time_ms(&d, h->od) == 1000);
	/* Unejected at the first interval check at or after 1 s (interval 100 ms). */
	CHECK(!rw_outlier_tick(&d, set, 1000, 1, NULL) && ejected(h));
	CHECK(rw_outlier_tick(&d, set, 1100, 1, &ch) && !ejected(h) && ch.unejected == 1);
	CHECK(d.n_ejected == 0);
	CHECK(atomic_load(&h->od->consecutive_5xx) == 0);
	now = 1100;
	/* Ejected again before any healthy interval: twice as long, then capped at 2.5 s. */
	eject_now(&d, set, h, now);
	CHECK(rw_outlier_ejection_time_ms(&d, h->od) == 2000);
	out = until_unejected(&d, set, h, &now);
	CHECK(out >= 2000 && out <= 2100);
	eject_now(&d, set, h, now);
	CHECK(rw_outlier_ejection_time_ms(&d, h->od) == 2500);
	out = until_unejected(&d, set, h, &now);
	CHECK(out >= 2500 && out <= 2600);
	eject_now(&d, set, h, now);
	/* The multiplier stops growing once base * backoff reaches max + base. */
	CHECK(h->od->backoff == 4 && rw_outlier_ejection_time_ms(&d, h->od) == 2500);
	/* Healthy intervals bring it down again, one step per interval check. */
	until_unejected(&d, set, h, &now);
	CHECK(h->od->backoff == 4);
	for (unsigned i = 0; i < 4; i++) {
		now += 100;
		rw_outlier_tick(&d, set, now, 1, NULL);
	}
	CHECK(h->od->backoff == 0);
	eject_now(&d, set, h, now);
	CHECK(rw_outlier_ejection_time_ms(&d, h->od) == 1000);
	rw_host_set_free(set);
}

static void test_success_rate(void)
{
	struct rw_outlier_config cfg = defaults();
	struct rw_outlier_detector d;
	struct rw_host_set *set = make_set(10);
	struct rw_outlier_changes ch;

	rw_outlier_detector_init(&d, &cfg, 0);
	rw_outlier_tick(&d, set, 0, 1, NULL);
	for (size_t i = 0; i < set->n; i++) {
		/* Interleaved so no consecutive threshold is reached: 50 % for host 3. */
		for (unsigned k = 0; k < 100; k++)
			CHECK(!rw_outlier_report(
			    set->hosts[i], i == 3 && k % 2 ? RW_OUTLIER_5XX : RW_OUTLIER_SUCCESS));
	}
	CHECK(!rw_outlier_tick(&d, set, 50, 1, NULL)); /* interval not over yet */
	CHECK(rw_outlier_tick(&d, set, 100, 1, &ch) && ch.ejected == 1);
	/* mean 95, stdev 15, threshold 95 - 1.9 * 15 = 66.5 */
	CHECK(fabs(d.success_rate_mean - 95.0) < 1e-9);
	CHECK(fabs(d.success_rate_threshold - 66.5) < 1e-9);
	for (size_t i = 0; i < set->n; i++)
		CHECK(ejected(set->hosts[i]) == (i == 3));
	CHECK(d.ejections_enforced[RW_OUTLIER_EJECT_SUCCESS_RATE] == 1);
	/* The counters started over: the next interval has no volume, nothing to judge. */
	CHECK(!rw_outlier_tick(&d, set, 200, 1, NULL) && d.success_rate_mean < 0);
	rw_host_set_free(set);

	/* Below the request volume, or with too few qualifying hosts: nobody is judged. */
	set = make_set(10);
	rw_outlier_detector_init(&d, &cfg, 0);
	rw_outlier_tick(&d, set, 0, 1, NULL);
	for (size_t i = 0; i < 4; i++)
		for (unsigned k = 0; k < 100; k++)
			rw_outlier_report(set->hosts[i],
			                  i == 3 && k % 2 ? RW_OUTLIER_5XX : RW_OUTLIER_SUCCESS);
	CHECK(!rw_outlier_tick(&d, set, 100, 1, NULL) && d.success_rate_mean < 0);
	rw_host_set_free(set);
}

static void test_failure_percentage(void)
{
	struct rw_outlier_config cfg = defaults();
	struct rw_outlier_detector d;
	struct rw_host_set *set = make_set(5);
	struct rw_outlier_changes ch;

	cfg.enforcing_failure_percentage = 100;
	cfg.max_ejection_percent = 100;
	cfg.consecutive_5xx = 1000;
	rw_outlier_detector_init(&d, &cfg, 0);
	rw_outlier_tick(&d, set, 0, 1, NULL);
	for (size_t i = 0; i < set->n; i++)
		for (unsigned k = 0; k < 60; k++) {
			/* host 0: 90 % failures; host 1: 80 %; host 4: 90 % but under the volume.
			 */
			unsigned fail_per_10 = i == 0 ? 9 : i == 1 ? 8 : i == 4 ? 9 : 0;

			if (i == 4 && k >= 40)
				break;
			rw_outlier_report(set->hosts[i], k % 10 < fail_per_10 ? RW_OUTLIER_5XX
			                                                      : RW_OUTLIER_SUCCESS);
		}
	/* Only four hosts reach the volume: fewer than failure_percentage_minimum_hosts. */
	CHECK(!rw_outlier_tick(&d, set, 100, 1, NULL));
	d.cfg.failure_percentage_minimum_hosts = 4;
	for (size_t i = 0; i < set->n; i++)
		for (unsigned k = 0; k < 60; k++) {
			unsigned fail_per_10 = i == 0 ? 9 : i == 1 ? 8 : i == 4 ? 9 : 0;

			if (i == 4 && k >= 40)
				break;
			rw_outlier_report(set->hosts[i], k % 10 < fail_per_10 ? RW_OUTLIER_5XX
			                                                      : RW_OUTLIER_SUCCESS);
		}
	CHECK(rw_outlier_tick(&d, set, 200, 1, &ch) && ch.ejected == 1);
	CHECK(ejected(set->hosts[0]) && !ejected(set->hosts[1]) && !ejected(set->hosts[4]));
	CHECK(d.ejections_enforced[RW_OUTLIER_EJECT_FAILURE_PERCENTAGE] == 1);
	rw_host_set_free(set);
}

static void test_enforcing_percentage(void)
{
	struct rw_outlier_config cfg = defaults();
	struct rw_outlier_detector d;
	unsigned n_ejected = 0;

	/* enforcing_consecutive_5xx 50: about half of 400 detections eject, per the draws. */
	cfg.enforcing_consecutive_5xx = 50;
	cfg.max_ejection_percent = 100;
	for (uint64_t seed = 1; seed <= 400; seed++) {
		struct rw_host_set *set = make_set(1);

		rw_outlier_detector_init(&d, &cfg, 0);
		rw_outlier_tick(&d, set, 0, seed, NULL);
		report_n(set->hosts[0], RW_OUTLIER_5XX, 4);
		CHECK(rw_outlier_report(set->hosts[0], RW_OUTLIER_5XX));
		n_ejected += rw_outlier_tick(&d, set, 1, seed * 7919, NULL);
		rw_host_set_free(set);
	}
	CHECK(n_ejected > 140 && n_ejected < 260);
}

struct reporter {
	struct rw_host_set *set;
	unsigned seed;
	_Atomic bool *stop;
	unsigned long fired;
};

/* A worker: random outcomes on random hosts, host 0 failing far more often. */
static void *reporter_main(void *arg)
{
	struct reporter *r = arg;
	uint64_t x = r->seed * UINT64_C(0x9e3779b97f4a7c15) + 1;

	while (!atomic_load_explicit(r->stop, memory_order_relaxed)) {
		size_t i;
		enum rw_outlier_result res;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = x % r->set->n;
		res = (x >> 20) % (i == 0 ? 2 : 50) == 0 ? RW_OUTLIER_5XX : RW_OUTLIER_SUCCESS;
		if ((x >> 40) % 97 == 0)
			res = RW_OUTLIER_CONNECT_FAILED;
		r->fired += rw_outlier_report(r->set->hosts[i], res);
	}
	return NULL;
}

static void test_concurrent_reports(void)
{
	struct rw_outlier_config cfg = defaults();
	struct rw_outlier_detector d;
	struct rw_host_set *set = make_set(8);
	struct reporter r[4];
	pthread_t t[4];
	_Atomic bool stop = false;
	uint64_t enforced = 0;
	unsigned long fired = 0;

	cfg.interval_ms = 5;
	cfg.base_ejection_time_ms = 10;
	cfg.max_ejection_percent = 50;
	rw_outlier_detector_init(&d, &cfg, 0);
	rw_outlier_tick(&d, set, 0, 1, NULL);
	for (unsigned i = 0; i < 4; i++) {
		r[i] = (struct reporter){.set = set, .seed = i + 1, .stop = &stop};
		CHECK(pthread_create(&t[i], NULL, reporter_main, &r[i]) == 0);
	}
	for (uint64_t now = 1; now <= 3000; now++) {
		rw_outlier_tick(&d, set, now, now, NULL);
		CHECK(d.n_ejected <= 4);
		usleep(50); /* let the reporters run between ticks */
	}
	atomic_store(&stop, true);
	for (unsigned i = 0; i < 4; i++) {
		CHECK(pthread_join(t[i], NULL) == 0);
		fired += r[i].fired;
	}
	for (unsigned k = 0; k < RW_OUTLIER_EJECT_TYPES; k++)
		enforced += d.ejections_enforced[k];
	CHECK(fired > 0 && enforced > 0);
	rw_host_set_free(set);
}

int main(void)
{
	test_consecutive_5xx();
	test_gateway_failures();
	test_split_local_origin();
	test_max_ejection_percent();
	test_ejection_time_grows_and_caps();
	test_success_rate();
	test_failure_percentage();
	test_enforcing_percentage();
	test_concurrent_reports();
	printf("lb outlier: all passed\n");
	return 0;
}
