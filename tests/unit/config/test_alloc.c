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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

/* config/'s failmalloc hook (config/internal.h); only tests touch it. */
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

int main(void)
{
	static const char *const files[] = {RW_CONFIG_TEST_DATA "/tcp_proxy.yaml",
	                                    RW_CONFIG_TEST_DATA "/tcp_proxy.json"};
	size_t total = 0;

	for (size_t i = 0; i < 2; i++) {
		size_t len;
		char *text = read_all(files[i], &len);

		total += exhaust(text, len, 0);
		free(text);
	}
	total += exhaust(bad_doc, strlen(bad_doc), -EINVAL);
	printf("config alloc: %zu injected failures ok\n", total);
	return 0;
}
