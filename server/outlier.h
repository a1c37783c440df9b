/*
 * The server's outlier detection driver: ONE thread for every cluster that has
 * outlier_detection, running each cluster's detector (lb/outlier.h) about every 50 ms and
 * refreshing the cluster's balancer when a host was ejected or unejected.
 */
#ifndef RW_SERVER_OUTLIER_H
#define RW_SERVER_OUTLIER_H

struct rw_clusters;
struct rw_config;
struct rw_outlier_driver;

/*
 * Attach detector state to every current host (so workers report from their first request)
 * and start the thread; *out stays NULL when no cluster asks for outlier detection.  Call
 * after the clusters exist and before the workers start.  0 or a negative errno (logged).
 */
int rw_outlier_driver_start(struct rw_clusters *cs, const struct rw_config *cfg,
                            struct rw_outlier_driver **out);

/* Stop the thread and free the detectors: after the workers exited (they report into them),
 * before the clusters are destroyed.  NULL is fine. */
void rw_outlier_driver_stop(struct rw_outlier_driver *d);

#endif
