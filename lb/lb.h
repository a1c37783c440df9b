/*
 * Load-balancing policies (Envoy's lb_policy): weighted round robin, least request, random,
 * ring hash and Maglev, compiled into an immutable struct rw_lb over one host snapshot.
 *
 * A writer (the thread that publishes a host set) builds the balancer next to the snapshot;
 * workers then pick from it concurrently without locks and without writing to it.  The only
 * shared writes on the pick path are the caller's round-robin cursor (one relaxed fetch_add)
 * and, outside this module, the hosts' rq_active counters the proxy maintains.
 *
 * Pure: no I/O, no clock, no hidden RNG.  The caller hands in a fresh random value (and, for
 * the hashing policies, the request's hash) with every pick, so tests are deterministic.
 * Per-policy details (how weights, `avoid` and the draw are done) are at the top of each
 * policy's file: lb/weighted_rr.c, lb/least_request.c, lb/random.c, lb/ring_hash.c,
 * lb/maglev.c.
 */
#ifndef RW_LB_LB_H
#define RW_LB_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* C++ callers (perf/lb_bench.cc) see the cursor as std::atomic, layout-compatible with C's. */
#ifdef __cplusplus
#include <atomic>
#define RW_LB_ATOMIC_U64 std::atomic<uint64_t>
extern "C" {
#else
#include <stdatomic.h>
#define RW_LB_ATOMIC_U64 _Atomic(uint64_t)
#endif

struct rw_host;
struct rw_lb;

/* Same values as enum rw_config_lb_policy (config/config.h), so a cast converts. */
enum rw_lb_policy {
	RW_LB_ROUND_ROBIN = 1,
	RW_LB_LEAST_REQUEST,
	RW_LB_RANDOM,
	RW_LB_RING_HASH,
	RW_LB_MAGLEV,
};

#define RW_LB_DEFAULT_CHOICE_COUNT 2
#define RW_LB_DEFAULT_RING_MIN     1024
#define RW_LB_DEFAULT_RING_MAX     8388608 /* also the largest ring accepted (Envoy's limit) */
#define RW_LB_DEFAULT_MAGLEV_SIZE  65537
#define RW_LB_MAX_MAGLEV_SIZE      5000011    /* Envoy's limit */
#define RW_LB_MAX_HOSTS            (1u << 24) /* keeps every table index and product in range */

/*
 * A policy and its settings.  Fill it with rw_lb_params_init() and override fields: a zero
 * choice_count, ring_min, ring_max or maglev_table_size means that field's default, but a
 * zero active_request_bias is a real setting (ignore load, see lb/least_request.c).
 */
struct rw_lb_params {
	enum rw_lb_policy policy;
	uint32_t choice_count;       /* LEAST_REQUEST: candidates per pick, >= 1; default 2 */
	double active_request_bias;  /* LEAST_REQUEST: >= 0, default 1.0 (unequal weights only) */
	uint64_t ring_min, ring_max; /* RING_HASH: entries; defaults 1024, 8388608; min <= max */
	uint64_t maglev_table_size;  /* MAGLEV: a prime <= RW_LB_MAX_MAGLEV_SIZE; default 65537 */
};

/* What one pick needs from the caller; fields a policy does not use are ignored. */
struct rw_lb_pick_ctx {
	uint64_t random;          /* a fresh 64-bit random value per pick (the caller's RNG) */
	uint64_t hash;            /* RING_HASH / MAGLEV: the request's hash (rw_lb_hash of key) */
	bool has_hash;            /* false: ring hash and Maglev use `random` instead (Envoy) */
	RW_LB_ATOMIC_U64 *cursor; /* ROUND_ROBIN: the cluster's shared cursor, see below */
	const struct rw_host *avoid; /* retries: another host than this one if there is one */
};

/*
 * The round-robin cursor: one relaxed fetch_add per pick.  Shared by all workers (the
 * cluster's rr_next) it gives one global smooth rotation, at the price of a cache line that
 * moves between cores on every pick (see perf/README.md).  A per-worker cursor (started at a
 * different offset per worker) removes that contention; each worker's own sequence is then
 * the smooth rotation.  NULL: the position comes from `random` (no rotation).
 */

/* Envoy's defaults for policy into *p. */
void rw_lb_params_init(struct rw_lb_params *p, enum rw_lb_policy policy);

/*
 * Compile a balancer over hosts[0..n) (n may be 0: every pick returns NULL).  Reads each
 * host's ->weight now (0 counts as 1) and takes one reference per host, dropped by
 * rw_lb_free(), so the balancer may outlive the snapshot it was built from.  Returns 0 and
 * *out, -EINVAL for bad params (*out untouched), or -ENOMEM with nothing allocated.  Any
 * thread; cost from O(n) (equal weights) to O(ring or table size) for the hashing policies.
 */
int rw_lb_create(const struct rw_lb_params *p, struct rw_host *const *hosts, size_t n,
                 struct rw_lb **out);
/* Drop the host references and free.  Only once no thread can pick from lb (epoch retire). */
void rw_lb_free(struct rw_lb *lb);

/*
 * The chosen host, or NULL when the balancer has no hosts.  No reference is taken: the host
 * is valid while the caller is inside rw_lb_read_lock() and lb is reachable from the snapshot
 * it loaded (take rw_host_ref() to keep it longer).  If the choice is ctx->avoid and there
 * are other hosts, a different host is returned, chosen deterministically from ctx.
 * Lock-free and wait-free; any thread; lb is never written.
 */
struct rw_host *rw_lb_pick(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx);

/* xxHash64 with seed 0: what hash policies feed to ctx->hash, and what ring hash uses. */
uint64_t rw_lb_hash(const void *key, size_t len);

/* The policy, host count and i-th host (i < size, creation order) of a balancer. */
enum rw_lb_policy rw_lb_policy_of(const struct rw_lb *lb);
size_t rw_lb_size(const struct rw_lb *lb);
struct rw_host *rw_lb_host(const struct rw_lb *lb, size_t i);

#ifdef __cplusplus
}
#endif

#endif
