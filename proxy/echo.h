/*
 * envoy.filters.network.echo: writes every byte it receives back to the sender.  A real
 * Envoy filter, and what the embedded default config proxies to, so a fresh install has
 * something to talk to with no other service running.
 */
#ifndef RW_PROXY_ECHO_H
#define RW_PROXY_ECHO_H

#include <stdint.h>

#include "stats/stats.h"

struct rw_engine;
struct rw_proxy_worker;

struct rw_echo_config {
	const char *listener_name;
	uint32_t buffer_limit;
	struct rw_stats_scope lstats; /* listener.<address>.* (proxy/stats.h) */
};

struct rw_echo_listener {
	struct rw_proxy_worker *worker;
	const struct rw_echo_config *cfg;
};

/* rw_accept_cb; ctx is a struct rw_echo_listener. */
void rw_echo_accept(struct rw_engine *e, void *ctx, int fd);

#endif
