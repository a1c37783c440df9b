/* server.* (see stats.h). */
#include "server/stats.h"

#include <stdatomic.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/memory.h"
#include "core/server_state.h"
#include "proxy/stats.h"
#include "stats/stats.h"

static uint64_t start_ms;
static int64_t concurrency;
static _Atomic bool draining;

/* Envoy's server.state: 0 LIVE, 1 DRAINING (also after /healthcheck/fail). */
static int64_t state(void *arg)
{
	(void)arg;
	return atomic_load(&draining) || rw_server_health_check_failed();
}

static int64_t live(void *arg)
{
	return !state(arg);
}

static int64_t uptime(void *arg)
{
	(void)arg;
	return (int64_t)((rw_clock_ms() - start_ms) / 1000);
}

static int64_t get_concurrency(void *arg)
{
	(void)arg;
	return concurrency;
}

static int64_t zero(void *arg)
{
	(void)arg;
	return 0;
}

static int64_t memory_physical_size(void *arg)
{
	struct rw_memory m;

	(void)arg;
	rw_memory_read(&m);
	return (int64_t)m.resident;
}

/* Bytes the allocator handed out (Envoy's tcmalloc figure; glibc's here).  A sanitizer's
 * allocator leaves glibc's counters at 0: the resident size stands in then. */
static int64_t memory_allocated(void *arg)
{
	struct rw_memory m;

	(void)arg;
	rw_memory_read(&m);
	return (int64_t)(m.allocated ? m.allocated : m.resident);
}

static int64_t memory_heap_size(void *arg)
{
	struct rw_memory m;

	(void)arg;
	rw_memory_read(&m);
	return (int64_t)(m.heap_size ? m.heap_size : m.resident);
}

int rw_server_stats_register(int n_workers)
{
	static const struct {
		const char *name;
		rw_stat_read_fn fn;
	} gauges[] = {
	    {"live", live},
	    {"state", state},
	    {"uptime", uptime},
	    {"concurrency", get_concurrency},
	    {"memory_allocated", memory_allocated},
	    {"memory_heap_size", memory_heap_size},
	    {"memory_physical_size", memory_physical_size},
	    {"hot_restart_epoch", zero},
	};
	int r = rw_proxy_server_stats_register();

	start_ms = rw_clock_ms();
	concurrency = n_workers;
	for (size_t i = 0; !r && i < sizeof(gauges) / sizeof(gauges[0]); i++)
		r = rw_stats_add_computed("server", "server", NULL, NULL, gauges[i].name,
		                          RW_STAT_GAUGE, gauges[i].fn, NULL);
	return r;
}

void rw_server_stats_draining(void)
{
	atomic_store(&draining, true);
}
