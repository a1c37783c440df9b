/*
 * Clusters and hosts as the data path sees them, shared by every worker.
 *
 * A cluster's hosts are an immutable snapshot (struct rw_host_set) behind one atomic
 * pointer.  Workers read it without locks inside an epoch read section (lb/epoch.h); a
 * writer (the DNS resolver thread, or the main thread at start) builds a whole new set and
 * publishes it with one exchange, and the old set is freed once no worker can still be
 * reading it.  Sets are never mutated in place.
 *
 *   cluster.hosts ──► set v2 { n=2, [A, C] }          set v1 { n=2, [A, B] } (retired)
 *                                │   │                              │   │
 *                                ▼   ▼                              ▼   ▼
 *                     host A (refs: v1, v2, sessions)   host B (refs: v1, session on B)
 *
 * Hosts are refcounted: each set holds one ref per entry and each TCP session one for its
 * lifetime, so a session keeps its host (and the host's counters) after the host left the
 * set.  A new set reuses the host object of every address that is still present, so counters
 * survive updates.  Per-host live figures are relaxed atomics: workers never take a lock to
 * pick a host or to count a connection.
 */
#ifndef RW_LB_CLUSTER_H
#define RW_LB_CLUSTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/socket.h>

#include "lb/lb.h"
#include "stats/stats.h"

struct rw_host {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char name[64]; /* "127.0.0.1:8080", for logs */
	/* DNS clusters: the endpoint name it was resolved from (config-owned, immortal), for
	 * auto_host_rewrite; NULL for STATIC hosts.  Set by the DNS writer, read by workers. */
	_Atomic(const char *) hostname;
	_Atomic uint32_t refs;
	_Atomic uint64_t cx_total;
	_Atomic int64_t cx_active;
	_Atomic uint64_t cx_connect_fail;
	/* load_balancing_weight (>= 1, default 1): written by whoever creates the host, before
	 * it is published; read when a balancer is built (lb/lb.h), never on the pick path. */
	uint32_t weight;
	/* Requests in flight on this host, maintained by the proxy (relaxed atomics); read by
	 * the least-request balancer on every pick. */
	_Atomic uint32_t rq_active;
	_Atomic uint64_t rq_total; /* requests sent to it (same cache line as rq_active) */
	/* Why the host is out of the balancer (RW_HOST_* bits); 0 = healthy.  Written by the
	 * cluster's writers (health checker, outlier detection, config), then the cluster is
	 * refreshed (rw_cluster_refresh) so the balancer is rebuilt without it. */
	_Atomic uint32_t health;
	/* Outlier detection state (lb/outlier.h), attached by the detector's thread; NULL when
	 * the cluster has no outlier_detection.  Freed with the host. */
	_Atomic(struct rw_outlier_host *) od;
	uint32_t priority; /* its endpoints group's priority (0 = highest), set at creation */
	uint32_t locality; /* index of its endpoints group (locality_weighted_lb_config) */
	uint32_t locality_weight; /* that group's load_balancing_weight; 0 = unset */
};

enum {
	RW_HOST_FAILED_ACTIVE_HC = 1u << 0, /* active health check says unhealthy */
	RW_HOST_EJECTED = 1u << 1,          /* outlier detection ejected it */
	RW_HOST_EDS_UNHEALTHY = 1u << 2,    /* load_assignment health_status says so */
	RW_HOST_PENDING_HC = 1u << 3,       /* not checked yet (Envoy: hosts start unhealthy
	                                       until the first check passes) */
};

/* An immutable snapshot: n hosts, each holding one ref taken for the set. */
/* One priority level of a snapshot: its balancer and the share of traffic it takes. */
/* locality_weighted_lb_config: one balancer per locality of a level. */
struct rw_locality_lb {
	struct rw_lb *lb;
	uint64_t cum_weight; /* cumulative effective weight (locality weight x availability) */
};

struct rw_priority_lb {
	struct rw_lb *lb;
	uint32_t load_ppm; /* cumulative: a pick draws r < 1e6 and takes the first level > r */
	bool panic;        /* too few healthy hosts: balanced over all (lb_healthy_panic) */
	struct rw_locality_lb *loc; /* locality-weighted clusters only, else NULL */
	uint32_t n_loc;
};

struct rw_host_set {
	size_t n;
	/* Built at publish (lb/lb.h): one balancer per priority level, with Envoy's priority
	 * loads (overprovisioning factor, panic); NULL when there is no host or no policy. */
	struct rw_priority_lb *prio;
	uint32_t n_prio;
	struct rw_host *hosts[];
};

/* One address a host set is built from (layout-compatible with struct rw_dns_address). */
struct rw_lb_address {
	struct sockaddr_storage addr;
	socklen_t len;
};

/*
 * Envoy's circuit breakers for the DEFAULT priority: thresholds from the config and the
 * cluster-wide live counts every worker updates with relaxed atomics (a breaker is a
 * compare against a shared count, never a lock).
 */
struct rw_cluster_cb {
	uint32_t max_connections;      /* upstream connections, all workers */
	uint32_t max_pending_requests; /* requests waiting for a connection */
	uint32_t max_requests;         /* requests in flight */
	uint32_t max_retries;          /* retries in flight */
	bool has_retry_budget;
	double budget_percent; /* retries allowed as a share of requests in flight */
	uint32_t min_retry_concurrency;
	_Atomic int64_t cx_active, rq_pending, rq_active, rq_retry;
	/* Overflows, for stats: upstream_cx_overflow, upstream_rq_pending_overflow, ... */
	_Atomic uint64_t cx_overflow, rq_pending_overflow, rq_overflow, rq_retry_overflow;
};

struct rw_cluster {
	char *name;
	uint64_t connect_timeout_ms;
	uint32_t buffer_limit;
	struct rw_lb_params lb_params; /* the policy every published snapshot is balanced by */
	/* Below this share of healthy hosts (parts per million) the balancer ignores health
	 * (Envoy's panic mode): common_lb_config.healthy_panic_threshold, default 50%. */
	uint32_t panic_ppm;
	uint32_t overprovisioning; /* percent, Envoy's default 140 */
	bool locality_weighted;    /* common_lb_config.locality_weighted_lb_config */
	/* Serializes the cluster's writers (DNS, health checks, outlier detection): never taken
	 * on the request path. */
	pthread_mutex_t writer;
	struct rw_cluster_cb cb;
	/* cluster.<name>.* (lb/cluster_stats.h); zeroed (records dropped) until registered. */
	struct rw_stats_scope stats;
	/* The current snapshot, never NULL once the cluster is set up (maybe n == 0).  Read it
	 * only inside rw_lb_read_lock(); write it only with rw_cluster_publish(). */
	_Atomic(struct rw_host_set *) hosts;
	/* Round-robin cursor: one relaxed fetch_add per pick, shared by all workers.  Padded
	 * so the cursor does not false-share with the read-mostly fields above. */
	_Alignas(64) _Atomic uint64_t rr_next;
};

/* A host for addr with one reference (the caller's); NULL on OOM.  name is formatted. */
struct rw_host *rw_host_create(const struct sockaddr *addr, socklen_t len);
void rw_host_ref(struct rw_host *h);
/* Drop a reference; the last one frees the host. */
void rw_host_unref(struct rw_host *h);

/*
 * Build a set of n hosts for addrs[], in order.  An address found in old (may be NULL)
 * reuses that host object, each old host at most once, so duplicate addresses stay separate
 * hosts.  Returns 0 and *out, or -ENOMEM with nothing allocated.  Any thread; old must stay
 * alive during the call (the writer's own current set always does).
 */
int rw_host_set_build(const struct rw_host_set *old, const struct rw_lb_address *addrs, size_t n,
                      struct rw_host_set **out);
/* Same hosts in the same order? */
bool rw_host_set_equal(const struct rw_host_set *a, const struct rw_host_set *b);
/* Drop the set's host refs and free it.  Only for a set no reader can see. */
void rw_host_set_free(struct rw_host_set *set);
/* "127.0.0.2:8080, 127.0.0.3:8080" (or "none") into buf, truncated with "..."; returns buf. */
const char *rw_host_set_format(const struct rw_host_set *set, char *buf, size_t len);

/*
 * Make set the cluster's current snapshot (ownership moves to the cluster) and retire the
 * previous one through lb/epoch.h.  Never blocks.  Writers of one cluster must be serialized
 * by the caller.
 */
void rw_cluster_publish(struct rw_cluster *c, struct rw_host_set *set);
/*
 * Pick a host of the current snapshot with the cluster's balancer (ctx as in lb/lb.h; the
 * cursor is filled in); returns it with a reference taken for the caller, or NULL when the
 * cluster has no host.  Lock-free; any worker thread.
 */
struct rw_host *rw_cluster_pick(struct rw_cluster *c, struct rw_lb_pick_ctx *ctx);

/*
 * A host's health bits changed: publish the same hosts again with a balancer over the healthy
 * ones.  Takes c->writer.  Never on a worker's request path.
 */
void rw_cluster_refresh(struct rw_cluster *c);

/* Free the current snapshot at shutdown, once no worker can read it; then reclaim all. */
void rw_cluster_release_hosts(struct rw_cluster *c);
/* The current snapshot for a writer (the thread that publishes); NULL before the first. */
struct rw_host_set *rw_cluster_hosts_writer(struct rw_cluster *c);

#endif
