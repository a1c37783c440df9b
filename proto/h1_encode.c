/*
 * HTTP/1.1 encoders: heads and chunk framing appended to a caller's chain.
 *
 * Only framing is copied (into pool buffers via rw_chain_append_copy); chunk payloads are
 * moved by reference.  Each encoder builds into a private chain first and moves it onto the
 * output at the end, so a failure leaves the output unchanged.  Names and values are checked
 * on the way out: a value carrying CR or LF would otherwise let whoever chose it inject
 * fields or a whole second message (response splitting).
 */
#include "proto/h1.h"
#include "proto/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool valid_name(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!rw__h1_is((uint8_t)s[i], RW_C_TCHAR))
			return false;
	return true;
}

static bool valid_value(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!rw__h1_is((uint8_t)s[i], RW_C_VALUE))
			return false;
	return true;
}

static int put(struct rw_chain *c, struct rw_buf_pool *pool, const void *d, size_t len)
{
	return len ? rw_chain_append_copy(c, pool, d, len) : 0;
}

static int put_fields(struct rw_chain *c, struct rw_buf_pool *pool, const struct rw_h1_field *f,
                      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!valid_name(f[i].name, f[i].name_len) ||
		    !valid_value(f[i].value, f[i].value_len))
			return -EINVAL;
		if (put(c, pool, f[i].name, f[i].name_len) || put(c, pool, ": ", 2) ||
		    put(c, pool, f[i].value, f[i].value_len) || put(c, pool, "\r\n", 2))
			return -ENOMEM;
	}
	return put(c, pool, "\r\n", 2) ? -ENOMEM : 0;
}

/* Move the finished private chain onto out, or drop it on error. */
static int finish(struct rw_chain *out, struct rw_chain *tmp, int rc)
{
	if (rc == 0)
		rc = rw_chain_move(out, tmp);
	rw_chain_reset(tmp);
	return rc;
}

int rw_h1_encode_request_head(struct rw_chain *out, struct rw_buf_pool *pool, const char *method,
                              const char *target, uint8_t version_minor,
                              const struct rw_h1_field *fields, size_t n_fields)
{
	struct rw_chain tmp = {0};
	size_t mlen = strlen(method), tlen = strlen(target);
	const char *version = version_minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n";
	int rc = 0;

	if (!valid_name(method, mlen) || tlen == 0)
		return -EINVAL;
	for (size_t i = 0; i < tlen; i++)
		if (!rw__h1_is((uint8_t)target[i], RW_C_TARGET))
			return -EINVAL;
	if (put(&tmp, pool, method, mlen) || put(&tmp, pool, " ", 1) ||
	    put(&tmp, pool, target, tlen) || put(&tmp, pool, version, 11))
		rc = -ENOMEM;
	if (rc == 0)
		rc = put_fields(&tmp, pool, fields, n_fields);
	return finish(out, &tmp, rc);
}

int rw_h1_encode_response_head(struct rw_chain *out, struct rw_buf_pool *pool,
                               uint8_t version_minor, uint16_t status, const char *reason,
                               const struct rw_h1_field *fields, size_t n_fields)
{
	struct rw_chain tmp = {0};
	size_t rlen = reason ? strlen(reason) : 0;
	char line[32];
	int rc = 0, n;

	if (status < 100 || status > 599 || !valid_value(reason ? reason : "", rlen))
		return -EINVAL;
	n = snprintf(line, sizeof(line), "HTTP/1.%c %03u ", version_minor ? '1' : '0',
	             (unsigned)status);
	if (put(&tmp, pool, line, (size_t)n) || put(&tmp, pool, reason, rlen) ||
	    put(&tmp, pool, "\r\n", 2))
		rc = -ENOMEM;
	if (rc == 0)
		rc = put_fields(&tmp, pool, fields, n_fields);
	return finish(out, &tmp, rc);
}

int rw_h1_encode_chunk(struct rw_chain *out, struct rw_buf_pool *pool, struct rw_chain *body)
{
	struct rw_chain tmp = {0};
	size_t len = body->bytes;
	char line[24];
	int n;

	if (len == 0)
		return 0;
	n = snprintf(line, sizeof(line), "%zx\r\n", len);
	if (put(&tmp, pool, line, (size_t)n) || rw_chain_move(&tmp, body))
		return finish(out, &tmp, -ENOMEM);
	if (put(&tmp, pool, "\r\n", 2) == 0 && rw_chain_move(out, &tmp) == 0) {
		rw_chain_reset(&tmp); /* its slice array */
		return 0;
	}
	/* Give the payload back: drop the framing, then split it into body (which is empty,
	   so this only fails if even a 4-slice array cannot be had). */
	rw_chain_consume(&tmp, (size_t)n);
	if (rw_chain_split(body, &tmp, len) != 0)
		rw_chain_reset(body);
	rw_chain_reset(&tmp);
	return -ENOMEM;
}

int rw_h1_encode_last_chunk(struct rw_chain *out, struct rw_buf_pool *pool,
                            const struct rw_h1_field *trailers, size_t n_trailers)
{
	struct rw_chain tmp = {0};
	int rc = put(&tmp, pool, "0\r\n", 3) ? -ENOMEM : 0;

	if (rc == 0)
		rc = put_fields(&tmp, pool, trailers, n_trailers);
	return finish(out, &tmp, rc);
}

static bool eq_nocase(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (rw__h1_lower((uint8_t)a[i]) != rw__h1_lower((uint8_t)b[i]))
			return false;
	return true;
}

/* Whether the comma-separated list names `name` (OWS around elements). */
static bool list_has(const char *list, size_t len, const char *name, size_t name_len)
{
	size_t i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
			i++;
		start = i;
		while (i < len && list[i] != ',')
			i++;
		end = i;
		while (end > start && (list[end - 1] == ' ' || list[end - 1] == '\t'))
			end--;
		if (end - start == name_len) {
			size_t k = 0;

			while (k < name_len && rw__h1_lower((uint8_t)list[start + k]) ==
			                           rw__h1_lower((uint8_t)name[k]))
				k++;
			if (k == name_len)
				return true;
		}
	}
	return false;
}

bool rw_h1_is_hop_by_hop(const char *name, size_t len, const char *connection,
                         size_t connection_len)
{
	static const char *const fixed[] = {
	    "connection",        "keep-alive", "proxy-connection", "te",
	    "transfer-encoding", "upgrade",    "trailer",
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (eq_nocase(name, len, fixed[i]))
			return true;
	return connection && len && list_has(connection, connection_len, name, len);
}
