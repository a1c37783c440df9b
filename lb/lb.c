/*
 * The balancer object: parameter checks and defaults, the host array (one ref per host),
 * dispatch to the policy files, and the one inlined copy of xxHash.  Every policy builds its
 * tables here at create time so that a pick is a handful of loads: see lb/internal.h for the
 * layout and each policy's file for its algorithm.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Header-only xxHash: the hash is a few dozen instructions, worth inlining into its callers. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "lb/cluster.h"
#include "lb/internal.h"

uint64_t rw_lb_hash(const void *key, size_t len)
{
	return XXH64(key, len, 0);
}

uint64_t rw__lb_hash_seed(const void *key, size_t len, uint64_t seed)
{
	return XXH64(key, len, seed);
}

void rw_lb_params_init(struct rw_lb_params *p, enum rw_lb_policy policy)
{
	memset(p, 0, sizeof(*p));
	p->policy = policy;
	p->choice_count = RW_LB_DEFAULT_CHOICE_COUNT;
	p->active_request_bias = 1.0;
	p->ring_min = RW_LB_DEFAULT_RING_MIN;
	p->ring_max = RW_LB_DEFAULT_RING_MAX;
	p->maglev_table_size = RW_LB_DEFAULT_MAGLEV_SIZE;
}

static bool is_prime(uint64_t v)
{
	uint64_t d;

	if (v < 2)
		return false;
	for (d = 2; d * d <= v; d++)
		if (v % d == 0)
			return false;
	return true;
}

/* Copy *in into *out with zero fields defaulted; false if a setting is out of range. */
static bool normalize_params(const struct rw_lb_params *in, struct rw_lb_params *out)
{
	*out = *in;
	if (!out->choice_count)
		out->choice_count = RW_LB_DEFAULT_CHOICE_COUNT;
	if (!out->ring_min)
		out->ring_min = RW_LB_DEFAULT_RING_MIN;
	if (!out->ring_max)
		out->ring_max = RW_LB_DEFAULT_RING_MAX;
	if (!out->maglev_table_size)
		out->maglev_table_size = RW_LB_DEFAULT_MAGLEV_SIZE;
	switch (out->policy) {
	case RW_LB_ROUND_ROBIN:
	case RW_LB_RANDOM:
		return true;
	case RW_LB_LEAST_REQUEST:
		/* !(x >= 0) also refuses NaN. */
		return out->active_request_bias >= 0 && isfinite(out->active_request_bias);
	case RW_LB_RING_HASH:
		return out->ring_min <= out->ring_max && out->ring_max <= RW_LB_DEFAULT_RING_MAX;
	case RW_LB_MAGLEV:
		return out->maglev_table_size <= RW_LB_MAX_MAGLEV_SIZE &&
		       is_prime(out->maglev_table_size);
	}
	return false;
}

static void free_policy(struct rw_lb *lb)
{
	switch (lb->policy) {
	case RW_LB_ROUND_ROBIN:
		rw__lb_rr_free(lb);
		break;
	case RW_LB_RANDOM:
		rw__lb_weights_free(&lb->random);
		break;
	case RW_LB_LEAST_REQUEST:
		rw__lb_weights_free(&lb->lr.weights);
		break;
	case RW_LB_RING_HASH:
		rw__lb_ring_free(lb);
		break;
	case RW_LB_MAGLEV:
		rw__lb_maglev_free(lb);
		break;
	}
}

static int build_policy(struct rw_lb *lb, const struct rw_lb_params *p, const uint32_t *weight)
{
	if (lb->n <= 1)
		return 0; /* rw_lb_pick() answers these without tables */
	switch (lb->policy) {
	case RW_LB_ROUND_ROBIN:
		return rw__lb_rr_build(lb, weight);
	case RW_LB_RANDOM:
		return rw__lb_weights_build(&lb->random, weight, lb->n);
	case RW_LB_LEAST_REQUEST:
		return rw__lb_least_request_build(lb, p, weight);
	case RW_LB_RING_HASH:
		return rw__lb_ring_build(lb, p, weight);
	case RW_LB_MAGLEV:
		return rw__lb_maglev_build(lb, p, weight);
	}
	return -EINVAL;
}

int rw_lb_create(const struct rw_lb_params *params, struct rw_host *const *hosts, size_t n,
                 struct rw_lb **out)
{
	struct rw_lb_params p;
	struct rw_lb *lb = NULL;
	uint32_t *weight = NULL;
	size_t i;
	int rc = -EINVAL;

	if (!normalize_params(params, &p) || n > RW_LB_MAX_HOSTS)
		return -EINVAL;
	rc = -ENOMEM;
	lb = calloc(1, sizeof(*lb));
	if (!lb)
		goto out;
	lb->policy = p.policy;
	lb->n = (uint32_t)n;
	lb->n_magic = rw__lb_fastmod_magic(n ? (uint32_t)n : 1);
	if (n) {
		lb->hosts = malloc(n * sizeof(lb->hosts[0]));
		weight = malloc(n * sizeof(weight[0]));
		if (!lb->hosts || !weight)
			goto out;
		memcpy(lb->hosts, hosts, n * sizeof(lb->hosts[0]));
		/* A zeroed host (not made by rw_host_create) still gets traffic. */
		for (i = 0; i < n; i++)
			weight[i] = hosts[i]->weight ? hosts[i]->weight : 1;
	}
	rc = build_policy(lb, &p, weight);
	if (rc)
		goto out;
	for (i = 0; i < n; i++)
		rw_host_ref(lb->hosts[i]);
	*out = lb;
	lb = NULL;
out:
	if (lb) {
		free_policy(lb);
		free(lb->hosts);
		free(lb);
	}
	free(weight);
	return rc;
}

void rw_lb_free(struct rw_lb *lb)
{
	uint32_t i;

	if (!lb)
		return;
	free_policy(lb);
	for (i = 0; i < lb->n; i++)
		rw_host_unref(lb->hosts[i]);
	free(lb->hosts);
	free(lb);
}

struct rw_host *rw_lb_pick(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx)
{
	if (lb->n <= 1)
		return lb->n ? lb->hosts[0] : NULL;
	switch (lb->policy) {
	case RW_LB_ROUND_ROBIN:
		return rw__lb_rr_pick(lb, ctx);
	case RW_LB_RANDOM:
		return rw__lb_random_pick(lb, ctx);
	case RW_LB_LEAST_REQUEST:
		return rw__lb_least_request_pick(lb, ctx);
	case RW_LB_RING_HASH:
		return rw__lb_ring_pick(lb, ctx);
	case RW_LB_MAGLEV:
		return rw__lb_maglev_pick(lb, ctx);
	}
	return NULL;
}

enum rw_lb_policy rw_lb_policy_of(const struct rw_lb *lb)
{
	return lb->policy;
}

size_t rw_lb_size(const struct rw_lb *lb)
{
	return lb->n;
}

struct rw_host *rw_lb_host(const struct rw_lb *lb, size_t i)
{
	return i < lb->n ? lb->hosts[i] : NULL;
}

uint32_t rw__lb_next_other(const struct rw_lb *lb, uint32_t i, const struct rw_host *avoid)
{
	uint32_t j = i;

	do {
		j = j + 1 == lb->n ? 0 : j + 1;
		if (lb->hosts[j] != avoid)
			return j;
	} while (j != i);
	return i;
}

struct named {
	const char *name;
	uint32_t index;
};

static int by_name(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->index > y->index) - (x->index < y->index);
}

int rw__lb_sort_by_name(const struct rw_lb *lb, uint32_t **out)
{
	struct named *tmp = malloc(lb->n * sizeof(*tmp));
	uint32_t *order = malloc(lb->n * sizeof(*order)), i;
	int rc = -ENOMEM;

	if (!tmp || !order)
		goto out;
	for (i = 0; i < lb->n; i++)
		tmp[i] = (struct named){lb->hosts[i]->name, i};
	qsort(tmp, lb->n, sizeof(*tmp), by_name);
	for (i = 0; i < lb->n; i++)
		order[i] = tmp[i].index;
	*out = order;
	order = NULL;
	rc = 0;
out:
	free(tmp);
	free(order);
	return rc;
}
