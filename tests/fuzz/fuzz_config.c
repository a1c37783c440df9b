/*
 * libFuzzer harness for the config loader: any bytes in, a config or a one-line error out.
 *
 * Beyond "no crash, no leak, no hang", it checks what the loader promises so the fuzzer can
 * find logic bugs too: a success satisfies the structural invariants consumers rely on
 * (every listener has a chain, every chain ends in tcp_proxy, every tcp_proxy names an
 * existing cluster, every endpoint has a port), and a failure leaves *out NULL and a
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
			if (last->kind != RW_CONFIG_FILTER_TCP_PROXY ||
			    !rw_config_find_cluster(cfg, last->u.tcp_proxy.cluster) ||
			    !last->u.tcp_proxy.stat_prefix[0])
				abort();
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
