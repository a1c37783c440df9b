/*
 * GET /config_dump: the loaded config as JSON in Envoy's shape, a "configs" list of
 * BootstrapConfigDump, ClustersConfigDump, ListenersConfigDump and RoutesConfigDump (inline
 * route configs are Envoy's static_route_configs).  The resources themselves come from the
 * document as written (config/dump.c), with secrets redacted.
 *
 * Query parameters, as Envoy's:
 *   resource=static_clusters|static_listeners|static_route_configs (or a dynamic_* field,
 *            always empty here): that list's elements only, each with its own "@type";
 *   name_regex=RE   only resources whose name fully matches RE (PCRE2 standing in for RE2);
 *   mask=a,b.c      a FieldMask: with resource, on each element ("cluster.name",
 *                   "last_updated"); without, on each dump ("static_clusters", "bootstrap.admin").
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/internal.h"
#include "config/config.h"

#define TYPE_PREFIX "type.googleapis.com/"
#define MAX_PATHS   64

struct dump_kind {
	const char *dump_type;     /* the dump message */
	const char *field;         /* its list of static resources */
	const char *element_type;  /* one element of that list */
	const char *member;        /* the element's resource field */
	const char *resource_type; /* the resource message */
	enum rw_config_resource_kind kind;
	const char *dynamic[2]; /* Envoy's dynamic lists: known, always empty in ringway */
};

static const struct dump_kind kinds[] = {
    {"envoy.admin.v3.ClustersConfigDump",
     "static_clusters",
     "envoy.admin.v3.ClustersConfigDump.StaticCluster",
     "cluster",
     "envoy.config.cluster.v3.Cluster",
     RW_CONFIG_RESOURCE_CLUSTER,
     {"dynamic_active_clusters", "dynamic_warming_clusters"}},
    {"envoy.admin.v3.ListenersConfigDump",
     "static_listeners",
     "envoy.admin.v3.ListenersConfigDump.StaticListener",
     "listener",
     "envoy.config.listener.v3.Listener",
     RW_CONFIG_RESOURCE_LISTENER,
     {"dynamic_listeners", NULL}},
    {"envoy.admin.v3.RoutesConfigDump",
     "static_route_configs",
     "envoy.admin.v3.RoutesConfigDump.StaticRouteConfig",
     "route_config",
     "envoy.config.route.v3.RouteConfiguration",
     RW_CONFIG_RESOURCE_ROUTE_CONFIG,
     {"dynamic_route_configs", NULL}},
};

struct dump {
	struct admin_body *b;
	pcre2_code *re;
	pcre2_match_data *md;
	struct rw_config_field_path paths[MAX_PATHS];
	size_t n_paths;
	char last_updated[40];
	const struct dump_kind *k;
	bool first;
	bool elements; /* ?resource=: each resource is a top-level element */
};

static void write_body(void *ctx, const char *p, size_t len)
{
	rw__admin_put_mem(ctx, p, len);
}

/* Is path exactly field? */
static bool path_is(const struct rw_config_field_path *p, const char *field)
{
	return p->len == strlen(field) && memcmp(p->p, field, p->len) == 0;
}

/* Keep the field?  With sub paths below it collected into sub (n_sub set). */
static bool masked_in(const struct dump *d, const char *field, struct rw_config_field_path *sub,
                      size_t *n_sub)
{
	size_t flen = strlen(field);
	bool whole = d->n_paths == 0;

	*n_sub = 0;
	for (size_t i = 0; i < d->n_paths; i++) {
		const struct rw_config_field_path *p = &d->paths[i];

		if (path_is(p, field))
			whole = true;
		else if (sub && p->len > flen + 1 && memcmp(p->p, field, flen) == 0 &&
		         p->p[flen] == '.') {
			sub[*n_sub].p = p->p + flen + 1;
			sub[*n_sub].len = p->len - flen - 1;
			(*n_sub)++;
		}
	}
	if (whole)
		*n_sub = 0;
	return whole || *n_sub;
}

static void put_type(struct admin_body *b, const char *type)
{
	rw__admin_put(b, "{\"@type\":\"" TYPE_PREFIX "%s\"", type);
}

/* One list element: {"cluster": {...}, "last_updated": ...}, typed when it stands alone. */
static void put_element(struct dump *d, const struct rw_config_node *node)
{
	struct rw_config_field_path sub[MAX_PATHS];
	size_t n_sub = 0, unused;
	bool member = true, updated = true, comma = false;
	char type[160];

	snprintf(type, sizeof(type), TYPE_PREFIX "%s", d->k->resource_type);
	if (d->elements) {
		member = masked_in(d, d->k->member, sub, &n_sub);
		updated = masked_in(d, "last_updated", NULL, &unused);
		put_type(d->b, d->k->element_type);
		comma = true;
	} else {
		rw__admin_put(d->b, "{");
	}
	if (member) {
		rw__admin_put(d->b, "%s\"%s\":", comma ? "," : "", d->k->member);
		rw_config_node_json(node, type, sub, n_sub, write_body, d->b);
		comma = true;
	}
	if (updated)
		rw__admin_put(d->b, "%s\"last_updated\":\"%s\"", comma ? "," : "", d->last_updated);
	rw__admin_put(d->b, "}");
}

static void on_resource(void *ctx, const char *name, const struct rw_config_node *node)
{
	struct dump *d = ctx;

	if (d->re &&
	    pcre2_match(d->re, (PCRE2_SPTR)name, PCRE2_ZERO_TERMINATED, 0, 0, d->md, NULL) < 0)
		return;
	if (!d->first)
		rw__admin_put(d->b, ",");
	d->first = false;
	put_element(d, node);
}

/* The bootstrap dump: the whole document (name_regex does not apply, as in Envoy). */
static void put_bootstrap(struct dump *d, const struct rw_config *cfg)
{
	struct rw_config_field_path sub[MAX_PATHS];
	size_t n_sub, unused;

	put_type(d->b, "envoy.admin.v3.BootstrapConfigDump");
	if (masked_in(d, "bootstrap", sub, &n_sub)) {
		rw__admin_put(d->b, ",\"bootstrap\":");
		rw_config_node_json(rw_config_root(cfg), NULL, sub, n_sub, write_body, d->b);
	}
	if (masked_in(d, "last_updated", NULL, &unused))
		rw__admin_put(d->b, ",\"last_updated\":\"%s\"", d->last_updated);
	rw__admin_put(d->b, "}");
}

static void put_dump(struct dump *d, const struct rw_config *cfg, const struct dump_kind *k)
{
	size_t unused;

	put_type(d->b, k->dump_type);
	if (masked_in(d, k->field, NULL, &unused)) {
		rw__admin_put(d->b, ",\"%s\":[", k->field);
		d->k = k;
		d->first = true;
		rw_config_each_resource(cfg, k->kind, on_resource, d);
		rw__admin_put(d->b, "]");
	}
	rw__admin_put(d->b, "}");
}

/* The kind whose list resource names; *dynamic when it is one of the always-empty lists. */
static const struct dump_kind *find_kind(const char *resource, bool *dynamic)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		*dynamic = false;
		if (strcmp(kinds[i].field, resource) == 0)
			return &kinds[i];
		*dynamic = true;
		for (size_t k = 0; k < 2; k++)
			if (kinds[i].dynamic[k] && strcmp(kinds[i].dynamic[k], resource) == 0)
				return &kinds[i];
	}
	return NULL;
}

static void split_mask(struct dump *d, const char *mask)
{
	for (const char *p = mask; *p && d->n_paths < MAX_PATHS;) {
		size_t n = strcspn(p, ",");

		if (n) {
			d->paths[d->n_paths].p = p;
			d->paths[d->n_paths].len = n;
			d->n_paths++;
		}
		p += n;
		if (*p == ',')
			p++;
	}
}

static uint16_t compile(struct dump *d, const char *regex, struct admin_body *b)
{
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE offset = 0;
	int error = 0;

	d->re =
	    pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
	                  PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, &error, &offset, NULL);
	if (!d->re) {
		pcre2_get_error_message(error, msg, sizeof(msg));
		rw__admin_put(b, "Error while parsing name_regex from %s: %s at offset %zu\n",
		              regex, (const char *)msg, (size_t)offset);
		return error == PCRE2_ERROR_HEAP_FAILED ? 500 : 400;
	}
	d->md = pcre2_match_data_create_from_pattern(d->re, NULL);
	if (!d->md) {
		rw__admin_put(b, "out of memory\n");
		return 500;
	}
	return 200;
}

uint16_t rw__admin_config_dump(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                               const char **type)
{
	const struct rw_config *cfg = a->opt.config;
	struct dump d = {.b = b};
	char resource[64] = "", regex[1024] = "", mask[2048] = "";
	const struct dump_kind *k = NULL;
	bool dynamic = false;
	uint16_t status = 200;
	struct tm tm;

	gmtime_r(&a->start_wall, &tm);
	strftime(d.last_updated, sizeof(d.last_updated), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	rw__admin_query(r, "resource", resource, sizeof(resource));
	if (rw__admin_query(r, "mask", mask, sizeof(mask)))
		split_mask(&d, mask);
	if (resource[0] && !(k = find_kind(resource, &dynamic))) {
		rw__admin_put(b, "resource %s not found in config dump\n", resource);
		return 404;
	}
	if (rw__admin_query(r, "name_regex", regex, sizeof(regex)) && regex[0])
		status = compile(&d, regex, b);
	if (status != 200)
		goto out;
	*type = "application/json";
	rw__admin_put(b, "{\"configs\":[");
	if (k) {
		d.elements = true;
		d.k = k;
		d.first = true;
		if (!dynamic)
			rw_config_each_resource(cfg, k->kind, on_resource, &d);
	} else {
		put_bootstrap(&d, cfg);
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			rw__admin_put(b, ",");
			put_dump(&d, cfg, &kinds[i]);
		}
	}
	rw__admin_put(b, "]}\n");
out:
	pcre2_match_data_free(d.md);
	pcre2_code_free(d.re);
	return status;
}
