/*
 * Internal to lb/'s policies: the compiled balancer's layout, the per-policy build/pick/free
 * entry points lb/lb.c dispatches to, and the few integer tricks every pick path shares.
 * Nothing outside lb/ includes this.
 *
 *   struct rw_lb ─┬─ hosts[n]        one ref each, creation order (what picks return)
 *                 └─ union by policy:
 *        ROUND_ROBIN    schedule[len] of host indices (NULL: equal weights, plain rotation)
 *        RANDOM         alias table[n] (NULL: equal weights)
 *        LEAST_REQUEST  alias table[n] (NULL: equal weights → P2C) + bias
 *        RING_HASH      hash[len] sorted, host[len] parallel, bucket index by top bits
 *        MAGLEV         table[size] of host indices
 *
 * Built once by rw_lb_create(), then only read: any number of threads may pick at once.
 */
#ifndef RW_LB_INTERNAL_H
#define RW_LB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb/lb.h"

/* Weighted round robin: one full smooth cycle, precomputed (lb/weighted_rr.c). */
struct rw__lb_rr {
	uint32_t *schedule; /* host indices; NULL when all weights are equal */
	uint32_t len;
	uint64_t len_magic; /* rw__lb_fastmod_magic(len) */
};

/*
 * Weighted draw shared by RANDOM and LEAST_REQUEST (lb/random.c): Walker's alias table.
 * Slot i keeps host i with probability keep/2^32, else sends the draw to host alias.
 */
struct rw__lb_alias {
	uint32_t keep;
	uint32_t alias;
};

struct rw__lb_weights {
	struct rw__lb_alias *table; /* n slots; NULL when all weights are equal */
};

struct rw__lb_least_request {
	struct rw__lb_weights weights;
	uint32_t choice_count;
	double bias;
};

struct rw__lb_ring {
	uint64_t *hash;   /* ascending */
	uint32_t *host;   /* host[i] owns the arc ending at hash[i] */
	uint32_t *bucket; /* [b]: first entry >= b << shift; 2^(64 - shift) + 1 of them */
	uint32_t len;
	uint32_t shift;
};

struct rw__lb_maglev {
	uint32_t *table; /* host index per slot */
	uint64_t size;   /* prime */
};

struct rw_lb {
	enum rw_lb_policy policy;
	uint32_t n;
	uint64_t n_magic; /* rw__lb_fastmod_magic(n) */
	struct rw_host **hosts;
	union {
		struct rw__lb_rr rr;
		struct rw__lb_weights random;
		struct rw__lb_least_request lr;
		struct rw__lb_ring ring;
		struct rw__lb_maglev maglev;
	};
};

/*
 * Per policy: build from weight[0..n) (each >= 1, lb->hosts and lb->n already set) and
 * return 0 or -ENOMEM; free releases whatever build allocated, also after a failed build
 * (the union starts zeroed).  pick runs with n >= 2 (lb.c answers n <= 1 itself).
 */
int rw__lb_rr_build(struct rw_lb *lb, const uint32_t *weight);
struct rw_host *rw__lb_rr_pick(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx);
void rw__lb_rr_free(struct rw_lb *lb);

int rw__lb_weights_build(struct rw__lb_weights *w, const uint32_t *weight, uint32_t n);
void rw__lb_weights_free(struct rw__lb_weights *w);
/* rw__lb_weights_draw(): inline, at the end. */
struct rw_host *rw__lb_random_pick(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx);

int rw__lb_least_request_build(struct rw_lb *lb, const struct rw_lb_params *p,
                               const uint32_t *weight);
struct rw_host *rw__lb_least_request_pick(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx);

int rw__lb_ring_build(struct rw_lb *lb, const struct rw_lb_params *p, const uint32_t *weight);
struct rw_host *rw__lb_ring_pick(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx);
void rw__lb_ring_free(struct rw_lb *lb);

int rw__lb_maglev_build(struct rw_lb *lb, const struct rw_lb_params *p, const uint32_t *weight);
struct rw_host *rw__lb_maglev_pick(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx);
void rw__lb_maglev_free(struct rw_lb *lb);

/* xxHash64 of key with seed (lb/lb.c holds the one inlined copy of xxHash). */
uint64_t rw__lb_hash_seed(const void *key, size_t len, uint64_t seed);

/*
 * Host indices ordered by name (ties: by index), for the hashing policies: a table must not
 * depend on the order hosts were created in, so every worker and every restart that sees
 * the same addresses builds the same table.  *out is malloc'd; 0 or -ENOMEM.
 */
int rw__lb_sort_by_name(const struct rw_lb *lb, uint32_t **out);

/* The first index after i (cyclically) whose host is not avoid; i itself if there is none. */
uint32_t rw__lb_next_other(const struct rw_lb *lb, uint32_t i, const struct rw_host *avoid);

/* ---- integer helpers for the pick paths ---- */

/* Map a uniform 64-bit r to [0, n) with one multiply (Lemire), no division. */
static inline uint64_t rw__lb_range(uint64_t r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)r * n) >> 64);
}

/* a % d for 32-bit a and d >= 1 with two multiplies (Lemire's fastmod); magic from below. */
static inline uint64_t rw__lb_fastmod_magic(uint32_t d)
{
	return UINT64_MAX / d + 1;
}

static inline uint32_t rw__lb_fastmod(uint32_t a, uint64_t magic, uint32_t d)
{
	return (uint32_t)(((unsigned __int128)(magic * a) * d) >> 64);
}

/* The k-th independent-looking 64-bit value derived from one random value (splitmix64). */
static inline uint64_t rw__lb_mix(uint64_t r, uint64_t k)
{
	uint64_t z = r + k * UINT64_C(0x9e3779b97f4a7c15);

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A host index in proportion to weight, from one uniform 64-bit r (inline: the hot path). */
static inline uint32_t rw__lb_weights_draw(const struct rw__lb_weights *w, uint32_t n, uint64_t r)
{
	uint32_t slot = (uint32_t)rw__lb_range(r, n), alias, keep;

	if (!w->table)
		return slot;
	/* The slot comes from r's top bits; the low 32 bits are an independent coin.  A mask,
	 * not ?:, which gcc makes a branch that a fair coin mispredicts half the time (clang
	 * branches either way: ~5 ns more per weighted draw). */
	alias = w->table[slot].alias;
	keep = -(uint32_t)((uint32_t)r < w->table[slot].keep);
	return alias ^ ((slot ^ alias) & keep);
}

#endif
