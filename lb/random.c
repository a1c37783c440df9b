/*
 * Weighted random, and the weighted draw least request shares with it.  Equal weights: the
 * caller's 64-bit random value is mapped onto [0, n) with a multiply (no modulo bias worth
 * the name, no division).  Unequal weights: Walker's alias method (Vose's construction),
 * O(1) per draw whatever n is, where cumulative weights and a binary search would cost
 * log2(n) dependent loads (~10 ns at 1,000 hosts, more than the whole alias draw):
 *
 *   slot:    0        1        2        3          weights 2, 9, 6, 3; host i's probability =
 *          ┌──────┬────────┬──────┬────────┐      (its own slot's keep share
 *   keep   │ 0.40 │  1.00  │ 0.80 │  0.60  │       + the shares other slots
 *   alias  │  1   │   -    │  1   │   2    │       send to it) / n
 *          └──────┴────────┴──────┴────────┘
 *
 * The top bits of the random value choose the slot, its low 32 bits the coin.  Built in
 * integers: every probability is exact to within n / 2^32.
 *
 * avoid: draw once more from a remix of the same random value; if that lands on the same
 * host again, the next host in creation order.
 */
#include <errno.h>
#include <stdlib.h>

#include "lb/internal.h"

int rw__lb_weights_build(struct rw__lb_weights *w, const uint32_t *weight, uint32_t n)
{
	uint64_t total = 0, *mass = NULL;
	uint32_t *stack = NULL, n_small = 0, n_large = 0, i, s, l;
	bool equal = true;
	int rc = -ENOMEM;

	w->table = NULL;
	for (i = 0; i < n; i++) {
		equal &= weight[i] == weight[0];
		total += weight[i];
	}
	if (equal)
		return 0;
	w->table = malloc(n * sizeof(*w->table));
	mass = malloc(n * sizeof(*mass));
	stack = malloc(n * sizeof(*stack)); /* small ones grow up from 0, large down from n */
	if (!w->table || !mass || !stack)
		goto out;
	/* Host i's mass is w[i] * n; a full slot holds total.  Fill every under-full slot from
	 * an over-full host; what that host has left decides which side it goes back to. */
	for (i = 0; i < n; i++) {
		mass[i] = (uint64_t)weight[i] * n;
		if (mass[i] < total)
			stack[n_small++] = i;
		else
			stack[n - ++n_large] = i;
	}
	while (n_small && n_large) {
		s = stack[--n_small];
		l = stack[n - n_large--];
		w->table[s].keep = (uint32_t)(((unsigned __int128)mass[s] << 32) / total);
		w->table[s].alias = l;
		mass[l] -= total - mass[s];
		if (mass[l] < total)
			stack[n_small++] = l;
		else
			stack[n - ++n_large] = l;
	}
	/* Left over: full slots (up to rounding), kept whole. */
	while (n_small--)
		w->table[stack[n_small]] = (struct rw__lb_alias){UINT32_MAX, stack[n_small]};
	while (n_large--)
		w->table[stack[n - 1 - n_large]] =
		    (struct rw__lb_alias){UINT32_MAX, stack[n - 1 - n_large]};
	rc = 0;
out:
	if (rc)
		rw__lb_weights_free(w);
	free(mass);
	free(stack);
	return rc;
}

void rw__lb_weights_free(struct rw__lb_weights *w)
{
	free(w->table);
	w->table = NULL;
}

struct rw_host *rw__lb_random_pick(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx)
{
	uint32_t idx = rw__lb_weights_draw(&lb->random, lb->n, ctx->random), again;

	if (lb->hosts[idx] != ctx->avoid)
		return lb->hosts[idx];
	again = rw__lb_weights_draw(&lb->random, lb->n, rw__lb_mix(ctx->random, 1));
	if (again == idx || lb->hosts[again] == ctx->avoid)
		again = rw__lb_next_other(lb, idx, ctx->avoid);
	return lb->hosts[again];
}
