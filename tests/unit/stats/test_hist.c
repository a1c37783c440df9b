/* stats/hist.c: bucket layout, relative error, quantiles, cumulative counts. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stats/hist.h"
#include "tests/unit/check.h"

static struct rw_hist h;

static void add(uint64_t v)
{
	h.b[rw_hist_index(v)]++;
	h.count++;
	h.sum += v;
}

/* Buckets tile [0, 2^40) without gaps or overlaps, and every value lands in its bucket. */
static void test_layout(void)
{
	uint64_t v;

	CHECK(rw_hist_low(0) == 0);
	for (uint32_t i = 0; i + 1 < RW_HIST_BUCKETS; i++) {
		CHECK(rw_hist_high(i) == rw_hist_low(i + 1));
		CHECK(rw_hist_index(rw_hist_low(i)) == i);
		CHECK(rw_hist_index(rw_hist_high(i) - 1) == i);
	}
	CHECK(rw_hist_high(RW_HIST_BUCKETS - 1) == RW_HIST_MAX + 1);
	CHECK(rw_hist_index(UINT64_MAX) == RW_HIST_BUCKETS - 1);
	/* Width <= 1/16 of the lower bound: the relative error is fixed. */
	for (uint32_t i = 16; i < RW_HIST_BUCKETS; i++)
		CHECK((rw_hist_high(i) - rw_hist_low(i)) * 16 <= rw_hist_low(i));
	for (v = 1; v < (UINT64_C(1) << 39); v = v * 3 + 1) {
		uint32_t i = rw_hist_index(v);

		CHECK(rw_hist_low(i) <= v && v < rw_hist_high(i));
	}
}

static void test_quantiles(void)
{
	memset(&h, 0, sizeof(h));
	CHECK(isnan(rw_hist_quantile(&h, 0.5)));
	/* 1..100000 once each: every quantile within the bucket error (6.25%). */
	for (uint64_t v = 1; v <= 100000; v++)
		add(v);
	for (int p = 1; p < 100; p++) {
		double q = p / 100.0, got = rw_hist_quantile(&h, q), want = q * 100000;

		CHECK(fabs(got - want) <= want * 0.0625);
	}
	CHECK(rw_hist_quantile(&h, 0) == 1);
	CHECK(rw_hist_quantile(&h, 1) >= 100000 && rw_hist_quantile(&h, 1) <= 100000 * 1.0625);
	CHECK(h.sum == 100000ull * 100001 / 2);
	/* count_le at exact small values, and within the error above. */
	CHECK(rw_hist_count_le(&h, 10) == 10);
	{
		uint64_t n = rw_hist_count_le(&h, 50000);

		CHECK(n >= 50000 * 0.96 && n <= 50000 * 1.04);
	}
	CHECK(rw_hist_count_le(&h, RW_HIST_MAX) == 100000);
	/* One value: every quantile is inside its bucket. */
	memset(&h, 0, sizeof(h));
	add(1234);
	for (int p = 0; p <= 100; p += 25) {
		double got = rw_hist_quantile(&h, p / 100.0);

		CHECK(got >= 1234 * 0.94 && got <= 1234 * 1.07);
	}
}

static void test_sub(void)
{
	static struct rw_hist a, b, d;

	memset(&h, 0, sizeof(h));
	add(5);
	add(500);
	b = h;
	add(500);
	add(70000);
	a = h;
	rw_hist_sub(&d, &a, &b);
	CHECK(d.count == 2 && d.sum == 70500);
	CHECK(d.b[rw_hist_index(500)] == 1 && d.b[rw_hist_index(5)] == 0);
}

int main(void)
{
	test_layout();
	test_quantiles();
	test_sub();
	printf("stats hist: ok\n");
	return 0;
}
