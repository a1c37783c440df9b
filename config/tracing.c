/*
 * HttpConnectionManager.Tracing and its provider (envoy.tracers.zipkin with
 * config.trace.v3.ZipkinConfig, envoy.tracers.opentelemetry with OpenTelemetryConfig).
 *
 * ringway propagates trace context and logs trace ids but reports no spans, so what only
 * shapes reported spans (collector endpoints, custom_tags, verbose, max_path_tag_length) is
 * checked for Envoy's types and kept or dropped; what changes the headers a request leaves
 * with (sampling, trace_id_128bit, shared_span_context) is served.  Settings that would
 * change propagation in a way ringway does not implement (an OpenTelemetry sampler, Zipkin's
 * trace_context_option) are refused rather than silently ignored.
 */
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

#define ZIPKIN_NAME        "envoy.tracers.zipkin"
#define OTEL_NAME          "envoy.tracers.opentelemetry"
#define ZIPKIN_TYPE        "envoy.config.trace.v3.ZipkinConfig"
#define OTEL_TYPE          "envoy.config.trace.v3.OpenTelemetryConfig"
#define TRACING(obj)       ((struct rw_config_tracing *)(obj))
#define PERCENT_TO_TENK(p) ((uint32_t)((p)*100.0 + 0.5)) /* 0..100 %: no overflow */

/* ---- ZipkinConfig ---- */

static int zk_cluster(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &TRACING(obj)->collector_cluster);
}

static int zk_endpoint(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &TRACING(obj)->collector_endpoint);
}

static int zk_version(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const versions[] = {"DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE", "HTTP_JSON",
	                                       "HTTP_PROTO", "GRPC"};
	size_t which;
	int rc = rw__get_enum(ctx, v, versions, RW__N(versions), &which);

	(void)obj;
	if (rc == 0 && which == 0)
		return rw__fail(ctx, v, "collector_endpoint_version '%s' is not allowed",
		                versions[0]);
	return rc;
}

static int zk_128bit(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &TRACING(obj)->trace_id_128bit);
}

static int zk_shared(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &TRACING(obj)->shared_span_context);
}

/* A string or bool only reported spans would use: type-checked, then dropped. */
static int drop_string(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	char *s = NULL;
	int rc = rw__get_string(ctx, v, &s);

	(void)obj;
	free(s);
	return rc;
}

static int drop_bool(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	bool b;

	(void)obj;
	return rw__get_bool(ctx, v, &b);
}

static const struct rw__field zipkin_fields[] = {
    RW__IGNORED("@type"),
    RW__FIELD("collector_cluster", zk_cluster),
    RW__FIELD("collector_endpoint", zk_endpoint),
    RW__FIELD("trace_id_128bit", zk_128bit),
    RW__FIELD("shared_span_context", zk_shared),
    RW__FIELD("collector_endpoint_version", zk_version),
    RW__FIELD("collector_hostname", drop_string),
    RW__FIELD("split_spans_for_request", drop_bool),
    RW__IGNORED("collector_service"), /* where spans go: none are sent */
    RW__UNSUPPORTED("trace_context_option"),
};

/* ---- OpenTelemetryConfig ---- */

static int otel_service_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &TRACING(obj)->service_name);
}

static const struct rw__field otel_fields[] = {
    RW__IGNORED("@type"),
    /* Where spans are exported: accepted, nothing is exported. */
    RW__IGNORED("grpc_service"),
    RW__IGNORED("http_service"),
    RW__FIELD("service_name", otel_service_name),
    RW__IGNORED("resource_detectors"),
    RW__IGNORED("max_cache_size"),
    RW__UNSUPPORTED("sampler"),
};

/* ---- provider: config.trace.v3.Tracing.Http ---- */

struct provider {
	const struct rw__node *name_node;
	char *name;
	const struct rw__node *typed_config;
};

static int pv_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct provider *p = obj;

	p->name_node = v;
	return rw__get_string(ctx, v, &p->name);
}

static int pv_typed_config(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	(void)ctx;
	((struct provider *)obj)->typed_config = v;
	return 0;
}

static const struct rw__field provider_fields[] = {
    RW__FIELD("name", pv_name),
    RW__FIELD("typed_config", pv_typed_config),
};

/* Envoy's other tracers: known names, so the error says "not supported", not "unknown". */
static bool other_envoy_tracer(const char *name)
{
	static const char *const others[] = {
	    "envoy.tracers.datadog",    "envoy.tracers.dynamic_ot", "envoy.tracers.lightstep",
	    "envoy.tracers.opencensus", "envoy.tracers.skywalking", "envoy.tracers.xray",
	    "envoy.tracers.fluentd",
	};

	for (size_t i = 0; i < RW__N(others); i++)
		if (strcmp(name, others[i]) == 0)
			return true;
	return false;
}

static int walk_provider_config(struct rw__ctx *ctx, struct rw_config_tracing *t,
                                const struct rw__node *tc)
{
	static const char *const otel_oneof[] = {"grpc_service", "http_service"};
	const bool zipkin = t->provider == RW_CONFIG_TRACER_ZIPKIN;
	const char *want = zipkin ? ZIPKIN_TYPE : OTEL_TYPE;
	const struct rw__node *type;
	const char *name;
	size_t saved = rw__path_key(ctx, "typed_config", 12);
	int which, rc = rw__any_type(ctx, tc, want, &type, &name);

	if (rc)
		return rc;
	if (strcmp(name, want) != 0) {
		char shown[160];

		rw__path_key(ctx, "@type", 5);
		rw__escape(shown, sizeof(shown), type->u.s.text, type->n);
		return rw__fail(ctx, type, "tracer '%s' takes a %s, not '%s'",
		                zipkin ? ZIPKIN_NAME : OTEL_NAME, want, shown);
	}
	if (zipkin) {
		rc = rw__walk_map(ctx, tc, zipkin_fields, RW__N(zipkin_fields), t);
	} else {
		rc = rw__oneof(ctx, tc, otel_oneof, RW__N(otel_oneof), &which);
		if (rc == 0)
			rc = rw__walk_map(ctx, tc, otel_fields, RW__N(otel_fields), t);
	}
	if (rc == 0)
		rw__path_pop(ctx, saved);
	return rc;
}

static int tr_provider(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_tracing *t = obj;
	struct provider p = {0};
	char shown[80];
	int rc = rw__walk_map(ctx, v, provider_fields, RW__N(provider_fields), &p);

	if (rc)
		goto out;
	if (!p.name || !p.name[0]) {
		rc = rw__fail(ctx, v, "missing required field 'name'");
		goto out;
	}
	if (strcmp(p.name, ZIPKIN_NAME) == 0) {
		t->provider = RW_CONFIG_TRACER_ZIPKIN;
	} else if (strcmp(p.name, OTEL_NAME) == 0) {
		t->provider = RW_CONFIG_TRACER_OPENTELEMETRY;
	} else {
		rw__path_key(ctx, "name", 4);
		rw__escape(shown, sizeof(shown), p.name, strlen(p.name));
		rc = other_envoy_tracer(p.name)
		         ? rw__fail(ctx, p.name_node, "tracer '%s' is not supported by ringway yet",
		                    shown)
		         : rw__fail(ctx, p.name_node,
		                    "unknown tracer '%s' (ringway serves " ZIPKIN_NAME
		                    " and " OTEL_NAME ")",
		                    shown);
		goto out;
	}
	if (p.typed_config && !rw__is_null(p.typed_config))
		rc = walk_provider_config(ctx, t, p.typed_config);
out:
	free(p.name);
	return rc;
}

/* ---- HttpConnectionManager.Tracing ---- */

static int get_percent(struct rw__ctx *ctx, const struct rw__node *v, uint32_t *out)
{
	double p;
	int rc = rw__walk_percent(ctx, v, &p);

	if (rc == 0)
		*out = PERCENT_TO_TENK(p);
	return rc;
}

static int tr_client(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_percent(ctx, v, &TRACING(obj)->client_sampling);
}

static int tr_random(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_percent(ctx, v, &TRACING(obj)->random_sampling);
}

static int tr_overall(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return get_percent(ctx, v, &TRACING(obj)->overall_sampling);
}

static int tr_verbose(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &TRACING(obj)->verbose);
}

static int tr_spawn(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &TRACING(obj)->spawn_upstream_span);
}

static int tr_max_path(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t n;
	int rc = rw__get_uint(ctx, v, UINT32_MAX, &n);

	if (rc == 0)
		TRACING(obj)->max_path_tag_length = (uint32_t)n;
	return rc;
}

/* type.tracing.v3.CustomTag: a tag name and where its value comes from. */
static int ct_tag(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	char *s = NULL;
	int rc = rw__get_string(ctx, v, &s);

	if (rc == 0 && !s[0])
		rc = rw__fail(ctx, v, "tag must not be empty");
	free(s);
	*(bool *)obj = true;
	return rc;
}

static int ct_source(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	(void)obj;
	if (v->kind != RW__NODE_MAP)
		return rw__fail(ctx, v, "expected a mapping");
	return 0;
}

static const struct rw__field custom_tag_fields[] = {
    RW__FIELD("tag", ct_tag),
    RW__FIELD("literal", ct_source),
    RW__FIELD("environment", ct_source),
    RW__FIELD("request_header", ct_source),
    RW__FIELD("metadata", ct_source),
    RW__FIELD("value", drop_string),
};

static int walk_custom_tag(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                           void *obj)
{
	static const char *const sources[] = {"literal", "environment", "request_header",
	                                      "metadata", "value"};
	bool have_tag = false;
	int which, rc = rw__oneof(ctx, item, sources, RW__N(sources), &which);

	(void)index;
	(void)obj;
	if (rc)
		return rc;
	rc = rw__walk_map(ctx, item, custom_tag_fields, RW__N(custom_tag_fields), &have_tag);
	if (rc)
		return rc;
	if (!have_tag)
		return rw__fail(ctx, item, "missing required field 'tag'");
	if (which < 0)
		return rw__fail(ctx, item,
		                "a custom tag needs one of literal, environment, request_header, "
		                "metadata or value");
	return 0;
}

static int tr_custom_tags(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	int rc = rw__walk_seq(ctx, v, walk_custom_tag, obj);

	if (rc == 0)
		TRACING(obj)->n_custom_tags = v->n;
	return rc;
}

static const struct rw__field tracing_fields[] = {
    RW__FIELD("client_sampling", tr_client),
    RW__FIELD("random_sampling", tr_random),
    RW__FIELD("overall_sampling", tr_overall),
    RW__FIELD("verbose", tr_verbose),
    RW__FIELD("max_path_tag_length", tr_max_path),
    RW__FIELD("custom_tags", tr_custom_tags),
    RW__FIELD("provider", tr_provider),
    RW__FIELD("spawn_upstream_span", tr_spawn),
};

int rw__walk_tracing(struct rw__ctx *ctx, const struct rw__node *map, struct rw_config_tracing *t)
{
	t->present = true;
	t->provider = RW_CONFIG_TRACER_NONE;
	t->client_sampling = RW_CONFIG_DEFAULT_TRACING_PERCENT;
	t->random_sampling = RW_CONFIG_DEFAULT_TRACING_PERCENT;
	t->overall_sampling = RW_CONFIG_DEFAULT_TRACING_PERCENT;
	t->max_path_tag_length = RW_CONFIG_DEFAULT_MAX_PATH_TAG_LEN;
	t->shared_span_context = true;
	return rw__walk_map(ctx, map, tracing_fields, RW__N(tracing_fields), t);
}

void rw__tracing_free(struct rw_config_tracing *t)
{
	free(t->collector_cluster);
	free(t->collector_endpoint);
	free(t->service_name);
}
