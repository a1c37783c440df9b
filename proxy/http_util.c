/* Small HTTP helpers: randomness, request ids, the Date header, reason phrases, flags. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/hex.h"
#include "proxy/http_internal.h"

uint64_t rw__http_random(struct http_worker *hw)
{
	/* xorshift64*: weighted picks and request ids need spread, not secrecy. */
	uint64_t x = hw->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	hw->rng = x;
	return x * UINT64_C(2685821657736338717);
}

void rw__http_uuid4(struct http_worker *hw, char out[37])
{
	uint8_t b[16];
	uint64_t r1 = rw__http_random(hw), r2 = rw__http_random(hw);
	int o = 0;

	memcpy(b, &r1, 8);
	memcpy(b + 8, &r2, 8);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = RW_HEX_LOWER[b[i] >> 4];
		out[o++] = RW_HEX_LOWER[b[i] & 15];
	}
	out[o] = '\0';
}

const char *rw__http_date(struct http_worker *hw)
{
	time_t now = time(NULL);
	struct tm tm;

	if ((uint64_t)now != hw->date_sec) {
		gmtime_r(&now, &tm);
		strftime(hw->date_buf, sizeof(hw->date_buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		hw->date_sec = (uint64_t)now;
	}
	return hw->date_buf;
}

const char *rw__http_reason(uint16_t status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 426:
		return "Upgrade Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

static bool unreserved(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

ssize_t rw__http_normalize_path(char *p, size_t len, bool normalize, bool merge_slashes)
{
	size_t qpos = len, o = 0, seg_start;

	for (size_t i = 0; i < len; i++)
		if (p[i] == '?' || p[i] == '#') {
			qpos = i;
			break;
		}
	if (qpos == 0 || p[0] != '/')
		return -1;
	/* Pass 1 (normalize): decode %XX of unreserved characters; other escapes, and '%' not
	 * followed by two hex digits, pass through as sent (Envoy's canonicalizer); %00 is an
	 * error. */
	if (normalize) {
		for (size_t i = 0; i < qpos; i++) {
			char c;

			if (p[i] != '%' || i + 2 >= qpos || rw_hex_value(p[i + 1]) < 0 ||
			    rw_hex_value(p[i + 2]) < 0) {
				p[o++] = p[i];
				continue;
			}
			c = (char)(rw_hex_value(p[i + 1]) * 16 + rw_hex_value(p[i + 2]));
			if (c == '\0')
				return -1;
			/* A decoded hex digit after a literal '%' (or '%' and a digit) would form a
			 * new escape that a second decoder would read differently: keep it encoded.
			 */
			if (unreserved(c) &&
			    !(rw_hex_value(c) >= 0 &&
			      ((o >= 1 && p[o - 1] == '%') ||
			       (o >= 2 && p[o - 2] == '%' && rw_hex_value(p[o - 1]) >= 0)))) {
				p[o++] = c;
			} else {
				p[o++] = p[i];
				p[o++] = p[i + 1];
				p[o++] = p[i + 2];
			}
			i += 2;
		}
	} else {
		o = qpos;
	}
	/* Pass 2: RFC 3986 5.2.4 remove_dot_segments (normalize), and "//" -> "/" (merge). */
	{
		size_t in = 0, end = o;

		o = 0;
		while (in < end) {
			size_t n = 1;

			while (in + n < end && p[in + n] != '/')
				n++;
			/* p[in .. in+n) is "/segment" */
			if (normalize && n == 2 && p[in + 1] == '.') {
				in += n;
				if (in == end)
					p[o++] = '/';
				continue;
			}
			if (normalize && n == 3 && p[in + 1] == '.' && p[in + 2] == '.') {
				/* Drop the last output segment ("/a/b" -> "/a"). */
				while (o > 0 && p[o - 1] != '/')
					o--;
				if (o > 0)
					o--;
				in += n;
				if (in == end)
					p[o++] = '/';
				continue;
			}
			if (merge_slashes && n == 1 && in + 1 < end) {
				in++; /* an empty segment before another: drop it */
				continue;
			}
			seg_start = o;
			memmove(p + o, p + in, n);
			o = seg_start + n;
			in += n;
		}
		if (o == 0)
			p[o++] = '/';
	}
	memmove(p + o, p + qpos, len - qpos);
	return (ssize_t)(o + len - qpos);
}

bool rw__http_header_matches(const struct rw_http_headers *h,
                             const struct rw_config_header_match *m)
{
	int i = rw_http_headers_find(h, m->name, strlen(m->name), 0);
	bool ok;

	if (m->kind == RW_CONFIG_VALUE_PRESENT) {
		ok = (i >= 0) == m->present;
	} else if (i < 0 && !m->treat_missing_header_as_empty) {
		ok = false;
	} else {
		/* treat_missing_header_as_empty: a missing header's value is "". */
		const char *v = i >= 0 ? rw_http_field_value(h, (uint32_t)i) : "";
		size_t vl = i >= 0 ? h->f[i].value_len : 0, pl = strlen(m->string.value);
		int (*cmp)(const char *, const char *, size_t) =
		    m->string.ignore_case ? strncasecmp : strncmp;

		switch (m->string.kind) {
		case RW_CONFIG_STRING_EXACT:
			ok = vl == pl && cmp(v, m->string.value, pl) == 0;
			break;
		case RW_CONFIG_STRING_PREFIX:
			ok = vl >= pl && cmp(v, m->string.value, pl) == 0;
			break;
		case RW_CONFIG_STRING_SUFFIX:
			ok = vl >= pl && cmp(v + vl - pl, m->string.value, pl) == 0;
			break;
		case RW_CONFIG_STRING_CONTAINS:
			ok = false;
			for (size_t k = 0; !ok && k + pl <= vl; k++)
				ok = cmp(v + k, m->string.value, pl) == 0;
			break;
		default:
			ok = false; /* regex retriable headers: not evaluated here */
			break;
		}
	}
	return ok != m->invert_match;
}
