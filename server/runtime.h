/*
 * The running server: clusters and listeners built from a validated config, one worker
 * thread per --concurrency, each with its own engine and its own SO_REUSEPORT listening
 * sockets, and the main thread waiting for signals.
 */
#ifndef RW_SERVER_RUNTIME_H
#define RW_SERVER_RUNTIME_H

#include <stddef.h>

struct rw_config;
struct rw_options;

/*
 * Serve cfg until SIGTERM/SIGINT drained every connection (or the drain deadline passed).
 * Returns the process exit code: 0 after a clean drain, 1 on a start-up failure (with the
 * reason logged).
 */
int rw_runtime_serve(const struct rw_config *cfg, const struct rw_options *opt);

#endif
