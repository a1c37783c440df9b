/* Log-linear histogram arithmetic (see hist.h). */
#include "stats/hist.h"

#include <math.h>

uint64_t rw_hist_low(uint32_t i)
{
	uint32_t shift;

	if (i < RW_HIST_SUB)
		return i;
	shift = i / RW_HIST_SUB - 1;
	return (uint64_t)(RW_HIST_SUB + i % RW_HIST_SUB) << shift;
}

uint64_t rw_hist_high(uint32_t i)
{
	if (i < RW_HIST_SUB)
		return (uint64_t)i + 1;
	return rw_hist_low(i) + (UINT64_C(1) << (i / RW_HIST_SUB - 1));
}

double rw_hist_quantile(const struct rw_hist *h, double q)
{
	double target, seen = 0;
	uint32_t i, first = RW_HIST_BUCKETS, last = 0;

	if (!h->count)
		return NAN;
	for (i = 0; i < RW_HIST_BUCKETS; i++) {
		if (!h->b[i])
			continue;
		if (first == RW_HIST_BUCKETS)
			first = i;
		last = i;
	}
	if (q <= 0)
		return (double)rw_hist_low(first);
	if (q >= 1)
		return (double)rw_hist_high(last);
	target = q * (double)h->count;
	for (i = first; i <= last; i++) {
		double n = (double)h->b[i];

		if (!h->b[i])
			continue;
		if (seen + n >= target) {
			double lo = (double)rw_hist_low(i), hi = (double)rw_hist_high(i);

			return lo + (hi - lo) * ((target - seen) / n);
		}
		seen += n;
	}
	return (double)rw_hist_high(last);
}

uint64_t rw_hist_count_le(const struct rw_hist *h, uint64_t v)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < RW_HIST_BUCKETS; i++) {
		uint64_t lo = rw_hist_low(i), hi = rw_hist_high(i);

		if (lo + (hi - lo - 1) / 2 > v)
			break;
		n += h->b[i];
	}
	return n;
}

void rw_hist_sub(struct rw_hist *out, const struct rw_hist *a, const struct rw_hist *b)
{
	out->count = a->count - b->count;
	out->sum = a->sum - b->sum;
	for (uint32_t i = 0; i < RW_HIST_BUCKETS; i++)
		out->b[i] = a->b[i] - b->b[i];
}
