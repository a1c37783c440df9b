/*
 * server.* stats (Envoy's names): live, state, uptime, concurrency, memory, connections.
 * Computed when read, from process-wide figures; total_connections is a gauge the workers
 * keep (proxy/stats.h).
 */
#ifndef RW_SERVER_STATS_H
#define RW_SERVER_STATS_H

#include <stdbool.h>

/* Register the server scope (start-up, before any thread attaches): 0 or -errno. */
int rw_server_stats_register(int concurrency);
/* SIGTERM/SIGINT started a drain: server.live 0, server.state 1 (DRAINING). */
void rw_server_stats_draining(void);

#endif
