/*
 * Unit test for config/'s allocation-failure paths (nghttp2 failmalloc style): load the
 * same documents again and again, failing the 1st, 2nd, 3rd, ... allocation config/ makes,
 * until a load succeeds.  Every failing load must return -ENOMEM with a message and leave
 * *out NULL; leaks show up under ASan (RW_SANITIZE=ON) or valgrind.
 *
 * libyaml's own allocations are not counted: it has no allocator hook, and its failures
 * come back as YAML_MEMORY_ERROR, which the loader maps to -ENOMEM the same way.
 */
#include "config/config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/check.h"

/* config/'s failmalloc and HTTP gate hooks (config/internal.h); only tests touch them. */
extern unsigned long rw__config_fail_alloc_after;

/* Both a good and a bad document: error paths must clean up after a failure, too. */
static const char bad_doc[] =
    "static_resources:\n"
    "  listeners:\n"
    "  - name: l\n"
    "    address: {socket_address: {address: 127.0.0.1, port_value: 1}}\n"
    "    filter_chains: [{filters: [{name: t, typed_config: {\"@type\": "
    "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3."
    "TcpProxy, stat_prefix: s, cluster: missing}}]}]\n"
    "  clusters: [{name: c, load_assignment: {endpoints: [{lb_endpoints: "
    "[{endpoint: {address: {socket_address: {address: \"::1\", port_value: "
    "2}}}}]}]}}]\n";

/* An HCM whose weighted cluster is missing: fails late, after regexes and headers. */
static const char bad_hcm_doc[] =
    "static_resources:\n"
    "  clusters: [{name: c}]\n"
    "  listeners:\n"
    "  - address: {socket_address: {address: 127.0.0.1, port_value: 1}}\n"
    "    filter_chains: [{filters: [{name: h, typed_config: {\"@type\": "
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
    "HttpConnectionManager, stat_prefix: s, http_filters: [{name: r, typed_config: {\"@type\": "
    "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}], route_config: "
    "{request_headers_to_add: [{header: {key: X-A, value: \"%HOSTNAME%\"}}], virtual_hosts: "
    "[{name: v, domains: [a, \"*.b\"], routes: [{match: {safe_regex: {regex: \"^/(x)$\"}, "
    "headers: [{name: h, string_match: {prefix: p}}]}, route: {cluster: c, regex_rewrite: "
    "{pattern: {regex: \"(a)\"}, substitution: \"\\\\1\"}}}, {match: {prefix: /}, route: "
    "{weighted_clusters: {clusters: [{name: c, weight: 1}, {name: gone, weight: 1}]}}}]}]}}}]}]"
    "\n";

static size_t exhaust(const char *text, size_t len, int want_rc)
{
	size_t n;

	for (n = 1;; n++) {
		struct rw_config *cfg = (struct rw_config *)1;
		char err[512] = "";
		int rc;

		rw__config_fail_alloc_after = n;
		rc = rw_config_load_string(text, len, &cfg, err, sizeof(err));
		if (rw__config_fail_alloc_after != 0) {
			/* Fewer than n allocations: the load ran without a failure injected. */
			rw__config_fail_alloc_after = 0;
			CHECK(rc == want_rc);
			if (rc == 0)
				rw_config_free(cfg);
			return n;
		}
		if (rc != -ENOMEM)
			fprintf(stderr, "allocation %zu: rc %d: %s\n", n, rc, err);
		CHECK(rc == -ENOMEM);
		CHECK(cfg == NULL);
		CHECK(strstr(err, "out of memory"));
	}
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	CHECK(f);
	buf = malloc(1 << 16);
	CHECK(buf);
	*len = fread(buf, 1, 1 << 16, f);
	CHECK(*len > 0 && *len < (1 << 16));
	fclose(f);
	return buf;
}

/* The parser's tests see every parsed field, served by the data path or not. */
extern bool rw__config_allow_unserved;

int main(void)
{
	static const char *const files[] = {"tcp_proxy.yaml",
	                                    "tcp_proxy.json",
	                                    "hcm.yaml",
	                                    "hcm.json",
	                                    "cluster_policies_full.yaml",
	                                    "route_policies_full.yaml",
	                                    "route_policies_full.json",
	                                    "route_policies_min.yaml"};
	size_t total = 0, len;
	char *text;
	rw__config_allow_unserved = true;

	/* hcm.yaml's direct_response body filename is relative to the data directory. */
	CHECK(chdir(RW_CONFIG_TEST_DATA) == 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		text = read_all(files[i], &len);
		total += exhaust(text, len, 0);
		free(text);
	}
	total += exhaust(bad_doc, strlen(bad_doc), -EINVAL);
	total += exhaust(bad_hcm_doc, strlen(bad_hcm_doc), -EINVAL);
	printf("config alloc: %zu injected failures ok\n", total);
	return 0;
}
