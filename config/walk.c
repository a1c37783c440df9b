/*
 * The schema walker: every Envoy message ringway reads is a table of fields, and this file
 * walks a YAML mapping against such a table while keeping the YAML path, so each error can
 * say exactly where it is ("static_resources.clusters[1].connect_timeout: line 14:24: ...").
 *
 * The tables list Envoy's whole schema for a message, not just what ringway implements: a
 * field Envoy has but ringway lacks must fail loudly as "not supported yet", and only a
 * name Envoy does not know is an "unknown field" (with a did-you-mean hint for typos).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

unsigned long rw__config_fail_alloc_after;

static bool alloc_should_fail(void)
{
	if (rw__config_fail_alloc_after == 0)
		return false;
	return --rw__config_fail_alloc_after == 0;
}

void *rw__malloc(size_t size)
{
	return alloc_should_fail() ? NULL : malloc(size);
}

void *rw__calloc(size_t n, size_t size)
{
	return alloc_should_fail() ? NULL : calloc(n, size);
}

void *rw__realloc(void *p, size_t size)
{
	return alloc_should_fail() ? NULL : realloc(p, size);
}

char *rw__strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = rw__malloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}

int rw__grow(void **array, size_t *cap, size_t want, size_t elem)
{
	size_t n = *cap ? *cap : 4;
	void *p;

	if (want <= *cap)
		return 0;
	while (n < want) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (n > SIZE_MAX / elem)
		return -ENOMEM;
	p = rw__realloc(*array, n * elem);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = n;
	return 0;
}

void rw__errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 0))) static int failv(struct rw__ctx *ctx, unsigned line,
                                                       unsigned col, const char *fmt, va_list ap)
{
	char msg[768];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (ctx->path_len)
		rw__errf(ctx->err, ctx->errlen, "%s: line %u:%u: %s", ctx->path, line, col, msg);
	else
		rw__errf(ctx->err, ctx->errlen, "line %u:%u: %s", line, col, msg);
	return -EINVAL;
}

int rw__fail(struct rw__ctx *ctx, const struct rw__node *at, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = failv(ctx, at ? at->line : 1, at ? at->col : 1, fmt, ap);
	va_end(ap);
	return rc;
}

int rw__fail_at(struct rw__ctx *ctx, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = failv(ctx, line, col, fmt, ap);
	va_end(ap);
	return rc;
}

bool rw__config_allow_unserved;

int rw__unserved(struct rw__ctx *ctx, const struct rw__node *node, const char *what)
{
	if (ctx->unserved.seen)
		return 0;
	ctx->unserved.seen = true;
	ctx->unserved.line = node ? node->line : 1;
	ctx->unserved.col = node ? node->col : 1;
	memcpy(ctx->unserved.path, ctx->path, sizeof(ctx->path));
	snprintf(ctx->unserved.what, sizeof(ctx->unserved.what), "%s", what);
	return 0;
}

int rw__fail_oom(struct rw__ctx *ctx)
{
	rw__errf(ctx->err, ctx->errlen, "out of memory while loading the configuration");
	return -ENOMEM;
}

void rw__escape(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t o = 0;

	if (dstlen == 0)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '\'' && c != '\\';

		/* Leave room for "\xNN", "..." and the NUL. */
		if (o + 8 >= dstlen) {
			if (o + 4 <= dstlen) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (plain)
			dst[o++] = (char)c;
		else
			o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", c);
	}
	dst[o] = '\0';
}

/* Append raw text to the path, cutting it short rather than overflowing. */
static void path_append(struct rw__ctx *ctx, const char *s)
{
	size_t n = strlen(s);

	if (ctx->path_len + n >= sizeof(ctx->path))
		n = sizeof(ctx->path) - 1 - ctx->path_len;
	memcpy(ctx->path + ctx->path_len, s, n);
	ctx->path_len += n;
	ctx->path[ctx->path_len] = '\0';
}

size_t rw__path_key(struct rw__ctx *ctx, const char *key, size_t len)
{
	size_t saved = ctx->path_len;
	char seg[96];

	if (ctx->path_len)
		path_append(ctx, ".");
	rw__escape(seg, sizeof(seg), key, len);
	path_append(ctx, seg);
	return saved;
}

size_t rw__path_index(struct rw__ctx *ctx, size_t index)
{
	size_t saved = ctx->path_len;
	char seg[32];

	snprintf(seg, sizeof(seg), "[%zu]", index);
	path_append(ctx, seg);
	return saved;
}

void rw__path_pop(struct rw__ctx *ctx, size_t saved)
{
	ctx->path_len = saved;
	ctx->path[saved] = '\0';
}

bool rw__is_null(const struct rw__node *node)
{
	const char *t;

	if (node->kind != RW__NODE_SCALAR || !node->u.s.plain)
		return false;
	t = node->u.s.text;
	return node->n == 0 || strcmp(t, "~") == 0 || strcmp(t, "null") == 0 ||
	       strcmp(t, "Null") == 0 || strcmp(t, "NULL") == 0;
}

/*
 * "connect_timeout" matches itself and "connectTimeout": protobuf's JSON mapping accepts
 * both, and JSON configs produced by protobuf tooling use the camelCase form.
 */
static bool name_matches(const char *field, const char *key, size_t len)
{
	bool camel = memchr(key, '_', len) == NULL;
	size_t i = 0;

	for (const char *f = field; *f; f++) {
		if (i >= len)
			return false;
		if (f[0] == '_' && f[1] >= 'a' && f[1] <= 'z' && key[i] == f[1] - 'a' + 'A') {
			f++;
			i++;
			continue;
		}
		/* "accept_http_10" is "acceptHttp10" in JSON: the '_' goes, the digit stays. */
		if (camel && f[0] == '_' && f[1] >= '0' && f[1] <= '9' && key[i] == f[1]) {
			f++;
			i++;
			continue;
		}
		if (key[i] != *f)
			return false;
		i++;
	}
	return i == len;
}

bool rw__key_is(const struct rw__node *key, const char *field)
{
	return key->kind == RW__NODE_SCALAR && name_matches(field, key->u.s.text, key->n);
}

const struct rw__node *rw__map_get(const struct rw__node *map, const char *field, bool want_key)
{
	if (!map || map->kind != RW__NODE_MAP)
		return NULL;
	for (const struct rw__node_link *l = map->u.first; l; l = l->next)
		if (rw__key_is(l->node, field))
			return want_key ? l->node : l->value;
	return NULL;
}

/* Optimal string alignment distance, giving up (returning 3) once it must exceed 2. */
static unsigned edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	unsigned d[66][66];

	if (la > 64 || lb > 64 || (la > lb ? la - lb : lb - la) > 2)
		return 3;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = a[i - 1] != b[j - 1];
			unsigned best = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

const char *rw__did_you_mean(const char *key, size_t len, const struct rw__field *fields,
                             size_t n_fields)
{
	const char *best = NULL;
	unsigned best_d = 3;

	for (size_t i = 0; i < n_fields; i++) {
		unsigned d = edit_distance(key, len, fields[i].name, strlen(fields[i].name));

		if (d < best_d) {
			best_d = d;
			best = fields[i].name;
		}
	}
	return best;
}

static int unknown_field(struct rw__ctx *ctx, const struct rw__node *key,
                         const struct rw__field *fields, size_t n_fields)
{
	const char *hint = rw__did_you_mean(key->u.s.text, key->n, fields, n_fields);
	char name[80];

	rw__escape(name, sizeof(name), key->u.s.text, key->n);
	if (hint)
		return rw__fail(ctx, key, "unknown field '%s' (did you mean '%s'?)", name, hint);
	return rw__fail(ctx, key, "unknown field '%s'", name);
}

int rw__walk_map(struct rw__ctx *ctx, const struct rw__node *map, const struct rw__field *fields,
                 size_t n_fields, void *obj)
{
	/* Two distinct YAML keys can name one field: "connect_timeout", "connectTimeout". */
	bool seen[128] = {false};

	if (map->kind != RW__NODE_MAP)
		return rw__fail(ctx, map, "expected a mapping");
	for (const struct rw__node_link *l = map->u.first; l; l = l->next) {
		const struct rw__node *key = l->node;
		size_t saved = rw__path_key(ctx, key->u.s.text, key->n);
		size_t i;
		int rc = 0;

		for (i = 0; i < n_fields; i++)
			if (rw__key_is(key, fields[i].name))
				break;
		if (i == n_fields)
			return unknown_field(ctx, key, fields, n_fields);
		if (i < RW__N(seen) && seen[i])
			return rw__fail(ctx, key, "field '%s' given twice", fields[i].name);
		if (i < RW__N(seen))
			seen[i] = true;
		switch (fields[i].mode) {
		case RW__FIELD_UNSUPPORTED:
			return rw__fail(ctx, key, "field '%s' is not supported by ringway yet",
			                fields[i].name);
		case RW__FIELD_IGNORE:
			break;
		case RW__FIELD_PARSE:
			/* Proto3 JSON reads null as "not set". */
			if (!rw__is_null(l->value))
				rc = fields[i].fn(ctx, l->value, obj);
			break;
		}
		if (rc)
			return rc;
		rw__path_pop(ctx, saved);
	}
	return 0;
}

int rw__walk_seq(struct rw__ctx *ctx, const struct rw__node *seq, rw__item_fn fn, void *obj)
{
	size_t index = 0;

	if (seq->kind != RW__NODE_SEQ)
		return rw__fail(ctx, seq, "expected a list");
	for (const struct rw__node_link *l = seq->u.first; l; l = l->next, index++) {
		size_t saved = rw__path_index(ctx, index);
		int rc = fn(ctx, l->node, index, obj);

		if (rc)
			return rc;
		rw__path_pop(ctx, saved);
	}
	return 0;
}

static uint64_t hash_bytes(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static struct rw__set_slot *set_find(struct rw__set_slot *slots, size_t cap, const void *key,
                                     size_t len)
{
	size_t i = (size_t)hash_bytes(key, len) & (cap - 1);

	for (;; i = (i + 1) & (cap - 1)) {
		struct rw__set_slot *s = &slots[i];

		if (!s->key || (s->len == len && memcmp(s->key, key, len) == 0))
			return s;
	}
}

bool rw__set_has(const struct rw__set *set, const void *key, size_t len)
{
	return set->cap && set_find(set->slots, set->cap, key, len)->key;
}

int rw__set_add(struct rw__set *set, const void *key, size_t len)
{
	struct rw__set_slot *s;

	/* Keep the load under one half so probes stay short. */
	if ((set->used + 1) * 2 > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		struct rw__set_slot *slots = rw__calloc(cap, sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		for (size_t i = 0; i < set->cap; i++)
			if (set->slots[i].key)
				*set_find(slots, cap, set->slots[i].key, set->slots[i].len) =
				    set->slots[i];
		free(set->slots);
		set->slots = slots;
		set->cap = cap;
	}
	s = set_find(set->slots, set->cap, key, len);
	if (s->key)
		return 0;
	s->key = key;
	s->len = len;
	set->used++;
	return 1;
}

void rw__set_free(struct rw__set *set)
{
	free(set->slots);
	set->slots = NULL;
	set->cap = set->used = 0;
}

int rw__alloc_items(struct rw__ctx *ctx, const struct rw__node *seq, size_t elem, void **out,
                    size_t *n)
{
	if (seq->kind != RW__NODE_SEQ)
		return rw__fail(ctx, seq, "expected a list");
	*out = NULL;
	*n = 0;
	if (seq->n == 0)
		return 0;
	*out = rw__calloc(seq->n, elem);
	if (!*out)
		return rw__fail_oom(ctx);
	*n = seq->n;
	return 0;
}

int rw__oneof(struct rw__ctx *ctx, const struct rw__node *map, const char *const *names,
              size_t n_names, int *which)
{
	*which = -1;
	if (map->kind != RW__NODE_MAP)
		return rw__fail(ctx, map, "expected a mapping");
	for (const struct rw__node_link *l = map->u.first; l; l = l->next) {
		if (rw__is_null(l->value))
			continue;
		for (size_t i = 0; i < n_names; i++) {
			if (!rw__key_is(l->node, names[i]))
				continue;
			if (*which >= 0 && (size_t)*which != i) {
				rw__path_key(ctx, l->node->u.s.text, l->node->n);
				return rw__fail(ctx, l->node, "'%s' and '%s' cannot both be set",
				                names[*which], names[i]);
			}
			*which = (int)i;
		}
	}
	return 0;
}

int rw__any_type(struct rw__ctx *ctx, const struct rw__node *v, const char *example,
                 const struct rw__node **type, const char **name)
{
	const struct rw__node *t;
	const char *slash;
	char shown[160];
	size_t saved;

	if (v->kind != RW__NODE_MAP)
		return rw__fail(ctx, v, "expected a mapping");
	t = rw__map_get(v, "@type", false);
	if (!t)
		return rw__fail(ctx, v, "missing '@type'");
	saved = rw__path_key(ctx, "@type", 5);
	if (t->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, t, "expected a string");
	slash = strrchr(t->u.s.text, '/');
	if (!slash || strlen(t->u.s.text) != t->n) {
		rw__escape(shown, sizeof(shown), t->u.s.text, t->n);
		return rw__fail(ctx, t, "'%s' is not a type URL like 'type.googleapis.com/%s'",
		                shown, example);
	}
	rw__path_pop(ctx, saved);
	*type = t;
	*name = slash + 1;
	return 0;
}

int rw__any_type_unsupported(struct rw__ctx *ctx, const struct rw__node *type, const char *name)
{
	char shown[160];

	rw__path_key(ctx, "@type", 5);
	rw__escape(shown, sizeof(shown), type->u.s.text, type->n);
	if (strncmp(name, "envoy.", 6) == 0 || strncmp(name, "udpa.", 5) == 0 ||
	    strncmp(name, "xds.", 4) == 0)
		return rw__fail(ctx, type, "'%s' is not supported by ringway yet", shown);
	return rw__fail(ctx, type, "unknown @type '%s'", shown);
}
