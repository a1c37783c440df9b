/*
 * Log-linear histograms with a fixed relative error (HdrHistogram's bucketing): values below
 * 16 have a bucket each; above, every power of two is split into 16 equal buckets, so a
 * bucket is at most 1/16 of its lower bound wide and a quantile read from a bucket's midpoint
 * is within 3.2% of the true value.  Values are unsigned integers (microseconds for times,
 * shown in milliseconds as Envoy does); values past RW_HIST_MAX count in the last bucket.
 *
 * Pure: no allocation, no I/O, no threads.  stats/stats.h keeps one bucket array per
 * histogram per thread and merges them when read.
 */
#ifndef RW_STATS_HIST_H
#define RW_STATS_HIST_H

#include <stddef.h>
#include <stdint.h>

#define RW_HIST_SUB_BITS 4
#define RW_HIST_SUB      (1u << RW_HIST_SUB_BITS)
#define RW_HIST_MAX_BITS 40 /* 2^40 us: 12.7 days */
#define RW_HIST_BUCKETS  ((RW_HIST_MAX_BITS - RW_HIST_SUB_BITS + 1) * RW_HIST_SUB)
#define RW_HIST_MAX      ((UINT64_C(1) << RW_HIST_MAX_BITS) - 1)

/* A merged histogram: counts per bucket, their total and the sum of the recorded values. */
struct rw_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t b[RW_HIST_BUCKETS];
};

/* The bucket value v counts in. */
static inline uint32_t rw_hist_index(uint64_t v)
{
	uint32_t shift;

	if (v < RW_HIST_SUB)
		return (uint32_t)v;
	if (v > RW_HIST_MAX)
		v = RW_HIST_MAX;
	shift = (uint32_t)(63 - __builtin_clzll(v)) - RW_HIST_SUB_BITS;
	return (shift + 1) * RW_HIST_SUB + (uint32_t)(v >> shift) - RW_HIST_SUB;
}

/* Bucket i holds the values [rw_hist_low(i), rw_hist_high(i)). */
uint64_t rw_hist_low(uint32_t i);
uint64_t rw_hist_high(uint32_t i);

/*
 * The q-quantile (0 <= q <= 1) of h, interpolated linearly inside its bucket; q = 0 gives the
 * smallest bucket's lower bound, q = 1 the largest bucket's upper bound.  NaN when h is empty.
 */
double rw_hist_quantile(const struct rw_hist *h, double q);

/* How many recorded values are <= v (bucket-exact: a bucket straddling v counts when its
 * midpoint is <= v). */
uint64_t rw_hist_count_le(const struct rw_hist *h, uint64_t v);

/* out = a - b, bucket by bucket (a taken after b from the same counters). */
void rw_hist_sub(struct rw_hist *out, const struct rw_hist *a, const struct rw_hist *b);

#endif
