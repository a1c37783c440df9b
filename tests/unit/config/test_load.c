/*
 * Unit tests for config/ on documents it must accept: the same bootstrap as YAML and JSON
 * (fixtures in data/), IPv6, every duration form, Envoy's defaults when fields are absent,
 * camelCase JSON names, anchors, nulls, and the file, lookup and formatting helpers.
 * Plain asserts that stay on in Release builds.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

#define TCP_PROXY_TYPE "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"

static struct rw_config *load(const char *yaml)
{
	struct rw_config *cfg = NULL;
	char err[512];
	int rc = rw_config_load_string(yaml, strlen(yaml), &cfg, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "unexpected error %d: %s\n", rc, err);
		abort();
	}
	CHECK(cfg);
	return cfg;
}

static const char *fmt(const struct rw_config_addr *addr)
{
	static char buf[64];

	return rw_config_addr_format(addr, buf, sizeof(buf));
}

static const struct rw_config_tcp_proxy *tcp(const struct rw_config *cfg, size_t listener)
{
	const struct rw_config_listener *l = &cfg->listeners[listener];

	CHECK(l->n_chains >= 1 && l->chains[0].n_filters == 1);
	CHECK(l->chains[0].filters[0].kind == RW_CONFIG_FILTER_TCP_PROXY);
	return &l->chains[0].filters[0].u.tcp_proxy;
}

/* What data/tcp_proxy.yaml and data/tcp_proxy.json both say. */
static void check_fixture(const struct rw_config *cfg)
{
	const struct rw_config_cluster *c;

	CHECK(cfg->admin.present);
	CHECK(strcmp(fmt(&cfg->admin.addr), "127.0.0.1:9901") == 0);
	CHECK(strcmp(cfg->admin.access_log_path, "/dev/null") == 0);

	CHECK(cfg->n_listeners == 2);
	CHECK(strcmp(cfg->listeners[0].name, "listener_0") == 0);
	CHECK(strcmp(fmt(&cfg->listeners[0].addr), "0.0.0.0:10000") == 0);
	CHECK(cfg->listeners[0].addr.len == sizeof(struct sockaddr_in));
	CHECK(cfg->listeners[0].buffer_limit == 32768);
	CHECK(strcmp(cfg->listeners[0].chains[0].filters[0].name,
	             "envoy.filters.network.tcp_proxy") == 0);
	CHECK(strcmp(tcp(cfg, 0)->stat_prefix, "destination") == 0);
	CHECK(strcmp(tcp(cfg, 0)->cluster, "service_backend") == 0);
	CHECK(tcp(cfg, 0)->idle_timeout_ms == 250);

	CHECK(strcmp(fmt(&cfg->listeners[1].addr), "[::]:10001") == 0);
	CHECK(cfg->listeners[1].addr.len == sizeof(struct sockaddr_in6));
	CHECK(cfg->listeners[1].buffer_limit == RW_CONFIG_DEFAULT_BUFFER_LIMIT);
	CHECK(tcp(cfg, 1)->idle_timeout_ms == RW_CONFIG_DEFAULT_TCP_IDLE_MS);

	CHECK(cfg->n_clusters == 2);
	c = rw_config_find_cluster(cfg, "service_backend");
	CHECK(c == &cfg->clusters[0]);
	CHECK(c->type == RW_CONFIG_CLUSTER_STATIC && c->lb_policy == RW_CONFIG_LB_ROUND_ROBIN);
	CHECK(c->connect_timeout_ms == 5000);
	CHECK(c->n_endpoints == 2);
	CHECK(strcmp(fmt(&c->endpoints[0].addr), "127.0.0.1:8080") == 0);
	CHECK(strcmp(fmt(&c->endpoints[1].addr), "127.0.0.2:8081") == 0);

	c = rw_config_find_cluster(cfg, "service_v6");
	CHECK(c == &cfg->clusters[1]);
	CHECK(c->connect_timeout_ms == 1500);
	CHECK(c->buffer_limit == 1048576);
	CHECK(c->n_endpoints == 2); /* flattened across both locality groups */
	CHECK(strcmp(fmt(&c->endpoints[0].addr), "[::1]:9090") == 0);
	CHECK(strcmp(fmt(&c->endpoints[1].addr), "[fd00::2]:9091") == 0);
	CHECK(rw_config_find_cluster(cfg, "nope") == NULL);
}

static void test_fixtures(void)
{
	static const char *const files[] = {RW_CONFIG_TEST_DATA "/tcp_proxy.yaml",
	                                    RW_CONFIG_TEST_DATA "/tcp_proxy.json"};
	char err[512];

	for (size_t i = 0; i < 2; i++) {
		struct rw_config *cfg = NULL;
		int rc = rw_config_load_file(files[i], &cfg, err, sizeof(err));

		if (rc)
			fprintf(stderr, "%s: %s\n", files[i], err);
		CHECK(rc == 0);
		check_fixture(cfg);
		rw_config_free(cfg);
	}
}

static void test_missing_file(void)
{
	struct rw_config *cfg = (struct rw_config *)1;
	char err[512];

	CHECK(rw_config_load_file("/nonexistent/envoy.yaml", &cfg, err, sizeof(err)) == -ENOENT);
	CHECK(cfg == NULL);
	CHECK(strcmp(err, "cannot read '/nonexistent/envoy.yaml': No such file or directory") == 0);
	CHECK(rw_config_load_file("/", &cfg, err, sizeof(err)) == -EISDIR);
}

/* A listener and cluster with nothing but the required fields get Envoy's defaults. */
static void test_defaults(void)
{
	struct rw_config *cfg = load("static_resources:\n"
	                             "  listeners:\n"
	                             "  - address: {socket_address: {address: 127.0.0.1}}\n"
	                             "    filter_chains:\n"
	                             "    - filters:\n"
	                             "      - typed_config:\n"
	                             "          \"@type\": " TCP_PROXY_TYPE "\n"
	                             "          stat_prefix: s\n"
	                             "          cluster: empty\n"
	                             "  clusters:\n"
	                             "  - name: empty\n");

	CHECK(cfg->n_listeners == 1);
	CHECK(strcmp(cfg->listeners[0].name, "listener_0") == 0);
	CHECK(strcmp(fmt(&cfg->listeners[0].addr), "127.0.0.1:0") == 0);
	CHECK(cfg->listeners[0].buffer_limit == RW_CONFIG_DEFAULT_BUFFER_LIMIT);
	CHECK(cfg->listeners[0].chains[0].filters[0].name == NULL);
	CHECK(tcp(cfg, 0)->idle_timeout_ms == RW_CONFIG_DEFAULT_TCP_IDLE_MS);
	CHECK(cfg->n_clusters == 1);
	CHECK(cfg->clusters[0].type == RW_CONFIG_CLUSTER_STATIC);
	CHECK(cfg->clusters[0].lb_policy == RW_CONFIG_LB_ROUND_ROBIN);
	CHECK(cfg->clusters[0].connect_timeout_ms == RW_CONFIG_DEFAULT_CONNECT_MS);
	CHECK(cfg->clusters[0].buffer_limit == RW_CONFIG_DEFAULT_BUFFER_LIMIT);
	CHECK(cfg->clusters[0].n_endpoints == 0); /* allowed, as in Envoy */
	CHECK(!cfg->admin.present && cfg->admin.access_log_path == NULL);
	rw_config_free(cfg);
}

static void test_durations(void)
{
	static const struct {
		const char *text;
		uint64_t ms;
	} cases[] = {
	    {"0.25s", 250},
	    {"5s", 5000},
	    {"\"1.5s\"", 1500},
	    {"0s", 0},
	    {"0.000000001s", 1}, /* sub-millisecond rounds up, never to "disabled" */
	    {"1.0001s", 1001},
	    {"1.999999999s", 2000},
	    {"86400s", 86400000},
	    {"{seconds: 2}", 2000},
	    {"{nanos: 250000000}", 250},
	    {"{seconds: \"3\", nanos: 1}", 3001},
	    {"{}", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char yaml[1024];
		struct rw_config *cfg;

		snprintf(yaml, sizeof(yaml),
		         "static_resources:\n"
		         "  listeners:\n"
		         "  - address: {socket_address: {address: 127.0.0.1}}\n"
		         "    filter_chains:\n"
		         "    - filters:\n"
		         "      - typed_config:\n"
		         "          \"@type\": " TCP_PROXY_TYPE "\n"
		         "          stat_prefix: s\n"
		         "          cluster: c\n"
		         "          idle_timeout: %s\n"
		         "  clusters: [{name: c}]\n",
		         cases[i].text);
		cfg = load(yaml);
		if (tcp(cfg, 0)->idle_timeout_ms != cases[i].ms)
			fprintf(stderr, "%s -> %llu\n", cases[i].text,
			        (unsigned long long)tcp(cfg, 0)->idle_timeout_ms);
		CHECK(tcp(cfg, 0)->idle_timeout_ms == cases[i].ms);
		rw_config_free(cfg);
	}
}

/* protobuf's JSON parser accepts lowerCamelCase names; generated configs use them. */
static void test_camel_case_json(void)
{
	struct rw_config *cfg =
	    load("{\"staticResources\": {\"clusters\": [{\"name\": \"c\", \"connectTimeout\": "
	         "\"2s\", \"perConnectionBufferLimitBytes\": 100, \"lbPolicy\": \"ROUND_ROBIN\", "
	         "\"loadAssignment\": {\"clusterName\": \"c\", \"endpoints\": [{\"lbEndpoints\": "
	         "[{\"endpoint\": {\"address\": {\"socketAddress\": {\"address\": \"10.1.2.3\", "
	         "\"portValue\": \"443\"}}}}]}]}}]}}");

	CHECK(cfg->n_clusters == 1 && cfg->n_listeners == 0);
	CHECK(cfg->clusters[0].connect_timeout_ms == 2000);
	CHECK(cfg->clusters[0].buffer_limit == 100);
	CHECK(cfg->clusters[0].n_endpoints == 1);
	CHECK(strcmp(fmt(&cfg->clusters[0].endpoints[0].addr), "10.1.2.3:443") == 0);
	rw_config_free(cfg);
}

/* Anchors and aliases work (each use is walked), and null means "not set". */
static void test_anchors_and_nulls(void)
{
	struct rw_config *cfg =
	    load("admin:\n"
	         "  access_log_path: ~\n"
	         "  address: &admin {socket_address: {address: \"::1\", port_value: 1}}\n"
	         "node: null\n"
	         "static_resources:\n"
	         "  clusters:\n"
	         "  - &c {name: a, connect_timeout: 1s, lb_policy: }\n"
	         "  - {name: b, connect_timeout: 2s, load_assignment: {endpoints: [\n"
	         "      {lb_endpoints: [{endpoint: {address: *admin}}]}]}}\n");

	CHECK(cfg->admin.present && cfg->admin.access_log_path == NULL);
	CHECK(strcmp(fmt(&cfg->admin.addr), "[::1]:1") == 0);
	CHECK(cfg->n_clusters == 2);
	CHECK(cfg->clusters[0].connect_timeout_ms == 1000);
	CHECK(cfg->clusters[0].lb_policy == RW_CONFIG_LB_ROUND_ROBIN);
	CHECK(cfg->clusters[1].n_endpoints == 1);
	CHECK(strcmp(fmt(&cfg->clusters[1].endpoints[0].addr), "[::1]:1") == 0);
	rw_config_free(cfg);
}

/* YAML lets an anchor be defined again; later aliases see the newest definition. */
static void test_anchor_redefinition(void)
{
	struct rw_config *cfg = load("static_resources:\n"
	                             "  clusters:\n"
	                             "  - {name: &n a, connect_timeout: &t 1s}\n"
	                             "  - {name: b, connect_timeout: *t}\n"
	                             "  - {name: c, connect_timeout: &t 3s}\n"
	                             "  - {name: d, connect_timeout: *t}\n");

	CHECK(cfg->n_clusters == 4);
	CHECK(cfg->clusters[1].connect_timeout_ms == 1000);
	CHECK(cfg->clusters[3].connect_timeout_ms == 3000);
	rw_config_free(cfg);
}

/* Listeners on port 0 never clash; two ports on one IP, or one port on two IPs, do not either. */
static void test_listener_addresses(void)
{
	char yaml[4096];
	size_t n = 0;
	struct rw_config *cfg;
	static const char *const addrs[] = {"{address: 127.0.0.1, port_value: 0}",
	                                    "{address: 127.0.0.1, port_value: 0}",
	                                    "{address: 127.0.0.1, port_value: 80}",
	                                    "{address: 127.0.0.2, port_value: 80}",
	                                    "{address: \"::ffff:127.0.0.1\", port_value: 80}",
	                                    "{address: \"2001:db8::1\", port_value: 65535}"};

	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "static_resources:\n  listeners:\n");
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		n += (size_t)snprintf(
		    yaml + n, sizeof(yaml) - n,
		    "  - address: {socket_address: %s}\n"
		    "    filter_chains: [{filters: [{typed_config: {\"@type\": " TCP_PROXY_TYPE
		    ", stat_prefix: s, cluster: c}}]}]\n",
		    addrs[i]);
	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "  clusters: [{name: c}]\n");
	CHECK(n < sizeof(yaml));
	cfg = load(yaml);
	CHECK(cfg->n_listeners == 6);
	CHECK(strcmp(cfg->listeners[5].name, "listener_5") == 0);
	CHECK(strcmp(fmt(&cfg->listeners[4].addr), "[::ffff:127.0.0.1]:80") == 0);
	CHECK(strcmp(fmt(&cfg->listeners[5].addr), "[2001:db8::1]:65535") == 0);
	rw_config_free(cfg);
}

static void test_addr_format(void)
{
	struct rw_config_addr a;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&a.ss;
	char small[6];

	memset(&a, 0, sizeof(a));
	CHECK(strcmp(fmt(&a), "(none)") == 0);
	in4->sin_family = AF_INET;
	in4->sin_port = htons(8080);
	inet_pton(AF_INET, "192.168.100.200", &in4->sin_addr);
	CHECK(rw_config_addr_format(&a, small, sizeof(small)) == small);
	CHECK(strcmp(small, "192.1") == 0); /* truncated, still terminated */
}

#define DNS_CLUSTERS                                                                               \
	"static_resources:\n"                                                                      \
	"  clusters:\n"                                                                            \
	"  - name: strict\n"                                                                       \
	"    load_assignment:\n"                                                                   \
	"      endpoints:\n"                                                                       \
	"      - lb_endpoints:\n"                                                                  \
	"        - endpoint: {address: {socket_address: {address: svc.test, port_value: 80}}}\n"   \
	"        - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 81}}}\n"   \
	"    type: STRICT_DNS\n"                                                                   \
	"  - name: logical\n"                                                                      \
	"    type: LOGICAL_DNS\n"                                                                  \
	"    dns_lookup_family: V4_PREFERRED\n"                                                    \
	"    dns_refresh_rate: 0.2s\n"                                                             \
	"    respect_dns_ttl: true\n"                                                              \
	"    dns_failure_refresh_rate: {base_interval: 1s, max_interval: 10s}\n"                   \
	"    dns_resolvers: [{socket_address: {address: 127.0.0.1, port_value: 5353}}]\n"          \
	"    load_assignment:\n"                                                                   \
	"      endpoints:\n"                                                                       \
	"      - lb_endpoints:\n"                                                                  \
	"        - endpoint: {address: {socket_address: {address: db.test, port_value: 5432}}}\n"  \
	"  - name: typed\n"                                                                        \
	"    type: STRICT_DNS\n"                                                                   \
	"    dns_resolvers: [{socket_address: {address: 127.0.0.9}}]\n"                            \
	"    typed_dns_resolver_config:\n"                                                         \
	"      name: envoy.network.dns_resolvers.cares\n"                                          \
	"      typed_config:\n"                                                                    \
	"        \"@type\": type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3."   \
	"CaresDnsResolverConfig\n"                                                                 \
	"        resolvers: [{socket_address: {address: \"::1\", port_value: 53}},\n"              \
	"                    {socket_address: {address: 127.0.0.2}}]\n"                            \
	"        dns_resolver_options: {use_tcp_for_dns_lookups: true, "                           \
	"no_default_search_domain: true}\n"                                                        \
	"    load_assignment:\n"                                                                   \
	"      endpoints:\n"                                                                       \
	"      - lb_endpoints:\n"                                                                  \
	"        - endpoint: {address: {socket_address: {address: a.test, port_value: 1}}}\n"

static void test_dns_clusters(void)
{
	struct rw_config *cfg = load(DNS_CLUSTERS);
	const struct rw_config_cluster *c = &cfg->clusters[0];

	CHECK(cfg->n_clusters == 3);
	/* STRICT_DNS with Envoy's defaults; "type" after the endpoints still allows names. */
	CHECK(c->type == RW_CONFIG_CLUSTER_STRICT_DNS);
	CHECK(c->n_endpoints == 2);
	CHECK(!strcmp(c->endpoints[0].hostname, "svc.test") && c->endpoints[0].port == 80);
	CHECK(!strcmp(c->endpoints[1].hostname, "10.0.0.1") && c->endpoints[1].port == 81);
	CHECK(c->dns_lookup_family == RW_CONFIG_DNS_AUTO);
	CHECK(c->dns_refresh_ms == 5000);
	CHECK(!c->respect_dns_ttl);
	CHECK(c->dns_failure_base_ms == 0 && c->dns_failure_max_ms == 0);
	CHECK(c->dns_resolver.n_nameservers == 0 && !c->dns_resolver.use_tcp &&
	      !c->dns_resolver.no_search);

	c = &cfg->clusters[1];
	CHECK(c->type == RW_CONFIG_CLUSTER_LOGICAL_DNS);
	CHECK(c->n_endpoints == 1 && !strcmp(c->endpoints[0].hostname, "db.test"));
	CHECK(c->endpoints[0].port == 5432);
	CHECK(c->dns_lookup_family == RW_CONFIG_DNS_V4_PREFERRED);
	CHECK(c->dns_refresh_ms == 200 && c->respect_dns_ttl);
	CHECK(c->dns_failure_base_ms == 1000 && c->dns_failure_max_ms == 10000);
	CHECK(c->dns_resolver.n_nameservers == 1);
	CHECK(!strcmp(c->dns_resolver.nameservers[0], "127.0.0.1:5353"));

	/* typed_dns_resolver_config wins over dns_resolvers; port 0 means 53. */
	c = &cfg->clusters[2];
	CHECK(c->dns_resolver.typed && c->dns_resolver.n_nameservers == 2);
	CHECK(!strcmp(c->dns_resolver.nameservers[0], "[::1]:53"));
	CHECK(!strcmp(c->dns_resolver.nameservers[1], "127.0.0.2:53"));
	CHECK(c->dns_resolver.use_tcp && c->dns_resolver.no_search);

	/* STATIC clusters keep IP literals only, with no hostname. */
	rw_config_free(cfg);
}

int main(void)
{
	test_fixtures();
	test_dns_clusters();
	test_missing_file();
	test_defaults();
	test_durations();
	test_camel_case_json();
	test_anchors_and_nulls();
	test_anchor_redefinition();
	test_listener_addresses();
	test_addr_format();
	rw_config_free(NULL);
	printf("config load: ok\n");
	return 0;
}
