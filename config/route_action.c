/*
 * The three things a route can do: config.route.v3.RouteAction (forward to a cluster, a
 * header-named cluster or a weighted split), RedirectAction and DirectResponseAction.
 *
 * Clusters named here are checked against static_resources.clusters after the whole
 * document is read (bootstrap.c), like tcp_proxy's; the route config drops those checks
 * again when it says validate_clusters: false.  A direct response body given by filename is
 * read now, once, as Envoy does, and bounded by max_direct_response_body_size_bytes.
 *
 * A RouteAction's retry_policy and hash_policy live in retry_policy.c and hash_policy.c;
 * its ratelimit / fault overrides come from the route's (or virtual host's)
 * typed_per_filter_config (per_filter_config.c, route.c), and its retry policy from the
 * virtual host when it has none (route.c).  Everything is owned by the action and freed by
 * rw__route_action_free().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/internal.h"

/* Weighted clusters: the walk state for one weighted_clusters message. */
struct weighted {
	struct rw_config_route_action *a;
	bool have_total;
	uint32_t total;
	const struct rw__node *total_node;
};

static int cw_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_weighted_cluster *w = obj;
	int rc = rw__get_string(ctx, v, &w->name);

	if (rc == 0 && !w->name[0])
		return rw__fail(ctx, v, "cluster name must not be empty");
	return rc;
}

static int cw_weight(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t weight;
	int rc = rw__get_uint(ctx, v, UINT32_MAX, &weight);

	if (rc == 0)
		((struct rw_config_weighted_cluster *)obj)->weight = (uint32_t)weight;
	return rc;
}

static const struct rw__field cluster_weight_fields[] = {
    RW__FIELD("name", cw_name),
    RW__UNSUPPORTED("cluster_header"),
    RW__FIELD("weight", cw_weight),
    RW__UNSUPPORTED("metadata_match"),
    RW__HEADER_MUTATION_FIELDS,
    RW__UNSUPPORTED("typed_per_filter_config"),
    RW__UNSUPPORTED("host_rewrite_literal"),
};

static int walk_cluster_weight(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                               void *obj)
{
	struct rw_config_weighted_cluster *w = &((struct rw_config_weighted_cluster *)obj)[index];
	int rc = rw__walk_map(ctx, item, cluster_weight_fields, RW__N(cluster_weight_fields), w);

	if (rc == 0)
		rc = rw__walk_header_mutations(ctx, item, &w->headers);
	if (rc)
		return rc;
	if (!w->name)
		return rw__fail(ctx, item, "missing required field 'name'");
	return rw__remember_cluster_ref(ctx, item, "name", w->name, "weighted cluster");
}

static int wc_clusters(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_action *a = ((struct weighted *)obj)->a;
	int rc =
	    rw__alloc_items(ctx, v, sizeof(*a->weighted), (void **)&a->weighted, &a->n_weighted);

	return rc ? rc : rw__walk_seq(ctx, v, walk_cluster_weight, a->weighted);
}

static int wc_total_weight(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct weighted *wc = obj;
	uint64_t total;
	int rc = rw__get_uint_range(ctx, v, "total_weight", 1, UINT32_MAX, &total);

	wc->have_total = true;
	wc->total = (uint32_t)total;
	wc->total_node = v;
	return rc;
}

static const struct rw__field weighted_fields[] = {
    RW__FIELD("clusters", wc_clusters),        RW__FIELD("total_weight", wc_total_weight),
    RW__UNSUPPORTED("runtime_key_prefix"),     RW__UNSUPPORTED("header_name"),
    RW__UNSUPPORTED("random_value_specifier"),
};

static int ra_weighted(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct weighted wc = {.a = obj};
	uint64_t sum = 0;
	int rc;

	wc.a->specifier = RW_CONFIG_ROUTE_WEIGHTED;
	rc = rw__walk_map(ctx, v, weighted_fields, RW__N(weighted_fields), &wc);
	if (rc)
		return rc;
	if (wc.a->n_weighted == 0)
		return rw__fail(ctx, v, "weighted_clusters needs at least one cluster");
	for (size_t i = 0; i < wc.a->n_weighted; i++)
		sum += wc.a->weighted[i].weight;
	if (sum == 0 || sum > UINT32_MAX)
		return rw__fail(ctx, v, "the sum of the weights must be in 1..4294967295 (is %llu)",
		                (unsigned long long)sum);
	if (wc.have_total && sum != wc.total) {
		rw__path_key(ctx, "total_weight", 12);
		return rw__fail(
		    ctx, wc.total_node,
		    "the weights of weighted_clusters add up to %llu, not total_weight %u",
		    (unsigned long long)sum, wc.total);
	}
	wc.a->total_weight = (uint32_t)sum;
	return 0;
}

static int ra_cluster(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_action *a = obj;
	int rc = rw__get_string(ctx, v, &a->cluster);

	a->specifier = RW_CONFIG_ROUTE_CLUSTER;
	if (rc == 0 && !a->cluster[0])
		return rw__fail(ctx, v, "cluster must not be empty");
	return rc;
}

static int ra_cluster_header(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_action *a = obj;

	a->specifier = RW_CONFIG_ROUTE_CLUSTER_HEADER;
	return rw__get_header_name(ctx, v, &a->cluster);
}

static int ra_not_found_code(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const codes[] = {"SERVICE_UNAVAILABLE", "NOT_FOUND",
	                                    "INTERNAL_SERVER_ERROR"};
	static const uint16_t status[] = {503, 404, 500};
	size_t c;
	int rc = rw__get_enum(ctx, v, codes, RW__N(codes), &c);

	if (rc == 0)
		((struct rw_config_route_action *)obj)->cluster_not_found_status = status[c];
	return rc;
}

static int ra_prefix_rewrite(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct rw_config_route_action *)obj)->prefix_rewrite);
}

static int ra_regex_rewrite(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_action *a = obj;

	return rw__get_regex_substitute(ctx, v, &a->regex_rewrite_pattern,
	                                &a->regex_rewrite_substitution);
}

static int ra_host_literal(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_action *a = obj;

	a->host_rewrite = RW_CONFIG_HOST_REWRITE_LITERAL;
	return rw__get_string(ctx, v, &a->host_rewrite_value);
}

static int ra_host_auto(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_action *a = obj;
	bool on;
	int rc = rw__get_bool(ctx, v, &on);

	if (rc == 0 && on)
		a->host_rewrite = RW_CONFIG_HOST_REWRITE_AUTO;
	return rc;
}

static int ra_host_header(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_action *a = obj;

	a->host_rewrite = RW_CONFIG_HOST_REWRITE_HEADER;
	return rw__get_header_name(ctx, v, &a->host_rewrite_value);
}

static int ra_timeout(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_duration_ms(ctx, v, &((struct rw_config_route_action *)obj)->timeout_ms);
}

static int ra_idle_timeout(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_action *a = obj;

	a->idle_timeout_set = true;
	return rw__get_duration_ms(ctx, v, &a->idle_timeout_ms);
}

static int ra_upgrades(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_action *a = obj;

	return rw__walk_upgrades(ctx, v, &a->upgrades, &a->n_upgrades, true);
}

static int ra_retry_policy(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__walk_retry_policy(ctx, v, &((struct rw_config_route_action *)obj)->retry);
}

static int ra_hash_policy(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_route_action *a = obj;
	int rc = rw__walk_hash_policies(ctx, v, &a->hash_policies, &a->n_hash_policies);

	return rc;
}

static const char *const cluster_oneof[] = {"cluster", "cluster_header", "weighted_clusters",
                                            "cluster_specifier_plugin",
                                            "inline_cluster_specifier_plugin"};
static const char *const host_oneof[] = {"host_rewrite_literal", "auto_host_rewrite",
                                         "host_rewrite_header", "host_rewrite_path_regex"};
/* Not one proto oneof, but Envoy refuses more than one of them. */
static const char *const rewrite_oneof[] = {"prefix_rewrite", "regex_rewrite",
                                            "path_rewrite_policy"};

static const struct rw__field route_action_fields[] = {
    RW__FIELD("cluster", ra_cluster),
    RW__FIELD("cluster_header", ra_cluster_header),
    RW__FIELD("weighted_clusters", ra_weighted),
    RW__UNSUPPORTED("cluster_specifier_plugin"),
    RW__UNSUPPORTED("inline_cluster_specifier_plugin"),
    RW__FIELD("cluster_not_found_response_code", ra_not_found_code),
    RW__UNSUPPORTED("metadata_match"),
    RW__FIELD("prefix_rewrite", ra_prefix_rewrite),
    RW__FIELD("regex_rewrite", ra_regex_rewrite),
    RW__UNSUPPORTED("path_rewrite_policy"),
    RW__UNSUPPORTED("path_rewrite"),
    RW__FIELD("host_rewrite_literal", ra_host_literal),
    RW__FIELD("auto_host_rewrite", ra_host_auto),
    RW__FIELD("host_rewrite_header", ra_host_header),
    RW__UNSUPPORTED("host_rewrite_path_regex"),
    RW__UNSUPPORTED("append_x_forwarded_host"),
    RW__FIELD("timeout", ra_timeout),
    RW__FIELD("idle_timeout", ra_idle_timeout),
    RW__UNSUPPORTED("early_data_policy"),
    RW__FIELD("retry_policy", ra_retry_policy),
    RW__UNSUPPORTED("retry_policy_typed_config"),
    RW__UNSUPPORTED("request_mirror_policies"),
    RW__UNSUPPORTED("priority"),
    RW__UNSUPPORTED("rate_limits"),
    RW__UNSUPPORTED("include_vh_rate_limits"),
    RW__FIELD("hash_policy", ra_hash_policy),
    RW__UNSUPPORTED("cors"),
    RW__UNSUPPORTED("max_grpc_timeout"),
    RW__UNSUPPORTED("grpc_timeout_offset"),
    RW__FIELD("upgrade_configs", ra_upgrades),
    RW__UNSUPPORTED("internal_redirect_policy"),
    RW__UNSUPPORTED("internal_redirect_action"),
    RW__UNSUPPORTED("max_internal_redirects"),
    RW__UNSUPPORTED("hedge_policy"),
    RW__UNSUPPORTED("max_stream_duration"),
};

int rw__walk_route_action(struct rw__ctx *ctx, const struct rw__node *map,
                          struct rw_config_route_action *a)
{
	int which, rc = rw__oneof(ctx, map, cluster_oneof, RW__N(cluster_oneof), &which);

	if (rc == 0)
		rc = rw__oneof(ctx, map, host_oneof, RW__N(host_oneof), &which);
	if (rc == 0)
		rc = rw__oneof(ctx, map, rewrite_oneof, RW__N(rewrite_oneof), &which);
	if (rc)
		return rc;
	a->cluster_not_found_status = 503;
	a->timeout_ms = RW_CONFIG_DEFAULT_ROUTE_TIMEOUT_MS;
	rc = rw__walk_map(ctx, map, route_action_fields, RW__N(route_action_fields), a);
	if (rc)
		return rc;
	if (!a->specifier)
		return rw__fail(ctx, map,
		                "a route action needs one of 'cluster', 'cluster_header', "
		                "'weighted_clusters'");
	if (a->specifier == RW_CONFIG_ROUTE_CLUSTER)
		return rw__remember_cluster_ref(ctx, map, "cluster", a->cluster, "route cluster");
	return 0;
}

void rw__route_action_free(struct rw_config_route_action *a)
{
	free(a->cluster);
	for (size_t i = 0; i < a->n_weighted; i++) {
		free(a->weighted[i].name);
		rw__header_mutations_free(&a->weighted[i].headers);
	}
	free(a->weighted);
	free(a->prefix_rewrite);
	free(a->regex_rewrite_pattern);
	free(a->regex_rewrite_substitution);
	free(a->host_rewrite_value);
	rw__upgrades_free(a->upgrades, a->n_upgrades);
	rw__retry_policy_free(&a->retry);
	rw__hash_policies_free(a->hash_policies, a->n_hash_policies);
	if (a->ratelimit)
		rw__local_ratelimit_free(a->ratelimit);
	free(a->ratelimit);
	if (a->fault)
		rw__fault_free(a->fault);
	free(a->fault);
}

static int rd_https(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_redirect *r = obj;
	bool on;
	int rc = rw__get_bool(ctx, v, &on);

	if (rc || !on)
		return rc;
	r->scheme = rw__strdup("https");
	return r->scheme ? 0 : rw__fail_oom(ctx);
}

static int rd_scheme(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct rw_config_redirect *)obj)->scheme);
}

static int rd_host(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_string(ctx, v, &((struct rw_config_redirect *)obj)->host);
}

static int rd_port(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t port;
	int rc = rw__get_uint(ctx, v, 65535, &port);

	if (rc == 0)
		((struct rw_config_redirect *)obj)->port = (uint16_t)port;
	return rc;
}

static int rd_path_string(struct rw__ctx *ctx, const struct rw__node *v, void *obj,
                          enum rw_config_redirect_path kind)
{
	struct rw_config_redirect *r = obj;

	r->path_kind = kind;
	return rw__get_string(ctx, v, &r->path);
}

static int rd_path(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rd_path_string(ctx, v, obj, RW_CONFIG_REDIRECT_PATH_REPLACE);
}

static int rd_prefix(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rd_path_string(ctx, v, obj, RW_CONFIG_REDIRECT_PATH_PREFIX);
}

static int rd_regex(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_redirect *r = obj;

	r->path_kind = RW_CONFIG_REDIRECT_PATH_REGEX;
	return rw__get_regex_substitute(ctx, v, &r->path, &r->regex_substitution);
}

static int rd_code(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const codes[] = {"MOVED_PERMANENTLY", "FOUND", "SEE_OTHER",
	                                    "TEMPORARY_REDIRECT", "PERMANENT_REDIRECT"};
	static const uint16_t status[] = {301, 302, 303, 307, 308};
	size_t c;
	int rc = rw__get_enum(ctx, v, codes, RW__N(codes), &c);

	if (rc == 0)
		((struct rw_config_redirect *)obj)->response_code = status[c];
	return rc;
}

static int rd_strip_query(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct rw_config_redirect *)obj)->strip_query);
}

static const char *const scheme_oneof[] = {"https_redirect", "scheme_redirect"};
static const char *const redirect_path_oneof[] = {"path_redirect", "prefix_rewrite",
                                                  "regex_rewrite"};

static const struct rw__field redirect_fields[] = {
    RW__FIELD("https_redirect", rd_https),    RW__FIELD("scheme_redirect", rd_scheme),
    RW__FIELD("host_redirect", rd_host),      RW__FIELD("port_redirect", rd_port),
    RW__FIELD("path_redirect", rd_path),      RW__FIELD("prefix_rewrite", rd_prefix),
    RW__FIELD("regex_rewrite", rd_regex),     RW__FIELD("response_code", rd_code),
    RW__FIELD("strip_query", rd_strip_query),
};

int rw__walk_redirect(struct rw__ctx *ctx, const struct rw__node *map, struct rw_config_redirect *r)
{
	int which, rc = rw__oneof(ctx, map, scheme_oneof, RW__N(scheme_oneof), &which);

	if (rc == 0)
		rc = rw__oneof(ctx, map, redirect_path_oneof, RW__N(redirect_path_oneof), &which);
	if (rc)
		return rc;
	r->response_code = 301;
	return rw__walk_map(ctx, map, redirect_fields, RW__N(redirect_fields), r);
}

void rw__redirect_free(struct rw_config_redirect *r)
{
	free(r->scheme);
	free(r->host);
	free(r->path);
	free(r->regex_substitution);
}

/* DataSource bodies, bounded by ctx->max_direct_body. */
static int body_too_large(struct rw__ctx *ctx, const struct rw__node *v)
{
	return rw__fail(ctx, v,
	                "direct_response body is larger than max_direct_response_body_size_bytes "
	                "(%u)",
	                ctx->max_direct_body);
}

static int body_inline_string(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_direct_response *d = obj;
	int rc = rw__get_string(ctx, v, &d->body);

	if (rc)
		return rc;
	d->body_len = strlen(d->body);
	return d->body_len > ctx->max_direct_body ? body_too_large(ctx, v) : 0;
}

static int base64_value(unsigned char c)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p;

	if (c == '-')
		return 62; /* protobuf's JSON parser also accepts the URL-safe alphabet */
	if (c == '_')
		return 63;
	p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

static int body_inline_bytes(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_direct_response *d = obj;
	const char *t = v->u.s.text;
	size_t n = v->n, out = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (v->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, v, "expected a base64 string");
	while (n > 0 && t[n - 1] == '=')
		n--;
	if (n * 3 / 4 > ctx->max_direct_body)
		return body_too_large(ctx, v);
	free(d->body);
	d->body = rw__malloc(n * 3 / 4 + 1);
	if (!d->body)
		return rw__fail_oom(ctx);
	for (size_t i = 0; i < n; i++) {
		int b = base64_value((unsigned char)t[i]);

		if (b < 0)
			return rw__fail(ctx, v, "invalid base64 at offset %zu", i);
		acc = acc << 6 | (uint32_t)b;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d->body[out++] = (char)(acc >> bits & 0xff);
		}
	}
	if (bits >= 6)
		return rw__fail(ctx, v, "invalid base64: truncated");
	d->body[out] = '\0';
	d->body_len = out;
	return 0;
}

static int body_filename(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_direct_response *d = obj;
	char *name = NULL, shown[160];
	size_t cap = (size_t)ctx->max_direct_body + 1, used = 0;
	int fd, open_errno, rc = rw__get_string(ctx, v, &name);

	if (rc)
		return rc;
	rw__escape(shown, sizeof(shown), name, strlen(name));
	fd = name[0] ? open(name, O_RDONLY | O_CLOEXEC) : -1;
	open_errno = name[0] ? errno : ENOENT;
	free(name);
	if (fd < 0)
		return rw__fail(ctx, v, "cannot read '%s': %s", shown, strerror(open_errno));
	free(d->body);
	d->body = rw__malloc(cap + 1);
	if (!d->body) {
		close(fd);
		return rw__fail_oom(ctx);
	}
	while (used < cap) {
		ssize_t got = read(fd, d->body + used, cap - used);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			rc = got < 0 ? errno : 0;
			break;
		}
		used += (size_t)got;
	}
	close(fd);
	if (rc)
		return rw__fail(ctx, v, "cannot read '%s': %s", shown, strerror(rc));
	d->body[used] = '\0';
	d->body_len = used;
	return used > ctx->max_direct_body ? body_too_large(ctx, v) : 0;
}

static const char *const body_oneof[] = {"filename", "inline_bytes", "inline_string",
                                         "environment_variable"};

static const struct rw__field body_fields[] = {
    RW__FIELD("filename", body_filename),           RW__FIELD("inline_bytes", body_inline_bytes),
    RW__FIELD("inline_string", body_inline_string), RW__UNSUPPORTED("environment_variable"),
    RW__UNSUPPORTED("watched_directory"),
};

static int dr_body(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	int which, rc = rw__oneof(ctx, v, body_oneof, RW__N(body_oneof), &which);

	return rc ? rc : rw__walk_map(ctx, v, body_fields, RW__N(body_fields), obj);
}

static int dr_status(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	uint64_t status;
	int rc = rw__get_uint_range(ctx, v, "status", 100, 599, &status);

	if (rc == 0)
		((struct rw_config_direct_response *)obj)->status = (uint16_t)status;
	return rc;
}

static const struct rw__field direct_response_fields[] = {
    RW__FIELD("status", dr_status),
    RW__FIELD("body", dr_body),
};

int rw__walk_direct_response(struct rw__ctx *ctx, const struct rw__node *map,
                             struct rw_config_direct_response *d)
{
	int rc = rw__walk_map(ctx, map, direct_response_fields, RW__N(direct_response_fields), d);

	if (rc)
		return rc;
	if (!d->status)
		return rw__fail(ctx, map, "missing required field 'status'");
	return 0;
}
