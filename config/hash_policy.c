/*
 * config.route.v3.RouteAction.HashPolicy: the keys a consistent-hash load balancer
 * (RING_HASH, MAGLEV) hashes a request on, tried in order.
 *
 * Each entry has exactly one policy specifier.  connection_properties with source_ip false
 * produces no hash in Envoy (the entry is dropped, terminal and all), and so it is here:
 * such entries are removed from the list.  Cookie names and paths end up in a Set-Cookie
 * header when a ttl is given, so they are checked not to break out of it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

struct hash_walk {
	struct rw_config_hash_policy *h;
	bool dropped; /* connection_properties without source_ip */
};

/* HashPolicy.Header */
static int hh_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_header_name(ctx, v, &((struct rw_config_hash_policy *)obj)->name);
}

static const struct rw__field header_fields[] = {
    RW__FIELD("header_name", hh_name),
    RW__UNSUPPORTED("regex_rewrite"),
};

static int hp_header(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_hash_policy *h = ((struct hash_walk *)obj)->h;
	int rc = rw__walk_map(ctx, v, header_fields, RW__N(header_fields), h);

	h->kind = RW_CONFIG_HASH_HEADER;
	if (rc == 0 && !h->name)
		return rw__fail(ctx, v, "missing required field 'header_name'");
	return rc;
}

/* RFC 6265 cookie-name is an RFC 9110 token. */
static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      strchr("!#$%&'*+-.^_`|~", c)))
			return false;
	}
	return true;
}

/* HashPolicy.Cookie */
static int hc_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_hash_policy *h = obj;
	char shown[80];
	int rc = rw__get_string(ctx, v, &h->name);

	if (rc || is_token(h->name))
		return rc;
	if (!h->name[0])
		return rw__fail(ctx, v, "cookie name must not be empty");
	rw__escape(shown, sizeof(shown), h->name, strlen(h->name));
	return rw__fail(ctx, v, "invalid cookie name '%s'", shown);
}

static int hc_ttl(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_hash_policy *h = obj;

	h->cookie_ttl_set = true;
	return rw__get_duration_ms(ctx, v, &h->cookie_ttl_ms);
}

static int hc_path(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_hash_policy *h = obj;
	int rc = rw__get_string(ctx, v, &h->cookie_path);

	if (rc)
		return rc;
	for (const char *p = h->cookie_path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ';')
			return rw__fail(ctx, v,
			                "cookie path must not contain ';' or control characters");
	return 0;
}

static const struct rw__field cookie_fields[] = {
    RW__FIELD("name", hc_name),
    RW__FIELD("ttl", hc_ttl),
    RW__FIELD("path", hc_path),
    RW__UNSUPPORTED("attributes"),
};

static int hp_cookie(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_hash_policy *h = ((struct hash_walk *)obj)->h;
	int rc = rw__walk_map(ctx, v, cookie_fields, RW__N(cookie_fields), h);

	h->kind = RW_CONFIG_HASH_COOKIE;
	if (rc == 0 && !h->name)
		return rw__fail(ctx, v, "missing required field 'name'");
	return rc;
}

/* HashPolicy.ConnectionProperties */
static int cp_source_ip(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct hash_walk *w = obj;
	bool on;
	int rc = rw__get_bool(ctx, v, &on);

	if (rc == 0 && on) {
		w->h->kind = RW_CONFIG_HASH_SOURCE_IP;
		w->dropped = false;
	}
	return rc;
}

static const struct rw__field connection_fields[] = {
    RW__FIELD("source_ip", cp_source_ip),
};

static int hp_connection(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	((struct hash_walk *)obj)->dropped = true;
	return rw__walk_map(ctx, v, connection_fields, RW__N(connection_fields), obj);
}

/* HashPolicy.QueryParameter */
static int hq_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_hash_policy *h = obj;
	int rc = rw__get_string(ctx, v, &h->name);

	if (rc == 0 && !h->name[0])
		return rw__fail(ctx, v, "query parameter name must not be empty");
	return rc;
}

static const struct rw__field query_fields[] = {
    RW__FIELD("name", hq_name),
};

static int hp_query(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_hash_policy *h = ((struct hash_walk *)obj)->h;
	int rc = rw__walk_map(ctx, v, query_fields, RW__N(query_fields), h);

	h->kind = RW_CONFIG_HASH_QUERY_PARAMETER;
	if (rc == 0 && !h->name)
		return rw__fail(ctx, v, "missing required field 'name'");
	return rc;
}

static int hp_terminal(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct hash_walk *)obj)->h->terminal);
}

static const char *const specifier_oneof[] = {"header", "cookie", "connection_properties",
                                              "query_parameter", "filter_state"};

static const struct rw__field hash_policy_fields[] = {
    RW__FIELD("header", hp_header),
    RW__FIELD("cookie", hp_cookie),
    RW__FIELD("connection_properties", hp_connection),
    RW__FIELD("query_parameter", hp_query),
    RW__UNSUPPORTED("filter_state"),
    RW__FIELD("terminal", hp_terminal),
};

static int walk_hash_policy(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                            void *obj)
{
	struct hash_walk w = {&((struct rw_config_hash_policy *)obj)[index], false};
	int which, rc = rw__oneof(ctx, item, specifier_oneof, RW__N(specifier_oneof), &which);

	if (rc == 0)
		rc = rw__walk_map(ctx, item, hash_policy_fields, RW__N(hash_policy_fields), &w);
	if (rc)
		return rc;
	if (which < 0)
		return rw__fail(ctx, item,
		                "a hash policy needs one of 'header', 'cookie', "
		                "'connection_properties', 'query_parameter'");
	if (w.dropped)
		w.h->kind = 0; /* removed by rw__walk_hash_policies */
	return 0;
}

int rw__walk_hash_policies(struct rw__ctx *ctx, const struct rw__node *seq,
                           struct rw_config_hash_policy **out, size_t *n)
{
	size_t kept = 0;
	int rc = rw__alloc_items(ctx, seq, sizeof(**out), (void **)out, n);

	if (rc == 0)
		rc = rw__walk_seq(ctx, seq, walk_hash_policy, *out);
	if (rc)
		return rc;
	for (size_t i = 0; i < *n; i++)
		if ((*out)[i].kind)
			(*out)[kept++] = (*out)[i];
	*n = kept;
	return 0;
}

void rw__hash_policies_free(struct rw_config_hash_policy *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].cookie_path);
	}
	free(h);
}
