/*
 * Unit tests for proto/h1_parse.c: a table of requests and responses, valid and invalid,
 * each with the exact event sequence or error (code and status) it must produce; and the
 * chunking-invariance check: every entry fed whole, one byte per buffer, cut in two at every
 * offset, and in random chains of small buffers (so names and values straddle buffers), with
 * and without pausing in every callback, must give the same events.
 * RW_TEST_SEED=<n> replays a run.
 */
#include "h1_harness.h"

#include <string.h>

#define REQ  RW_H1_REQUEST
#define RSP  RW_H1_RESPONSE
#define S(x) x, sizeof(x) - 1

struct tcase {
	const char *name;
	enum rw_h1_kind kind;
	enum rw_h1_method method; /* responses: the request's method */
	bool eof;
	struct rw_h1_config cfg;
	const char *in;
	size_t len;
	const char *expect; /* full event string, or for errors "...ERR x n" (suffix) */
};

#define HOST "Host: x\r\n"
#define TE   "Transfer-Encoding: chunked\r\n"
#define OK   "HTTP/1.1 200 OK\r\n"
#define LIM(kb, n, body)                                                                           \
	{                                                                                          \
		.max_headers_kb = kb, .max_headers_count = n, .max_body_size = body                \
	}

/* One entry per two or three lines, formatted by hand. */
/* clang-format off */
static const struct tcase cases[] = {
	/* ---- valid requests ---- */
	{"get", REQ, 0, 0, {0}, S("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"),
	 "REQ GET /a 1.1|H Host: x|HC none ka host|END"},
	{"post_cl", REQ, 0, 0, {0}, S("POST /p HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\nhello"),
	 "REQ POST /p 1.1|H Host: x|H Content-Length: 5|HC len=5 ka host|B hello|END"},
	{"chunked", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE
	   "\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
	 "REQ POST / 1.1|H Host: x|H Transfer-Encoding: chunked|HC chunked ka host|B hello world|END"},
	{"chunked_trailers", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE
	   "\r\n3\r\nabc\r\n0\r\nX-T: 1\r\nX-U:  two \r\n\r\n"),
	 "REQ POST / 1.1|H Host: x|H Transfer-Encoding: chunked|HC chunked ka host|B abc|"
	 "T X-T: 1|T X-U: two|END"},
	{"chunk_ext", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE
	   "\r\n3;a=b\r\nabc\r\n2 ; x ; y = \"q\\\"z\" ;t\r\nde\r\n" "0;last\r\n\r\n"),
	 "REQ POST / 1.1|H Host: x|H Transfer-Encoding: chunked|HC chunked ka host|B abcde|END"},
	{"chunk_hex", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE
	   "\r\n00A\r\n0123456789\r\nb\r\nabcdefghijk\r\n000\r\n\r\n"),
	 "REQ POST / 1.1|H Host: x|H Transfer-Encoding: chunked|HC chunked ka host|"
	 "B 0123456789abcdefghijk|END"},
	{"http10", REQ, 0, 0, {0}, S("GET / HTTP/1.0\r\n\r\n"),
	 "REQ GET / 1.0|HC none close|END"},
	{"http10_keepalive", REQ, 0, 0, {0}, S("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
	 "REQ GET / 1.0|H Connection: Keep-Alive|HC none ka|END"},
	{"http10_keepalive_close", REQ, 0, 0, {0}, S("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"),
	 "REQ GET / 1.0|H Connection: keep-alive, close|HC none close|END"},
	{"http11_close", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n"),
	 "REQ GET / 1.1|H Host: x|H Connection: close|HC none close host|END"},
	{"connection_extra", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST
	   "Connection: keep-alive , X-Foo\r\n\r\n"),
	 "REQ GET / 1.1|H Host: x|H Connection: keep-alive , X-Foo|HC none ka host extra|END"},
	{"ows_trim", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\nHost: \t x y \t \r\n\r\n"),
	 "REQ GET / 1.1|H Host: x y|HC none ka host|END"},
	{"empty_value", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST "X-E:\r\nX-F:   \r\n\r\n"),
	 "REQ GET / 1.1|H Host: x|H X-E: |H X-F: |HC none ka host|END"},
	{"obs_text_value", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST "X: caf\xc3\xa9\r\n\r\n"),
	 "REQ GET / 1.1|H Host: x|H X: caf\xc3\xa9|HC none ka host|END"},
	{"expect_continue", REQ, 0, 0, {0}, S("PUT /u HTTP/1.1\r\n" HOST
	   "Expect: 100-Continue\r\nContent-Length: 1\r\n\r\nz"),
	 "REQ PUT /u 1.1|H Host: x|H Expect: 100-Continue|H Content-Length: 1|"
	 "HC len=1 ka host continue|B z|END"},
	{"expect_http10_ignored", REQ, 0, 0, {0}, S("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"),
	 "REQ GET / 1.0|H Expect: 100-continue|HC none close|END"},
	{"upgrade", REQ, 0, 0, {0}, S("GET /ws HTTP/1.1\r\n" HOST
	   "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
	 "REQ GET /ws 1.1|H Host: x|H Upgrade: websocket|H Connection: Upgrade|"
	 "HC none ka host upgrade|END"},
	{"upgrade_without_connection", REQ, 0, 0, {0}, S("GET /ws HTTP/1.1\r\n" HOST
	   "Upgrade: websocket\r\n\r\n"),
	 "REQ GET /ws 1.1|H Host: x|H Upgrade: websocket|HC none ka host|END"},
	{"upgrade_http10_ignored", REQ, 0, 0, {0}, S("GET /ws HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
	 "REQ GET /ws 1.0|H Upgrade: websocket|H Connection: upgrade|HC none close|END"},
	{"connect", REQ, 0, 0, {0}, S("CONNECT h.example:443 HTTP/1.1\r\nHost: h.example:443\r\n\r\n"),
	 "REQ CONNECT h.example:443 1.1 auth=h.example:443|H Host: h.example:443|"
	 "HC none ka host|END"},
	{"connect_ipv6", REQ, 0, 0, {0}, S("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n"),
	 "REQ CONNECT [::1]:8443 1.1 auth=[::1]:8443|H Host: [::1]:8443|HC none ka host|END"},
	{"options_asterisk", REQ, 0, 0, {0}, S("OPTIONS * HTTP/1.1\r\n" HOST "\r\n"),
	 "REQ OPTIONS * 1.1 asterisk|H Host: x|HC none ka host|END"},
	{"absolute_form", REQ, 0, 0, {0}, S("GET http://h.example:8080/p/q?x=1 HTTP/1.1\r\nHost: other\r\n\r\n"),
	 "REQ GET http://h.example:8080/p/q?x=1 1.1 scheme=http auth=h.example:8080 path=/p/q?x=1|"
	 "H Host: other|HC none ka host|END"},
	{"absolute_no_path", REQ, 0, 0, {0}, S("GET HTTPS://h HTTP/1.1\r\n" HOST "\r\n"),
	 "REQ GET HTTPS://h 1.1 scheme=HTTPS auth=h path=|H Host: x|HC none ka host|END"},
	{"absolute_query_only", REQ, 0, 0, {0}, S("GET http://h?a=b HTTP/1.1\r\n" HOST "\r\n"),
	 "REQ GET http://h?a=b 1.1 scheme=http auth=h path=?a=b|H Host: x|HC none ka host|END"},
	{"leading_crlf", REQ, 0, 0, {0}, S("\r\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n"),
	 "REQ GET / 1.1|H Host: x|HC none ka host|END"},
	{"cl_identical_list", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST
	   "Content-Length: 3 ,3,  3\r\n\r\nabc"),
	 "REQ POST / 1.1|H Host: x|H Content-Length: 3 ,3,  3|HC len=3 ka host|B abc|END"},
	{"cl_identical_fields", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST
	   "Content-Length: 2\r\ncontent-length: 2\r\n\r\nab"),
	 "REQ POST / 1.1|H Host: x|H Content-Length: 2|H content-length: 2|HC len=2 ka host|"
	 "B ab|END"},
	{"cl_zero", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST "Content-Length: 000\r\n\r\n"),
	 "REQ POST / 1.1|H Host: x|H Content-Length: 000|HC none cl=0 ka host|END"},
	{"pipelined", REQ, 0, 0, {0}, S("GET /1 HTTP/1.1\r\n" HOST "\r\nPOST /2 HTTP/1.1\r\n" HOST
	   "Content-Length: 1\r\n\r\nx" "GET /3 HTTP/1.0\r\n\r\n"),
	 "REQ GET /1 1.1|H Host: x|HC none ka host|END|REQ POST /2 1.1|H Host: x|"
	 "H Content-Length: 1|HC len=1 ka host|B x|END|REQ GET /3 1.0|HC none close|END"},
	{"other_method", REQ, 0, 0, {0}, S("PURGE /x HTTP/1.1\r\n" HOST "\r\n"),
	 "REQ PURGE /x 1.1|H Host: x|HC none ka host|END"},
	{"empty_host", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\nHost:\r\n\r\n"),
	 "REQ GET / 1.1|H Host: |HC none ka host|END"},
	{"count_at_limit", REQ, 0, 0, LIM(0, 3, 0), S("GET / HTTP/1.1\r\n" HOST
	   "A: 1\r\nB: 2\r\n\r\n"),
	 "REQ GET / 1.1|H Host: x|H A: 1|H B: 2|HC none ka host|END"},
	{"body_at_limit", REQ, 0, 0, LIM(0, 0, 4), S("POST / HTTP/1.1\r\n" HOST TE
	   "\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"),
	 "REQ POST / 1.1|H Host: x|H Transfer-Encoding: chunked|HC chunked ka host|B abcd|END"},
	{"target_chars", REQ, 0, 0, {0}, S("GET /a-b_c.d~e!$&'()*+,;=:@/%20?q=[1] HTTP/1.1\r\n"
	   HOST "\r\n"),
	 "REQ GET /a-b_c.d~e!$&'()*+,;=:@/%20?q=[1] 1.1|H Host: x|HC none ka host|END"},
	{"tchar_name", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST
	   "!#$%&'*+-.^_`|~09aZ: v\r\n\r\n"),
	 "REQ GET / 1.1|H Host: x|H !#$%&'*+-.^_`|~09aZ: v|HC none ka host|END"},
	{"te_case", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST
	   "transfer-encoding:  CHUNKED \r\n\r\n0\r\n\r\n"),
	 "REQ POST / 1.1|H Host: x|H transfer-encoding: CHUNKED|HC chunked ka host|END"},
	/* ---- invalid requests: smuggling ---- */
	{"cl_and_te", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\n" TE
	   "\r\n0\r\n\r\n"),
	 "ERR cl_and_te 400"},
	{"te_and_cl", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE "Content-Length: 0\r\n\r\n"),
	 "ERR cl_and_te 400"},
	{"cl_differing_list", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST
	   "Content-Length: 5, 6\r\n\r\n"),
	 "ERR bad_content_length 400"},
	{"cl_differing_fields", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST
	   "Content-Length: 5\r\nContent-Length: 50\r\n\r\n"),
	 "ERR bad_content_length 400"},
	{"cl_alpha", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST "Content-Length: 5a\r\n\r\n"),
	 "ERR bad_content_length 400"},
	{"cl_negative", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST "Content-Length: -1\r\n\r\n"),
	 "ERR bad_content_length 400"},
	{"cl_plus", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST "Content-Length: +1\r\n\r\n"),
	 "ERR bad_content_length 400"},
	{"cl_empty", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST "Content-Length:\r\n\r\n"),
	 "ERR bad_content_length 400"},
	{"cl_empty_element", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST
	   "Content-Length: 1,,1\r\n\r\n"),
	 "ERR bad_content_length 400"},
	{"cl_space_inside", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST
	   "Content-Length: 1 1\r\n\r\n"),
	 "ERR bad_content_length 400"},
	{"cl_overflow", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST
	   "Content-Length: 9223372036854775808\r\n\r\n"),
	 "ERR bad_content_length 400"},
	{"te_gzip", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip\r\n\r\n"),
	 "ERR bad_transfer_encoding 501"},
	{"te_chunked_gzip", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST
	   "Transfer-Encoding: chunked, gzip\r\n\r\n"),
	 "ERR bad_transfer_encoding 501"},
	{"te_gzip_chunked", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST
	   "Transfer-Encoding: gzip, chunked\r\n\r\n"),
	 "ERR bad_transfer_encoding 501"},
	{"te_twice", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE TE "\r\n"),
	 "ERR bad_transfer_encoding 501"},
	{"te_http10", REQ, 0, 0, {0}, S("POST / HTTP/1.0\r\n" TE "\r\n0\r\n\r\n"),
	 "ERR te_in_http10 400"},
	{"connect_te", REQ, 0, 0, {0}, S("CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n" TE "\r\n"),
	 "ERR bad_transfer_encoding 501"},
	{"connect_body", REQ, 0, 0, {0}, S("CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\nContent-Length: 3\r\n\r\n"),
	 "ERR bad_connect 400"},
	{"chunk_size_junk", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE "\r\ng\r\n"),
	 "ERR bad_chunk_size 400"},
	{"chunk_size_0x", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE "\r\n0x5\r\n"),
	 "ERR bad_chunk_size 400"},
	{"chunk_size_missing", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE "\r\n\r\n"),
	 "ERR bad_chunk_size 400"},
	{"chunk_size_negative", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE "\r\n-1\r\n"),
	 "ERR bad_chunk_size 400"},
	{"chunk_size_overflow", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE
	   "\r\n8000000000000000\r\n"),
	 "ERR bad_chunk_size 400"},
	{"chunk_size_overflow_long", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE
	   "\r\n100000000000000005\r\n"),
	 "ERR bad_chunk_size 400"},
	{"chunk_size_space", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE "\r\n5 \r\nhello\r\n"),
	 "ERR bad_chunk_ext 400"},
	{"chunk_ext_empty", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE "\r\n5;\r\nhello\r\n"),
	 "ERR bad_chunk_ext 400"},
	{"chunk_ext_unterminated", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE
	   "\r\n5;a=\"b\r\nhello\r\n"),
	 "ERR bad_chunk_ext 400"},
	{"chunk_ext_ctl", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE
	   "\r\n5;a=b\x01\r\nhello\r\n"),
	 "ERR bad_chunk_ext 400"},
	{"chunk_data_long", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE "\r\n5\r\nhelloX\r\n"),
	 "B hello|ERR bad_chunk_data 400"},
	{"chunk_data_bare_lf", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE
	   "\r\n5\r\nhello\n0\r\n"),
	 "B hello|ERR bad_chunk_data 400"},
	{"chunk_size_bare_lf", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE "\r\n5\nhello\r\n"),
	 "ERR bare_lf 400"},
	{"trailer_bad", REQ, 0, 0, {0}, S("POST / HTTP/1.1\r\n" HOST TE "\r\n0\r\nX : y\r\n\r\n"),
	 "ERR bad_header_name 400"},
	/* ---- invalid requests: syntax ---- */
	{"obs_fold", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST "X: a\r\n b\r\n\r\n"),
	 "H X: a|ERR obs_fold 400"},
	{"fold_first_line", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n Host: x\r\n\r\n"),
	 "REQ GET / 1.1|ERR obs_fold 400"},
	{"bare_cr_value", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST "X: a\rb\r\n\r\n"),
	 "ERR bare_cr 400"},
	{"bare_lf_lines", REQ, 0, 0, {0}, S("GET / HTTP/1.1\nHost: x\n\n"),
	 "ERR bare_lf 400"},
	{"bare_lf_header", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST "X: a\n\r\n"),
	 "ERR bare_lf 400"},
	{"bare_lf_end", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST "\n"),
	 "ERR bare_lf 400"},
	{"bare_cr_end", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST "\rX"),
	 "ERR bare_cr 400"},
	{"nul_value", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST "X: a\0b\r\n\r\n"),
	 "ERR bad_header_value 400"},
	{"ctl_value", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST "X: a\x1b[0m\r\n\r\n"),
	 "ERR bad_header_value 400"},
	{"del_value", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST "X: a\x7f\r\n\r\n"),
	 "ERR bad_header_value 400"},
	{"space_before_colon", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\nHost : x\r\n\r\n"),
	 "ERR bad_header_name 400"},
	{"tab_before_colon", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"),
	 "ERR bad_header_name 400"},
	{"bad_name_char", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\nHo(st: x\r\n\r\n"),
	 "ERR bad_header_name 400"},
	{"empty_name", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\n" HOST ": x\r\n\r\n"),
	 "ERR bad_header_name 400"},
	{"name_high_byte", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\nX\xc3\xa9: 1\r\n\r\n"),
	 "ERR bad_header_name 400"},
	{"name_no_colon", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\nHost\r\n\r\n"),
	 "ERR bad_header_name 400"},
	{"bad_method", REQ, 0, 0, {0}, S("G@T / HTTP/1.1\r\n" HOST "\r\n"),
	 "ERR bad_method 400"},
	{"leading_space", REQ, 0, 0, {0}, S(" GET / HTTP/1.1\r\n" HOST "\r\n"),
	 "ERR bad_method 400"},
	{"double_space", REQ, 0, 0, {0}, S("GET  / HTTP/1.1\r\n" HOST "\r\n"),
	 "ERR bad_target 400"},
	{"target_quote", REQ, 0, 0, {0}, S("GET /a\"b HTTP/1.1\r\n" HOST "\r\n"),
	 "ERR bad_target 400"},
	{"target_fragment", REQ, 0, 0, {0}, S("GET /a#f HTTP/1.1\r\n" HOST "\r\n"),
	 "ERR bad_target 400"},
	{"target_high_byte", REQ, 0, 0, {0}, S("GET /caf\xc3\xa9 HTTP/1.1\r\n" HOST "\r\n"),
	 "ERR bad_target 400"},
	{"target_backslash", REQ, 0, 0, {0}, S("GET /a\\b HTTP/1.1\r\n" HOST "\r\n"),
	 "ERR bad_target 400"},
	{"target_relative", REQ, 0, 0, {0}, S("GET a/b HTTP/1.1\r\n" HOST "\r\n"),
	 "ERR bad_target 400"},
	{"asterisk_get", REQ, 0, 0, {0}, S("GET * HTTP/1.1\r\n" HOST "\r\n"),
	 "ERR bad_target 400"},
	{"connect_path", REQ, 0, 0, {0}, S("CONNECT /x HTTP/1.1\r\n" HOST "\r\n"),
	 "ERR bad_target 400"},
	{"connect_no_port", REQ, 0, 0, {0}, S("CONNECT h HTTP/1.1\r\n" HOST "\r\n"),
	 "ERR bad_target 400"},
	{"absolute_userinfo", REQ, 0, 0, {0}, S("GET http://u@h/ HTTP/1.1\r\n" HOST "\r\n"),
	 "ERR bad_target 400"},
	{"absolute_empty_authority", REQ, 0, 0, {0}, S("GET http:///p HTTP/1.1\r\n" HOST "\r\n"),
	 "ERR bad_target 400"},
	{"http09", REQ, 0, 0, {0}, S("GET /\r\n\r\n"),
	 "ERR bad_target 400"},
	{"no_host", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\nX: y\r\n\r\n"),
	 "ERR bad_host 400"},
	{"two_hosts", REQ, 0, 0, {0}, S("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"),
	 "H Host: a|ERR bad_host 400"},
	{"http2", REQ, 0, 0, {0}, S("GET / HTTP/2.0\r\n" HOST "\r\n"),
	 "ERR version_unsupported 505"},
	{"http12", REQ, 0, 0, {0}, S("GET / HTTP/1.2\r\n" HOST "\r\n"),
	 "ERR version_unsupported 505"},
	{"http09_version", REQ, 0, 0, {0}, S("GET / HTTP/0.9\r\n\r\n"),
	 "ERR version_unsupported 505"},
	{"version_lower", REQ, 0, 0, {0}, S("GET / http/1.1\r\n" HOST "\r\n"),
	 "ERR bad_version 400"},
	{"version_long", REQ, 0, 0, {0}, S("GET / HTTP/1.10\r\n" HOST "\r\n"),
	 "ERR bad_version 400"},
	{"version_trailing_space", REQ, 0, 0, {0}, S("GET / HTTP/1.1 \r\n" HOST "\r\n"),
	 "ERR bad_version 400"},
	{"version_short", REQ, 0, 0, {0}, S("GET / HTTP/1\r\n" HOST "\r\n"),
	 "ERR bad_version 400"},
	{"version_garbage", REQ, 0, 0, {0}, S("GET / FOO\r\n" HOST "\r\n"),
	 "ERR bad_version 400"},
	{"too_many_headers", REQ, 0, 0, LIM(0, 3, 0), S("GET / HTTP/1.1\r\n" HOST
	   "A: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
	 "ERR too_many_headers 431"},
	{"too_many_trailers", REQ, 0, 0, LIM(0, 2, 0), S("POST / HTTP/1.1\r\n" HOST TE
	   "\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
	 "ERR too_many_headers 431"},
	{"headers_too_large", REQ, 0, 0, LIM(1, 0, 0), S("GET / HTTP/1.1\r\n" HOST
	   "X: 0123456789012345678901234567890123456789012345678901234567"
	   "89012345678901234567890123456789012345678901234567890123456789012345678901234567890123"
	   "45678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	   "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345"
	   "67890123456789012345678901234567890123456789012345678901234567890123456789012345678901"
	   "23456789012345678901234567890123456789012345678901234567890123456789012345678901234567"
	   "89012345678901234567890123456789012345678901234567890123456789012345678901234567890123"
	   "45678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	   "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345"
	   "67890123456789012345678901234567890123456789012345678901234567890123456789012345678901"
	   "23456789012345678901234567890123456789012345678901234567890123456789012345678901234567"
	   "89012345678901234567890123456789012345678901234567890123456789012345678901234567890123"
	   "4567890123456789\r\n\r\n"),
	 "ERR headers_too_large 431"},
	{"body_too_large_cl", REQ, 0, 0, LIM(0, 0, 4), S("POST / HTTP/1.1\r\n" HOST
	   "Content-Length: 5\r\n\r\nhello"),
	 "ERR body_too_large 413"},
	{"body_too_large_chunked", REQ, 0, 0, LIM(0, 0, 4), S("POST / HTTP/1.1\r\n" HOST TE
	   "\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"),
	 "B ab|ERR body_too_large 413"},
	{"truncated_body_eof", REQ, 0, 1, {0}, S("POST / HTTP/1.1\r\n" HOST
	   "Content-Length: 5\r\n\r\nhel"),
	 "B hel|ERR incomplete 400"},
	{"truncated_head_eof", REQ, 0, 1, {0}, S("GET / HTTP/1.1\r\nHo"),
	 "ERR incomplete 400"},
	{"idle_eof", REQ, 0, 1, {0}, S("GET / HTTP/1.0\r\n\r\n"),
	 "REQ GET / 1.0|HC none close|END"},
	/* ---- responses ---- */
	{"rsp_cl", RSP, 0, 0, {0}, S(OK "Content-Length: 2\r\n\r\nhi"),
	 "RSP 1.1 200 OK|H Content-Length: 2|HC len=2 ka|B hi|END"},
	{"rsp_chunked", RSP, 0, 0, {0}, S(OK TE "\r\n2\r\nhi\r\n0\r\nX-Sum: 9\r\n\r\n"),
	 "RSP 1.1 200 OK|H Transfer-Encoding: chunked|HC chunked ka|B hi|T X-Sum: 9|END"},
	{"rsp_eof", RSP, 0, 1, {0}, S(OK "Server: s\r\n\r\nabc\r\ndef"),
	 "RSP 1.1 200 OK|H Server: s|HC eof close|B abc\r\ndef|END"},
	{"rsp_eof_too_large", RSP, 0, 1, LIM(0, 0, 4), S(OK "\r\nabcdefgh"),
	 "RSP 1.1 200 OK|HC eof close|B abcd|ERR body_too_large 502"},
	{"rsp_eof_empty", RSP, 0, 1, {0}, S(OK "\r\n"),
	 "RSP 1.1 200 OK|HC eof close|END"},
	{"rsp_head", RSP, RW_H1_METHOD_HEAD, 0, {0}, S(OK "Content-Length: 99\r\n\r\n"),
	 "RSP 1.1 200 OK|H Content-Length: 99|HC none cl=99 ka|END"},
	{"rsp_head_pipelined", RSP, RW_H1_METHOD_HEAD, 0, {0}, S(OK TE
	   "\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 7\r\n\r\n"),
	 "RSP 1.1 200 OK|H Transfer-Encoding: chunked|HC none ka|END|RSP 1.1 404 Not Found|"
	 "H Content-Length: 7|HC none cl=7 ka|END"},
	{"rsp_204", RSP, 0, 0, {0}, S("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"),
	 "RSP 1.1 204 No Content|H Content-Length: 5|HC none cl=5 ka|END"},
	{"rsp_304", RSP, 0, 0, {0}, S("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"),
	 "RSP 1.1 304 Not Modified|H ETag: \"x\"|HC none ka|END"},
	{"rsp_100_then_200", RSP, 0, 0, {0}, S("HTTP/1.1 100 Continue\r\n\r\n" OK
	   "Content-Length: 1\r\n\r\nk"),
	 "RSP 1.1 100 Continue|HC none ka interim|END|RSP 1.1 200 OK|H Content-Length: 1|"
	 "HC len=1 ka|B k|END"},
	{"rsp_103_100_head", RSP, RW_H1_METHOD_HEAD, 0, {0}, S("HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\nHTTP/1.1 100 \r\n\r\n"
	   OK "Content-Length: 1\r\n\r\n"),
	 "RSP 1.1 103 Early Hints|H Link: </s>|HC none ka interim|END|RSP 1.1 100 |"
	 "HC none ka interim|END|RSP 1.1 200 OK|H Content-Length: 1|HC none cl=1 ka|END"},
	{"rsp_101", RSP, 0, 0, {0}, S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	   "\x81\x05hello"),
	 "RSP 1.1 101 Switching Protocols|H Upgrade: websocket|H Connection: Upgrade|"
	 "HC tunnel close upgrade|END"},
	{"rsp_connect_200", RSP, RW_H1_METHOD_CONNECT, 0, {0}, S(OK "\r\nSSH-2.0"),
	 "RSP 1.1 200 OK|HC tunnel close|END"},
	{"rsp_connect_407", RSP, RW_H1_METHOD_CONNECT, 0, {0}, S("HTTP/1.1 407 Auth\r\nContent-Length: 1\r\n\r\nx"),
	 "RSP 1.1 407 Auth|H Content-Length: 1|HC len=1 ka|B x|END"},
	{"rsp_http10_eof", RSP, 0, 1, {0}, S("HTTP/1.0 200 OK\r\n\r\nbody"),
	 "RSP 1.0 200 OK|HC eof close|B body|END"},
	{"rsp_http10_keepalive", RSP, 0, 0, {0}, S("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"),
	 "RSP 1.0 200 OK|H Connection: keep-alive|H Content-Length: 0|HC none cl=0 ka|END"},
	{"rsp_close", RSP, 0, 0, {0}, S(OK "Connection: close\r\nContent-Length: 0\r\n\r\n"),
	 "RSP 1.1 200 OK|H Connection: close|H Content-Length: 0|HC none cl=0 close|END"},
	{"rsp_no_reason", RSP, 0, 0, {0}, S("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"),
	 "RSP 1.1 200 |H Content-Length: 0|HC none cl=0 ka|END"},
	{"rsp_reason_chars", RSP, 0, 0, {0}, S("HTTP/1.1 599 a\tb \xff \r\nContent-Length: 0\r\n\r\n"),
	 "RSP 1.1 599 a\tb \xff |H Content-Length: 0|HC none cl=0 ka|END"},
	{"rsp_bad_code_short", RSP, 0, 0, {0}, S("HTTP/1.1 20 OK\r\n\r\n"),
	 "ERR bad_status 502"},
	{"rsp_bad_code_long", RSP, 0, 0, {0}, S("HTTP/1.1 2000 OK\r\n\r\n"),
	 "ERR bad_status 502"},
	{"rsp_bad_code_600", RSP, 0, 0, {0}, S("HTTP/1.1 600 X\r\n\r\n"),
	 "ERR bad_status 502"},
	{"rsp_bad_code_099", RSP, 0, 0, {0}, S("HTTP/1.1 099 X\r\n\r\n"),
	 "ERR bad_status 502"},
	{"rsp_bad_reason", RSP, 0, 0, {0}, S("HTTP/1.1 200 O\x01K\r\n\r\n"),
	 "ERR bad_status 502"},
	{"rsp_cl_and_te", RSP, 0, 0, {0}, S(OK "Content-Length: 1\r\n" TE "\r\n"),
	 "ERR cl_and_te 502"},
	{"rsp_te_gzip", RSP, 0, 0, {0}, S(OK "Transfer-Encoding: gzip\r\n\r\n"),
	 "ERR bad_transfer_encoding 502"},
	{"rsp_te_http10", RSP, 0, 0, {0}, S("HTTP/1.0 200 OK\r\n" TE "\r\n"),
	 "ERR te_in_http10 502"},
	{"rsp_cl_differing", RSP, 0, 0, {0}, S(OK "Content-Length: 1, 2\r\n\r\n"),
	 "ERR bad_content_length 502"},
	{"rsp_http2", RSP, 0, 0, {0}, S("HTTP/2.0 200 OK\r\n\r\n"),
	 "ERR version_unsupported 502"},
	{"rsp_garbage", RSP, 0, 0, {0}, S("SSH-2.0-OpenSSH\r\n"),
	 "ERR bad_version 502"},
	{"rsp_leading_crlf", RSP, 0, 0, {0}, S("\r\n" OK "\r\n"),
	 "ERR bad_version 502"},
	{"rsp_obs_fold", RSP, 0, 0, {0}, S(OK "X: a\r\n\tb\r\n\r\n"),
	 "ERR obs_fold 502"},
	{"rsp_truncated_eof", RSP, 0, 1, {0}, S(OK "Content-Length: 4\r\n\r\nab"),
	 "B ab|ERR incomplete 502"},
	{"rsp_chunked_truncated_eof", RSP, 0, 1, {0}, S(OK TE "\r\n2\r\nab\r\n"),
	 "B ab|ERR incomplete 502"},
	{"rsp_multi_host_ok", RSP, 0, 0, {0}, S(OK
	   "Host: a\r\nHost: b\r\nContent-Length: 0\r\n\r\n"),
	 "RSP 1.1 200 OK|H Host: a|H Host: b|H Content-Length: 0|HC none cl=0 ka|END"},
};
/* clang-format on */

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static struct h1t_opts opts_of(const struct tcase *t, bool pause)
{
	return (struct h1t_opts){t->kind, t->method, t->eof, pause, t->cfg};
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix) && (a == b || s[a - b - 1] == '|');
}

static void expect_same(const struct tcase *t, const char *mode, const char *ref, char *got)
{
	if (strcmp(ref, got)) {
		fprintf(stderr, "%s (%s):\n  whole: %s\n  split: %s\n", t->name, mode, ref, got);
		CHECK(0);
	}
	free(got);
}

static void run_case(const struct tcase *t, size_t *runs)
{
	size_t cuts[2], *many = malloc(sizeof(size_t) * (t->len + 1));
	bool *group = malloc(t->len + 1);
	char *ref =
	    h1t_run_whole(&(struct h1t_opts){t->kind, t->method, t->eof, 0, t->cfg}, t->in, t->len);

	CHECK(many && group);
	if (strstr(t->expect, "ERR ") ? !ends_with(ref, t->expect) : strcmp(ref, t->expect)) {
		fprintf(stderr, "%s:\n  expected: %s\n  got:      %s\n", t->name, t->expect, ref);
		CHECK(0);
	}
	for (int pause = 0; pause < 2; pause++) {
		struct h1t_opts o = opts_of(t, pause);
		struct h1t_plan plan;

		if (pause)
			expect_same(t, "whole+pause", ref, h1t_run_whole(&o, t->in, t->len));
		/* one byte per buffer */
		for (size_t i = 0; i < t->len; i++)
			many[i] = 1;
		plan = (struct h1t_plan){many, NULL, t->len};
		expect_same(t, "bytewise", ref, h1t_run(&o, t->in, t->len, &plan));
		/* two pieces, cut at every offset */
		for (size_t cut = 1; cut < t->len; cut++) {
			cuts[0] = cut;
			cuts[1] = t->len - cut;
			plan = (struct h1t_plan){cuts, NULL, 2};
			expect_same(t, "two", ref, h1t_run(&o, t->in, t->len, &plan));
			/* the same cut, both buffers arriving at once: a chain of two slices */
			group[0] = true;
			group[1] = false;
			plan.group = group;
			expect_same(t, "two-chained", ref, h1t_run(&o, t->in, t->len, &plan));
		}
		/* random chains of small buffers, arriving in random groups */
		for (int iter = 0; iter < 100; iter++) {
			size_t n = 0, left = t->len;

			while (left) {
				size_t len = 1 + h1t_rng() % (h1t_rng() % 2 ? 4 : 40);

				if (len > left)
					len = left;
				many[n] = len;
				group[n] = h1t_rng() % 3 != 0;
				n++;
				left -= len;
			}
			plan = (struct h1t_plan){many, group, n};
			expect_same(t, "random", ref, h1t_run(&o, t->in, t->len, &plan));
		}
		*runs += 2 * t->len + 101;
	}
	free(ref);
	free(many);
	free(group);
}

int main(void)
{
	double t0;
	size_t runs = 0, names = 0;

	h1t_seed_init();
	t0 = h1t_now();
	/* names are unique, so a failure message points at one entry */
	for (size_t i = 0; i < N_CASES; i++)
		for (size_t j = i + 1; j < N_CASES; j++)
			CHECK(strcmp(cases[i].name, cases[j].name) != 0);
	for (size_t i = 0; i < N_CASES; i++) {
		run_case(&cases[i], &runs);
		names++;
	}
	printf("h1_parse: %zu cases, %zu parses, %.2fs\n", names, runs, h1t_now() - t0);
	rw_buf_pool_destroy(&h1t_small);
	rw_buf_pool_destroy(&h1t_big);
	return 0;
}
