/*
 * Clusters and hosts as the data path sees them: immutable after start-up, shared by every
 * worker.  Per-host live figures are atomics so workers never take a lock to pick a host or
 * to count a connection.  (Dynamic host sets arrive with DNS and health checking; they will
 * be published as snapshots, never mutated in place.)
 */
#ifndef RW_LB_CLUSTER_H
#define RW_LB_CLUSTER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rw_host {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char name[64]; /* "127.0.0.1:8080", for logs */
	_Atomic uint64_t cx_total;
	_Atomic int64_t cx_active;
	_Atomic uint64_t cx_connect_fail;
};

struct rw_cluster {
	char *name;
	uint64_t connect_timeout_ms;
	uint32_t buffer_limit;
	struct rw_host *hosts;
	size_t n_hosts;
	/* Round-robin cursor: one relaxed fetch_add per pick, shared by all workers.  Padded
	 * so the cursor does not false-share with the read-mostly fields above. */
	_Alignas(64) _Atomic uint64_t rr_next;
};

/* Round robin over all hosts; NULL when the cluster has none. */
struct rw_host *rw_lb_round_robin_pick(struct rw_cluster *c);

#endif
