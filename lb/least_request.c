/*
 * Least request (Envoy's LEAST_REQUEST).
 *
 * Equal weights: power of choice_count choices (P2C by default).  Draw choice_count hosts at
 * random (with replacement, as Envoy does) and take the one with the fewest requests in
 * flight, the first drawn on ties.  A host busier than all others gets no new requests until
 * it drains.  Random values: ctx->random for the first draw, splitmix64 remixes of it for the
 * rest.
 *
 * Unequal weights: Envoy keeps an EDF schedule keyed by the effective weight
 *   weight / (rq_active + 1) ^ active_request_bias,
 * which needs a lock or per-worker state.  Instead each pick samples towards the same target:
 * draw choice_count candidates in proportion to weight (the alias table of lb/random.c), then
 * keep one of them in proportion to 1 / (rq_active + 1) ^ bias (a one-pass weighted
 * reservoir).  Idle hosts, or bias 0 (Envoy: then plain weighted round robin), give picks
 * exactly in proportion to weight.  Under load busy hosts are picked less and less often, as
 * in Envoy, and never drained completely; but a host holding a share p of the total weight
 * still gets at least p^choice_count of the picks (every candidate was it), so the default 2
 * candidates react less than Envoy's EDF does.  A larger choice_count approaches Envoy's
 * distribution, at one more draw per candidate.  rq_active is read with relaxed loads: a
 * stale count only makes one pick slightly less informed.
 *
 * avoid: candidates equal to avoid are passed over; if every candidate was avoid, the host
 * after the first candidate in creation order.
 */
#include <math.h>

#include "lb/cluster.h"
#include "lb/internal.h"

int rw__lb_least_request_build(struct rw_lb *lb, const struct rw_lb_params *p,
                               const uint32_t *weight)
{
	lb->lr.choice_count = p->choice_count;
	lb->lr.bias = p->active_request_bias;
	return rw__lb_weights_build(&lb->lr.weights, weight, lb->n);
}

static uint32_t rq_active(const struct rw_host *h)
{
	return atomic_load_explicit(&h->rq_active, memory_order_relaxed);
}

static struct rw_host *fewest_requests(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx)
{
	uint32_t k, c, first = 0, best = UINT32_MAX, best_rq = 0, rq;

	for (k = 0; k < lb->lr.choice_count; k++) {
		c = (uint32_t)rw__lb_range(k ? rw__lb_mix(ctx->random, k) : ctx->random, lb->n);
		if (!k)
			first = c;
		if (lb->hosts[c] == ctx->avoid)
			continue;
		rq = rq_active(lb->hosts[c]);
		if (best == UINT32_MAX || rq < best_rq) {
			best = c;
			best_rq = rq;
		}
	}
	if (best == UINT32_MAX)
		best = rw__lb_next_other(lb, first, ctx->avoid);
	return lb->hosts[best];
}

/* How much an idle host is preferred: 1 / (rq + 1) ^ bias, 1 for an idle host. */
static double load_factor(uint32_t rq, double bias)
{
	if (bias == 1.0)
		return 1.0 / ((double)rq + 1.0);
	return pow((double)rq + 1.0, -bias);
}

/* [0, 1) from the top 53 bits. */
static double unit(uint64_t r)
{
	return (double)(r >> 11) * 0x1p-53;
}

static struct rw_host *weighted(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx)
{
	const struct rw__lb_least_request *lr = &lb->lr;
	uint32_t k, c, first = 0, chosen = UINT32_MAX, take;
	uint32_t draws = lr->bias == 0.0 ? 1 : lr->choice_count;
	double f, sum = 0;

	for (k = 0; k < draws; k++) {
		c = rw__lb_weights_draw(&lr->weights, lb->n,
		                        k ? rw__lb_mix(ctx->random, k) : ctx->random);
		if (!k)
			first = c;
		if (lb->hosts[c] == ctx->avoid)
			continue;
		if (draws == 1)
			return lb->hosts[c];
		/* Reservoir: keep candidate k with probability f / (sum of f so far). */
		f = load_factor(rq_active(lb->hosts[c]), lr->bias);
		sum += f;
		/* A mask, not a branch: the coin is unpredictable by design. */
		take = -(uint32_t)(chosen == UINT32_MAX ||
		                   unit(rw__lb_mix(ctx->random, draws + k)) * sum < f);
		chosen ^= (chosen ^ c) & take;
	}
	if (chosen == UINT32_MAX)
		chosen = rw__lb_next_other(lb, first, ctx->avoid);
	return lb->hosts[chosen];
}

struct rw_host *rw__lb_least_request_pick(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx)
{
	if (!lb->lr.weights.table)
		return fewest_requests(lb, ctx);
	return weighted(lb, ctx);
}
