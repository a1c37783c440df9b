/*
 * config.route.v3.RouteMatch: the path specifier (prefix, path, safe_regex,
 * path_separated_prefix), header matchers, query parameter matchers, and the
 * type.matcher.v3.StringMatcher they share.
 *
 * Protobuf oneofs are checked before the field walk, so "prefix and path both set" is
 * reported as such rather than as whichever field happened to come second.  The deprecated
 * HeaderMatcher.*_match fields are still accepted, as Envoy accepts them, and stored the same
 * way as their string_match equivalents.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* StringMatcher fields write the kind and value; the oneof is checked by the caller. */
static int set_string(struct rw__ctx *ctx, const struct rw__node *v,
                      struct rw_config_string_match *sm, enum rw_config_string_match_kind kind)
{
	int rc = rw__get_string(ctx, v, &sm->value);

	if (rc)
		return rc;
	sm->kind = kind;
	if (!sm->value[0] && kind != RW_CONFIG_STRING_EXACT)
		return rw__fail(ctx, v, "value must not be empty");
	return 0;
}

static int sm_exact(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return set_string(ctx, v, obj, RW_CONFIG_STRING_EXACT);
}

static int sm_prefix(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return set_string(ctx, v, obj, RW_CONFIG_STRING_PREFIX);
}

static int sm_suffix(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return set_string(ctx, v, obj, RW_CONFIG_STRING_SUFFIX);
}

static int sm_contains(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return set_string(ctx, v, obj, RW_CONFIG_STRING_CONTAINS);
}

static int sm_safe_regex(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_string_match *sm = obj;

	sm->kind = RW_CONFIG_STRING_REGEX;
	return rw__get_regex_matcher(ctx, v, &sm->value, NULL);
}

static int sm_ignore_case(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct rw_config_string_match *)obj)->ignore_case);
}

static const char *const string_oneof[] = {"exact",      "prefix",   "suffix",
                                           "safe_regex", "contains", "custom"};

static const struct rw__field string_match_fields[] = {
    RW__FIELD("exact", sm_exact),
    RW__FIELD("prefix", sm_prefix),
    RW__FIELD("suffix", sm_suffix),
    RW__FIELD("safe_regex", sm_safe_regex),
    RW__FIELD("contains", sm_contains),
    RW__UNSUPPORTED("custom"),
    RW__FIELD("ignore_case", sm_ignore_case),
};

static int walk_string_match(struct rw__ctx *ctx, const struct rw__node *v,
                             struct rw_config_string_match *sm)
{
	int which, rc = rw__oneof(ctx, v, string_oneof, RW__N(string_oneof), &which);

	if (rc)
		return rc;
	rc = rw__walk_map(ctx, v, string_match_fields, RW__N(string_match_fields), sm);
	if (rc)
		return rc;
	if (!sm->kind)
		return rw__fail(ctx, v,
		                "a string matcher needs one of 'exact', 'prefix', 'suffix', "
		                "'contains', 'safe_regex'");
	return 0;
}

/* HeaderMatcher and QueryParameterMatcher share kind/string/present. */
static int hm_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_header_name(ctx, v, &((struct rw_config_header_match *)obj)->name);
}

static int hm_string_match(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_header_match *hm = obj;

	hm->kind = RW_CONFIG_VALUE_STRING;
	return walk_string_match(ctx, v, &hm->string);
}

static int hm_present(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_header_match *hm = obj;

	hm->kind = RW_CONFIG_VALUE_PRESENT;
	return rw__get_bool(ctx, v, &hm->present);
}

static int hm_deprecated(struct rw__ctx *ctx, const struct rw__node *v, void *obj,
                         enum rw_config_string_match_kind kind)
{
	struct rw_config_header_match *hm = obj;

	hm->kind = RW_CONFIG_VALUE_STRING;
	return set_string(ctx, v, &hm->string, kind);
}

static int hm_exact(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return hm_deprecated(ctx, v, obj, RW_CONFIG_STRING_EXACT);
}

static int hm_prefix(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return hm_deprecated(ctx, v, obj, RW_CONFIG_STRING_PREFIX);
}

static int hm_suffix(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return hm_deprecated(ctx, v, obj, RW_CONFIG_STRING_SUFFIX);
}

static int hm_contains(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return hm_deprecated(ctx, v, obj, RW_CONFIG_STRING_CONTAINS);
}

static int hm_safe_regex(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_header_match *hm = obj;

	hm->kind = RW_CONFIG_VALUE_STRING;
	hm->string.kind = RW_CONFIG_STRING_REGEX;
	return rw__get_regex_matcher(ctx, v, &hm->string.value, NULL);
}

static int hm_invert(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct rw_config_header_match *)obj)->invert_match);
}

static int hm_treat_missing(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v,
	                    &((struct rw_config_header_match *)obj)->treat_missing_header_as_empty);
}

static const char *const header_oneof[] = {
    "exact_match",  "safe_regex_match", "range_match",    "present_match",
    "prefix_match", "suffix_match",     "contains_match", "string_match",
};

static const struct rw__field header_match_fields[] = {
    RW__FIELD("name", hm_name),
    RW__FIELD("exact_match", hm_exact),
    RW__FIELD("safe_regex_match", hm_safe_regex),
    RW__UNSUPPORTED("range_match"),
    RW__FIELD("present_match", hm_present),
    RW__FIELD("prefix_match", hm_prefix),
    RW__FIELD("suffix_match", hm_suffix),
    RW__FIELD("contains_match", hm_contains),
    RW__FIELD("string_match", hm_string_match),
    RW__FIELD("invert_match", hm_invert),
    RW__FIELD("treat_missing_header_as_empty", hm_treat_missing),
};

static int walk_header_match(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                             void *obj)
{
	struct rw_config_header_match *hm = &((struct rw_config_header_match *)obj)[index];
	int which, rc = rw__oneof(ctx, item, header_oneof, RW__N(header_oneof), &which);

	if (rc)
		return rc;
	rc = rw__walk_map(ctx, item, header_match_fields, RW__N(header_match_fields), hm);
	if (rc)
		return rc;
	if (!hm->name)
		return rw__fail(ctx, item, "missing required field 'name'");
	/* No value matcher at all: Envoy checks that the header is present. */
	if (!hm->kind) {
		hm->kind = RW_CONFIG_VALUE_PRESENT;
		hm->present = true;
	}
	return 0;
}

static int qm_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_query_match *qm = obj;
	int rc = rw__get_string(ctx, v, &qm->name);

	if (rc)
		return rc;
	if (!qm->name[0] || strlen(qm->name) > 1024)
		return rw__fail(ctx, v, "query parameter name must be 1..1024 bytes long");
	return 0;
}

static int qm_string_match(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_query_match *qm = obj;

	qm->kind = RW_CONFIG_VALUE_STRING;
	return walk_string_match(ctx, v, &qm->string);
}

static int qm_present(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_query_match *qm = obj;

	qm->kind = RW_CONFIG_VALUE_PRESENT;
	return rw__get_bool(ctx, v, &qm->present);
}

static const char *const query_oneof[] = {"string_match", "present_match"};

static const struct rw__field query_match_fields[] = {
    RW__FIELD("name", qm_name),
    RW__FIELD("string_match", qm_string_match),
    RW__FIELD("present_match", qm_present),
};

static int walk_query_match(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                            void *obj)
{
	struct rw_config_query_match *qm = &((struct rw_config_query_match *)obj)[index];
	int which, rc = rw__oneof(ctx, item, query_oneof, RW__N(query_oneof), &which);

	if (rc)
		return rc;
	rc = rw__walk_map(ctx, item, query_match_fields, RW__N(query_match_fields), qm);
	if (rc)
		return rc;
	if (!qm->name)
		return rw__fail(ctx, item, "missing required field 'name'");
	if (!qm->kind) {
		qm->kind = RW_CONFIG_VALUE_PRESENT;
		qm->present = true;
	}
	return 0;
}

static int set_path(struct rw__ctx *ctx, const struct rw__node *v, void *obj,
                    enum rw_config_path_match_kind kind)
{
	struct rw_config_route_match *m = obj;

	m->kind = kind;
	return rw__get_string(ctx, v, &m->path);
}

static int rm_prefix(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return set_path(ctx, v, obj, RW_CONFIG_PATH_PREFIX);
}

static int rm_path(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return set_path(ctx, v, obj, RW_CONFIG_PATH_EXACT);
}

/* Envoy's rule for it: ^[^?#]+[^?#/]$. */
static int rm_separated_prefix(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_match *m = obj;
	size_t n;
	int rc = set_path(ctx, v, obj, RW_CONFIG_PATH_SEPARATED_PREFIX);

	if (rc)
		return rc;
	n = strlen(m->path);
	if (n < 2 || strpbrk(m->path, "?#") || m->path[n - 1] == '/')
		return rw__fail(ctx, v,
		                "path_separated_prefix must be at least 2 characters, without '?' "
		                "or '#', and not end in '/'");
	return 0;
}

static int rm_safe_regex(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_match *m = obj;

	m->kind = RW_CONFIG_PATH_REGEX;
	return rw__get_regex_matcher(ctx, v, &m->path, NULL);
}

static int rm_case_sensitive(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct rw_config_route_match *)obj)->case_sensitive);
}

static int rm_headers(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_match *m = obj;
	int rc = rw__alloc_items(ctx, v, sizeof(*m->headers), (void **)&m->headers, &m->n_headers);

	return rc ? rc : rw__walk_seq(ctx, v, walk_header_match, m->headers);
}

static int rm_query(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_match *m = obj;
	int rc = rw__alloc_items(ctx, v, sizeof(*m->query_parameters),
	                         (void **)&m->query_parameters, &m->n_query_parameters);

	return rc ? rc : rw__walk_seq(ctx, v, walk_query_match, m->query_parameters);
}

static const char *const path_oneof[] = {
    "prefix", "path", "safe_regex", "connect_matcher", "path_separated_prefix", "path_match_policy",
};

static const struct rw__field route_match_fields[] = {
    RW__FIELD("prefix", rm_prefix),
    RW__FIELD("path", rm_path),
    RW__FIELD("safe_regex", rm_safe_regex),
    RW__UNSUPPORTED("connect_matcher"),
    RW__FIELD("path_separated_prefix", rm_separated_prefix),
    RW__UNSUPPORTED("path_match_policy"),
    RW__FIELD("case_sensitive", rm_case_sensitive),
    RW__UNSUPPORTED("runtime_fraction"),
    RW__FIELD("headers", rm_headers),
    RW__FIELD("query_parameters", rm_query),
    RW__UNSUPPORTED("grpc"),
    RW__UNSUPPORTED("tls_context"),
    RW__UNSUPPORTED("dynamic_metadata"),
    RW__UNSUPPORTED("filter_state"),
};

int rw__walk_route_match(struct rw__ctx *ctx, const struct rw__node *map,
                         struct rw_config_route_match *m)
{
	int which, rc = rw__oneof(ctx, map, path_oneof, RW__N(path_oneof), &which);

	if (rc)
		return rc;
	m->case_sensitive = true;
	rc = rw__walk_map(ctx, map, route_match_fields, RW__N(route_match_fields), m);
	if (rc)
		return rc;
	if (!m->kind)
		return rw__fail(ctx, map,
		                "a route match needs one of 'prefix', 'path', 'safe_regex', "
		                "'path_separated_prefix'");
	return 0;
}

void rw__route_match_free(struct rw_config_route_match *m)
{
	free(m->path);
	for (size_t i = 0; i < m->n_headers; i++) {
		free(m->headers[i].name);
		free(m->headers[i].string.value);
	}
	free(m->headers);
	for (size_t i = 0; i < m->n_query_parameters; i++) {
		free(m->query_parameters[i].name);
		free(m->query_parameters[i].string.value);
	}
	free(m->query_parameters);
}

/* A HeaderMatcher list outside RouteMatch (RetryPolicy, HTTPFault): the same walk. */
int rw__walk_header_matchers(struct rw__ctx *ctx, const struct rw__node *seq,
                             struct rw_config_header_match **out, size_t *n)
{
	int rc = rw__alloc_items(ctx, seq, sizeof(**out), (void **)out, n);

	if (rc == 0)
		rc = rw__walk_seq(ctx, seq, walk_header_match, *out);
	/* Outside route matching (retry and fault headers) matchers are evaluated without the
	 * router's PCRE2 programs, so a regex there would never match: refuse it for now. */
	for (size_t i = 0; rc == 0 && i < *n; i++)
		if ((*out)[i].kind == RW_CONFIG_VALUE_STRING &&
		    (*out)[i].string.kind == RW_CONFIG_STRING_REGEX)
			rw__unserved(ctx, seq, "a safe_regex header matcher here");
	return rc;
}

int rw__walk_header_matcher(struct rw__ctx *ctx, const struct rw__node *map,
                            struct rw_config_header_match *out)
{
	int rc = walk_header_match(ctx, map, 0, out);

	/* As in rw__walk_header_matchers: no PCRE2 program outside route matching. */
	if (rc == 0 && out->kind == RW_CONFIG_VALUE_STRING &&
	    out->string.kind == RW_CONFIG_STRING_REGEX)
		rw__unserved(ctx, map, "a safe_regex header matcher here");
	return rc;
}

void rw__header_matchers_free(struct rw_config_header_match *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].name);
		free(m[i].string.value);
	}
	free(m);
}

int rw__header_matchers_copy(struct rw_config_header_match **dst,
                             const struct rw_config_header_match *src, size_t n)
{
	struct rw_config_header_match *m;

	*dst = NULL;
	if (n == 0)
		return 0;
	m = rw__calloc(n, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		m[i] = src[i];
		m[i].name = NULL;
		m[i].string.value = NULL;
	}
	for (size_t i = 0; i < n; i++) {
		m[i].name = rw__strdup(src[i].name);
		if (src[i].string.value)
			m[i].string.value = rw__strdup(src[i].string.value);
		if (!m[i].name || (src[i].string.value && !m[i].string.value)) {
			rw__header_matchers_free(m, n);
			return -ENOMEM;
		}
	}
	*dst = m;
	return 0;
}
