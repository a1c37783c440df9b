/*
 * config.accesslog.v3.AccessLog: the access_log list of the HCM and of tcp_proxy.  Served: the file
 * logger (envoy.extensions.access_loggers.file.v3.FileAccessLog) and the stdout / stderr stream
 * loggers, with a text format (text_format_source.inline_string, or the deprecated
 * text_format) or a json_format (nested objects too); and a filter: status_code, duration,
 * not_health_check, response_flag, runtime, traceable and header filters, combined by
 * and_filter / or_filter to RW_CONFIG_AL_FILTER_MAX_DEPTH levels.  Formats use the header
 * formatter's %OPERATOR% syntax and are checked the same way (headers.c), with the
 * access-log-only operators (%DURATION%, %BYTES_SENT%, ...) allowed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

#define FILE_TYPE   "envoy.extensions.access_loggers.file.v3.FileAccessLog"
#define STDOUT_TYPE "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"
#define STDERR_TYPE "envoy.extensions.access_loggers.stream.v3.StderrAccessLog"

#define LOG(obj) ((struct rw_config_access_log *)(obj))

/* ---- log_format: SubstitutionFormatString ---- */

static int text_format(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	int rc = rw__get_string(ctx, v, &LOG(obj)->format);

	return rc ? rc : rw__check_operators(ctx, v, LOG(obj)->format, true);
}

static int inline_string(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return text_format(ctx, v, obj);
}

static const struct rw__field data_source_fields[] = {
    RW__FIELD("inline_string", inline_string),
    RW__UNSUPPORTED("filename"),
    RW__UNSUPPORTED("inline_bytes"),
    RW__UNSUPPORTED("environment_variable"),
};

static int text_format_source(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	int rc = rw__walk_map(ctx, v, data_source_fields, RW__N(data_source_fields), obj);

	if (rc == 0 && !LOG(obj)->format)
		return rw__fail(ctx, v, "text_format_source needs inline_string");
	return rc;
}

/* A json_format mapping (or a nested one) into *out. */
static int json_fields(struct rw__ctx *ctx, const struct rw__node *v,
                       struct rw_config_access_log_json_field **out, size_t *n_out)
{
	size_t i = 0;

	if (v->kind != RW__NODE_MAP)
		return rw__fail(ctx, v, "expected a mapping");
	*out = rw__calloc(v->n ? v->n : 1, sizeof(**out));
	if (!*out)
		return rw__fail_oom(ctx);
	for (const struct rw__node_link *e = v->u.first; e; e = e->next, i++) {
		struct rw_config_access_log_json_field *f = &(*out)[i];
		size_t saved = rw__path_key(ctx, e->node->u.s.text, e->node->n);
		int rc;

		*n_out = i + 1;
		rc = rw__get_string(ctx, e->node, &f->key);
		if (!rc && e->value->kind == RW__NODE_MAP)
			rc = json_fields(ctx, e->value, &f->fields, &f->n_fields);
		else if (!rc && e->value->kind != RW__NODE_SCALAR)
			rc =
			    rw__fail(ctx, e->value,
			             "json_format values are strings or nested mappings (lists are "
			             "not supported by ringway yet)");
		else if (!rc)
			rc = rw__get_string(ctx, e->value, &f->format);
		if (!rc && f->format)
			rc = rw__check_operators(ctx, e->value, f->format, true);
		if (rc)
			return rc;
		rw__path_pop(ctx, saved);
	}
	return 0;
}

static int json_format(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_access_log *l = obj;

	l->json = true;
	return json_fields(ctx, v, &l->json_fields, &l->n_json_fields);
}

static int content_type(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	char *s = NULL;
	int rc = rw__get_string(ctx, v, &s);

	(void)obj;
	free(s);
	return rc;
}

static const struct rw__field log_format_fields[] = {
    RW__FIELD("text_format", text_format),  RW__FIELD("text_format_source", text_format_source),
    RW__FIELD("json_format", json_format),  RW__FIELD("content_type", content_type),
    RW__UNSUPPORTED("omit_empty_values"),   RW__UNSUPPORTED("formatters"),
    RW__UNSUPPORTED("json_format_options"),
};

static int log_format(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const oneof[] = {"text_format", "text_format_source", "json_format"};
	int which, rc = rw__oneof(ctx, v, oneof, RW__N(oneof), &which);

	if (rc)
		return rc;
	if (which < 0)
		return rw__fail(ctx, v, "log_format needs text_format_source or json_format");
	return rw__walk_map(ctx, v, log_format_fields, RW__N(log_format_fields), obj);
}

static int file_path(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &LOG(obj)->path);
}

static const struct rw__field file_fields[] = {
    RW__IGNORED("@type"),      RW__FIELD("path", file_path),   RW__FIELD("log_format", log_format),
    RW__UNSUPPORTED("format"), RW__UNSUPPORTED("json_format"), RW__UNSUPPORTED("typed_json_format"),
};

static const struct rw__field stream_fields[] = {
    RW__IGNORED("@type"),
    RW__FIELD("log_format", log_format),
};

static int typed_config(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_access_log *l = obj;
	const struct rw__node *type;
	const char *name;
	int rc = rw__any_type(ctx, v, FILE_TYPE, &type, &name);

	if (rc)
		return rc;
	if (strcmp(name, FILE_TYPE) == 0) {
		l->kind = RW_CONFIG_ACCESS_LOG_FILE;
		rc = rw__walk_map(ctx, v, file_fields, RW__N(file_fields), l);
		if (rc == 0 && (!l->path || !l->path[0]))
			return rw__fail(ctx, v, "missing required field 'path'");
		return rc;
	}
	if (strcmp(name, STDOUT_TYPE) == 0 || strcmp(name, STDERR_TYPE) == 0) {
		l->kind = strcmp(name, STDOUT_TYPE) == 0 ? RW_CONFIG_ACCESS_LOG_STDOUT
		                                         : RW_CONFIG_ACCESS_LOG_STDERR;
		return rw__walk_map(ctx, v, stream_fields, RW__N(stream_fields), l);
	}
	return rw__any_type_unsupported(ctx, type, name);
}

/* ---- filter: AccessLogFilter, a tree (and_filter / or_filter hold filters) ---- */

/* The filter node being filled and its level (the access log's own filter is level 1). */
struct filter_walk {
	struct rw_config_access_log_filter *f;
	unsigned depth;
};

#define FW(obj)  ((struct filter_walk *)(obj))
#define FLT(obj) (FW(obj)->f)

static int filter_node(struct rw__ctx *ctx, const struct rw__node *v,
                       struct rw_config_access_log_filter *f, unsigned depth);

static int runtime_value(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_uint(ctx, v, UINT32_MAX, &FLT(obj)->u.cmp.value);
}

/* No runtime layer: the default (default_value, percent_sampled) is what applies. */
static int runtime_key(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	(void)obj;
	if (v->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, v, "expected a string");
	return 0;
}

static const struct rw__field runtime_u32_fields[] = {
    RW__FIELD("default_value", runtime_value),
    RW__FIELD("runtime_key", runtime_key),
};

static int cmp_op(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const ops[] = {"EQ", "GE", "LE", "NE", "LT", "GT"};
	size_t op;
	int rc = rw__get_enum(ctx, v, ops, RW__N(ops), &op);

	if (rc == 0)
		FLT(obj)->u.cmp.op = (enum rw_config_cmp_op)op;
	return rc;
}

static int cmp_value(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_map(ctx, v, runtime_u32_fields, RW__N(runtime_u32_fields), obj);
}

static const struct rw__field comparison_fields[] = {
    RW__FIELD("op", cmp_op),
    RW__FIELD("value", cmp_value),
};

static int comparison(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_map(ctx, v, comparison_fields, RW__N(comparison_fields), obj);
}

static const struct rw__field comparison_filter_fields[] = {
    RW__FIELD("comparison", comparison),
};

static int status_code_filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	FLT(obj)->kind = RW_CONFIG_AL_FILTER_STATUS_CODE;
	return rw__walk_map(ctx, v, comparison_filter_fields, RW__N(comparison_filter_fields), obj);
}

static int duration_filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	FLT(obj)->kind = RW_CONFIG_AL_FILTER_DURATION;
	return rw__walk_map(ctx, v, comparison_filter_fields, RW__N(comparison_filter_fields), obj);
}

/* NotHealthCheckFilter and TraceableFilter: messages without fields. */
static int empty_message(struct rw__ctx *ctx, const struct rw__node *v, const char *what)
{
	if (v->kind != RW__NODE_MAP && !rw__is_null(v))
		return rw__fail(ctx, v, "expected a mapping");
	if (v->kind == RW__NODE_MAP && v->n)
		return rw__fail(ctx, v, "%s has no fields", what);
	return 0;
}

static int not_health_check_filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	FLT(obj)->kind = RW_CONFIG_AL_FILTER_NOT_HEALTH_CHECK;
	return empty_message(ctx, v, "not_health_check_filter");
}

static int traceable_filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	FLT(obj)->kind = RW_CONFIG_AL_FILTER_TRACEABLE;
	return empty_message(ctx, v, "traceable_filter");
}

/* Envoy's short names in its print order: bit i is the same as proxy/'s RW_RF_* bit i. */
static const char *const flag_names[] = {"UH",  "UF", "UO", "NR", "URX", "NC", "DT",
                                         "DC",  "UT", "LR", "UR", "UC",  "SI", "DPE",
                                         "UPE", "DI", "FI", "RL", "LH"};

static int walk_flag(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	(void)index;
	if (item->kind == RW__NODE_SCALAR)
		for (size_t i = 0; i < RW__N(flag_names); i++)
			if (strcmp(item->u.s.text, flag_names[i]) == 0) {
				FLT(obj)->u.flag_mask |= 1u << i;
				return 0;
			}
	return rw__fail(ctx, item, "unknown or unsupported response flag");
}

static int rf_flags(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_seq(ctx, v, walk_flag, obj);
}

static const struct rw__field response_flag_fields[] = {
    RW__FIELD("flags", rf_flags),
};

static int response_flag_filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	FLT(obj)->kind = RW_CONFIG_AL_FILTER_RESPONSE_FLAG;
	if (rw__is_null(v))
		return 0;
	return rw__walk_map(ctx, v, response_flag_fields, RW__N(response_flag_fields), obj);
}

/* RuntimeFilter: the runtime key is required (min_bytes 1) but only checked. */
static int rt_key(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	char *key = NULL;
	int rc = rw__get_string(ctx, v, &key);

	(void)obj;
	if (rc == 0 && !key[0])
		rc = rw__fail(ctx, v, "runtime_key must not be empty");
	free(key);
	return rc;
}

static int rt_percent(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_access_log_filter *f = FLT(obj);

	if (rw__is_null(v))
		return 0;
	return rw__get_fraction(ctx, v, &f->u.runtime.numerator, &f->u.runtime.denominator);
}

static int rt_independent(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &FLT(obj)->u.runtime.independent_randomness);
}

static const struct rw__field runtime_fields[] = {
    RW__FIELD("runtime_key", rt_key),
    RW__FIELD("percent_sampled", rt_percent),
    RW__FIELD("use_independent_randomness", rt_independent),
};

static int runtime_filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_access_log_filter *f = FLT(obj);

	f->kind = RW_CONFIG_AL_FILTER_RUNTIME;
	f->u.runtime.denominator = 100; /* percent_sampled absent: 0/HUNDRED, never */
	if (rw__is_null(v) || (v->kind == RW__NODE_MAP && !rw__map_get(v, "runtime_key", false)))
		return rw__fail(ctx, v, "missing required field 'runtime_key'");
	return rw__walk_map(ctx, v, runtime_fields, RW__N(runtime_fields), obj);
}

static int walk_child(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	return filter_node(ctx, item, &FLT(obj)->u.list.filters[index], FW(obj)->depth + 1);
}

static int list_filters(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_access_log_filter *f = FLT(obj);
	int rc;

	if (FW(obj)->depth >= RW_CONFIG_AL_FILTER_MAX_DEPTH)
		return rw__fail(ctx, v, "access log filters nest deeper than %d levels",
		                RW_CONFIG_AL_FILTER_MAX_DEPTH);
	rc = rw__alloc_items(ctx, v, sizeof(*f->u.list.filters), (void **)&f->u.list.filters,
	                     &f->u.list.n);
	if (rc)
		return rc;
	rc = rw__walk_seq(ctx, v, walk_child, obj);
	if (rc == 0 && f->u.list.n < 2)
		return rw__fail(ctx, v, "filters needs at least 2 filters (has %zu)", f->u.list.n);
	return rc;
}

static const struct rw__field and_or_fields[] = {
    RW__FIELD("filters", list_filters),
};

static int and_or_filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj,
                         enum rw_config_access_log_filter_kind kind)
{
	FLT(obj)->kind = kind;
	if (rw__is_null(v) || (v->kind == RW__NODE_MAP && !rw__map_get(v, "filters", false)))
		return rw__fail(ctx, v, "missing required field 'filters' (at least 2 filters)");
	return rw__walk_map(ctx, v, and_or_fields, RW__N(and_or_fields), obj);
}

static int and_filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return and_or_filter(ctx, v, obj, RW_CONFIG_AL_FILTER_AND);
}

static int or_filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return and_or_filter(ctx, v, obj, RW_CONFIG_AL_FILTER_OR);
}

static int hf_header(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	if (v->kind != RW__NODE_MAP)
		return rw__fail(ctx, v, "expected a mapping");
	return rw__walk_header_matcher(ctx, v, &FLT(obj)->u.header);
}

static const struct rw__field header_filter_fields[] = {
    RW__FIELD("header", hf_header),
};

static int header_filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	FLT(obj)->kind = RW_CONFIG_AL_FILTER_HEADER;
	if (rw__is_null(v) || (v->kind == RW__NODE_MAP && !rw__map_get(v, "header", false)))
		return rw__fail(ctx, v, "missing required field 'header'");
	return rw__walk_map(ctx, v, header_filter_fields, RW__N(header_filter_fields), obj);
}

static const struct rw__field filter_fields[] = {
    RW__FIELD("status_code_filter", status_code_filter),
    RW__FIELD("duration_filter", duration_filter),
    RW__FIELD("not_health_check_filter", not_health_check_filter),
    RW__FIELD("traceable_filter", traceable_filter),
    RW__FIELD("runtime_filter", runtime_filter),
    RW__FIELD("and_filter", and_filter),
    RW__FIELD("or_filter", or_filter),
    RW__FIELD("header_filter", header_filter),
    RW__FIELD("response_flag_filter", response_flag_filter),
    RW__UNSUPPORTED("grpc_status_filter"),
    RW__UNSUPPORTED("extension_filter"),
    RW__UNSUPPORTED("metadata_filter"),
    RW__UNSUPPORTED("log_type_filter"),
};

static int filter_node(struct rw__ctx *ctx, const struct rw__node *v,
                       struct rw_config_access_log_filter *f, unsigned depth)
{
	static const char *const oneof[] = {
	    "status_code_filter", "duration_filter", "not_health_check_filter",
	    "traceable_filter",   "runtime_filter",  "and_filter",
	    "or_filter",          "header_filter",   "response_flag_filter",
	};
	struct filter_walk w = {f, depth};
	int which, rc = rw__oneof(ctx, v, oneof, RW__N(oneof), &which);

	if (rc)
		return rc;
	rc = rw__walk_map(ctx, v, filter_fields, RW__N(filter_fields), &w);
	if (rc == 0 && f->kind == RW_CONFIG_AL_FILTER_NONE)
		return rw__fail(ctx, v,
		                "an access log filter needs one of status_code_filter, "
		                "duration_filter, not_health_check_filter, "
		                "traceable_filter, runtime_filter, and_filter, or_filter, "
		                "header_filter or response_flag_filter");
	return rc;
}

static int filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	if (rw__is_null(v))
		return 0;
	return filter_node(ctx, v, &LOG(obj)->filter, 1);
}

static void filter_free(struct rw_config_access_log_filter *f)
{
	switch (f->kind) {
	case RW_CONFIG_AL_FILTER_AND:
	case RW_CONFIG_AL_FILTER_OR:
		for (size_t i = 0; i < f->u.list.n; i++)
			filter_free(&f->u.list.filters[i]);
		free(f->u.list.filters);
		break;
	case RW_CONFIG_AL_FILTER_HEADER:
		free(f->u.header.name);
		free(f->u.header.string.value);
		break;
	default:
		break;
	}
}

static int log_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &LOG(obj)->name);
}

static const struct rw__field access_log_fields[] = {
    RW__FIELD("name", log_name),
    RW__FIELD("filter", filter),
    RW__FIELD("typed_config", typed_config),
};

struct logs_walk {
	struct rw_config_access_log *logs;
};

static int walk_log(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	struct rw_config_access_log *l = &((struct logs_walk *)obj)->logs[index];
	int rc = rw__walk_map(ctx, item, access_log_fields, RW__N(access_log_fields), l);

	if (rc)
		return rc;
	if (!l->kind)
		return rw__fail(ctx, item, "missing required field 'typed_config'");
	return 0;
}

int rw__walk_access_logs(struct rw__ctx *ctx, const struct rw__node *seq,
                         struct rw_config_access_log **out, size_t *n)
{
	struct logs_walk w;
	int rc = rw__alloc_items(ctx, seq, sizeof(**out), (void **)out, n);

	if (rc)
		return rc;
	w.logs = *out;
	return rw__walk_seq(ctx, seq, walk_log, &w);
}

static void json_fields_free(struct rw_config_access_log_json_field *f, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		free(f[j].key);
		free(f[j].format);
		json_fields_free(f[j].fields, f[j].n_fields);
	}
	free(f);
}

void rw__access_logs_free(struct rw_config_access_log *logs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct rw_config_access_log *l = &logs[i];

		free(l->name);
		free(l->path);
		free(l->format);
		json_fields_free(l->json_fields, l->n_json_fields);
		filter_free(&l->filter);
	}
	free(logs);
}
