/*
 * Shared by the router unit tests: load a route_config YAML snippet through the real
 * loader (wrapped in a minimal listener + HCM), build a router and a scratch from it, and
 * describe requests compactly.
 */
#ifndef RW_TESTS_UNIT_ROUTER_FIXTURE_H
#define RW_TESTS_UNIT_ROUTER_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "router/router.h"
#include "tests/unit/check.h"

/* config/'s HTTP gate hook (config/internal.h); only tests touch it. */

struct fixture {
	struct rw_config *cfg;
	struct rw_router *router;
	struct rw_router_scratch *scratch;
};

/* rc is a route_config body, unindented; each line is indented under route_config. */
static inline void fixture_load(struct fixture *f, const char *rc)
{
	static const char head[] =
	    "static_resources:\n"
	    "  listeners:\n"
	    "  - address: {socket_address: {address: 127.0.0.1, port_value: 80}}\n"
	    "    filter_chains:\n"
	    "    - filters:\n"
	    "      - name: hcm\n"
	    "        typed_config:\n"
	    "          \"@type\": type.googleapis.com/envoy.extensions.filters.network."
	    "http_connection_manager.v3.HttpConnectionManager\n"
	    "          stat_prefix: s\n"
	    "          http_filters:\n"
	    "          - name: router\n"
	    "            typed_config: {\"@type\": type.googleapis.com/envoy.extensions.filters."
	    "http.router.v3.Router}\n"
	    "          route_config:\n";
	size_t cap = sizeof(head) + strlen(rc) * 2 + 64, len = sizeof(head) - 1;
	char *yaml = malloc(cap), err[512];
	int rc_load;

	CHECK(yaml);
	memcpy(yaml, head, len);
	for (const char *line = rc; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);

		memcpy(yaml + len, "            ", 12);
		len += 12;
		memcpy(yaml + len, line, n);
		len += n;
		line += n;
	}
	yaml[len] = '\0';
	rc_load = rw_config_load_string(yaml, len, &f->cfg, err, sizeof(err));
	if (rc_load) {
		fprintf(stderr, "config error %d: %s\n%s", rc_load, err, yaml);
		abort();
	}
	free(yaml);
	rc_load = rw_router_build(&f->cfg->listeners[0].chains[0].filters[0].u.hcm.route_config,
	                          &f->router, err, sizeof(err));
	if (rc_load) {
		fprintf(stderr, "router build error %d: %s\n", rc_load, err);
		abort();
	}
	CHECK(rw_router_scratch_create(f->router, 0, &f->scratch) == 0);
}

static inline void fixture_free(struct fixture *f)
{
	rw_router_scratch_free(f->scratch);
	rw_router_free(f->router);
	rw_config_free(f->cfg);
}

/* A request: NULL authority = absent; headers as "name", "value" pairs, NULL-ended. */
static inline struct rw_http_request_view request(const char *scheme, const char *authority,
                                                  const char *method, const char *path,
                                                  struct rw_http_header *storage, size_t cap,
                                                  const char *const *headers)
{
	struct rw_http_request_view v = {
	    .method = method,
	    .method_len = strlen(method),
	    .scheme = scheme,
	    .scheme_len = strlen(scheme),
	    .authority = authority,
	    .authority_len = authority ? strlen(authority) : 0,
	    .path = path,
	    .path_len = strlen(path),
	    .headers = storage,
	};

	for (size_t i = 0; headers && headers[2 * i]; i++) {
		CHECK(i < cap);
		storage[i] =
		    (struct rw_http_header){headers[2 * i], strlen(headers[2 * i]),
		                            headers[2 * i + 1], strlen(headers[2 * i + 1])};
		v.n_headers++;
	}
	return v;
}

#endif
