/*
 * Active health checking (Envoy's cluster.health_checks[]): one thread for the whole server
 * with its own io_uring engine probes every host of every health-checked cluster over HTTP
 * or TCP, and sets or clears RW_HOST_FAILED_ACTIVE_HC / RW_HOST_PENDING_HC on the shared
 * hosts, refreshing the cluster's balancer (rw_cluster_refresh) when a host changes state.
 * Workers never wait on it: they only see a new host-set snapshot.
 */
#ifndef RW_HEALTH_CHECKER_H
#define RW_HEALTH_CHECKER_H

#include <stddef.h>

struct rw_cluster;
struct rw_config_cluster;
struct rw_health;

/* A cluster to check and its config (health_checks[], endpoints for health_check_port).
 * Both must outlive the checker. */
struct rw_health_target {
	struct rw_cluster *cluster;
	const struct rw_config_cluster *cfg;
};

/*
 * Start the checker thread for the targets that have health_checks (others are ignored;
 * with none, *out is NULL and nothing starts).  Every host present now starts unhealthy and
 * pending and is checked at once; like Envoy's cluster warming, this returns after every
 * such host has its first result (bounded by the longest check timeout plus a second), so
 * the workers start with a known health picture.  0, or a negative errno with err set.
 */
int rw_health_start(struct rw_health **out, const struct rw_health_target *targets, size_t n,
                    char *err, size_t errlen);

/* Stop the thread and join it; no host is touched afterwards.  NULL is a no-op. */
void rw_health_stop(struct rw_health *h);

#endif
