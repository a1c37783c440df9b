"""HttpConnectionManager options of ringway, with Envoy's semantics, through the real binary.

Every class starts one ringway with two (or three) listeners on the same routes: "proxy" has
the option under test, "plain" has the defaults, so each test shows both what the option does
and that nothing happens without it.  Proves, by looking at what the mock origin received
and what the client got back:
- normalize_path: dot segments ("/a/./b/../c", "%2E%2E") are removed before routing (a route
  with path "/a/c" matches "/a/b/../c") and the origin sees the normalized path; escapes of
  unreserved characters are decoded ("%7e" -> "~"); other escapes are kept byte for byte
  ("%2f" stays "%2f", "%2F" stays "%2F": Envoy does no case normalization); the query is
  untouched; an invalid escape ("%zz") passes through unchanged (Chromium's permissive
  canonicalizer); "%00" fails normalization -> 400 with an empty body;
- merge_slashes: "//a///b" -> "/a/b" (query untouched); without it forwarded as is;
- strip_any_host_port: "Host: example.com:8080" matches the "example.com" virtual host and
  the origin sees "example.com"; without it the request falls to the "*" virtual host;
- common_http_protocol_options.headers_with_underscores_action: REJECT_REQUEST -> 400 "Bad
  Request" (an HTTP/1 codec error: the connection closes, nothing reaches the origin);
  DROP_HEADER -> the header is removed, the others are forwarded; ALLOW (default) forwards;
- http_protocol_options.allow_absolute_url: false -> an absolute-form target is not a path:
  404 with an empty body (Envoy's "absolute_path" local reply); default true -> origin-form
  ("/" for an empty path, query kept) and the Host comes from the URL (RFC 9112 3.2.2);
- http_protocol_options.enable_trailers: request and response trailers are forwarded; by
  default they are dropped both ways while the chunked bodies arrive intact;
- common_http_protocol_options.max_stream_duration: 0.5s and an origin that never answers ->
  408 "downstream duration timeout", the upstream connection is closed, the proxy serves on;
- common_http_protocol_options.max_connection_duration: 1s -> an idle keep-alive connection
  is closed; a request in flight at the deadline gets "connection: close" and then the close;
- common_http_protocol_options.max_requests_per_connection: 3 -> the 3rd response carries
  "connection: close" and the connection closes after it;
- codec_type HTTP2 is refused at start-up (exit 1, "not supported by ringway yet").

Note: ringway applies the HCM's enable_trailers to the upstream side as well; Envoy needs the
cluster's HTTP protocol options for that, which ringway does not accept yet.
"""

import time

import harness
from http_harness import (
    HttpClient,
    HttpTestCase,
    HttpUpstream,
    Response,
    assert_serves,
    default_respond,
    encode_request,
    hcm_listener,
    header_values,
    http_config,
    http_raw,
    http_request,
    main,
    route,
    start_proxy,
    vhost,
)


def two_listener_config(vhosts, clusters, hcm, plain_hcm=None, more=None):
    """Listener "proxy" with `hcm` merged into its HCM, listener "plain" with `plain_hcm`
    (default: nothing), and `more` = {name: hcm dict} further listeners; same routes on all."""
    extra = [hcm_listener(vhosts, "plain", plain_hcm)]
    extra += [hcm_listener(vhosts, name, h) for name, h in (more or {}).items()]
    return http_config(vhosts, clusters, hcm=hcm, extra_listeners=extra)


def wait_until(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def connection_tokens(resp):
    return [v.lower() for v in header_values(resp, "connection")]


class OptionsTestCase(HttpTestCase):
    """Helpers shared by the classes below: cls.proxy, cls.up (default responder 'up')."""

    def get(self, target, listener="proxy", host="example.com", headers=()):
        return http_request(self.proxy.addr(listener), "GET", target,
                            [("Host", host)] + list(headers))

    def raw(self, raw, listener="proxy"):
        """Raw request bytes on a fresh connection; the response (the connection is left as
        it is: no wait for a close)."""
        with HttpClient(self.proxy.addr(listener)) as c:
            c.send(raw)
            return c.read_response()

    def raw_closed(self, raw, listener="proxy"):
        """(response, whether the proxy closed the connection after it within 2 s)."""
        return http_raw(self.proxy.addr(listener), raw)

    def origin_saw(self, resp, upstream=None):
        """The request the origin recorded last, after checking the client got its answer."""
        self.assertEqual(resp.status, 200, resp)
        return (upstream or self.up).snapshot()[-1]


# --------------------------------------------------------------------------------------------
# normalize_path / merge_slashes


class NormalizePath(OptionsTestCase):

    @classmethod
    def setUpClass(cls):
        cls.up = cls.keep(HttpUpstream(name="up"))
        cls.ac = cls.keep(HttpUpstream(name="ac"))
        routes = [route("ac", path="/a/c"), route("up", prefix="/")]
        cls.proxy = cls.keep(start_proxy(two_listener_config(
            [vhost("main", ["example.com"], routes)],
            {"up": [cls.up.endpoint], "ac": [cls.ac.endpoint]},
            hcm={"normalize_path": True})))

    def tearDown(self):
        self.assert_alive(self.proxy)
        assert_serves(self, self.proxy.addr())

    def test_dot_segments_removed_before_routing(self):
        # The path route "/a/c" only matches if routing sees the normalized path.
        for target in ("/a/./b/../c", "/a/b/../c", "/a/b/%2E%2E/c", "/x/../a/./c"):
            with self.subTest(target):
                r = self.get(target)
                self.assertEqual((r.status, r.header("x-upstream"), r.body),
                                 (200, "ac", b"ac GET /a/c"), r)
                self.assertEqual(self.ac.snapshot()[-1].target, "/a/c")

    def test_dot_segments_other_route(self):
        r = self.get("/p/./q/../r/.")
        self.assertEqual((r.header("x-upstream"), r.body), ("up", b"up GET /p/r/"), r)

    def test_unreserved_escapes_decoded(self):
        r = self.get("/%7euser/%41%62%2D%5F%2e%31")
        self.assertEqual(self.origin_saw(r).target, "/~user/Ab-_.1")

    def test_reserved_escapes_kept_as_sent(self):
        # Envoy keeps such escapes byte for byte (no RFC 3986 case normalization: its
        # path_utility_test has "/a/%2F%2f/c" -> "/a/%2F%2f/c").
        for target in ("/x%2Fy", "/x%2fy", "/a/%2F%2f/c", "/s%20p%3F"):
            with self.subTest(target):
                r = self.get(target)
                self.assertEqual(self.origin_saw(r).target, target)

    def test_query_untouched(self):
        r = self.get("/q/./w/../e?x=/./..&y=%7e//&z=%2f")
        self.assertEqual(self.origin_saw(r).target, "/q/e?x=/./..&y=%7e//&z=%2f")

    def test_invalid_escape_passes_through(self):
        # Envoy's canonicalizer (Chromium's) is permissive about "%" not followed by two hex
        # digits: it copies it.  Only an escape decoding to NUL fails (next test).
        for target in ("/a%zz", "/a%2", "/a%g1/b"):
            with self.subTest(target):
                r = self.get(target)
                self.assertEqual(self.origin_saw(r).target, target)

    def test_nul_escape_is_400(self):
        before = len(self.up.snapshot())
        r = self.get("/a%00b")
        # Envoy: sendLocalReply(BadRequest, "") with details path_normalization_failed.
        self.assertEqual((r.status, r.body), (400, b""), r)
        self.assertEqual(len(self.up.snapshot()), before, "a rejected path reached the origin")

    def test_without_the_option_forwarded_unchanged(self):
        r = self.get("/a/./b/../c", listener="plain")
        # Not normalized: the "/a/c" route does not match, the catch-all does.
        self.assertEqual((r.header("x-upstream"), r.body), ("up", b"up GET /a/./b/../c"), r)
        r = self.get("/%7e%2f", listener="plain")
        self.assertEqual(self.origin_saw(r).target, "/%7e%2f")


class MergeSlashes(OptionsTestCase):

    @classmethod
    def setUpClass(cls):
        cls.up = cls.keep(HttpUpstream(name="up"))
        cls.proxy = cls.keep(start_proxy(two_listener_config(
            [vhost("main", ["example.com"], [route("up")])], {"up": [cls.up.endpoint]},
            hcm={"merge_slashes": True})))

    def tearDown(self):
        self.assert_alive(self.proxy)

    def test_slashes_merged(self):
        for target, want in (("//a///b", "/a/b"), ("/a//b/", "/a/b/"),
                             ("//a//b?x=//y", "/a/b?x=//y"), ("/", "/")):
            with self.subTest(target):
                r = self.get(target)
                self.assertEqual(self.origin_saw(r).target, want)

    def test_dot_segments_kept_without_normalize_path(self):
        r = self.get("/a//./b")
        self.assertEqual(self.origin_saw(r).target, "/a/./b")

    def test_without_the_option_forwarded_unchanged(self):
        r = self.get("//a///b", listener="plain")
        self.assertEqual(self.origin_saw(r).target, "//a///b")


# --------------------------------------------------------------------------------------------
# strip_any_host_port


class StripAnyHostPort(OptionsTestCase):

    @classmethod
    def setUpClass(cls):
        cls.exact = cls.keep(HttpUpstream(name="exact"))
        cls.fallback = cls.keep(HttpUpstream(name="fallback"))
        cls.proxy = cls.keep(start_proxy(two_listener_config(
            [vhost("exact", ["example.com"], [route("exact")]),
             vhost("fallback", ["*"], [route("fallback")])],
            {"exact": [cls.exact.endpoint], "fallback": [cls.fallback.endpoint]},
            hcm={"strip_any_host_port": True})))

    def tearDown(self):
        self.assert_alive(self.proxy)

    def test_port_stripped(self):
        r = self.get("/p", host="example.com:8080")
        self.assertEqual(r.header("x-upstream"), "exact", r)
        self.assertEqual(self.origin_saw(r, self.exact).header_all("host"), ["example.com"])

    def test_host_without_port_unchanged(self):
        r = self.get("/p", host="example.com")
        self.assertEqual(r.header("x-upstream"), "exact", r)
        self.assertEqual(self.origin_saw(r, self.exact).header_all("host"), ["example.com"])

    def test_without_the_option_port_kept(self):
        r = self.get("/p", listener="plain", host="example.com:8080")
        self.assertEqual(r.header("x-upstream"), "fallback", r)
        self.assertEqual(self.origin_saw(r, self.fallback).header_all("host"),
                         ["example.com:8080"])


# --------------------------------------------------------------------------------------------
# headers_with_underscores_action


def underscores(action):
    return {"common_http_protocol_options": {"headers_with_underscores_action": action}}


class HeadersWithUnderscores(OptionsTestCase):

    @classmethod
    def setUpClass(cls):
        cls.up = cls.keep(HttpUpstream(name="up"))
        cls.proxy = cls.keep(start_proxy(two_listener_config(
            [vhost("main", ["example.com"], [route("up")])], {"up": [cls.up.endpoint]},
            hcm=underscores("REJECT_REQUEST"), more={"drop": underscores("DROP_HEADER")})))

    def tearDown(self):
        self.assert_alive(self.proxy)
        for listener in ("proxy", "drop", "plain"):
            assert_serves(self, self.proxy.addr(listener))

    def request(self):
        return encode_request("GET", "/u", [("Host", "example.com"), ("x-bar", "2"),
                                            ("x_foo", "1"), ("x-baz", "3")])

    def test_reject_request(self):
        before = len(self.up.snapshot())
        r, closed = self.raw_closed(self.request())
        # An HTTP/1 codec error in Envoy: 400 with the status text as body, then close.
        self.assertEqual((r.status, r.body), (400, b"Bad Request"), r)
        self.assertTrue(closed, "the connection stayed open after the 400")
        self.assertEqual(len(self.up.snapshot()), before, "the request reached the origin")

    def test_drop_header(self):
        r = self.raw(self.request(), listener="drop")
        req = self.origin_saw(r)
        self.assertNotIn("x_foo", req.header_names())
        self.assertEqual((req.header_all("x-bar"), req.header_all("x-baz")), (["2"], ["3"]))
        self.assertEqual(req.header_all("host"), ["example.com"])

    def test_allow_by_default(self):
        r = self.raw(self.request(), listener="plain")
        req = self.origin_saw(r)
        self.assertEqual(req.header_all("x_foo"), ["1"])
        self.assertEqual((req.header_all("x-bar"), req.header_all("x-baz")), (["2"], ["3"]))


# --------------------------------------------------------------------------------------------
# allow_absolute_url


class AbsoluteUrl(OptionsTestCase):

    @classmethod
    def setUpClass(cls):
        cls.up = cls.keep(HttpUpstream(name="up"))
        # Only example.com is served: a request routed by its Host header "ignored.test"
        # would get 404.
        cls.proxy = cls.keep(start_proxy(two_listener_config(
            [vhost("main", ["example.com"], [route("up")])], {"up": [cls.up.endpoint]},
            hcm={"http_protocol_options": {"allow_absolute_url": False}})))

    def tearDown(self):
        self.assert_alive(self.proxy)
        assert_serves(self, self.proxy.addr())

    def test_refused_when_not_allowed(self):
        # The codec leaves the URL as :path; the HCM only accepts paths starting with "/":
        # sendLocalReply(NotFound, "") with details absolute_path.
        before = len(self.up.snapshot())
        r = self.raw(b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
        self.assertEqual((r.status, r.body), (404, b""), r)
        self.assertEqual(len(self.up.snapshot()), before, "the request reached the origin")

    def test_allowed_by_default_origin_form(self):
        for url, want in ((b"http://example.com/", "/"), (b"http://example.com", "/"),
                          (b"http://example.com/x/y?q=1&r=/s", "/x/y?q=1&r=/s")):
            with self.subTest(url):
                r = self.raw(b"GET %s HTTP/1.1\r\nHost: example.com\r\n\r\n" % url,
                             listener="plain")
                self.assertEqual(self.origin_saw(r).target, want)

    def test_host_taken_from_the_url(self):
        # RFC 9112 3.2.2: a server receiving absolute-form ignores the Host header field.
        r = self.raw(b"GET http://example.com/h HTTP/1.1\r\nHost: ignored.test\r\n\r\n",
                     listener="plain")
        req = self.origin_saw(r)
        self.assertEqual((req.target, req.header_all("host")), ("/h", ["example.com"]))


# --------------------------------------------------------------------------------------------
# enable_trailers


def trailers_respond(req):
    if req.target.startswith("/rsp"):
        # A chunked response with a trailer: the framing is written by hand.
        return Response(200, [("x-upstream", "up"), ("Transfer-Encoding", "chunked")],
                        b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-rt: 2\r\n\r\n")
    return default_respond("up")(req)


CHUNKED_WITH_TRAILER = (b"POST /req HTTP/1.1\r\nHost: example.com\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n"
                        b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-t: 1\r\n\r\n")


class Trailers(OptionsTestCase):

    @classmethod
    def setUpClass(cls):
        cls.up = cls.keep(HttpUpstream(trailers_respond, name="up"))
        cls.proxy = cls.keep(start_proxy(two_listener_config(
            [vhost("main", ["example.com"], [route("up")])], {"up": [cls.up.endpoint]},
            hcm={"http_protocol_options": {"enable_trailers": True}})))

    def tearDown(self):
        self.assert_alive(self.proxy)

    def lower(self, fields):
        return [(k.lower(), v) for k, v in fields]

    def test_request_trailers_forwarded(self):
        r = self.raw(CHUNKED_WITH_TRAILER)
        req = self.origin_saw(r)
        self.assertEqual(req.body, b"hello world")
        self.assertTrue(req.chunked, "trailers can only travel with a chunked body")
        self.assertEqual(self.lower(req.trailers), [("x-t", "1")])

    def test_response_trailers_forwarded(self):
        r = self.get("/rsp")
        self.assertEqual((r.status, r.body), (200, b"hello world"), r)
        self.assertEqual(self.lower(r.trailers), [("x-rt", "2")])

    def test_request_trailers_dropped_by_default(self):
        r = self.raw(CHUNKED_WITH_TRAILER, listener="plain")
        req = self.origin_saw(r)
        self.assertEqual((req.body, req.trailers), (b"hello world", []))

    def test_response_trailers_dropped_by_default(self):
        r = self.get("/rsp", listener="plain")
        self.assertEqual((r.status, r.body, r.trailers), (200, b"hello world", []), r)


# --------------------------------------------------------------------------------------------
# max_stream_duration


class MaxStreamDuration(OptionsTestCase):

    @classmethod
    def setUpClass(cls):
        cls.up = cls.keep(HttpUpstream(name="up"))
        # Its own origin, so its connection count is only the held streams'.
        cls.hold = cls.keep(HttpUpstream(lambda req: None, name="hold"))
        cls.proxy = cls.keep(start_proxy(http_config(
            [vhost("main", ["example.com"], [route("hold", prefix="/hold"), route("up")])],
            {"up": [cls.up.endpoint], "hold": [cls.hold.endpoint]},
            hcm={"common_http_protocol_options": {"max_stream_duration": "0.5s"}})))

    def tearDown(self):
        self.assert_alive(self.proxy)
        assert_serves(self, self.proxy.addr(), target="/after")

    def test_origin_never_answers_is_408(self):
        before = len(self.hold.snapshot())
        r = http_request(self.proxy.addr(), "GET", "/hold", [("Host", "example.com")],
                         timeout=10)
        self.assertEqual((r.status, r.body), (408, b"downstream duration timeout"), r)
        self.assertEqual(len(self.hold.snapshot()), before + 1, "the request never reached it")
        # The stream is reset: the proxy gives up its upstream connection too.
        self.assertTrue(wait_until(lambda: self.hold.active == 0, 5.0),
                        "the upstream connection of the timed-out stream stayed open")

    def test_quick_stream_unaffected(self):
        with HttpClient(self.proxy.addr()) as c:
            for i in range(3):
                r = c.request("GET", "/quick%d" % i)
                self.assertEqual((r.status, r.body), (200, b"up GET /quick%d" % i), r)


# --------------------------------------------------------------------------------------------
# max_connection_duration


class MaxConnectionDuration(OptionsTestCase):

    @classmethod
    def setUpClass(cls):
        serve = default_respond("up")

        def respond(req):
            if req.target.startswith("/slow"):
                return Response(200, [("x-upstream", "up")], b"slow", delay=1.6)
            return serve(req)

        cls.up = cls.keep(HttpUpstream(respond, name="up"))
        # drain_timeout short: Envoy closes an idle HTTP/1 connection when its drain ends.
        cls.proxy = cls.keep(start_proxy(http_config(
            [vhost("main", ["example.com"], [route("up")])], {"up": [cls.up.endpoint]},
            hcm={"common_http_protocol_options": {"max_connection_duration": "1s"},
                 "drain_timeout": "0.2s"})))

    def tearDown(self):
        self.assert_alive(self.proxy)

    def test_idle_connection_closed(self):
        with HttpClient(self.proxy.addr()) as c:
            r = c.request("GET", "/first")
            self.assertEqual(r.status, 200, r)
            self.assertNotIn("close", connection_tokens(r), r)
            # Generous bound: 1 s of duration plus the drain, and then some.
            self.assertTrue(c.read_eof(6.0),
                            "the idle connection outlived max_connection_duration")
        assert_serves(self, self.proxy.addr())

    def test_busy_connection_closed_after_its_response(self):
        with HttpClient(self.proxy.addr(), timeout=10) as c:
            # The response comes 1.6 s after the request: the deadline passes mid-stream.
            r = c.request("GET", "/slow")
            self.assertEqual((r.status, r.body), (200, b"slow"), r)
            self.assertIn("close", connection_tokens(r), r)
            self.assertTrue(c.read_eof(3.0),
                            "the connection stayed open after connection: close")


# --------------------------------------------------------------------------------------------
# max_requests_per_connection


class MaxRequestsPerConnection(OptionsTestCase):

    @classmethod
    def setUpClass(cls):
        cls.up = cls.keep(HttpUpstream(name="up"))
        cls.proxy = cls.keep(start_proxy(http_config(
            [vhost("main", ["example.com"], [route("up")])], {"up": [cls.up.endpoint]},
            hcm={"common_http_protocol_options": {"max_requests_per_connection": 3}})))

    def tearDown(self):
        self.assert_alive(self.proxy)

    def test_third_response_closes(self):
        with HttpClient(self.proxy.addr()) as c:
            for i in (1, 2):
                r = c.request("GET", "/r%d" % i)
                self.assertEqual((r.status, r.body), (200, b"up GET /r%d" % i), r)
                self.assertNotIn("close", connection_tokens(r), (i, r))
            r = c.request("GET", "/r3")
            self.assertEqual((r.status, r.body), (200, b"up GET /r3"), r)
            self.assertIn("close", connection_tokens(r), r)
            self.assertTrue(c.read_eof(2.0), "the connection stayed open after the 3rd response")
        # A new connection gets its own three.
        with HttpClient(self.proxy.addr()) as c:
            r = c.request("GET", "/again")
            self.assertEqual(r.status, 200, r)
            self.assertNotIn("close", connection_tokens(r), r)

    def test_pipelined_requests_beyond_the_limit(self):
        # Four requests in one write: three answers, then the close; the fourth is never
        # forwarded.  (The header on the 3rd answer is test_third_response_closes' business.)
        before = len(self.up.snapshot())
        with HttpClient(self.proxy.addr()) as c:
            c.send(b"".join(encode_request("GET", "/p%d" % i) for i in range(4)))
            for i in range(3):
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, b"up GET /p%d" % i), r)
            self.assertTrue(c.read_eof(2.0), "the connection stayed open after the 3rd response")
        self.assertEqual([q.target for q in self.up.snapshot()[before:]], ["/p0", "/p1", "/p2"])


# --------------------------------------------------------------------------------------------
# codec_type


class CodecType(HttpTestCase):

    def validate(self, codec):
        cfg = http_config([vhost("main", ["*"], [route("up")])], {"up": [("127.0.0.1", 9)]},
                          hcm={"codec_type": codec})
        return harness.run_ringway(["--mode", "validate"], config=cfg)

    def test_http2_refused(self):
        r = self.validate("HTTP2")
        self.assertEqual(r.returncode, 1, "stdout=%r stderr=%r" % (r.stdout, r.stderr))
        self.assertIn("not supported by ringway yet", r.stderr)
        self.assertIn("codec_type", r.stderr)
        self.assertNotIn("OK", r.stdout)

    def test_http1_and_auto_accepted(self):
        for codec in ("HTTP1", "AUTO"):
            with self.subTest(codec):
                r = self.validate(codec)
                self.assertEqual(r.returncode, 0, "stdout=%r stderr=%r" % (r.stdout, r.stderr))
                self.assertIn("OK", r.stdout)


if __name__ == "__main__":
    main()
