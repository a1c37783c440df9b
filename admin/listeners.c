/*
 * /listeners (Envoy's "<name>::<address:port>" lines, or ?format=json listener_statuses) and
 * POST /drain_listeners.  The addresses are the bound ones server/runtime.c passes in, so a
 * listener configured on port 0 shows the port the kernel chose.
 *
 * Draining runs server/runtime.c's callback, which asks each worker's engine to close its
 * listening sockets (rw_engine_stop_listening: an atomic and an eventfd write), so the admin
 * thread never touches a worker's ring.  ringway has no traffic_direction, so ?inboundonly
 * drains every listener.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "admin/internal.h"
#include "config/config.h"
#include "core/log.h"

static void put_address(struct admin_body *b, const struct rw_config_addr *addr)
{
	char ip[INET6_ADDRSTRLEN] = "";
	unsigned port = 0;

	if (addr->ss.ss_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&addr->ss;

		inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof(ip));
		port = ntohs(in4->sin_port);
	} else if (addr->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&addr->ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
	}
	rw__admin_put(b, "{\"socket_address\":{\"address\":\"%s\",\"port_value\":%u}}", ip, port);
}

uint16_t rw__admin_listeners(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                             const char **type)
{
	char fmt[16] = "", addr[128];
	bool json = rw__admin_query(r, "format", fmt, sizeof(fmt)) && strcmp(fmt, "json") == 0;

	if (json) {
		*type = "application/json";
		rw__admin_put(b, "{\"listener_statuses\":[");
	}
	for (size_t i = 0; i < a->opt.n_listeners; i++) {
		const struct rw_admin_listener *l = &a->opt.listeners[i];

		if (!json) {
			rw__admin_put(b, "%s::%s\n", l->name,
			              rw_config_addr_format(l->addr, addr, sizeof(addr)));
			continue;
		}
		rw__admin_put(b, "%s{\"name\":", i ? "," : "");
		rw__admin_put_json_str(b, l->name);
		rw__admin_put(b, ",\"local_address\":");
		put_address(b, l->addr);
		rw__admin_put(b, "}");
	}
	if (json)
		rw__admin_put(b, "]}\n");
	return 200;
}

uint16_t rw__admin_drain_listeners(struct rw_admin *a, const struct admin_req *r,
                                   struct admin_body *b, const char **type)
{
	bool graceful = rw__admin_query(r, "graceful", NULL, 0);

	(void)type;
	if (!a->opt.drain_listeners) {
		rw__admin_put(b, "no listeners to drain\n");
		return 503;
	}
	rw_log_info("admin", "POST /drain_listeners%s: no longer accepting connections",
	            graceful ? " (graceful)" : "");
	a->opt.drain_listeners(a->opt.drain_ctx, graceful);
	rw__admin_put(b, "OK\n");
	return 200;
}
