/*
 * Seeded randomness and timing for the model-checking unit tests.  xorshift64* so a failing
 * run replays exactly from the seed it printed: RW_TEST_SEED=<n> in the environment overrides
 * the test's default seed.
 */
#ifndef RW_TESTS_UNIT_RANDOM_H
#define RW_TESTS_UNIT_RANDOM_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static uint64_t seed;
static uint64_t rng_state;

/* Take the seed from RW_TEST_SEED or `fallback`; returns it (for the test to print). */
static inline uint64_t rng_seed(uint64_t fallback)
{
	const char *env = getenv("RW_TEST_SEED");

	seed = env ? strtoull(env, NULL, 0) : fallback;
	rng_state = seed ? seed : 1;
	return seed;
}

static inline uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* Uniform-ish in [0, n); 0 when n is 0. */
static inline uint64_t rng_below(uint64_t n)
{
	return n ? rng() % n : 0;
}

static inline double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
