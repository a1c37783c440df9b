/*
 * The admin listener (bootstrap `admin.address`): Envoy's operator endpoints, served by one
 * thread with its own io_uring engine so an admin request never runs on (or blocks) a worker.
 *
 * Serves the dashboard at /, /ready, /server_info, /clusters, /stats (+ /stats/prometheus),
 * /config_dump, /listeners, /logging, /help, and POST /quitquitquit, /reset_counters,
 * /healthcheck/fail|ok, /drain_listeners, /reopen_logs; and runs the stats flush and sinks.
 */
#ifndef RW_ADMIN_ADMIN_H
#define RW_ADMIN_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rw_admin;
struct rw_cluster;
struct rw_config;
struct rw_config_addr;

/* A data-plane listener as bound (port 0 resolved), for /listeners. */
struct rw_admin_listener {
	const char *name;
	const struct rw_config_addr *addr;
};

struct rw_admin_options {
	/* NULL: no listener, the thread only flushes stats to the sinks (stats_sinks without
	 * admin.address). */
	const struct rw_config_addr *addr;
	struct rw_cluster *const *clusters; /* read through their snapshots (lb/epoch.h) */
	size_t n_clusters;
	int concurrency;
	const char *version;
	const struct rw_config *config; /* /config_dump: the loaded document (read-only) */
	const struct rw_admin_listener *listeners; /* /listeners; live as long as the admin */
	size_t n_listeners;
	/*
	 * POST /drain_listeners: stop accepting on every listener; graceful also tells open
	 * connections to finish.  Runs on the admin thread and must not block; NULL: refused.
	 */
	void (*drain_listeners)(void *ctx, bool graceful);
	void *drain_ctx;
	/* POST /reopen_logs: reopen the access-log files (log rotation); the number reopened or
	 * a negative errno with a message in err.  NULL: refused. */
	int (*reopen_logs)(char *err, size_t errlen);
};

/*
 * Open the admin socket (port 0 resolved; logged as "listener 'admin' listening on ...")
 * and start the thread.  0, or a negative errno with a message in err.
 */
int rw_admin_start(const struct rw_admin_options *opt, struct rw_admin **out, char *err,
                   size_t errlen);
/* Stop and join; NULL is a no-op. */
void rw_admin_stop(struct rw_admin *a);

#endif
