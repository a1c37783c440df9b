/*
 * The admin listener (bootstrap `admin.address`): Envoy's operator endpoints, served by one
 * thread with its own io_uring engine so an admin request never runs on (or blocks) a worker.
 *
 * This first part serves /ready, /server_info, /clusters (text and ?format=json), /help and
 * POST /quitquitquit; stats, /config_dump and the dashboard follow (issue 5).
 */
#ifndef RW_ADMIN_ADMIN_H
#define RW_ADMIN_ADMIN_H

#include <stddef.h>
#include <stdint.h>

struct rw_admin;
struct rw_cluster;
struct rw_config_addr;

struct rw_admin_options {
	const struct rw_config_addr *addr;
	struct rw_cluster *const *clusters; /* read through their snapshots (lb/epoch.h) */
	size_t n_clusters;
	int concurrency;
	const char *version;
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
