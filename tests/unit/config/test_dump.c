/*
 * Unit tests for config/dump.c: the loaded document back as JSON (the admin's /config_dump).
 * Scalars are typed by shape (quoted ones stay strings), secrets are redacted by field name,
 * a field mask keeps only the listed (nested) fields, resources are found in document order,
 * and the embedded default config dumps as valid JSON.  A small JSON checker validates the
 * output, since the admin test's json.loads does not run on the default config.
 */
#include "config/config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/default_config.h"
#include "tests/unit/check.h"

struct out {
	char buf[65536];
	size_t len;
};

static void put(void *ctx, const char *p, size_t len)
{
	struct out *o = ctx;

	CHECK(o->len + len < sizeof(o->buf));
	memcpy(o->buf + o->len, p, len);
	o->len += len;
	o->buf[o->len] = '\0';
}

/* A strict JSON checker (RFC 8259 values): returns the end of the value at p, or NULL. */
static const char *value(const char *p);

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
	}
	return p + 1;
}

static const char *number(const char *p)
{
	char *end;

	if (*p != '-' && (*p < '0' || *p > '9'))
		return NULL;
	strtod(p, &end);
	return end == p ? NULL : end;
}

static const char *value(const char *p)
{
	p = ws(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';

		p = ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = string(ws(p));
				if (!p || *(p = ws(p)) != ':')
					return NULL;
				p++;
			}
			p = value(p);
			if (!p)
				return NULL;
			p = ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (*p == '"')
		return string(p);
	if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
		return p + 4;
	if (strncmp(p, "false", 5) == 0)
		return p + 5;
	return number(p);
}

static bool valid_json(const char *s)
{
	const char *end = value(s);

	return end && *ws(end) == '\0';
}

static struct rw_config *load(const char *yaml)
{
	struct rw_config *cfg = NULL;
	char err[512];

	if (rw_config_load_string(yaml, strlen(yaml), &cfg, err, sizeof(err)))
		fprintf(stderr, "load: %s\n", err);
	CHECK(cfg != NULL);
	return cfg;
}

static const char doc[] =
    "node:\n"
    "  id: n1\n"
    "  metadata:\n"
    "    password: hunter2\n"
    "    private_key: {inline_string: \"-----BEGIN\", filename: [a, b]}\n"
    "    plain: [true, \"true\", 1, \"1\", 1.5e3, 0x10, ~, '', yes, \"q\\\"uote\\n\"]\n"
    "static_resources:\n"
    "  clusters:\n"
    "  - name: c0\n"
    "    connect_timeout: 1s\n"
    "    load_assignment:\n"
    "      cluster_name: c0\n"
    "      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: "
    "{address: 127.0.0.1, port_value: 80}}}}]}]\n"
    "  - name: c1\n";

struct names {
	char list[256];
};

static void collect(void *ctx, const char *name, const struct rw_config_node *node)
{
	struct names *n = ctx;

	(void)node;
	strcat(n->list, name);
	strcat(n->list, ";");
}

static void test_typing_and_redaction(void)
{
	struct rw_config *cfg = load(doc);
	struct out o = {.len = 0};

	rw_config_node_json(rw_config_root(cfg), NULL, NULL, 0, put, &o);
	CHECK(valid_json(o.buf));
	CHECK(strstr(o.buf, "\"password\":\"[redacted]\""));
	CHECK(strstr(o.buf, "\"private_key\":{\"inline_string\":\"[redacted]\","
	                    "\"filename\":[\"[redacted]\",\"[redacted]\"]}"));
	CHECK(!strstr(o.buf, "hunter2") && !strstr(o.buf, "BEGIN"));
	CHECK(strstr(o.buf, "\"plain\":[true,\"true\",1,\"1\",1.5e3,\"0x10\",null,\"\",\"yes\","
	                    "\"q\\\"uote\\n\"]"));
	CHECK(strstr(o.buf, "\"connect_timeout\":\"1s\""));
	CHECK(strstr(o.buf, "\"port_value\":80"));
	rw_config_free(cfg);
}

static void test_resources_and_mask(void)
{
	struct rw_config *cfg = load(doc);
	struct names n = {.list = ""};
	struct out o = {.len = 0};

	rw_config_each_resource(cfg, RW_CONFIG_RESOURCE_CLUSTER, collect, &n);
	CHECK(strcmp(n.list, "c0;c1;") == 0);
	n.list[0] = '\0';
	rw_config_each_resource(cfg, RW_CONFIG_RESOURCE_LISTENER, collect, &n);
	CHECK(strcmp(n.list, "") == 0);
	rw_config_node_json(rw_config_root(cfg), "type.googleapis.com/x.Y", NULL, 0, put, &o);
	CHECK(strncmp(o.buf, "{\"@type\":\"type.googleapis.com/x.Y\",\"node\":", 42) == 0);

	rw_config_free(cfg);
}

static struct out masked;

static void dump_first_masked(void *ctx, const char *name, const struct rw_config_node *node)
{
	const struct rw_config_field_path *mask = ctx;

	if (strcmp(name, "c0") == 0)
		rw_config_node_json(node, "t", mask, 2, put, &masked);
}

static void test_mask(void)
{
	struct rw_config *cfg = load(doc);
	const struct rw_config_field_path mask[] = {{"name", 4},
	                                            {"load_assignment.cluster_name", 28}};

	rw_config_each_resource(cfg, RW_CONFIG_RESOURCE_CLUSTER, dump_first_masked, (void *)mask);
	CHECK(strcmp(masked.buf, "{\"@type\":\"t\",\"name\":\"c0\",\"load_assignment\":{\"cluster_"
	                         "name\":\"c0\"}}") == 0);
	rw_config_free(cfg);
}

static void test_default_config(void)
{
	struct rw_config *cfg = load(rw_default_config);
	struct names n = {.list = ""};
	struct out o = {.len = 0};

	rw_config_node_json(rw_config_root(cfg), NULL, NULL, 0, put, &o);
	CHECK(valid_json(o.buf));
	CHECK(strstr(o.buf, "\"port_value\":10000"));
	rw_config_each_resource(cfg, RW_CONFIG_RESOURCE_ROUTE_CONFIG, collect, &n);
	CHECK(strstr(n.list, "local_route;"));
	rw_config_free(cfg);
}

/* YAML aliases nest a value deeper than the parser's own limit: the dump elides it. */
static void test_alias_depth(void)
{
	char yaml[8192] = "node:\n  metadata:\n";
	struct rw_config *cfg;
	static struct out o;

	for (int i = 0; i < 20; i++) {
		size_t n = strlen(yaml);

		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "    a%d: &a%d [[[[[[[[[[", i, i);
		if (i)
			n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "*a%d", i - 1);
		else
			n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "x");
		snprintf(yaml + n, sizeof(yaml) - n, "]]]]]]]]]]\n");
	}
	cfg = load(yaml);
	rw_config_node_json(rw_config_root(cfg), NULL, NULL, 0, put, &o);
	CHECK(valid_json(o.buf));
	CHECK(strstr(o.buf, "\"[too deep]\""));
	rw_config_free(cfg);
}

int main(void)
{
	CHECK(valid_json("{\"a\":[1,-2.5e3,true,null,\"x\\u0001\"]}"));
	CHECK(!valid_json("{\"a\":}") && !valid_json("[1,]") && !valid_json("\"\n\""));
	test_typing_and_redaction();
	test_resources_and_mask();
	test_mask();
	test_default_config();
	test_alias_depth();
	printf("config dump: ok\n");
	return 0;
}
