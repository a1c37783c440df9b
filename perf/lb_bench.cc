/*
 * Microbenchmarks for the load-balancing policies (lb/lb.h), Google Benchmark.
 *
 * pick/<policy>[_weighted]/<hosts>/threads:<t>: one rw_lb_pick() per iteration on one
 * balancer shared by t threads, as workers share a cluster's balancer.  Each iteration also
 * draws a fresh random value (xorshift64, about 1 ns: see baseline_rng) that serves as
 * ctx.random and, for ring hash and Maglev, as the request hash.  Round robin uses one
 * cursor shared by all threads, like rw_cluster.rr_next: with t > 1 that cache line bounces
 * between cores, and that cost is part of what is measured.  Least request reads rq_active
 * counters that nobody writes during the run (the proxy's increments are not simulated).
 * Times are wall-clock per pick and per thread (UseRealTime), so with t threads on t idle
 * cores an unchanged time means perfect scaling.
 *
 * pick/round_robin_per_worker_cursor: the same with one cursor per thread instead (weighted).
 * read_section/...: the same pick inside rw_lb_read_lock()/rw_lb_read_unlock(), the epoch
 * bracket a worker needs around it (one seq_cst store to the thread's own slot).
 * create/...: building a balancer (the writer's cost per host-set change).
 *
 * Threads: 1 and 2 by default (the dev VM has 2 CPUs); RW_LB_BENCH_MAX_THREADS=N in the
 * environment runs every pick benchmark at 1, 2, 4, ... N threads (ThreadRange(1, N)),
 * e.g. RW_LB_BENCH_MAX_THREADS=$(nproc).  See perf/README.md.
 */
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "lb/lb.h"
#include "perf/lb_bench_hosts.h"

namespace
{

struct Fixture {
	struct rw_host **hosts;
	size_t n;
	struct rw_lb *lb;
};

/* Balancers are built once per (policy, hosts, weighted) and shared by all runs/threads. */
std::mutex fixtures_lock;
std::map<std::tuple<int, size_t, bool>, Fixture> fixtures;

const struct rw_lb *balancer(enum rw_lb_policy policy, size_t n, bool weighted)
{
	std::lock_guard<std::mutex> guard(fixtures_lock);
	auto key = std::make_tuple(static_cast<int>(policy), n, weighted);
	auto it = fixtures.find(key);

	if (it != fixtures.end())
		return it->second.lb;
	Fixture f{rw_bench_hosts_new(n, weighted), n, nullptr};
	struct rw_lb_params p;

	rw_lb_params_init(&p, policy);
	if (rw_lb_create(&p, f.hosts, n, &f.lb))
		abort();
	fixtures.emplace(key, f);
	return f.lb;
}

void free_fixtures()
{
	for (auto &entry : fixtures) {
		rw_lb_free(entry.second.lb);
		rw_bench_hosts_free(entry.second.hosts, entry.second.n);
	}
	fixtures.clear();
}

/* The shared round-robin cursor, alone on its cache line like rw_cluster.rr_next. */
alignas(64) std::atomic<uint64_t> cursor{0};

/* Or one per worker thread (lb/lb.h: no contention, each worker its own smooth rotation). */
struct alignas(64) WorkerCursor {
	std::atomic<uint64_t> next{0};
};
thread_local WorkerCursor worker_cursor;

inline uint64_t xorshift64(uint64_t x)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

uint64_t thread_seed(const benchmark::State &state)
{
	return UINT64_C(0x9e3779b97f4a7c15) * static_cast<uint64_t>(state.thread_index() + 1);
}

struct Policy {
	const char *name;
	enum rw_lb_policy policy;
	bool weighted;
	bool per_worker_cursor;
};

void pick(benchmark::State &state, const Policy &p, bool read_section)
{
	const struct rw_lb *lb =
	    balancer(p.policy, static_cast<size_t>(state.range(0)), p.weighted);
	struct rw_lb_pick_ctx ctx = {};
	uint64_t r = thread_seed(state);

	ctx.has_hash = true;
	ctx.cursor = &cursor;
	if (p.per_worker_cursor) {
		worker_cursor.next = 1000 * static_cast<uint64_t>(state.thread_index());
		ctx.cursor = &worker_cursor.next;
	}
	for (auto _ : state) {
		r = xorshift64(r);
		ctx.random = r;
		ctx.hash = r;
		if (read_section)
			benchmark::DoNotOptimize(rw_bench_pick_in_read_section(lb, &ctx));
		else
			benchmark::DoNotOptimize(rw_lb_pick(lb, &ctx));
	}
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void baseline_rng(benchmark::State &state)
{
	uint64_t r = thread_seed(state);

	for (auto _ : state) {
		r = xorshift64(r);
		benchmark::DoNotOptimize(r);
	}
}

void hash_key(benchmark::State &state)
{
	char key[] = "/api/v1/users/0000001234/profile"; /* 32 bytes: a typical header or path */
	uint64_t i = 0;

	for (auto _ : state) {
		key[20] = static_cast<char>('0' + (i++ & 7));
		benchmark::DoNotOptimize(rw_lb_hash(key, sizeof(key) - 1));
	}
}

void create(benchmark::State &state, enum rw_lb_policy policy)
{
	size_t n = static_cast<size_t>(state.range(0));
	struct rw_host **hosts = rw_bench_hosts_new(n, true);
	struct rw_lb_params p;

	rw_lb_params_init(&p, policy);
	for (auto _ : state) {
		struct rw_lb *lb;

		if (rw_lb_create(&p, hosts, n, &lb))
			abort();
		rw_lb_free(lb);
	}
	rw_bench_hosts_free(hosts, n);
}

const Policy policies[] = {
    {"round_robin", RW_LB_ROUND_ROBIN, false, false},
    {"round_robin_weighted", RW_LB_ROUND_ROBIN, true, false},
    {"round_robin_per_worker_cursor", RW_LB_ROUND_ROBIN, true, true},
    {"random", RW_LB_RANDOM, false, false},
    {"random_weighted", RW_LB_RANDOM, true, false},
    {"least_request", RW_LB_LEAST_REQUEST, false, false},
    {"least_request_weighted", RW_LB_LEAST_REQUEST, true, false},
    {"ring_hash", RW_LB_RING_HASH, false, false},
    {"maglev", RW_LB_MAGLEV, false, false},
};

void threads(benchmark::internal::Benchmark *b, int max_threads)
{
	if (max_threads > 2)
		b->ThreadRange(1, max_threads);
	else
		b->Threads(1)->Threads(2);
}

void register_all(int max_threads)
{
	benchmark::RegisterBenchmark("baseline_rng", baseline_rng);
	benchmark::RegisterBenchmark("hash/32B_key", hash_key);
	for (const Policy &p : policies) {
		auto *b = benchmark::RegisterBenchmark(
		    (std::string("pick/") + p.name).c_str(),
		    [p](benchmark::State &state) { pick(state, p, false); });

		b->Arg(10)->Arg(100)->Arg(1000)->UseRealTime();
		threads(b, max_threads);
	}
	for (const Policy &p : policies) {
		if (p.weighted && !p.per_worker_cursor)
			continue;
		auto *b = benchmark::RegisterBenchmark(
		    (std::string("read_section/") + p.name).c_str(),
		    [p](benchmark::State &state) { pick(state, p, true); });

		b->Arg(100)->UseRealTime();
		threads(b, max_threads);
	}
	for (const Policy &p : policies) {
		if ((!p.weighted && p.policy != RW_LB_RING_HASH && p.policy != RW_LB_MAGLEV) ||
		    p.per_worker_cursor)
			continue;
		benchmark::RegisterBenchmark(
		    (std::string("create/") + p.name).c_str(),
		    [p](benchmark::State &state) { create(state, p.policy); })
		    ->Arg(100)
		    ->Arg(1000)
		    ->Unit(benchmark::kMicrosecond);
	}
}

} // namespace

int main(int argc, char **argv)
{
	const char *env = getenv("RW_LB_BENCH_MAX_THREADS");
	int max_threads = env ? atoi(env) : 2;

	register_all(max_threads > 0 ? max_threads : 2);
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	free_fixtures();
	return 0;
}
