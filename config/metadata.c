/*
 * config.core.v3.Metadata on a listener or a route.  Envoy treats filter_metadata as opaque
 * per-namespace data for filters to read, so every namespace but "ringway" is accepted and
 * ignored (as is typed_filter_metadata).  The "ringway" namespace carries ringway's own
 * switches; its keys are checked like any other field table, so a typo or a wrong type is
 * an error with the YAML path and line rather than a silently ignored knob.
 */
#include <string.h>

#include "config/internal.h"

struct metadata_walk {
	const struct rw__field *fields;
	size_t n_fields;
	void *obj;
};

static int filter_metadata(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	const struct metadata_walk *m = obj;

	if (rw__is_null(v))
		return 0;
	if (v->kind != RW__NODE_MAP)
		return rw__fail(ctx, v, "expected a mapping");
	for (const struct rw__node_link *e = v->u.first; e; e = e->next) {
		size_t saved;
		int rc;

		if (strcmp(e->node->u.s.text, "ringway") != 0 || rw__is_null(e->value))
			continue; /* another filter's namespace: opaque to ringway, as to Envoy */
		saved = rw__path_key(ctx, e->node->u.s.text, e->node->n);
		rc = rw__walk_map(ctx, e->value, m->fields, m->n_fields, m->obj);
		if (rc)
			return rc;
		rw__path_pop(ctx, saved);
	}
	return 0;
}

static const struct rw__field metadata_fields[] = {
    RW__FIELD("filter_metadata", filter_metadata),
    RW__IGNORED("typed_filter_metadata"),
};

int rw__walk_metadata(struct rw__ctx *ctx, const struct rw__node *v, const struct rw__field *fields,
                      size_t n_fields, void *obj)
{
	struct metadata_walk m = {.fields = fields, .n_fields = n_fields, .obj = obj};

	if (rw__is_null(v))
		return 0;
	return rw__walk_map(ctx, v, metadata_fields, RW__N(metadata_fields), &m);
}
