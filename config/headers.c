/*
 * Header names and the *_headers_to_add / *_headers_to_remove lists that RouteConfiguration,
 * VirtualHost, Route and WeightedCluster.ClusterWeight all carry.
 *
 * Names are validated as HTTP tokens and stored lowercased (HTTP/2 and Envoy's header maps
 * are lowercase).  Values are stored as written: their "%VAR%" command operators are
 * expanded per request by the data path, but a typo in one is caught here, at load, the way
 * Envoy's header formatter refuses an unknown or unterminated operator.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/internal.h"

/* RFC 9110 tchar. */
static bool is_token_char(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

int rw__get_header_name(struct rw__ctx *ctx, const struct rw__node *node, char **out)
{
	char shown[80];
	int rc = rw__get_string(ctx, node, out);

	if (rc)
		return rc;
	if (!(*out)[0])
		return rw__fail(ctx, node, "header name must not be empty");
	for (char *p = *out; *p; p++) {
		/* A leading ':' names an HTTP/2 pseudo-header (":authority"), as in Envoy. */
		if (!is_token_char((unsigned char)*p) && !(p == *out && *p == ':' && p[1])) {
			rw__escape(shown, sizeof(shown), *out, strlen(*out));
			return rw__fail(ctx, node, "invalid header name '%s'", shown);
		}
		*p = (char)tolower((unsigned char)*p);
	}
	return 0;
}

/* Envoy refuses to add or remove pseudo-headers and Host through these lists. */
static int check_modifiable(struct rw__ctx *ctx, const struct rw__node *node, const char *name,
                            const char *verb)
{
	char shown[80];

	if (name[0] != ':' && strcmp(name, "host") != 0)
		return 0;
	rw__escape(shown, sizeof(shown), name, strlen(name));
	return rw__fail(ctx, node, "':'-prefixed or host headers may not be %s ('%s')", verb,
	                shown);
}

/*
 * The command operators a header value may use.  An operator taking an argument is written
 * %NAME(arg)%; REQ/RESP may add a ":N" length limit.  Envoy knows more; each is added here
 * when the data path can produce it.
 */
static const struct variable {
	const char *name;
	enum { ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED } arg;
	bool access_log_only; /* known only to access log formats */
} variables[] = {
    {"DOWNSTREAM_REMOTE_ADDRESS", ARG_NONE, false},
    {"DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", ARG_NONE, false},
    {"DOWNSTREAM_REMOTE_PORT", ARG_NONE, false},
    {"DOWNSTREAM_DIRECT_REMOTE_ADDRESS", ARG_NONE, false},
    {"DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT", ARG_NONE, false},
    {"DOWNSTREAM_LOCAL_ADDRESS", ARG_NONE, false},
    {"DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT", ARG_NONE, false},
    {"DOWNSTREAM_LOCAL_PORT", ARG_NONE, false},
    {"HOSTNAME", ARG_NONE, false},
    {"PROTOCOL", ARG_NONE, false},
    {"REQUESTED_SERVER_NAME", ARG_NONE, false},
    {"REQ", ARG_REQUIRED, false},
    {"RESP", ARG_REQUIRED, false},
    {"START_TIME", ARG_OPTIONAL, false},
    {"UPSTREAM_REMOTE_ADDRESS", ARG_NONE, false},
    {"UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", ARG_NONE, false},
    {"UPSTREAM_LOCAL_ADDRESS", ARG_NONE, false},
    {"UPSTREAM_CLUSTER", ARG_NONE, false},
    {"UPSTREAM_HOST", ARG_NONE, false},
    {"RESPONSE_CODE", ARG_NONE, false},
    {"RESPONSE_FLAGS", ARG_NONE, false},
    {"ROUTE_NAME", ARG_NONE, false},
    {"TRACE_ID", ARG_NONE, false},
    {"RESPONSE_CODE_DETAILS", ARG_NONE, true},
    {"BYTES_RECEIVED", ARG_NONE, true},
    {"BYTES_SENT", ARG_NONE, true},
    {"DURATION", ARG_NONE, true},
    {"UPSTREAM_REQUEST_ATTEMPT_COUNT", ARG_NONE, true},
    {"CONNECTION_ID", ARG_NONE, true},
    {"REQUEST_DURATION", ARG_NONE, true},
    {"RESPONSE_DURATION", ARG_NONE, true},
    {"RESPONSE_TX_DURATION", ARG_NONE, true},
    {"COMMON_DURATION", ARG_REQUIRED, true},
    {"TRAILER", ARG_REQUIRED, true},
    {"UPSTREAM_TRANSPORT_FAILURE_REASON", ARG_NONE, true},
};

/* %COMMON_DURATION(START:END:PRECISION)%'s argument, as Envoy checks it. */
static bool common_duration_arg(const char *a, size_t len)
{
	static const char *const points[] = {"DS_RX_BEG", "DS_RX_END", "US_CX_BEG", "US_CX_END",
	                                     "US_TX_BEG", "US_TX_END", "US_RX_BEG", "US_RX_END",
	                                     "DS_TX_BEG", "DS_TX_END"};
	const char *end = a + len;

	for (int part = 0; part < 2; part++) {
		const char *c = memchr(a, ':', (size_t)(end - a));
		bool known = false;

		if (!c)
			return false;
		for (size_t i = 0; i < RW__N(points); i++)
			known |= strlen(points[i]) == (size_t)(c - a) &&
			         memcmp(points[i], a, (size_t)(c - a)) == 0;
		if (!known)
			return false;
		a = c + 1;
	}
	return end - a == 2 &&
	       (memcmp(a, "ms", 2) == 0 || memcmp(a, "us", 2) == 0 || memcmp(a, "ns", 2) == 0);
}

static const struct variable *find_variable(const char *name, size_t len, bool access_log)
{
	for (size_t i = 0; i < RW__N(variables); i++)
		if ((access_log || !variables[i].access_log_only) &&
		    strlen(variables[i].name) == len && memcmp(variables[i].name, name, len) == 0)
			return &variables[i];
	return NULL;
}

int rw__check_operators(struct rw__ctx *ctx, const struct rw__node *node, const char *v,
                        bool access_log)
{
	char shown[80];

	for (size_t i = 0; v[i]; i++) {
		const struct variable *var;
		size_t start = i, name_len;

		if (v[i] != '%')
			continue;
		if (v[i + 1] == '%') {
			i++;
			continue;
		}
		i++;
		while (isupper((unsigned char)v[i]) || isdigit((unsigned char)v[i]) || v[i] == '_')
			i++;
		name_len = i - start - 1;
		rw__escape(shown, sizeof(shown), v + start + 1, name_len);
		var = find_variable(v + start + 1, name_len, access_log);
		if (name_len == 0)
			return rw__fail(ctx, node,
			                "stray '%%' at offset %zu (write %%%% for a literal %%)",
			                start);
		if (v[i] != '%' && v[i] != '(')
			return rw__fail(
			    ctx, node,
			    "unterminated '%%' operator at offset %zu (write %%%% for a "
			    "literal %%)",
			    start);
		if (!var)
			return rw__fail(ctx, node, "unknown variable '%%%s%%' at offset %zu", shown,
			                start);
		if (v[i] == '(') {
			const char *close = strchr(v + i, ')');

			if (var->arg == ARG_NONE)
				return rw__fail(ctx, node, "'%s' takes no argument (offset %zu)",
				                var->name, start);
			if (!close || close == v + i + 1)
				return rw__fail(
				    ctx, node, "'%s' needs an argument like %%%s(x)%% (offset %zu)",
				    var->name, var->name, start);
			if (strcmp(var->name, "COMMON_DURATION") == 0 &&
			    !common_duration_arg(v + i + 1, (size_t)(close - v - i - 1)))
				return rw__fail(
				    ctx, node,
				    "COMMON_DURATION needs START:END:PRECISION, the points "
				    "among DS_RX_BEG, DS_RX_END, US_CX_BEG, US_CX_END, "
				    "US_TX_BEG, US_TX_END, US_RX_BEG, US_RX_END, DS_TX_BEG, "
				    "DS_TX_END and the precision ms, us or ns (offset %zu)",
				    start);
			i = (size_t)(close - v) + 1;
			if (v[i] == ':' && var->arg == ARG_REQUIRED &&
			    isdigit((unsigned char)v[i + 1]))
				for (i++; isdigit((unsigned char)v[i]); i++)
					;
		} else if (var->arg == ARG_REQUIRED) {
			return rw__fail(ctx, node,
			                "'%s' needs an argument like %%%s(x)%% (offset %zu)",
			                var->name, var->name, start);
		}
		if (v[i] != '%')
			return rw__fail(
			    ctx, node,
			    "unterminated '%%' operator at offset %zu (write %%%% for a "
			    "literal %%)",
			    start);
	}
	return 0;
}

/* config.core.v3.HeaderValue, filling key/value of an rw_config_header_add. */
static int hv_key(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_header_add *h = obj;
	int rc = rw__get_header_name(ctx, v, &h->key);

	return rc ? rc : check_modifiable(ctx, v, h->key, "modified");
}

static int hv_value(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_header_add *h = obj;
	int rc = rw__get_string(ctx, v, &h->value);

	if (rc)
		return rc;
	if (strpbrk(h->value, "\r\n"))
		return rw__fail(ctx, v, "header value must not contain CR or LF");
	return rw__check_operators(ctx, v, h->value, false);
}

static const struct rw__field header_value_fields[] = {
    RW__FIELD("key", hv_key),
    RW__FIELD("value", hv_value),
    RW__UNSUPPORTED("raw_value"),
};

static int hvo_header(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_header_add *h = obj;
	int rc = rw__walk_map(ctx, v, header_value_fields, RW__N(header_value_fields), h);

	if (rc)
		return rc;
	if (!h->key)
		return rw__fail(ctx, v, "missing required field 'key'");
	if (!h->value) {
		h->value = rw__strdup("");
		if (!h->value)
			return rw__fail_oom(ctx);
	}
	return 0;
}

static int hvo_append(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_header_add *h = obj;
	bool append;
	int rc = rw__get_bool(ctx, v, &append);

	if (rc == 0)
		h->append_action = append ? RW_CONFIG_APPEND_IF_EXISTS_OR_ADD
		                          : RW_CONFIG_OVERWRITE_IF_EXISTS_OR_ADD;
	return rc;
}

static int hvo_append_action(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const actions[] = {"APPEND_IF_EXISTS_OR_ADD", "ADD_IF_ABSENT",
	                                      "OVERWRITE_IF_EXISTS_OR_ADD", "OVERWRITE_IF_EXISTS"};
	size_t a;
	int rc = rw__get_enum(ctx, v, actions, RW__N(actions), &a);

	if (rc == 0)
		((struct rw_config_header_add *)obj)->append_action =
		    (enum rw_config_header_append)a;
	return rc;
}

static int hvo_keep_empty(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_bool(ctx, v, &((struct rw_config_header_add *)obj)->keep_empty_value);
}

static const struct rw__field header_option_fields[] = {
    RW__FIELD("header", hvo_header),
    RW__FIELD("append", hvo_append),
    RW__FIELD("append_action", hvo_append_action),
    RW__FIELD("keep_empty_value", hvo_keep_empty),
};

static int walk_header_add(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                           void *obj)
{
	struct rw_config_header_add *h = &((struct rw_config_header_add *)obj)[index];
	static const char *const append_oneof[] = {"append", "append_action"};
	int which,
	    rc = rw__walk_map(ctx, item, header_option_fields, RW__N(header_option_fields), h);

	if (rc)
		return rc;
	if (!h->key)
		return rw__fail(ctx, item, "missing required field 'header'");
	/* Not a proto oneof, but Envoy refuses both at once the same way. */
	return rw__oneof(ctx, item, append_oneof, RW__N(append_oneof), &which);
}

static int walk_header_remove(struct rw__ctx *ctx, const struct rw__node *item, size_t index,
                              void *obj)
{
	char **names = obj;
	int rc = rw__get_header_name(ctx, item, &names[index]);

	return rc ? rc : check_modifiable(ctx, item, names[index], "removed");
}

static int walk_adds(struct rw__ctx *ctx, const struct rw__node *v,
                     struct rw_config_header_add **out, size_t *n)
{
	int rc = rw__alloc_items(ctx, v, sizeof(**out), (void **)out, n);

	return rc ? rc : rw__walk_seq(ctx, v, walk_header_add, *out);
}

static int walk_removes(struct rw__ctx *ctx, const struct rw__node *v, char ***out, size_t *n)
{
	int rc = rw__alloc_items(ctx, v, sizeof(**out), (void **)out, n);

	return rc ? rc : rw__walk_seq(ctx, v, walk_header_remove, *out);
}

int rw__walk_header_mutations(struct rw__ctx *ctx, const struct rw__node *map,
                              struct rw_config_header_mutations *hm)
{
	static const char *const names[] = {"request_headers_to_add", "request_headers_to_remove",
	                                    "response_headers_to_add",
	                                    "response_headers_to_remove"};

	for (size_t i = 0; i < RW__N(names); i++) {
		const struct rw__node *key = rw__map_get(map, names[i], true);
		const struct rw__node *v = rw__map_get(map, names[i], false);
		size_t saved;
		int rc;

		if (!key || rw__is_null(v))
			continue;
		saved = rw__path_key(ctx, key->u.s.text, key->n);
		switch (i) {
		case 0:
			rc = walk_adds(ctx, v, &hm->request_add, &hm->n_request_add);
			break;
		case 1:
			rc = walk_removes(ctx, v, &hm->request_remove, &hm->n_request_remove);
			break;
		case 2:
			rc = walk_adds(ctx, v, &hm->response_add, &hm->n_response_add);
			break;
		default:
			rc = walk_removes(ctx, v, &hm->response_remove, &hm->n_response_remove);
			break;
		}
		if (rc)
			return rc;
		rw__path_pop(ctx, saved);
	}
	return 0;
}

static void free_adds(struct rw_config_header_add *adds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(adds[i].key);
		free(adds[i].value);
	}
	free(adds);
}

static void free_removes(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void rw__header_mutations_free(struct rw_config_header_mutations *hm)
{
	free_adds(hm->request_add, hm->n_request_add);
	free_removes(hm->request_remove, hm->n_request_remove);
	free_adds(hm->response_add, hm->n_response_add);
	free_removes(hm->response_remove, hm->n_response_remove);
}
