/*
 * The loaded document back as JSON, for the admin's /config_dump.
 *
 * ringway keeps the YAML node tree of a loaded config (load.c), so the dump shows the config
 * as the operator wrote it, in Envoy's JSON field names, instead of a re-encoding of the
 * structs (which hold only what the data path needs).  Differences from Envoy's dump: no
 * defaults are filled in, and YAML's untyped scalars are typed by their shape (see
 * config.h).  Secrets are redacted by field name, as Envoy redacts fields it marks
 * sensitive: every scalar below such a field is written as "[redacted]".
 */
#include <stdio.h>
#include <string.h>

#include "config/internal.h"

#define REDACTED       "\"[redacted]\""
#define MAX_MASK_PATHS 16
/* YAML aliases can nest deeper than the parser's limit: past this, a value is elided. */
#define MAX_DUMP_DEPTH (2 * RW__CONFIG_MAX_DEPTH)

static const char *const secret_fields[] = {
    "private_key", "password", "hmac_secret", "token_secret", "session_ticket_keys", "secret",
};

static const struct rw__node *as_node(const struct rw_config_node *n)
{
	return (const struct rw__node *)(const void *)n;
}

static const struct rw_config_node *as_public(const struct rw__node *n)
{
	return (const struct rw_config_node *)(const void *)n;
}

static bool is_secret(const struct rw__node *key)
{
	for (size_t i = 0; i < RW__N(secret_fields); i++)
		if (rw__key_is(key, secret_fields[i]))
			return true;
	return false;
}

static void put(rw_config_write_fn write, void *ctx, const char *s)
{
	write(ctx, s, strlen(s));
}

/* A JSON string literal of len bytes (may hold NULs); runs of plain bytes go out in one call. */
static void put_string(rw_config_write_fn write, void *ctx, const char *s, size_t len)
{
	size_t run = 0;

	write(ctx, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[8];

		if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7f)
			continue;
		if (i > run)
			write(ctx, s + run, i - run);
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			write(ctx, esc, 2);
		} else if (ch == '\n') {
			write(ctx, "\\n", 2);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			write(ctx, esc, 6);
		}
		run = i + 1;
	}
	if (len > run)
		write(ctx, s + run, len - run);
	write(ctx, "\"", 1);
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *s, size_t len)
{
	size_t i = 0;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0') {
		i++;
	} else if (i < len && s[i] >= '1' && s[i] <= '9') {
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		return false;
	}
	if (i < len && s[i] == '.') {
		size_t start = ++i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t start;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		start = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return false;
	}
	return i == len;
}

static void put_scalar(const struct rw__node *n, rw_config_write_fn write, void *ctx)
{
	const char *t = n->u.s.text;

	if (n->u.s.plain) {
		if (rw__is_null(n)) {
			put(write, ctx, "null");
			return;
		}
		if ((n->n == 4 && memcmp(t, "true", 4) == 0) ||
		    (n->n == 5 && memcmp(t, "false", 5) == 0) || json_number(t, n->n)) {
			write(ctx, t, n->n);
			return;
		}
	}
	put_string(write, ctx, t, n->n);
}

static void put_node(const struct rw__node *n, bool secret,
                     const struct rw_config_field_path *paths, size_t n_paths,
                     rw_config_write_fn write, void *ctx, unsigned depth);

/* Does path name key exactly (returns 1), or a field below it (2, *rest set)?  0: neither. */
static int path_under(const struct rw_config_field_path *path, const struct rw__node *key,
                      struct rw_config_field_path *rest)
{
	if (path->len < key->n || memcmp(path->p, key->u.s.text, key->n) != 0)
		return 0;
	if (path->len == key->n)
		return 1;
	if (path->p[key->n] != '.')
		return 0;
	rest->p = path->p + key->n + 1;
	rest->len = path->len - key->n - 1;
	return 2;
}

/* One "key": value member of a mapping, or nothing when the mask leaves it out. */
static void put_member(const struct rw__node_link *l, bool secret,
                       const struct rw_config_field_path *paths, size_t n_paths,
                       rw_config_write_fn write, void *ctx, bool *first, unsigned depth)
{
	struct rw_config_field_path sub[MAX_MASK_PATHS];
	size_t n_sub = 0;
	bool whole = n_paths == 0;

	for (size_t i = 0; i < n_paths && !whole; i++) {
		int r = path_under(&paths[i], l->node, &sub[n_sub]);

		if (r == 1)
			whole = true;
		else if (r == 2 && n_sub < MAX_MASK_PATHS)
			n_sub++;
	}
	/* A FieldMask reaches into nested messages only, never into lists or scalars. */
	if (!whole && (!n_sub || l->value->kind != RW__NODE_MAP))
		return;
	if (!*first)
		write(ctx, ",", 1);
	*first = false;
	put_string(write, ctx, l->node->u.s.text, l->node->n);
	write(ctx, ":", 1);
	put_node(l->value, secret || is_secret(l->node), whole ? NULL : sub, whole ? 0 : n_sub,
	         write, ctx, depth);
}

static void put_node(const struct rw__node *n, bool secret,
                     const struct rw_config_field_path *paths, size_t n_paths,
                     rw_config_write_fn write, void *ctx, unsigned depth)
{
	bool first = true;

	if (n->kind != RW__NODE_SCALAR && ++depth > MAX_DUMP_DEPTH) {
		put(write, ctx, "\"[too deep]\"");
		return;
	}
	switch (n->kind) {
	case RW__NODE_SCALAR:
		if (secret)
			put(write, ctx, REDACTED);
		else
			put_scalar(n, write, ctx);
		return;
	case RW__NODE_SEQ:
		write(ctx, "[", 1);
		for (const struct rw__node_link *l = n->u.first; l; l = l->next) {
			if (!first)
				write(ctx, ",", 1);
			first = false;
			put_node(l->node, secret, NULL, 0, write, ctx, depth);
		}
		write(ctx, "]", 1);
		return;
	case RW__NODE_MAP:
		write(ctx, "{", 1);
		for (const struct rw__node_link *l = n->u.first; l; l = l->next)
			put_member(l, secret, paths, n_paths, write, ctx, &first, depth);
		write(ctx, "}", 1);
		return;
	}
}

void rw_config_node_json(const struct rw_config_node *node, const char *type_url,
                         const struct rw_config_field_path *paths, size_t n_paths,
                         rw_config_write_fn write, void *ctx)
{
	const struct rw__node *n = as_node(node);
	bool first = true;

	if (!n) {
		put(write, ctx, "{}");
		return;
	}
	if (n->kind != RW__NODE_MAP || !type_url) {
		put_node(n, false, paths, n_paths, write, ctx, 0);
		return;
	}
	put(write, ctx, "{\"@type\":");
	put_string(write, ctx, type_url, strlen(type_url));
	first = false;
	/* The document's own "@type" (an Any) would repeat the key: the caller's wins. */
	for (const struct rw__node_link *l = n->u.first; l; l = l->next)
		if (!rw__key_is(l->node, "@type"))
			put_member(l, false, paths, n_paths, write, ctx, &first, 1);
	write(ctx, "}", 1);
}

const struct rw_config_node *rw_config_root(const struct rw_config *cfg)
{
	return cfg && cfg->source ? as_public(cfg->source->root) : NULL;
}

static const struct rw__node *seq_of(const struct rw__node *map, const char *field)
{
	const struct rw__node *v =
	    map && map->kind == RW__NODE_MAP ? rw__map_get(map, field, false) : NULL;

	return v && v->kind == RW__NODE_SEQ ? v : NULL;
}

static const char *name_of(const struct rw__node *map)
{
	const struct rw__node *v =
	    map->kind == RW__NODE_MAP ? rw__map_get(map, "name", false) : NULL;

	return v && v->kind == RW__NODE_SCALAR ? v->u.s.text : "";
}

typedef void (*resource_fn)(void *ctx, const char *name, const struct rw_config_node *node);

/* The inline route_config of every HCM in one filter chain. */
static void chain_routes(const struct rw__node *chain, resource_fn fn, void *ctx)
{
	const struct rw__node *filters = seq_of(chain, "filters");

	for (const struct rw__node_link *f = filters ? filters->u.first : NULL; f; f = f->next) {
		const struct rw__node *tc = f->node->kind == RW__NODE_MAP
		                                ? rw__map_get(f->node, "typed_config", false)
		                                : NULL;
		const struct rw__node *rc =
		    tc && tc->kind == RW__NODE_MAP ? rw__map_get(tc, "route_config", false) : NULL;

		if (rc && rc->kind == RW__NODE_MAP)
			fn(ctx, name_of(rc), as_public(rc));
	}
}

void rw_config_each_resource(const struct rw_config *cfg, enum rw_config_resource_kind kind,
                             resource_fn fn, void *ctx)
{
	const struct rw__node *root = as_node(rw_config_root(cfg));
	const struct rw__node *sr = root && root->kind == RW__NODE_MAP
	                                ? rw__map_get(root, "static_resources", false)
	                                : NULL;
	const struct rw__node *seq =
	    seq_of(sr, kind == RW_CONFIG_RESOURCE_CLUSTER ? "clusters" : "listeners");

	for (const struct rw__node_link *l = seq ? seq->u.first : NULL; l; l = l->next) {
		const struct rw__node *chains, *dflt;

		if (kind != RW_CONFIG_RESOURCE_ROUTE_CONFIG) {
			fn(ctx, name_of(l->node), as_public(l->node));
			continue;
		}
		chains = seq_of(l->node, "filter_chains");
		for (const struct rw__node_link *c = chains ? chains->u.first : NULL; c;
		     c = c->next)
			chain_routes(c->node, fn, ctx);
		dflt = l->node->kind == RW__NODE_MAP
		           ? rw__map_get(l->node, "default_filter_chain", false)
		           : NULL;
		if (dflt)
			chain_routes(dflt, fn, ctx);
	}
}
