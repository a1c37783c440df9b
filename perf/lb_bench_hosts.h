/*
 * Host fixtures for perf/lb_bench.cc.  struct rw_host (lb/cluster.h) uses C11 _Atomic
 * members that C++ cannot parse, so hosts are made and the epoch read section is entered
 * from C (lb_bench_hosts.c); the benchmark itself calls lb/lb.h directly.
 */
#ifndef RW_PERF_LB_BENCH_HOSTS_H
#define RW_PERF_LB_BENCH_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include "lb/lb.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * n hosts 10.x.y.z:8080 with weight 1 (or i % 10 + 1 when weighted) and rq_active set to a
 * fixed pseudo-random value in [0, 16), so least request has something to compare.  Aborts
 * on OOM (a benchmark fixture).  Free with rw_bench_hosts_free().
 */
struct rw_host **rw_bench_hosts_new(size_t n, bool weighted);
void rw_bench_hosts_free(struct rw_host **hosts, size_t n);

/* rw_lb_pick() inside rw_lb_read_lock()/rw_lb_read_unlock(): what a worker really pays. */
struct rw_host *rw_bench_pick_in_read_section(const struct rw_lb *lb,
                                              const struct rw_lb_pick_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif
