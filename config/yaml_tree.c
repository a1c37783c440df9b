/*
 * libyaml events -> a tree of map/seq/scalar nodes, each with its 1-based line:column.
 *
 * Why not libyaml's own document API: it keeps no way to ask "which node is this key's
 * value" cheaply, silently accepts duplicate keys, and has no depth limit.  Building our
 * own tree lets us refuse duplicate keys, cap nesting (RW__CONFIG_MAX_DEPTH) and cap the
 * walk cost of aliases (RW__CONFIG_MAX_WEIGHT), so hostile input costs bounded time.
 *
 * Everything lives in one arena that is freed in one call, on success and on every error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/internal.h"

#define ARENA_BLOCK (64u * 1024u)
#define MAX_ANCHORS 1024

struct rw__arena {
	struct rw__arena *next;
	size_t used, cap;
	_Alignas(max_align_t) unsigned char data[];
};

static void *arena_alloc(struct rw__arena **arena, size_t size)
{
	struct rw__arena *a = *arena;
	size_t need = (size + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
	void *p;

	if (need < size)
		return NULL;
	if (!a || a->cap - a->used < need) {
		size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;

		if (cap > SIZE_MAX - sizeof(*a))
			return NULL;
		a = rw__malloc(sizeof(*a) + cap);
		if (!a)
			return NULL;
		a->used = 0;
		a->cap = cap;
		/*
		 * Keep the partly used block first: a big one-off block goes behind it so
		 * small allocations continue where they were.
		 */
		if (*arena && need > ARENA_BLOCK) {
			a->next = (*arena)->next;
			(*arena)->next = a;
		} else {
			a->next = *arena;
			*arena = a;
		}
	}
	p = a->data + a->used;
	a->used += need;
	return p;
}

void rw__config_arena_free(struct rw__arena *arena)
{
	while (arena) {
		struct rw__arena *next = arena->next;

		free(arena);
		arena = next;
	}
}

struct frame {
	struct rw__node *node;
	struct rw__node_link **tail;
	struct rw__node *key; /* a MAP's key still waiting for its value */
	const char *anchor;   /* registered when the collection ends */
};

/* Anchors by name, open addressing; a redefined anchor replaces the old one, as YAML says. */
#define ANCHOR_SLOTS (2 * MAX_ANCHORS)

struct anchor {
	const char *name;
	struct rw__node *node;
};

struct builder {
	struct rw__arena **arena;
	struct frame stack[RW__CONFIG_MAX_DEPTH + 1];
	size_t depth;
	struct rw__node *root;
	struct anchor *anchors; /* ANCHOR_SLOTS entries, allocated on the first anchor */
	size_t n_anchors;
	char *err;
	size_t errlen;
};

static int fail(struct builder *b, const yaml_mark_t *mark, const char *msg)
{
	rw__errf(b->err, b->errlen, "line %zu:%zu: %s", mark->line + 1, mark->column + 1, msg);
	return -EINVAL;
}

static int fail_node(struct builder *b, const struct rw__node *node, const char *msg)
{
	rw__errf(b->err, b->errlen, "line %u:%u: %s", node->line, node->col, msg);
	return -EINVAL;
}

static int oom(struct builder *b)
{
	rw__errf(b->err, b->errlen, "out of memory while parsing YAML");
	return -ENOMEM;
}

static char *arena_strdup(struct builder *b, const char *s, size_t len)
{
	char *p = len == SIZE_MAX ? NULL : arena_alloc(b->arena, len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

static struct rw__node *new_node(struct builder *b, enum rw__node_kind kind,
                                 const yaml_mark_t *mark)
{
	struct rw__node *n = arena_alloc(b->arena, sizeof(*n));

	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->line = mark->line + 1 > 0xffffffffu ? 0xffffffffu : (unsigned)(mark->line + 1);
	n->col = mark->column + 1 > 0xffffffffu ? 0xffffffffu : (unsigned)(mark->column + 1);
	n->weight = 1;
	return n;
}

static struct anchor *find_anchor(struct builder *b, const char *name)
{
	size_t h = 5381;

	for (const char *p = name; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (size_t i = h % ANCHOR_SLOTS;; i = (i + 1) % ANCHOR_SLOTS)
		if (!b->anchors[i].name || strcmp(b->anchors[i].name, name) == 0)
			return &b->anchors[i];
}

static int add_anchor(struct builder *b, const char *name, struct rw__node *node,
                      const yaml_mark_t *mark)
{
	struct anchor *a;

	if (!b->anchors) {
		b->anchors = arena_alloc(b->arena, ANCHOR_SLOTS * sizeof(*b->anchors));
		if (!b->anchors)
			return oom(b);
		memset(b->anchors, 0, ANCHOR_SLOTS * sizeof(*b->anchors));
	}
	a = find_anchor(b, name);
	if (!a->name) {
		/* Half full at most, so probes stay short and always end. */
		if (b->n_anchors >= MAX_ANCHORS)
			return fail(b, mark, "too many YAML anchors");
		b->n_anchors++;
		a->name = name;
	}
	a->node = node;
	return 0;
}

/* Hang a finished node under the open collection (or make it the document root). */
static int attach(struct builder *b, struct rw__node *node)
{
	struct frame *f;
	struct rw__node_link *l;

	if (b->depth == 0) {
		b->root = node;
		return 0;
	}
	f = &b->stack[b->depth - 1];
	/* Weights saturate at the limit; one over the limit is enough to refuse. */
	f->node->weight += node->weight;
	if (f->node->weight > RW__CONFIG_MAX_WEIGHT)
		return fail_node(b, node, "document too large once YAML aliases are expanded");
	if (f->node->kind == RW__NODE_MAP && !f->key) {
		if (node->kind != RW__NODE_SCALAR)
			return fail_node(b, node, "mapping keys must be plain strings");
		f->key = node;
		return 0;
	}
	l = arena_alloc(b->arena, sizeof(*l));
	if (!l)
		return oom(b);
	l->next = NULL;
	l->node = f->node->kind == RW__NODE_MAP ? f->key : node;
	l->value = f->node->kind == RW__NODE_MAP ? node : NULL;
	f->key = NULL;
	*f->tail = l;
	f->tail = &l->next;
	f->node->n++;
	return 0;
}

static int key_cmp(const void *pa, const void *pb)
{
	const struct rw__node *a = *(const struct rw__node *const *)pa;
	const struct rw__node *b = *(const struct rw__node *const *)pb;
	size_t n = a->n < b->n ? a->n : b->n;
	int c = memcmp(a->u.s.text, b->u.s.text, n);

	if (c)
		return c;
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	/* Equal keys: document order, so the later one is reported. */
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->col < b->col ? -1 : a->col > b->col;
}

static bool before(const struct rw__node *a, const struct rw__node *b)
{
	return a->line < b->line || (a->line == b->line && a->col < b->col);
}

/* Sorting keeps a mapping with many keys O(n log n), not O(n^2). */
static int check_duplicate_keys(struct builder *b, const struct rw__node *map)
{
	const struct rw__node **keys, *dup = NULL;
	size_t i = 0;

	if (map->n < 2)
		return 0;
	keys = rw__calloc(map->n, sizeof(*keys));
	if (!keys)
		return oom(b);
	for (const struct rw__node_link *l = map->u.first; l; l = l->next)
		keys[i++] = l->node;
	qsort(keys, map->n, sizeof(*keys), key_cmp);
	for (i = 1; i < map->n; i++)
		if (keys[i]->n == keys[i - 1]->n &&
		    memcmp(keys[i]->u.s.text, keys[i - 1]->u.s.text, keys[i]->n) == 0 &&
		    (!dup || before(keys[i], dup)))
			dup = keys[i];
	if (dup) {
		char name[80];

		rw__escape(name, sizeof(name), dup->u.s.text, dup->n);
		rw__errf(b->err, b->errlen, "line %u:%u: duplicate key '%s'", dup->line, dup->col,
		         name);
		free(keys);
		return -EINVAL;
	}
	free(keys);
	return 0;
}

static int on_scalar(struct builder *b, yaml_event_t *ev)
{
	struct rw__node *n = new_node(b, RW__NODE_SCALAR, &ev->start_mark);
	char *text;
	int rc;

	if (!n)
		return oom(b);
	text = arena_strdup(b, (const char *)ev->data.scalar.value, ev->data.scalar.length);
	if (!text)
		return oom(b);
	n->u.s.text = text;
	n->n = ev->data.scalar.length;
	n->u.s.plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (ev->data.scalar.anchor) {
		const char *name = (const char *)ev->data.scalar.anchor;
		char *copy = arena_strdup(b, name, strlen(name));

		if (!copy)
			return oom(b);
		rc = add_anchor(b, copy, n, &ev->start_mark);
		if (rc)
			return rc;
	}
	return attach(b, n);
}

static int on_alias(struct builder *b, yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;

	struct anchor *a = b->anchors ? find_anchor(b, name) : NULL;

	/* An alias is the anchored node itself; weights make each use count in full. */
	if (a && a->name)
		return attach(b, a->node);
	return fail(b, &ev->start_mark, "YAML alias names an undefined anchor");
}

static int on_collection_start(struct builder *b, yaml_event_t *ev, enum rw__node_kind kind)
{
	const yaml_char_t *anchor =
	    kind == RW__NODE_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	struct rw__node *n;
	struct frame *f;

	if (b->depth >= RW__CONFIG_MAX_DEPTH)
		return fail(b, &ev->start_mark, "YAML nesting too deep");
	n = new_node(b, kind, &ev->start_mark);
	if (!n)
		return oom(b);
	f = &b->stack[b->depth++];
	f->node = n;
	f->tail = &n->u.first;
	f->key = NULL;
	f->anchor = NULL;
	if (anchor) {
		f->anchor = arena_strdup(b, (const char *)anchor, strlen((const char *)anchor));
		if (!f->anchor)
			return oom(b);
	}
	return 0;
}

static int on_collection_end(struct builder *b, yaml_event_t *ev)
{
	struct frame *f = &b->stack[--b->depth];
	int rc;

	if (f->node->kind == RW__NODE_MAP) {
		rc = check_duplicate_keys(b, f->node);
		if (rc)
			return rc;
	}
	if (f->anchor) {
		rc = add_anchor(b, f->anchor, f->node, &ev->start_mark);
		if (rc)
			return rc;
	}
	return attach(b, f->node);
}

/* libyaml reports reader errors (bad UTF-8, control characters) as a byte offset only. */
static yaml_mark_t offset_mark(const char *text, size_t len, size_t offset)
{
	yaml_mark_t m = {0};

	for (size_t i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n') {
			m.line++;
			m.column = 0;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			m.column++;
		}
	}
	return m;
}

static int syntax_error(struct builder *b, const yaml_parser_t *p, const char *text, size_t len)
{
	const char *problem = p->problem ? p->problem : "malformed document";
	yaml_mark_t mark = p->problem_mark;

	if (p->error == YAML_MEMORY_ERROR)
		return oom(b);
	if (p->error == YAML_READER_ERROR)
		mark = offset_mark(text, len, p->problem_offset);
	if (p->context)
		rw__errf(b->err, b->errlen,
		         "line %zu:%zu: YAML syntax error: %s (%s that started at line %zu:%zu)",
		         mark.line + 1, mark.column + 1, problem, p->context,
		         p->context_mark.line + 1, p->context_mark.column + 1);
	else
		rw__errf(b->err, b->errlen, "line %zu:%zu: YAML syntax error: %s", mark.line + 1,
		         mark.column + 1, problem);
	return -EINVAL;
}

static int on_event(struct builder *b, yaml_event_t *ev, int *documents)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*documents > 1)
			return fail(b, &ev->start_mark,
			            "more than one YAML document; a bootstrap is exactly one");
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_collection_start(b, ev, RW__NODE_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_collection_start(b, ev, RW__NODE_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_collection_end(b, ev);
	default:
		return 0;
	}
}

int rw__config_yaml_parse(const char *text, size_t len, struct rw__arena **arena,
                          const struct rw__node **root, char *err, size_t errlen)
{
	struct builder b = {.arena = arena, .err = err, .errlen = errlen};
	yaml_parser_t parser;
	yaml_mark_t end = {0};
	int documents = 0, rc = 0;
	bool done = false;

	*arena = NULL;
	*root = NULL;
	if (len > RW__CONFIG_MAX_BYTES) {
		rw__errf(err, errlen, "document too large (%zu bytes, limit %u)", len,
		         RW__CONFIG_MAX_BYTES);
		return -EFBIG;
	}
	if (!yaml_parser_initialize(&parser))
		return oom(&b);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && rc == 0) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			rc = syntax_error(&b, &parser, text, len);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		end = ev.start_mark;
		rc = on_event(&b, &ev, &documents);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (rc == 0 && !b.root)
		rc = fail(&b, &end, "empty document");
	else if (rc == 0 && rw__is_null(b.root))
		rc = fail_node(&b, b.root, "empty document");
	if (rc == 0)
		*root = b.root;
	return rc;
}
