/*
 * Weighted round robin, lock-free across workers: one full cycle of nginx's smooth weighted
 * order is computed when the balancer is built, and a pick is schedule[cursor++ % len] on the
 * caller's cursor.  With the cluster's shared cursor all workers follow one rotation (exact
 * proportions over every cycle, no per-worker drift) at the cost of one contended fetch_add;
 * with a cursor per worker each worker follows its own (lb/lb.h).  The pick reads nothing else
 * that is written.  Equal weights need no schedule: hosts[cursor++ % n].
 *
 * The cycle is sum(w)/gcd(w) slots.  Above RW_LB_RR_MAX_SLOTS (or 4n for huge clusters) the
 * weights are scaled down proportionally, rounded, each kept >= 1, so memory and build time
 * stay bounded; a scaled weight is then within half a slot of exact.
 *
 * Only the low 32 bits of the cursor are used, so a multiplication replaces the division;
 * the price is one short cycle every 2^32 picks.
 *
 * avoid: the next slot of the schedule whose host differs (runs of one host are short in a
 * smooth order: about w_max / (sum - w_max) slots); equal weights: the next host.
 */
#include <errno.h>
#include <stdlib.h>

#include "lb/internal.h"

#define RW_LB_RR_MAX_SLOTS 65536u

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Divide by the common factor and scale down into the slot budget; returns the sum. */
static uint64_t reduce(uint64_t *w, uint32_t n)
{
	uint64_t g = 0, total = 0, cap = RW_LB_RR_MAX_SLOTS, scaled;
	uint32_t i;

	if (cap < 4 * (uint64_t)n)
		cap = 4 * (uint64_t)n;
	for (i = 0; i < n; i++) {
		g = gcd(w[i], g);
		total += w[i];
	}
	if (total / g > cap) {
		/* Round to nearest; at least 1 so every host stays in the rotation. */
		for (i = 0, g = 0; i < n; i++) {
			scaled = (uint64_t)(((unsigned __int128)w[i] * cap + total / 2) / total);
			w[i] = scaled ? scaled : 1;
			g = gcd(w[i], g);
		}
	}
	for (i = 0, total = 0; i < n; i++) {
		w[i] /= g;
		total += w[i];
	}
	return total;
}

/* A run of hosts that share one weight, in index order. */
struct group {
	int64_t weight;
	int64_t picks_each;         /* every member has been picked this many or one more times */
	uint32_t first, size, next; /* members order[first..first+size); next is due */
};

static int by_weight_then_index(const void *a, const void *b, void *arg)
{
	const uint64_t *w = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (w[x] != w[y])
		return w[x] < w[y] ? -1 : 1;
	return (x > y) - (x < y);
}

/*
 * nginx's smooth weighted round robin: every step each host's current weight grows by its
 * weight, the largest (first by index on ties) is chosen and loses the total.  After t steps
 * host i holds t*w[i] - total*picks[i].  Hosts of equal weight are chosen in index order, one
 * after the other, so it is enough to follow one candidate per distinct weight: O(slots x
 * distinct weights) instead of O(slots x n), and distinct weights are at most sqrt(2 slots).
 */
static void fill_schedule(uint32_t *schedule, uint64_t len, const uint64_t *w, uint32_t *order,
                          struct group *groups, uint32_t n)
{
	uint32_t i, n_groups = 0, g, best;
	int64_t total = (int64_t)len, value, best_value;
	uint64_t t;

	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), by_weight_then_index, (void *)w);
	for (i = 0; i < n; i++) {
		if (!n_groups || groups[n_groups - 1].weight != (int64_t)w[order[i]])
			groups[n_groups++] = (struct group){(int64_t)w[order[i]], 0, i, 0, 0};
		groups[n_groups - 1].size++;
	}
	for (t = 1; t <= len; t++) {
		best = 0;
		best_value = INT64_MIN;
		for (g = 0; g < n_groups; g++) {
			value = (int64_t)t * groups[g].weight - total * groups[g].picks_each;
			if (value > best_value ||
			    (value == best_value &&
			     order[groups[g].first + groups[g].next] <
			         order[groups[best].first + groups[best].next])) {
				best = g;
				best_value = value;
			}
		}
		schedule[t - 1] = order[groups[best].first + groups[best].next];
		if (++groups[best].next == groups[best].size) {
			groups[best].next = 0;
			groups[best].picks_each++;
		}
	}
}

int rw__lb_rr_build(struct rw_lb *lb, const uint32_t *weight)
{
	uint64_t *w = malloc(lb->n * sizeof(*w)), len;
	uint32_t *order = malloc(lb->n * sizeof(*order)), i;
	struct group *groups = malloc(lb->n * sizeof(*groups));
	bool equal = true;
	int rc = -ENOMEM;

	if (!w || !order || !groups)
		goto out;
	for (i = 0; i < lb->n; i++) {
		w[i] = weight[i];
		equal &= weight[i] == weight[0];
	}
	rc = 0;
	if (equal)
		goto out;
	len = reduce(w, lb->n);
	lb->rr.schedule = malloc(len * sizeof(*lb->rr.schedule));
	if (!lb->rr.schedule) {
		rc = -ENOMEM;
		goto out;
	}
	lb->rr.len = (uint32_t)len;
	lb->rr.len_magic = rw__lb_fastmod_magic(lb->rr.len);
	fill_schedule(lb->rr.schedule, len, w, order, groups, lb->n);
out:
	free(w);
	free(order);
	free(groups);
	return rc;
}

void rw__lb_rr_free(struct rw_lb *lb)
{
	free(lb->rr.schedule);
	lb->rr.schedule = NULL;
}

struct rw_host *rw__lb_rr_pick(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx)
{
	const struct rw__lb_rr *rr = &lb->rr;
	uint32_t pos, slot, idx, k;

	/* Relaxed: the cursor only spreads load; it publishes no other memory. */
	pos =
	    (uint32_t)(ctx->cursor ? atomic_fetch_add_explicit(ctx->cursor, 1, memory_order_relaxed)
	                           : ctx->random);
	if (!rr->schedule) {
		idx = rw__lb_fastmod(pos, lb->n_magic, lb->n);
		if (lb->hosts[idx] == ctx->avoid)
			idx = rw__lb_next_other(lb, idx, ctx->avoid);
		return lb->hosts[idx];
	}
	slot = rw__lb_fastmod(pos, rr->len_magic, rr->len);
	idx = rr->schedule[slot];
	if (lb->hosts[idx] != ctx->avoid)
		return lb->hosts[idx];
	for (k = 1; k < rr->len; k++) {
		slot = slot + 1 == rr->len ? 0 : slot + 1;
		if (lb->hosts[rr->schedule[slot]] != ctx->avoid)
			return lb->hosts[rr->schedule[slot]];
	}
	return lb->hosts[idx];
}
