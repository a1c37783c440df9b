"""HTTP/1.1 routing through ringway's HttpConnectionManager, with Envoy's semantics.

Proves, with real sockets and mock origins that report which one served a request:
- virtual host selection on Host: exact, longest "*.suffix", longest "prefix.*", "*"; case
  insensitive; a port in Host is part of the name unless ignore_port_in_host_matching;
- route matching: prefix, exact path (query ignored), safe_regex (full match on the path),
  case_sensitive: false, header matchers (exact/prefix/suffix/contains/safe_regex, present,
  invert), query parameter matchers, first match wins;
- weighted_clusters split 30/70 within +-3 points over 10,000 requests on keep-alive
  connections;
- cluster_header (and cluster_not_found_response_code: 503 by default, 404 when asked);
- prefix_rewrite, regex_rewrite, host_rewrite_literal (query kept, x-envoy-original-path);
- redirects (https_redirect, host_redirect, path_redirect, prefix_rewrite, response codes,
  strip_query) and direct_response.
"""

import threading

from http_harness import (
    HttpClient,
    HttpTestCase,
    UpstreamSet,
    http_config,
    http_request,
    main,
    route,
    start_proxy,
    vhost,
)


def get(addr, target="/", host="example.com", headers=()):
    return http_request(addr, "GET", target, [("Host", host)] + list(headers))


class VirtualHostSelection(HttpTestCase):
    """Envoy's domain search order: exact, then suffix wildcards (longest first), then prefix
    wildcards (longest first), then "*".  Host is compared case-insensitively and with its
    port, so "example.com:9090" does not match the domain "example.com"."""

    NAMES = ["exact", "exact_port", "suffix", "suffix_long", "prefix", "prefix_long", "default"]

    @classmethod
    def setUpClass(cls):
        cls.ups = cls.keep(UpstreamSet(cls.NAMES))
        vhosts = [
            vhost("exact", ["example.com"], [route("exact")]),
            vhost("exact_port", ["example.com:8080"], [route("exact_port")]),
            vhost("suffix", ["*.example.com"], [route("suffix")]),
            vhost("suffix_long", ["*.api.example.com"], [route("suffix_long")]),
            vhost("prefix", ["api.*"], [route("prefix")]),
            vhost("prefix_long", ["api.internal.*"], [route("prefix_long")]),
            vhost("default", ["*"], [route("default")]),
        ]
        cls.proxy = cls.keep(start_proxy(http_config(vhosts, cls.ups.clusters)))
        cls.addr = cls.proxy.addr()
        # The same table with ignore_port_in_host_matching.
        cls.proxy_noport = cls.keep(start_proxy(http_config(
            vhosts, cls.ups.clusters, route_config={"ignore_port_in_host_matching": True})))

    def served_by(self, host, addr=None):
        r = get(addr or self.addr, "/", host)
        self.assertEqual(r.status, 200, r)
        return r.header("x-upstream")

    def test_exact(self):
        self.assertEqual(self.served_by("example.com"), "exact")

    def test_exact_is_case_insensitive(self):
        self.assertEqual(self.served_by("EXAMPLE.Com"), "exact")

    def test_exact_with_port_needs_the_port_in_the_domain(self):
        self.assertEqual(self.served_by("example.com:8080"), "exact_port")
        # No domain names example.com:9090: the port keeps "example.com" from matching.
        self.assertEqual(self.served_by("example.com:9090"), "default")

    def test_suffix_wildcard(self):
        self.assertEqual(self.served_by("www.example.com"), "suffix")
        # The wildcard does not match the empty string: example.com is not *.example.com
        # (it is the exact vhost here), and "*.example.com" never matches another domain.
        self.assertEqual(self.served_by("www.example.org"), "default")

    def test_longest_suffix_wins(self):
        self.assertEqual(self.served_by("v1.api.example.com"), "suffix_long")

    def test_suffix_beats_prefix(self):
        # api.example.com matches both "*.example.com" and "api.*": suffixes are tried first.
        self.assertEqual(self.served_by("api.example.com"), "suffix")

    def test_prefix_wildcard(self):
        self.assertEqual(self.served_by("api.other.org"), "prefix")
        # A prefix wildcard matches whatever follows, a port included.
        self.assertEqual(self.served_by("api.other.org:8443"), "prefix")

    def test_longest_prefix_wins(self):
        self.assertEqual(self.served_by("api.internal.net"), "prefix_long")

    def test_suffix_wildcard_does_not_match_with_port(self):
        self.assertEqual(self.served_by("www.example.com:8080"), "default")

    def test_star_is_the_fallback(self):
        self.assertEqual(self.served_by("unrelated.test"), "default")

    def test_upstream_sees_host_unchanged(self):
        self.ups["exact_port"].reset()
        self.assertEqual(self.served_by("example.com:8080"), "exact_port")
        req = self.ups["exact_port"].wait_requests(1)[0]
        self.assertEqual(req.header("host"), "example.com:8080")

    def test_ignore_port_in_host_matching(self):
        addr = self.proxy_noport.addr()
        self.assertEqual(self.served_by("example.com:9090", addr), "exact")
        self.assertEqual(self.served_by("www.example.com:8080", addr), "suffix")
        self.assertEqual(self.served_by("example.com", addr), "exact")


def hdr(name, **matcher):
    """A HeaderMatcher dict: hdr('x-a', string_match={'exact': 'v'}), hdr('x-a',
    present_match=True), ..."""
    d = {"name": name}
    d.update(matcher)
    return d


class RouteMatching(HttpTestCase):
    """Routes are tried in order, the first match wins; every matcher kind Envoy has for
    paths, headers and query parameters."""

    NAMES = ["path", "case", "regex", "h_exact", "h_prefix", "h_suffix", "h_contains",
             "h_regex", "h_present", "h_invert", "h_and", "q_present", "q_exact", "q_regex",
             "pfx_query", "first", "second", "default"]

    @classmethod
    def setUpClass(cls):
        cls.ups = cls.keep(UpstreamSet(cls.NAMES))
        routes = [
            route("path", path="/exact"),
            route("case", match={"prefix": "/CaseFree", "case_sensitive": False}),
            route("regex", match={"safe_regex": {"regex": "/v[0-9]+/items"}}),
            route("h_exact", match={"prefix": "/h", "headers": [
                hdr("x-exact", string_match={"exact": "yes"})]}),
            route("h_prefix", match={"prefix": "/h", "headers": [
                hdr("x-prefix", string_match={"prefix": "pre"})]}),
            route("h_suffix", match={"prefix": "/h", "headers": [
                hdr("x-suffix", string_match={"suffix": "fix"})]}),
            route("h_contains", match={"prefix": "/h", "headers": [
                hdr("x-contains", string_match={"contains": "needle"})]}),
            route("h_regex", match={"prefix": "/h", "headers": [
                hdr("x-regex", string_match={"safe_regex": {"regex": "[a-c]+[0-9]"}})]}),
            route("h_present", match={"prefix": "/h", "headers": [
                hdr("x-present", present_match=True)]}),
            # invert_match: matches when x-env is NOT exactly "prod" (absent included).
            route("h_invert", match={"prefix": "/hinv", "headers": [
                hdr("x-env", string_match={"exact": "prod"}, invert_match=True)]}),
            # Several header matchers must all match.
            route("h_and", match={"prefix": "/hand", "headers": [
                hdr("x-a", string_match={"exact": "1"}), hdr("x-b", string_match={"exact": "2"})]}),
            route("q_present", match={"prefix": "/q", "query_parameters": [
                {"name": "debug", "present_match": True}]}),
            route("q_exact", match={"prefix": "/q", "query_parameters": [
                {"name": "mode", "string_match": {"exact": "fast"}}]}),
            route("q_regex", match={"prefix": "/q", "query_parameters": [
                {"name": "id", "string_match": {"safe_regex": {"regex": "[0-9]+"}}}]}),
            # Envoy's PathMatcher removes the query and fragment before matching a prefix,
            # so this route can never match.
            route("pfx_query", prefix="/pq?mode="),
            route("first", prefix="/first"),
            route("second", prefix="/first/second"),  # shadowed: "/first" matches first
            route("default", prefix="/"),
        ]
        cfg = http_config([vhost("all", ["*"], routes)], cls.ups.clusters)
        cls.proxy = cls.keep(start_proxy(cfg))
        cls.addr = cls.proxy.addr()

    def served_by(self, target, headers=()):
        r = get(self.addr, target, headers=headers)
        self.assertEqual(r.status, 200, r)
        return r.header("x-upstream")

    def test_exact_path(self):
        self.assertEqual(self.served_by("/exact"), "path")
        # The query string is not part of the path match.
        self.assertEqual(self.served_by("/exact?x=1"), "path")
        self.assertEqual(self.served_by("/exact/"), "default")
        self.assertEqual(self.served_by("/exactly"), "default")
        self.assertEqual(self.served_by("/EXACT"), "default")

    def test_prefix_case_insensitive(self):
        self.assertEqual(self.served_by("/casefree/x"), "case")
        self.assertEqual(self.served_by("/CASEFREE"), "case")
        self.assertEqual(self.served_by("/CaseFre"), "default")

    def test_prefix_is_case_sensitive_by_default(self):
        self.assertEqual(self.served_by("/FIRST"), "default")

    def test_safe_regex_full_match(self):
        self.assertEqual(self.served_by("/v1/items"), "regex")
        self.assertEqual(self.served_by("/v42/items?page=2"), "regex")  # query removed first
        self.assertEqual(self.served_by("/v1/items/3"), "default")  # must match the whole path
        self.assertEqual(self.served_by("/x/v1/items"), "default")
        self.assertEqual(self.served_by("/vx/items"), "default")

    def test_header_exact(self):
        self.assertEqual(self.served_by("/h", [("X-Exact", "yes")]), "h_exact")
        self.assertEqual(self.served_by("/h", [("X-Exact", "Yes")]), "default")
        self.assertEqual(self.served_by("/h", [("X-Exact", "yes!")]), "default")

    def test_header_prefix_suffix_contains(self):
        self.assertEqual(self.served_by("/h", [("x-prefix", "prefixed")]), "h_prefix")
        self.assertEqual(self.served_by("/h", [("x-prefix", "xpre")]), "default")
        self.assertEqual(self.served_by("/h", [("x-suffix", "a-suffix")]), "h_suffix")
        self.assertEqual(self.served_by("/h", [("x-suffix", "fixed")]), "default")
        self.assertEqual(self.served_by("/h", [("x-contains", "hayneedlehay")]), "h_contains")
        self.assertEqual(self.served_by("/h", [("x-contains", "needl")]), "default")

    def test_header_safe_regex(self):
        self.assertEqual(self.served_by("/h", [("x-regex", "abc7")]), "h_regex")
        self.assertEqual(self.served_by("/h", [("x-regex", "abc77")]), "default")  # full match
        self.assertEqual(self.served_by("/h", [("x-regex", "d7")]), "default")

    def test_header_present(self):
        self.assertEqual(self.served_by("/h", [("x-present", "")]), "h_present")
        self.assertEqual(self.served_by("/h", [("x-present", "anything")]), "h_present")
        self.assertEqual(self.served_by("/h"), "default")

    def test_header_invert(self):
        self.assertEqual(self.served_by("/hinv", [("x-env", "dev")]), "h_invert")
        self.assertEqual(self.served_by("/hinv"), "h_invert")
        self.assertEqual(self.served_by("/hinv", [("x-env", "prod")]), "default")

    def test_all_header_matchers_must_match(self):
        self.assertEqual(self.served_by("/hand", [("x-a", "1"), ("x-b", "2")]), "h_and")
        self.assertEqual(self.served_by("/hand", [("x-a", "1")]), "default")
        self.assertEqual(self.served_by("/hand", [("x-a", "1"), ("x-b", "3")]), "default")

    def test_header_matchers_need_the_route_path_too(self):
        # The x-exact header alone does not make "/other" match the "/h" route.
        self.assertEqual(self.served_by("/other", [("x-exact", "yes")]), "default")

    def test_query_parameter_present(self):
        self.assertEqual(self.served_by("/q?debug"), "q_present")
        self.assertEqual(self.served_by("/q?a=1&debug=0"), "q_present")
        self.assertEqual(self.served_by("/q?debugging=1"), "default")
        self.assertEqual(self.served_by("/q"), "default")

    def test_query_parameter_string_match(self):
        self.assertEqual(self.served_by("/q?mode=fast"), "q_exact")
        self.assertEqual(self.served_by("/q?x=1&mode=fast&y=2"), "q_exact")
        self.assertEqual(self.served_by("/q?mode=faster"), "default")
        self.assertEqual(self.served_by("/q?id=123"), "q_regex")
        self.assertEqual(self.served_by("/q?id=12a"), "default")

    def test_query_parameter_values_are_decoded(self):
        self.assertEqual(self.served_by("/q?mode=fa%73t"), "q_exact")
        self.assertEqual(self.served_by("/q?%6dode=fast"), "q_exact")

    def test_prefix_ignores_the_query_string(self):
        self.assertEqual(self.served_by("/pq?mode=1"), "default")
        self.assertEqual(self.served_by("/pq?mode="), "default")
        self.assertEqual(self.served_by("/first?x=1"), "first")
        self.assertEqual(self.ups["pfx_query"].snapshot(), [])

    def test_repeated_headers_are_matched_joined(self):
        # Envoy matches a repeated header as its values joined with ",".
        self.assertEqual(self.served_by("/h", [("x-exact", "yes"), ("x-exact", "yes")]),
                         "default")
        self.assertEqual(self.served_by("/h", [("x-contains", "hay"), ("x-contains", "needle")]),
                         "h_contains")

    def test_first_match_wins(self):
        self.assertEqual(self.served_by("/first/second"), "first")
        self.assertEqual(self.served_by("/first"), "first")
        self.assertEqual(self.ups["second"].snapshot(), [])

    def test_upstream_gets_method_target_and_body(self):
        up = self.ups["path"]
        up.reset()
        r = http_request(self.addr, "POST", "/exact?k=v", [("Host", "example.com")],
                         body=b"payload-123")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"path POST /exact?k=v")
        req = up.wait_requests(1)[0]
        self.assertEqual((req.method, req.target, req.body), ("POST", "/exact?k=v", b"payload-123"))


class WeightedClusters(HttpTestCase):
    """weighted_clusters 30/70: each request is picked independently; over 10,000 requests on
    a handful of keep-alive connections each share is within 3 percentage points."""

    TOTAL = 10000
    CONNS = 4

    @classmethod
    def setUpClass(cls):
        cls.ups = cls.keep(UpstreamSet(["light", "heavy"]))
        wc = {"weighted_clusters": {"clusters": [
            {"name": "light", "weight": 30}, {"name": "heavy", "weight": 70}]}}
        cfg = http_config([vhost("all", ["*"], [route(action={"route": wc})])],
                          cls.ups.clusters)
        cls.proxy = cls.keep(start_proxy(cfg))

    def test_split_30_70(self):
        counts = {}
        errors = []
        lock = threading.Lock()

        def client(n):
            local = {}
            try:
                with HttpClient(self.proxy.addr(), timeout=10) as c:
                    for i in range(n):
                        r = c.request("GET", "/w/%d" % i)
                        if r.status != 200:
                            raise AssertionError("request %d: %r" % (i, r))
                        name = r.header("x-upstream")
                        local[name] = local.get(name, 0) + 1
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
            with lock:
                for k, v in local.items():
                    counts[k] = counts.get(k, 0) + v

        per = self.TOTAL // self.CONNS
        threads = [threading.Thread(target=client, args=(per,)) for _ in range(self.CONNS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(sum(counts.values()), self.TOTAL, counts)
        self.assertEqual(set(counts), {"light", "heavy"}, counts)
        light = 100.0 * counts["light"] / self.TOTAL
        heavy = 100.0 * counts["heavy"] / self.TOTAL
        self.assertLessEqual(abs(light - 30), 3, counts)
        self.assertLessEqual(abs(heavy - 70), 3, counts)
        # Keep-alive on both sides: the upstreams saw far fewer connections than requests.
        self.assertLess(self.ups["light"].accepted + self.ups["heavy"].accepted, self.TOTAL // 10)
        # Every request reached the origin its response came from.
        self.assertEqual(len(self.ups["light"].snapshot()), counts["light"])
        self.assertEqual(len(self.ups["heavy"].snapshot()), counts["heavy"])


class ClusterHeader(HttpTestCase):
    """route.cluster_header: the cluster is named by a request header; an unknown (or missing)
    name answers cluster_not_found_response_code, SERVICE_UNAVAILABLE (503) by default."""

    @classmethod
    def setUpClass(cls):
        cls.ups = cls.keep(UpstreamSet(["alpha", "beta"]))
        routes = [
            route(action={"route": {"cluster_header": "x-target",
                                    "cluster_not_found_response_code": "NOT_FOUND"}},
                  prefix="/nf"),
            route(action={"route": {"cluster_header": "x-target"}}, prefix="/"),
        ]
        cfg = http_config([vhost("all", ["*"], routes)], cls.ups.clusters)
        cls.proxy = cls.keep(start_proxy(cfg))
        cls.addr = cls.proxy.addr()

    def test_routes_to_named_cluster(self):
        r = get(self.addr, "/x", headers=[("x-target", "alpha")])
        self.assertEqual((r.status, r.header("x-upstream")), (200, "alpha"), r)
        r = get(self.addr, "/x", headers=[("x-target", "beta")])
        self.assertEqual((r.status, r.header("x-upstream")), (200, "beta"), r)

    def test_unknown_cluster_is_503(self):
        before = self.ups.total_requests()
        r = get(self.addr, "/x", headers=[("x-target", "gamma")])
        self.assertEqual(r.status, 503, r)
        r = get(self.addr, "/x")  # no header at all: no cluster either
        self.assertEqual(r.status, 503, r)
        self.assertEqual(self.ups.total_requests(), before)

    def test_cluster_not_found_response_code(self):
        r = get(self.addr, "/nf", headers=[("x-target", "gamma")])
        self.assertEqual(r.status, 404, r)
        r = get(self.addr, "/nf", headers=[("x-target", "beta")])
        self.assertEqual((r.status, r.header("x-upstream")), (200, "beta"), r)


class Rewrites(HttpTestCase):
    """prefix_rewrite, regex_rewrite and host_rewrite_literal change what the upstream sees;
    the query string survives; Envoy records the original path in x-envoy-original-path."""

    @classmethod
    def setUpClass(cls):
        cls.ups = cls.keep(UpstreamSet(["up"]))
        routes = [
            route(action={"route": {"cluster": "up", "prefix_rewrite": "/v2/"}},
                  prefix="/api/"),
            route(action={"route": {"cluster": "up", "prefix_rewrite": "/"}}, prefix="/strip/"),
            route(action={"route": {"cluster": "up", "regex_rewrite": {
                "pattern": {"regex": "^/service/([^/]+)(/.*)$"},
                "substitution": "\\2/instance/\\1"}}}, prefix="/service/"),
            route(action={"route": {"cluster": "up", "host_rewrite_literal": "upstream.internal"}},
                  prefix="/host"),
            route("up", prefix="/"),
        ]
        cfg = http_config([vhost("all", ["*"], routes)], cls.ups.clusters)
        cls.proxy = cls.keep(start_proxy(cfg))
        cls.addr = cls.proxy.addr()

    def upstream_sees(self, target, host="example.com"):
        up = self.ups["up"]
        up.reset()
        r = get(self.addr, target, host)
        self.assertEqual(r.status, 200, r)
        return up.wait_requests(1)[0]

    def test_prefix_rewrite_keeps_query(self):
        req = self.upstream_sees("/api/users?x=1&y=2")
        self.assertEqual(req.target, "/v2/users?x=1&y=2")
        self.assertEqual(req.header("x-envoy-original-path"), "/api/users?x=1&y=2")

    def test_prefix_rewrite_to_root(self):
        self.assertEqual(self.upstream_sees("/strip/a/b").target, "/a/b")

    def test_regex_rewrite_keeps_query(self):
        req = self.upstream_sees("/service/foo/v1/api?k=v")
        self.assertEqual(req.target, "/v1/api/instance/foo?k=v")
        self.assertEqual(req.header("x-envoy-original-path"), "/service/foo/v1/api?k=v")

    def test_host_rewrite_literal(self):
        req = self.upstream_sees("/host/x?q=1")
        self.assertEqual(req.header_all("host"), ["upstream.internal"])
        self.assertEqual(req.target, "/host/x?q=1")

    def test_no_rewrite_no_original_path(self):
        req = self.upstream_sees("/plain?z=9")
        self.assertEqual(req.target, "/plain?z=9")
        self.assertEqual(req.header("host"), "example.com")
        self.assertIsNone(req.header("x-envoy-original-path"))


def redirect(**fields):
    return {"redirect": fields}


class Redirects(HttpTestCase):
    """Route redirects answer locally: 301 by default or response_code, a Location built from
    the request (scheme, host, path, query) and the redirect fields, and an empty body."""

    @classmethod
    def setUpClass(cls):
        cls.ups = cls.keep(UpstreamSet(["up"]))
        routes = [
            route(prefix="/https", action=redirect(https_redirect=True)),
            route(prefix="/hostr", action=redirect(host_redirect="new.example.org")),
            route(path="/old-path", action=redirect(path_redirect="/new-path")),
            route(path="/old-strip", action=redirect(path_redirect="/new", strip_query=True)),
            route(path="/old-query", action=redirect(path_redirect="/new?own=1")),
            route(prefix="/pfx/", action=redirect(prefix_rewrite="/newpfx/")),
            route(prefix="/found", action=redirect(path_redirect="/f", response_code="FOUND")),
            route(prefix="/seeother", action=redirect(path_redirect="/s",
                                                      response_code="SEE_OTHER")),
            route(prefix="/temp", action=redirect(path_redirect="/t",
                                                  response_code="TEMPORARY_REDIRECT")),
            route(prefix="/perm", action=redirect(path_redirect="/p",
                                                  response_code="PERMANENT_REDIRECT")),
            route(prefix="/moved", action=redirect(host_redirect="h.example",
                                                   response_code="MOVED_PERMANENTLY")),
            route("up", prefix="/"),
        ]
        cfg = http_config([vhost("all", ["*"], routes)], cls.ups.clusters)
        cls.proxy = cls.keep(start_proxy(cfg))
        cls.addr = cls.proxy.addr()

    def check(self, target, status, location, host="example.com"):
        before = self.ups.total_requests()
        r = get(self.addr, target, host)
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header_all("location"), [location], r)
        self.assertEqual(r.body, b"", r)
        self.assertEqual(self.ups.total_requests(), before, "a redirect reached the upstream")
        return r

    def test_https_redirect(self):
        self.check("/https/x?q=1", 301, "https://example.com/https/x?q=1")

    def test_https_redirect_drops_port_80_keeps_others(self):
        self.check("/https", 301, "https://example.com/https", host="example.com:80")
        self.check("/https", 301, "https://example.com:8080/https", host="example.com:8080")

    def test_host_redirect(self):
        self.check("/hostr/x?q=1", 301, "http://new.example.org/hostr/x?q=1")

    def test_path_redirect_keeps_query(self):
        self.check("/old-path?q=1", 301, "http://example.com/new-path?q=1")
        self.check("/old-path", 301, "http://example.com/new-path")

    def test_path_redirect_strip_query(self):
        self.check("/old-strip?q=1&r=2", 301, "http://example.com/new")

    def test_path_redirect_with_own_query_replaces_it(self):
        self.check("/old-query?q=1", 301, "http://example.com/new?own=1")

    def test_prefix_rewrite_redirect(self):
        self.check("/pfx/rest?q=1", 301, "http://example.com/newpfx/rest?q=1")

    def test_response_codes(self):
        self.check("/found", 302, "http://example.com/f")
        self.check("/seeother", 303, "http://example.com/s")
        self.check("/temp", 307, "http://example.com/t")
        self.check("/perm", 308, "http://example.com/p")
        self.check("/moved/a", 301, "http://h.example/moved/a")

    def test_other_paths_still_proxied(self):
        r = get(self.addr, "/proxied")
        self.assertEqual((r.status, r.header("x-upstream")), (200, "up"), r)


class DirectResponses(HttpTestCase):
    """direct_response: the status and inline body as configured, framed with Content-Length,
    and nothing sent upstream."""

    @classmethod
    def setUpClass(cls):
        cls.ups = cls.keep(UpstreamSet(["up"]))
        routes = [
            route(path="/hello", action={"direct_response": {
                "status": 200, "body": {"inline_string": "hello direct\n"}}}),
            route(path="/maint", action={"direct_response": {
                "status": 503, "body": {"inline_string": "down for maintenance"}}}),
            route(path="/teapot", action={"direct_response": {"status": 418}}),
            route("up", prefix="/"),
        ]
        cfg = http_config([vhost("all", ["*"], routes)], cls.ups.clusters)
        cls.proxy = cls.keep(start_proxy(cfg))
        cls.addr = cls.proxy.addr()

    def test_body_and_length(self):
        r = get(self.addr, "/hello")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"hello direct\n")
        self.assertEqual(r.header_all("content-length"), ["13"])
        self.assertEqual(r.header("content-type"), "text/plain")

    def test_error_status_with_body(self):
        r = get(self.addr, "/maint")
        self.assertEqual((r.status, r.body), (503, b"down for maintenance"), r)
        self.assertEqual(r.header_all("content-length"), ["20"])

    def test_status_without_body(self):
        r = get(self.addr, "/teapot")
        self.assertEqual((r.status, r.body), (418, b""), r)
        self.assertEqual(r.header_all("content-length"), ["0"])

    def test_head_gets_headers_only(self):
        with HttpClient(self.addr) as c:
            r = c.request("HEAD", "/hello")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header_all("content-length"), ["13"])
            # The connection is still in sync: no body bytes were sent after the head.
            r2 = c.request("GET", "/hello")
            self.assertEqual(r2.body, b"hello direct\n")

    def test_keep_alive_across_direct_responses(self):
        before = self.ups.total_requests()
        with HttpClient(self.addr) as c:
            for _ in range(3):
                self.assertEqual(c.request("GET", "/hello").body, b"hello direct\n")
            self.assertEqual(c.request("GET", "/other").header("x-upstream"), "up")
        self.assertEqual(self.ups.total_requests(), before + 1)


if __name__ == "__main__":
    main()
