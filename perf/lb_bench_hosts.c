/*
 * Host fixtures for the load-balancer microbenchmarks: see lb_bench_hosts.h for why this is C.
 */
#include "perf/lb_bench_hosts.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "lb/cluster.h"
#include "lb/epoch.h"

struct rw_host **rw_bench_hosts_new(size_t n, bool weighted)
{
	struct rw_host **hosts = malloc((n ? n : 1) * sizeof(*hosts));
	struct sockaddr_in in;
	size_t i;

	if (!hosts)
		abort();
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = htons(8080);
	for (i = 0; i < n; i++) {
		in.sin_addr.s_addr = htonl(0x0a000000u | (uint32_t)(i + 1));
		hosts[i] = rw_host_create((const struct sockaddr *)&in, sizeof(in));
		if (!hosts[i])
			abort();
		hosts[i]->weight = weighted ? (uint32_t)(i % 10) + 1 : 1;
		atomic_store_explicit(&hosts[i]->rq_active, (uint32_t)((i * 2654435761u) >> 7) % 16,
		                      memory_order_relaxed);
	}
	return hosts;
}

void rw_bench_hosts_free(struct rw_host **hosts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		rw_host_unref(hosts[i]);
	free(hosts);
}

struct rw_host *rw_bench_pick_in_read_section(const struct rw_lb *lb,
                                              const struct rw_lb_pick_ctx *ctx)
{
	struct rw_host *h;

	rw_lb_read_lock();
	h = rw_lb_pick(lb, ctx);
	rw_lb_read_unlock();
	return h;
}
