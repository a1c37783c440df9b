"""Header handling of ringway's HttpConnectionManager, with Envoy's semantics.

Proves, by looking at exactly what the mock origin received and what the client got back:
- request_headers_to_add/remove and response_headers_to_add/remove at route, virtual host
  and route_config level; the three append_actions; Envoy's order (route, then virtual
  host, then route_config: the least specific level is applied last unless
  most_specific_header_mutations_wins); values with %DOWNSTREAM_REMOTE_ADDRESS%,
  %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%, %REQ(x)%, %UPSTREAM_CLUSTER%, %PROTOCOL%,
  %ROUTE_NAME% and "%%"; an empty value is not added (keep_empty_value false); local
  replies chosen by a route (direct_response, redirect, the router's 503) get the response
  headers too;
- x-forwarded-for appended only with use_remote_address; x-forwarded-proto "http";
  x-request-id generated as a UUIDv4, kept when the client sent one, replaced on edge
  requests (use_remote_address and a client-sent XFF), absent with generate_request_id:
  false; x-envoy-internal / x-envoy-external-address; x-envoy-expected-rq-timeout-ms;
  x-envoy-upstream-service-time on proxied responses; "server: envoy" by default
  (overwriting the origin's) and server_name;
- hop-by-hop headers (Connection and the headers it names, Keep-Alive, Proxy-Connection, TE,
  Upgrade, Transfer-Encoding) are not forwarded in either direction.
"""

import re

from http_harness import (
    HttpClient,
    HttpTestCase,
    HttpUpstream,
    Response,
    encode_request,
    header_values,
    http_config,
    http_request,
    main,
    route,
    start_proxy,
    vhost,
)

UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def hv(key, value, action=None, keep_empty=None):
    """A HeaderValueOption."""
    d = {"header": {"key": key, "value": value}}
    if action:
        d["append_action"] = action
    if keep_empty is not None:
        d["keep_empty_value"] = keep_empty
    return d


APPEND = "APPEND_IF_EXISTS_OR_ADD"
ABSENT = "ADD_IF_ABSENT"
OVERWRITE = "OVERWRITE_IF_EXISTS_OR_ADD"


def mutation_respond(req):
    """The origin's answer for the mutation tests: headers the config appends to, overwrites
    or removes."""
    return Response(200, [
        ("x-upstream", "up"),
        ("x-resp-app", "origin"),
        ("x-resp-absent", "origin"),
        ("x-resp-over", "origin"),
        ("x-up-remove-route", "1"),
        ("x-up-remove-vh", "1"),
        ("x-up-remove-rc", "1"),
        ("x-up-keep", "1"),
    ], b"ok")


def mutation_vhosts(route_name="hdr_route"):
    routes = [
        # Local replies chosen by a route get the response headers of the route, its
        # virtual host and the route_config too (Envoy's DirectResponseEntry).
        route(path="/direct", action={"direct_response": {
            "status": 200, "body": {"inline_string": "direct"}}},
              response_headers_to_add=[hv("x-direct", "1")]),
        route(path="/redir", action={"redirect": {"path_redirect": "/elsewhere"}},
              response_headers_to_add=[hv("x-redir", "1")]),
        route("empty", path="/nohosts", response_headers_to_add=[hv("x-nohosts", "1")]),
        route("up", prefix="/", name=route_name,
              request_headers_to_add=[
                  hv("x-route", "route"),
                  hv("x-order", "route", APPEND),
                  hv("x-ow", "route", OVERWRITE),
                  hv("x-app", "added", APPEND),
                  hv("x-absent", "added", ABSENT),
                  hv("x-over", "added", OVERWRITE),
                  hv("x-dra", "%DOWNSTREAM_REMOTE_ADDRESS%"),
                  hv("x-dra-np", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"),
                  hv("x-req", "v=%REQ(x-foo)%"),
                  hv("x-req-only", "%REQ(x-foo)%"),
                  hv("x-cluster", "%UPSTREAM_CLUSTER%"),
                  hv("x-proto", "%PROTOCOL%"),
                  hv("x-route-name", "%ROUTE_NAME%"),
                  hv("x-pct", "100%%"),
                  hv("x-empty-kept", "", keep_empty=True),
              ],
              request_headers_to_remove=["x-remove-route"],
              response_headers_to_add=[
                  hv("x-resp-route", "route"),
                  hv("x-resp-order", "route", APPEND),
                  hv("x-resp-app", "added", APPEND),
                  hv("x-resp-absent", "added", ABSENT),
                  hv("x-resp-absent2", "added", ABSENT),
                  hv("x-resp-over", "added", OVERWRITE),
                  hv("x-resp-cluster", "%UPSTREAM_CLUSTER%"),
                  hv("x-resp-client", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"),
              ],
              response_headers_to_remove=["x-up-remove-route"]),
    ]
    return [vhost("vh", ["*"], routes,
                  request_headers_to_add=[hv("x-vh", "vhost"), hv("x-order", "vhost", APPEND)],
                  request_headers_to_remove=["x-remove-vh"],
                  response_headers_to_add=[hv("x-resp-vh", "vhost"),
                                           hv("x-resp-order", "vhost", APPEND)],
                  response_headers_to_remove=["x-up-remove-vh"])]


def mutation_route_config(most_specific_wins=False):
    rc = {
        "request_headers_to_add": [hv("x-rc", "rc"), hv("x-order", "rc", APPEND),
                                   hv("x-ow", "rc", OVERWRITE)],
        "request_headers_to_remove": ["x-remove-rc"],
        "response_headers_to_add": [hv("x-resp-rc", "rc"), hv("x-resp-order", "rc", APPEND)],
        "response_headers_to_remove": ["x-up-remove-rc"],
    }
    if most_specific_wins:
        rc["most_specific_header_mutations_wins"] = True
    return rc


class HeaderMutations(HttpTestCase):

    @classmethod
    def setUpClass(cls):
        cls.up = cls.keep(HttpUpstream(mutation_respond, name="up"))
        clusters = {"up": [cls.up.endpoint], "empty": []}
        cls.proxy = cls.keep(start_proxy(http_config(
            mutation_vhosts(), clusters, route_config=mutation_route_config())))
        cls.proxy_specific = cls.keep(start_proxy(http_config(
            mutation_vhosts(), clusters, route_config=mutation_route_config(True))))

    def exchange(self, headers=(), proxy=None):
        """One request through `proxy`; returns (client response, upstream request, client
        port)."""
        self.up.reset()
        with HttpClient((proxy or self.proxy).addr()) as c:
            port = c.sock.getsockname()[1]
            r = c.request("GET", "/m?x=1", [("Host", "example.com")] + list(headers))
        self.assertEqual(r.status, 200, r)
        req = self.up.wait_requests(1)[0]
        return r, req, port

    def test_added_at_every_level(self):
        r, req, _ = self.exchange()
        self.assertEqual(req.header_all("x-route"), ["route"])
        self.assertEqual(req.header_all("x-vh"), ["vhost"])
        self.assertEqual(req.header_all("x-rc"), ["rc"])
        self.assertEqual(r.header_all("x-resp-route"), ["route"])
        self.assertEqual(r.header_all("x-resp-vh"), ["vhost"])
        self.assertEqual(r.header_all("x-resp-rc"), ["rc"])

    def test_order_most_specific_first(self):
        # Envoy appends route-level headers, then virtual host, then route_config.
        r, req, _ = self.exchange()
        self.assertEqual(header_values(req, "x-order"), ["route", "vhost", "rc"])
        self.assertEqual(header_values(r, "x-resp-order"), ["route", "vhost", "rc"])
        # So an overwrite at route_config level wins over the route's by default...
        self.assertEqual(req.header_all("x-ow"), ["rc"])

    def test_most_specific_header_mutations_wins(self):
        # ...and the order reverses with most_specific_header_mutations_wins.
        r, req, _ = self.exchange(proxy=self.proxy_specific)
        self.assertEqual(header_values(req, "x-order"), ["rc", "vhost", "route"])
        self.assertEqual(header_values(r, "x-resp-order"), ["rc", "vhost", "route"])
        self.assertEqual(req.header_all("x-ow"), ["route"])

    def test_append_if_exists_or_add(self):
        _, req, _ = self.exchange([("x-app", "client")])
        self.assertEqual(header_values(req, "x-app"), ["client", "added"])
        _, req, _ = self.exchange()
        self.assertEqual(header_values(req, "x-app"), ["added"])

    def test_add_if_absent(self):
        _, req, _ = self.exchange([("x-absent", "client")])
        self.assertEqual(header_values(req, "x-absent"), ["client"])
        _, req, _ = self.exchange()
        self.assertEqual(header_values(req, "x-absent"), ["added"])

    def test_overwrite_if_exists_or_add(self):
        _, req, _ = self.exchange([("x-over", "client1"), ("x-over", "client2")])
        self.assertEqual(req.header_all("x-over"), ["added"])
        _, req, _ = self.exchange()
        self.assertEqual(req.header_all("x-over"), ["added"])

    def test_response_append_actions(self):
        r, _, _ = self.exchange()
        self.assertEqual(header_values(r, "x-resp-app"), ["origin", "added"])
        self.assertEqual(r.header_all("x-resp-absent"), ["origin"])
        self.assertEqual(r.header_all("x-resp-absent2"), ["added"])
        self.assertEqual(r.header_all("x-resp-over"), ["added"])

    def test_request_headers_removed_at_every_level(self):
        _, req, _ = self.exchange([("x-remove-route", "1"), ("X-Remove-VH", "1"),
                                   ("x-remove-rc", "1"), ("x-keep", "1")])
        names = req.header_names()
        for gone in ("x-remove-route", "x-remove-vh", "x-remove-rc"):
            self.assertNotIn(gone, names)
        self.assertEqual(req.header_all("x-keep"), ["1"])

    def test_response_headers_removed_at_every_level(self):
        r, _, _ = self.exchange()
        names = r.header_names()
        for gone in ("x-up-remove-route", "x-up-remove-vh", "x-up-remove-rc"):
            self.assertNotIn(gone, names)
        self.assertEqual(r.header_all("x-up-keep"), ["1"])

    def test_local_replies_get_response_headers(self):
        r = http_request(self.proxy.addr(), "GET", "/direct", [("Host", "example.com")])
        self.assertEqual((r.status, r.body), (200, b"direct"), r)
        self.assertEqual(r.header_all("x-direct"), ["1"])
        self.assertEqual(r.header_all("x-resp-vh"), ["vhost"])
        self.assertEqual(r.header_all("x-resp-rc"), ["rc"])
        r = http_request(self.proxy.addr(), "GET", "/redir", [("Host", "example.com")])
        self.assertEqual(r.status, 301, r)
        self.assertEqual(r.header_all("location"), ["http://example.com/elsewhere"])
        self.assertEqual(r.header_all("x-redir"), ["1"])
        self.assertEqual(r.header_all("x-resp-vh"), ["vhost"])
        self.assertEqual(r.header_all("x-resp-rc"), ["rc"])

    def test_router_local_replies_get_response_headers(self):
        # Once a route is chosen, the router's own replies (here 503 no healthy upstream) go
        # through the route's finalizeResponseHeaders like an upstream response would.
        r = http_request(self.proxy.addr(), "GET", "/nohosts", [("Host", "example.com")])
        self.assertEqual((r.status, r.body), (503, b"no healthy upstream"), r)
        self.assertEqual(r.header_all("x-nohosts"), ["1"])
        self.assertEqual(r.header_all("x-resp-vh"), ["vhost"])
        self.assertEqual(r.header_all("x-resp-rc"), ["rc"])

    def test_downstream_address_formatters(self):
        r, req, port = self.exchange()
        self.assertEqual(req.header_all("x-dra"), ["127.0.0.1:%d" % port])
        self.assertEqual(req.header_all("x-dra-np"), ["127.0.0.1"])
        self.assertEqual(r.header_all("x-resp-client"), ["127.0.0.1"])

    def test_req_formatter(self):
        _, req, _ = self.exchange([("x-foo", "bar")])
        self.assertEqual(req.header_all("x-req"), ["v=bar"])
        self.assertEqual(req.header_all("x-req-only"), ["bar"])

    def test_empty_value_not_added(self):
        # %REQ(x-foo)% of an absent header is empty: the header is dropped unless
        # keep_empty_value; a non-empty remainder ("v=") is added.
        _, req, _ = self.exchange()
        self.assertEqual(req.header_all("x-req"), ["v="])
        self.assertNotIn("x-req-only", req.header_names())
        self.assertEqual(req.header_all("x-empty-kept"), [""])

    def test_cluster_protocol_route_name_and_percent(self):
        r, req, _ = self.exchange()
        self.assertEqual(req.header_all("x-cluster"), ["up"])
        self.assertEqual(req.header_all("x-proto"), ["HTTP/1.1"])
        self.assertEqual(req.header_all("x-route-name"), ["hdr_route"])
        self.assertEqual(req.header_all("x-pct"), ["100%"])
        self.assertEqual(r.header_all("x-resp-cluster"), ["up"])


class ForwardingHeaders(HttpTestCase):
    """x-forwarded-for / -proto, x-request-id, x-envoy-upstream-service-time, server."""

    @classmethod
    def setUpClass(cls):
        cls.up = cls.keep(HttpUpstream(name="up"))
        clusters = {"up": [cls.up.endpoint]}
        vhosts = [vhost("vh", ["*"], [
            route(path="/local", action={"direct_response": {"status": 404}}),
            route("up")])]
        cls.default = cls.keep(start_proxy(http_config(vhosts, clusters)))
        cls.remote = cls.keep(start_proxy(http_config(
            vhosts, clusters, hcm={"use_remote_address": True})))
        cls.noid = cls.keep(start_proxy(http_config(
            vhosts, clusters, hcm={"generate_request_id": False})))
        cls.named = cls.keep(start_proxy(http_config(
            vhosts, clusters, hcm={"server_name": "ringway-test"})))

    def exchange(self, proxy, headers=()):
        self.up.reset()
        r = http_request(proxy.addr(), "GET", "/f", [("Host", "example.com")] + list(headers))
        self.assertEqual(r.status, 200, r)
        return r, self.up.wait_requests(1)[0]

    def test_xff_appended_with_use_remote_address(self):
        _, req = self.exchange(self.remote)
        self.assertEqual(header_values(req, "x-forwarded-for"), ["127.0.0.1"])
        _, req = self.exchange(self.remote, [("X-Forwarded-For", "192.0.2.7")])
        self.assertEqual(header_values(req, "x-forwarded-for"), ["192.0.2.7", "127.0.0.1"])

    def test_xff_untouched_without_use_remote_address(self):
        _, req = self.exchange(self.default, [("X-Forwarded-For", "192.0.2.7, 198.51.100.1")])
        self.assertEqual(header_values(req, "x-forwarded-for"), ["192.0.2.7", "198.51.100.1"])
        _, req = self.exchange(self.default)
        self.assertNotIn("x-forwarded-for", req.header_names())

    def test_x_forwarded_proto(self):
        for proxy in (self.default, self.remote):
            _, req = self.exchange(proxy)
            self.assertEqual(req.header_all("x-forwarded-proto"), ["http"])

    def test_request_id_generated(self):
        _, a = self.exchange(self.default)
        _, b = self.exchange(self.default)
        ida, idb = a.header_all("x-request-id"), b.header_all("x-request-id")
        self.assertEqual(len(ida), 1, a)
        self.assertRegex(ida[0], UUID4_RE)
        self.assertRegex(idb[0], UUID4_RE)
        self.assertNotEqual(ida, idb)

    def test_request_id_kept(self):
        _, req = self.exchange(self.default, [("x-request-id", "client-id-123")])
        self.assertEqual(req.header_all("x-request-id"), ["client-id-123"])
        # With use_remote_address the client is trusted only when internal: loopback is an
        # internal address for Envoy, so its id is kept too.
        _, req = self.exchange(self.remote, [("x-request-id", "client-id-456")])
        self.assertEqual(req.header_all("x-request-id"), ["client-id-456"])

    def test_request_id_replaced_on_edge_requests(self):
        # With use_remote_address a request whose XFF (after appending) holds more than one
        # address is external: Envoy replaces the client's x-request-id with its own.
        _, req = self.exchange(self.remote, [("X-Forwarded-For", "192.0.2.7"),
                                             ("x-request-id", "client-id-789")])
        ids = req.header_all("x-request-id")
        self.assertEqual(len(ids), 1, req)
        self.assertRegex(ids[0], UUID4_RE)

    def test_internal_and_external_marks(self):
        # Envoy (conn_manager_utility.cc): with use_remote_address a request is internal only
        # when the client sent no x-forwarded-for and its address is internal (loopback).
        # Internal requests get x-envoy-internal: true; external ones lose any client-sent
        # x-envoy-internal and get x-envoy-external-address (the trusted client address).
        _, req = self.exchange(self.remote)
        self.assertEqual(req.header_all("x-envoy-internal"), ["true"])
        self.assertNotIn("x-envoy-external-address", req.header_names())
        _, req = self.exchange(self.remote, [("X-Forwarded-For", "192.0.2.7"),
                                             ("x-envoy-internal", "true")])
        self.assertNotIn("x-envoy-internal", req.header_names())
        self.assertEqual(req.header_all("x-envoy-external-address"), ["127.0.0.1"])

    def test_generate_request_id_false(self):
        _, req = self.exchange(self.noid)
        self.assertNotIn("x-request-id", req.header_names())
        _, req = self.exchange(self.noid, [("x-request-id", "mine")])
        self.assertEqual(req.header_all("x-request-id"), ["mine"])

    def test_upstream_service_time(self):
        r, _ = self.exchange(self.default)
        v = r.header_all("x-envoy-upstream-service-time")
        self.assertEqual(len(v), 1, r)
        self.assertRegex(v[0], r"^[0-9]+$")

    def test_expected_timeout_header(self):
        # The router tells the origin how long it will wait: the default route timeout, 15 s.
        _, req = self.exchange(self.default)
        self.assertEqual(req.header_all("x-envoy-expected-rq-timeout-ms"), ["15000"])

    def test_server_header_default(self):
        r, _ = self.exchange(self.default)
        self.assertEqual(r.header_all("server"), ["envoy"])

    def test_server_header_overwrites_origin(self):
        origin = HttpUpstream(lambda req: Response(200, [("Server", "origin/1.0")], b"x"),
                              name="origin")
        try:
            cfg = http_config([vhost("vh", ["*"], [route("origin")])],
                              {"origin": [origin.endpoint]})
            with start_proxy(cfg) as p:
                r = http_request(p.addr(), "GET", "/", [("Host", "example.com")])
                self.assertEqual(r.header_all("server"), ["envoy"], r)
        finally:
            origin.close()

    def test_server_name(self):
        r, _ = self.exchange(self.named)
        self.assertEqual(r.header_all("server"), ["ringway-test"])

    def test_local_reply_has_server_header(self):
        r = http_request(self.default.addr(), "GET", "/local", [("Host", "example.com")])
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.header_all("server"), ["envoy"])
        r = http_request(self.named.addr(), "GET", "/local", [("Host", "example.com")])
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.header_all("server"), ["ringway-test"])
        # Local replies carry no upstream service time.
        self.assertNotIn("x-envoy-upstream-service-time", r.header_names())


def hop_respond(req):
    """An origin answering with every hop-by-hop header, chunked."""
    return Response(200, [
        ("Connection", "keep-alive, X-Resp-Hop"),
        ("Keep-Alive", "timeout=5"),
        ("Proxy-Connection", "keep-alive"),
        ("Upgrade", "foo/1"),
        ("X-Resp-Hop", "1"),
        ("X-Resp-End", "1"),
    ], b"chunked body from origin", chunked=True)


class HopByHop(HttpTestCase):
    """Hop-by-hop headers belong to one connection: the proxy consumes them.  (Removing the
    headers a Connection header names is RFC 9110 section 7.6.1; Envoy itself only drops
    the fixed list, ringway does both.)"""

    @classmethod
    def setUpClass(cls):
        cls.up = cls.keep(HttpUpstream(hop_respond, name="up"))
        cfg = http_config([vhost("vh", ["*"], [route("up")])], {"up": [cls.up.endpoint]})
        cls.proxy = cls.keep(start_proxy(cfg))

    def test_request_hop_by_hop_not_forwarded(self):
        self.up.reset()
        with HttpClient(self.proxy.addr()) as c:
            c.send(encode_request("POST", "/hop", [
                ("Host", "example.com"),
                ("Connection", "keep-alive, X-Hop"),
                ("Keep-Alive", "timeout=5"),
                ("Proxy-Connection", "keep-alive"),
                ("TE", "gzip"),
                ("Upgrade", "foo/1"),
                ("X-Hop", "1"),
                ("X-End", "1"),
                ("Transfer-Encoding", "chunked"),
            ]) + b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            # Still usable: the proxy kept the client connection alive.
            self.assertEqual(c.request("GET", "/again").status, 200)
        req = self.up.wait_requests(2)[0]
        names = req.header_names()
        for gone in ("connection", "keep-alive", "proxy-connection", "te", "upgrade", "x-hop"):
            self.assertNotIn(gone, names, req)
        self.assertEqual(req.header_all("x-end"), ["1"])
        # Transfer-Encoding is framing: the body arrives whole, however it is re-framed.
        self.assertEqual(req.body, b"hello world")
        if not req.chunked:
            self.assertEqual(req.header_all("content-length"), ["11"])

    def test_response_hop_by_hop_not_forwarded(self):
        with HttpClient(self.proxy.addr()) as c:
            r = c.request("GET", "/resp")
            self.assertEqual(r.status, 200, r)
            names = r.header_names()
            for gone in ("keep-alive", "proxy-connection", "upgrade", "x-resp-hop"):
                self.assertNotIn(gone, names, r)
            for v in r.header_all("connection"):
                self.assertNotIn("x-resp-hop", v.lower(), r)
            self.assertEqual(r.header_all("x-resp-end"), ["1"])
            self.assertEqual(r.body, b"chunked body from origin")
            # The response framing is the proxy's own and stays in sync on keep-alive.
            self.assertEqual(c.request("GET", "/resp2").body, b"chunked body from origin")


if __name__ == "__main__":
    main()
