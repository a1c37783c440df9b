/*
 * The server's clusters: built from the config, kept current by DNS for STRICT_DNS and
 * LOGICAL_DNS, shared read-mostly by every worker (hosts are published as snapshots).
 */
#ifndef RW_SERVER_CLUSTERS_H
#define RW_SERVER_CLUSTERS_H

#include <stddef.h>
#include <stdint.h>

struct rw_cluster;
struct rw_clusters;
struct rw_config;

/*
 * Build every cluster and start resolving the DNS ones.  On failure returns a negative errno
 * (logged) and *out may still hold a partial set for rw_clusters_destroy().
 */
int rw_clusters_create(const struct rw_config *cfg, struct rw_clusters **out);

/* Wait up to max_ms for every DNS cluster's first answers (Envoy's init manager). */
void rw_clusters_wait_ready(struct rw_clusters *cs, uint64_t max_ms);

/* The cluster called name, or NULL. */
struct rw_cluster *rw_clusters_find(struct rw_clusters *cs, const char *name);
size_t rw_clusters_count(const struct rw_clusters *cs);
/* The i-th cluster (config order), i < rw_clusters_count(). */
struct rw_cluster *rw_clusters_at(struct rw_clusters *cs, size_t i);

/* Stop DNS (no callback runs afterwards) and free; call after the workers exited. */
void rw_clusters_destroy(struct rw_clusters *cs);

#endif
