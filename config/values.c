/*
 * Scalar values as protobuf's JSON mapping spells them, since that is what Envoy accepts:
 * integers may be quoted ("1048576"), durations are strings of seconds with an "s" suffix
 * ("0.25s") or a {seconds, nanos} object, enums are their UPPER_CASE names, and addresses
 * are core.v3.Address messages.  Each getter reports its own error against the node.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* google.protobuf.Duration's range: +-10,000 years. */
#define DURATION_MAX_SECONDS 315576000000ull

static bool has_nul(const struct rw__node *node)
{
	return strlen(node->u.s.text) != node->n;
}

int rw__get_string(struct rw__ctx *ctx, const struct rw__node *node, char **out)
{
	char *s;

	if (node->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, node, "expected a string");
	if (has_nul(node))
		return rw__fail(ctx, node, "string must not contain NUL bytes");
	s = rw__malloc(node->n + 1);
	if (!s)
		return rw__fail_oom(ctx);
	memcpy(s, node->u.s.text, node->n + 1);
	free(*out); /* a field given twice in camelCase and snake_case is refused earlier */
	*out = s;
	return 0;
}

/* Decimal digits only; returns false on anything else or overflow past max. */
static bool parse_decimal(const char *s, size_t len, uint64_t max, uint64_t *out, bool *overflow)
{
	uint64_t v = 0;

	*overflow = false;
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9)
			return false;
		if (*overflow)
			continue;
		if (v > (max - d) / 10)
			*overflow = true;
		else
			v = v * 10 + d;
	}
	*out = v;
	return !*overflow;
}

int rw__get_uint(struct rw__ctx *ctx, const struct rw__node *node, uint64_t max, uint64_t *out)
{
	const char *t;
	bool overflow;

	if (node->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, node, "expected an integer");
	t = node->u.s.text;
	if (parse_decimal(t, node->n, max, out, &overflow))
		return 0;
	if (overflow)
		return rw__fail(ctx, node, "integer out of range (maximum %llu)",
		                (unsigned long long)max);
	if (node->n > 1 && t[0] == '-' && strspn(t + 1, "0123456789") == node->n - 1)
		return rw__fail(ctx, node, "expected a non-negative integer");
	return rw__fail(ctx, node, "expected an integer");
}

/* Milliseconds, with any non-zero sub-millisecond rest rounded up (so 1ns never means 0). */
static uint64_t to_ms(uint64_t seconds, uint64_t nanos)
{
	return seconds * 1000 + (nanos + 999999) / 1000000;
}

struct duration {
	uint64_t seconds, nanos;
};

static int duration_seconds(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_uint(ctx, v, DURATION_MAX_SECONDS, &((struct duration *)obj)->seconds);
}

static int duration_nanos(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_uint(ctx, v, 999999999, &((struct duration *)obj)->nanos);
}

static const struct rw__field duration_fields[] = {
    RW__FIELD("seconds", duration_seconds),
    RW__FIELD("nanos", duration_nanos),
};

/* "5s", "0.25s", "1.000000001s": seconds, optional 1-9 fraction digits, then "s". */
static bool parse_duration_string(const char *t, size_t len, struct duration *d)
{
	size_t i = 0, int_end, frac_digits = 0;
	bool overflow;

	while (i < len && t[i] >= '0' && t[i] <= '9')
		i++;
	int_end = i;
	if (int_end == 0 ||
	    !parse_decimal(t, int_end, DURATION_MAX_SECONDS, &d->seconds, &overflow))
		return false;
	d->nanos = 0;
	if (i < len && t[i] == '.') {
		for (i++; i < len && t[i] >= '0' && t[i] <= '9'; i++, frac_digits++) {
			if (frac_digits == 9)
				return false;
			d->nanos = d->nanos * 10 + (uint64_t)(t[i] - '0');
		}
		if (frac_digits == 0)
			return false;
		for (size_t k = frac_digits; k < 9; k++)
			d->nanos *= 10;
	}
	return i + 1 == len && t[i] == 's';
}

int rw__get_duration_ms(struct rw__ctx *ctx, const struct rw__node *node, uint64_t *out)
{
	struct duration d = {0, 0};
	int rc;

	if (node->kind == RW__NODE_MAP) {
		rc = rw__walk_map(ctx, node, duration_fields, RW__N(duration_fields), &d);
		if (rc)
			return rc;
		*out = to_ms(d.seconds, d.nanos);
		return 0;
	}
	if (node->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, node, "expected a duration like \"0.25s\"");
	if (node->n > 0 && node->u.s.text[0] == '-')
		return rw__fail(ctx, node, "duration must not be negative");
	if (!parse_duration_string(node->u.s.text, node->n, &d))
		return rw__fail(ctx, node, "expected a duration like \"0.25s\"");
	*out = to_ms(d.seconds, d.nanos);
	return 0;
}

int rw__get_enum(struct rw__ctx *ctx, const struct rw__node *node, const char *const *names,
                 size_t n_names, size_t *out)
{
	char valid[256] = "", value[80];
	size_t used = 0;

	if (node->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, node, "expected a string");
	for (size_t i = 0; i < n_names; i++) {
		if (strlen(names[i]) == node->n && memcmp(names[i], node->u.s.text, node->n) == 0) {
			*out = i;
			return 0;
		}
	}
	for (size_t i = 0; i < n_names && used < sizeof(valid); i++)
		used += (size_t)snprintf(valid + used, sizeof(valid) - used, "%s%s", i ? ", " : "",
		                         names[i]);
	rw__escape(value, sizeof(value), node->u.s.text, node->n);
	return rw__fail(ctx, node, "invalid value '%s' (valid: %s)", value, valid);
}

struct socket_address {
	unsigned min_port;
	struct rw_config_addr *out; /* filled as fields arrive; the port is set at the end */
	char **hostname;            /* non-NULL: a DNS cluster endpoint, names allowed */
	bool endpoint;              /* a cluster endpoint (STATIC when hostname is NULL) */
	bool have_address, have_port;
	uint16_t port;
};

static int sa_address(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct socket_address *sa = obj;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&sa->out->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa->out->ss;

	if (v->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, v, "expected a string");
	memset(sa->out, 0, sizeof(*sa->out));
	if (sa->hostname) {
		/* Resolved later (an IP literal resolves to itself); as written, like Envoy. */
		if (!v->n)
			return rw__fail(ctx, v, "address must not be empty");
		sa->have_address = true;
		return rw__get_string(ctx, v, sa->hostname);
	}
	if (!has_nul(v) && inet_pton(AF_INET, v->u.s.text, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		sa->out->len = sizeof(*in4);
	} else if (!has_nul(v) && inet_pton(AF_INET6, v->u.s.text, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		sa->out->len = sizeof(*in6);
	} else if (!sa->endpoint) {
		return rw__fail(ctx, v,
		                "expected an IP address; DNS names need a STRICT_DNS cluster "
		                "(only cluster endpoints may be names)");
	} else {
		char shown[96];

		rw__escape(shown, sizeof(shown), v->u.s.text, v->n);
		return rw__fail(ctx, v,
		                "malformed IP address: %s; DNS names need a cluster of type "
		                "'STRICT_DNS' or 'LOGICAL_DNS'",
		                shown);
	}
	sa->have_address = true;
	return 0;
}

static int sa_port(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct socket_address *sa = obj;
	uint64_t port;
	int rc = rw__get_uint(ctx, v, 65535, &port);

	if (rc)
		return rc;
	if (port < sa->min_port)
		return rw__fail(ctx, v, "port_value must be in %u..65535", sa->min_port);
	sa->have_port = true;
	sa->port = htons((uint16_t)port);
	return 0;
}

static int sa_protocol(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const protocols[] = {"TCP", "UDP"};
	size_t p;
	int rc = rw__get_enum(ctx, v, protocols, RW__N(protocols), &p);

	(void)obj;
	if (rc)
		return rc;
	if (p != 0)
		return rw__fail(ctx, v, "protocol 'UDP' is not supported by ringway yet");
	return 0;
}

static const struct rw__field socket_address_fields[] = {
    RW__FIELD("protocol", sa_protocol),
    RW__FIELD("address", sa_address),
    RW__FIELD("port_value", sa_port),
    RW__UNSUPPORTED("named_port"),
    RW__UNSUPPORTED("resolver_name"),
    RW__UNSUPPORTED("ipv4_compat"),
    RW__UNSUPPORTED("network_namespace_filepath"),
};

struct address_args {
	unsigned min_port;
	struct rw_config_addr *out;
	bool found;
	char **hostname;
	uint16_t *port;
};

static int address_socket(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct address_args *args = obj;
	struct socket_address sa = {.min_port = args->min_port,
	                            .out = args->out,
	                            .hostname = args->hostname,
	                            .endpoint = args->port != NULL};
	int rc = rw__walk_map(ctx, v, socket_address_fields, RW__N(socket_address_fields), &sa);

	if (rc)
		return rc;
	if (!sa.have_address)
		return rw__fail(ctx, v, "missing required field 'address'");
	if (!sa.have_port && args->min_port > 0)
		return rw__fail(ctx, v, "missing required field 'port_value'");
	/* Same offset in both families, but say which one is meant. */
	if (args->out->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&args->out->ss)->sin_port = sa.port;
	else
		((struct sockaddr_in6 *)&args->out->ss)->sin6_port = sa.port;
	if (args->port)
		*args->port = ntohs(sa.port);
	args->found = true;
	return 0;
}

static const struct rw__field address_fields[] = {
    RW__FIELD("socket_address", address_socket),
    RW__UNSUPPORTED("pipe"),
    RW__UNSUPPORTED("envoy_internal_address"),
};

int rw__get_address(struct rw__ctx *ctx, const struct rw__node *node, unsigned min_port,
                    struct rw_config_addr *out)
{
	struct address_args args = {min_port, out, false, NULL, NULL};
	int rc = rw__walk_map(ctx, node, address_fields, RW__N(address_fields), &args);

	if (rc)
		return rc;
	if (!args.found)
		return rw__fail(ctx, node, "missing required field 'socket_address'");
	return 0;
}

int rw__get_endpoint_address(struct rw__ctx *ctx, const struct rw__node *node, bool dns,
                             struct rw_config_addr *out, char **hostname, uint16_t *port)
{
	struct address_args args = {1, out, false, dns ? hostname : NULL, port};
	int rc = rw__walk_map(ctx, node, address_fields, RW__N(address_fields), &args);

	if (rc)
		return rc;
	if (!args.found)
		return rw__fail(ctx, node, "missing required field 'socket_address'");
	return 0;
}

int rw__get_bool(struct rw__ctx *ctx, const struct rw__node *node, bool *out)
{
	const char *t = node->u.s.text;

	if (node->kind != RW__NODE_SCALAR)
		return rw__fail(ctx, node, "expected true or false");
	if (strcmp(t, "true") == 0 || strcmp(t, "True") == 0 || strcmp(t, "TRUE") == 0)
		*out = true;
	else if (strcmp(t, "false") == 0 || strcmp(t, "False") == 0 || strcmp(t, "FALSE") == 0)
		*out = false;
	else
		return rw__fail(ctx, node, "expected true or false");
	return 0;
}

int rw__get_uint_range(struct rw__ctx *ctx, const struct rw__node *node, const char *what,
                       uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int rc = rw__get_uint(ctx, node, UINT64_MAX, &v);

	if (rc)
		return rc;
	if (v < min || v > max)
		return rw__fail(ctx, node, "%s must be in %llu..%llu", what,
		                (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}
