/*
 * libFuzzer harness for the config loader: any bytes in, a config or a one-line error out.
 *
 * Beyond "no crash, no leak, no hang", it checks what the loader promises so the fuzzer can
 * find logic bugs too: a success satisfies the structural invariants consumers rely on
 * (every listener has a chain ending in tcp_proxy, echo or an HCM; a tcp_proxy, and with
 * validate_clusters every route, names an existing cluster; every endpoint has a port), and
 * a failure leaves *out NULL and a
 * non-empty, single-line message.
 */
#include "config/config.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t port_of(const struct rw_config_addr *addr)
{
	if (addr->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&addr->ss)->sin_port);
	if (addr->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&addr->ss)->sin6_port);
	abort();
}

/* What the HTTP data path relies on: a router last, and (validate_clusters) every route's
   clusters exist. */
static void check_hcm(const struct rw_config *cfg, const struct rw_config_hcm *h)
{
	const struct rw_config_route_config *rc = &h->route_config;

	if (!h->stat_prefix || !h->stat_prefix[0] || h->n_http_filters == 0 ||
	    h->http_filters[h->n_http_filters - 1].kind != RW_CONFIG_HTTP_FILTER_ROUTER ||
	    h->max_request_headers_kb == 0 || h->common.max_headers_count == 0 || !h->server_name)
		abort();
	for (size_t v = 0; v < rc->n_virtual_hosts; v++) {
		const struct rw_config_virtual_host *vh = &rc->virtual_hosts[v];

		if (vh->n_domains == 0)
			abort();
		for (size_t r = 0; r < vh->n_routes && rc->validate_clusters; r++) {
			const struct rw_config_route_action *a = &vh->routes[r].u.route;

			if (vh->routes[r].action != RW_CONFIG_ACTION_ROUTE)
				continue;
			if (a->specifier == RW_CONFIG_ROUTE_CLUSTER &&
			    !rw_config_find_cluster(cfg, a->cluster))
				abort();
			for (size_t k = 0;
			     a->specifier == RW_CONFIG_ROUTE_WEIGHTED && k < a->n_weighted; k++)
				if (!rw_config_find_cluster(cfg, a->weighted[k].name))
					abort();
		}
	}
}

static void check_config(const struct rw_config *cfg)
{
	char buf[64];

	for (size_t i = 0; i < cfg->n_listeners; i++) {
		const struct rw_config_listener *l = &cfg->listeners[i];

		if (!l->name || l->n_chains == 0)
			abort();
		(void)port_of(&l->addr);
		rw_config_addr_format(&l->addr, buf, sizeof(buf));
		for (size_t c = 0; c < l->n_chains; c++) {
			const struct rw_config_filter_chain *chain = &l->chains[c];
			const struct rw_config_filter *last;

			if (chain->n_filters == 0)
				abort();
			last = &chain->filters[chain->n_filters - 1];
			if (last->kind == RW_CONFIG_FILTER_TCP_PROXY) {
				if (!rw_config_find_cluster(cfg, last->u.tcp_proxy.cluster) ||
				    !last->u.tcp_proxy.stat_prefix[0])
					abort();
			} else if (last->kind == RW_CONFIG_FILTER_HTTP_CONNECTION_MANAGER) {
				check_hcm(cfg, &last->u.hcm);
			} else if (last->kind != RW_CONFIG_FILTER_ECHO) {
				abort();
			}
		}
	}
	for (size_t i = 0; i < cfg->n_clusters; i++) {
		const struct rw_config_cluster *c = &cfg->clusters[i];

		if (!c->name[0] || c->connect_timeout_ms == 0 ||
		    rw_config_find_cluster(cfg, c->name) != c)
			abort();
		for (size_t e = 0; e < c->n_endpoints; e++)
			if (port_of(&c->endpoints[e].addr) == 0)
				abort();
	}
	if (cfg->admin.present)
		rw_config_addr_format(&cfg->admin.addr, buf, sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rw_config *cfg = NULL;
	char err[512];
	int rc = rw_config_load_string((const char *)data, size, &cfg, err, sizeof(err));

	if (rc == 0) {
		if (!cfg)
			abort();
		check_config(cfg);
		rw_config_free(cfg);
		return 0;
	}
	if (cfg || err[0] == '\0' || strchr(err, '\n'))
		abort();
	return 0;
}
