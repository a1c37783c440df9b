/*
 * config.accesslog.v3.AccessLog: the access_log list of the HCM and of tcp_proxy.  Served: the file
 * logger (envoy.extensions.access_loggers.file.v3.FileAccessLog) and the stdout / stderr stream
 * loggers, with a text format (text_format_source.inline_string, or the deprecated
 * text_format) or a json_format (nested objects too); and one filter of status_code_filter,
 * duration_filter, not_health_check_filter or response_flag_filter.  Formats use the header
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

/* ---- filter: AccessLogFilter ---- */

static int runtime_value(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_uint(ctx, v, UINT32_MAX, &LOG(obj)->cmp_value);
}

static int runtime_key(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	(void)obj;
	/* No runtime layer: default_value is what applies. */
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
		LOG(obj)->cmp_op = (enum rw_config_cmp_op)op;
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
	LOG(obj)->filter = RW_CONFIG_AL_FILTER_STATUS_CODE;
	return rw__walk_map(ctx, v, comparison_filter_fields, RW__N(comparison_filter_fields), obj);
}

static int duration_filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	LOG(obj)->filter = RW_CONFIG_AL_FILTER_DURATION;
	return rw__walk_map(ctx, v, comparison_filter_fields, RW__N(comparison_filter_fields), obj);
}

static int not_health_check_filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	LOG(obj)->filter = RW_CONFIG_AL_FILTER_NOT_HEALTH_CHECK;
	if (v->kind != RW__NODE_MAP && !rw__is_null(v))
		return rw__fail(ctx, v, "expected a mapping");
	if (v->kind == RW__NODE_MAP && v->n)
		return rw__fail(ctx, v, "not_health_check_filter has no fields");
	return 0;
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
				LOG(obj)->flag_mask |= 1u << i;
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
	LOG(obj)->filter = RW_CONFIG_AL_FILTER_RESPONSE_FLAG;
	if (rw__is_null(v))
		return 0;
	return rw__walk_map(ctx, v, response_flag_fields, RW__N(response_flag_fields), obj);
}

static const struct rw__field filter_fields[] = {
    RW__FIELD("status_code_filter", status_code_filter),
    RW__FIELD("duration_filter", duration_filter),
    RW__FIELD("not_health_check_filter", not_health_check_filter),
    RW__FIELD("response_flag_filter", response_flag_filter),
    RW__UNSUPPORTED("traceable_filter"),
    RW__UNSUPPORTED("runtime_filter"),
    RW__UNSUPPORTED("and_filter"),
    RW__UNSUPPORTED("or_filter"),
    RW__UNSUPPORTED("header_filter"),
    RW__UNSUPPORTED("grpc_status_filter"),
    RW__UNSUPPORTED("extension_filter"),
    RW__UNSUPPORTED("metadata_filter"),
    RW__UNSUPPORTED("log_type_filter"),
};

static int filter(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const oneof[] = {"status_code_filter", "duration_filter",
	                                    "not_health_check_filter", "response_flag_filter"};
	int which, rc = rw__oneof(ctx, v, oneof, RW__N(oneof), &which);

	if (rc)
		return rc;
	return rw__walk_map(ctx, v, filter_fields, RW__N(filter_fields), obj);
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
	}
	free(logs);
}
