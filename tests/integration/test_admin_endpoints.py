"""Admin endpoints /config_dump, /listeners, /healthcheck/{fail,ok} and /drain_listeners
through the real binary.

Proves that:
- /config_dump is JSON in Envoy's shape (Bootstrap, Clusters, Listeners, Routes dumps) built
  from the document: every cluster, listener and inline route config by name, numbers typed,
  quoted scalars kept as strings; ?resource= lists typed elements, ?name_regex= keeps the
  names it fully matches, ?mask= keeps the listed fields; bad parameters get 404/400;
- /listeners prints "<name>::<ip:port>" with the port the kernel chose for port 0, and
  ?format=json the listener_statuses;
- POST /healthcheck/fail makes the health_check filter answer 503 (pass_through_mode false
  and true alike, the upstream never asked) with x-envoy-immediate-health-check-fail on every
  answer, /ready 503 "DRAINING" and /server_info "DRAINING"; /healthcheck/ok undoes it; the
  access log's not_health_check_filter drops health checks, and the LH flag with
  health_check_failed details shows on the failed ones;
- POST /drain_listeners stops accepting (new connects are refused) while an open keep-alive
  connection keeps being served and the admin still answers; with ?graceful an in-flight
  request's answer carries "connection: close"; the process keeps running until SIGTERM;
- every mutating endpoint refuses GET with 405, and /help lists them all.
"""

import json
import os
import socket
import tempfile
import time

import harness
from http_harness import (HttpClient, HttpUpstream, Proxy, Response, hcm_listener, http_config,
                          http_request, route, vhost)

HOST = (("Host", "example.com"),)
HC_TYPE = "type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck"
ROUTER = {"name": "envoy.filters.http.router",
          "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}
FILE_TYPE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"
ADMIN = {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}}


def with_admin(text):
    boot = json.loads(text)
    boot["admin"] = ADMIN
    return json.dumps(boot)


def admin(px, path, method="GET"):
    return http_request(px.addr("admin"), method, path, (("Host", "admin"),))


def admin_json(tc, px, path):
    r = admin(px, path)
    tc.assertEqual(r.status, 200, r.body)
    return json.loads(r.body)


def hc_filter(path, pass_through):
    return {"name": "envoy.filters.http.health_check",
            "typed_config": {"@type": HC_TYPE, "pass_through_mode": pass_through,
                             "headers": [{"name": ":path",
                                          "string_match": {"exact": path}}]}}


def refused(addr, timeout=5.0):
    """True once a new connection to addr is refused (within timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1.0)
        try:
            s.connect(addr)
        except ConnectionRefusedError:
            return True
        except OSError:
            pass
        finally:
            s.close()
        time.sleep(0.05)
    return False


class ConfigDump(harness.unittest.TestCase):
    def config(self, up):
        second = hcm_listener([vhost("v2", ["*"], [route("beta")])], name="second",
                              route_config={"name": "second_route"})
        return with_admin(http_config([vhost("v", ["*"], [route("alpha")])],
                                      clusters={"alpha": [up.endpoint], "beta": [up.endpoint]},
                                      extra_listeners=[second]))

    def test_config_dump(self):
        with HttpUpstream(name="a") as up, \
                Proxy(self.config(up), ["--concurrency", "1"]) as px:
            d = admin_json(self, px, "/config_dump")
            types = [c["@type"].rsplit(".", 1)[-1] for c in d["configs"]]
            self.assertEqual(types, ["BootstrapConfigDump", "ClustersConfigDump",
                                     "ListenersConfigDump", "RoutesConfigDump"])
            boot, clusters, listeners, routes = d["configs"]
            self.assertIn("static_resources", boot["bootstrap"])
            self.assertEqual(boot["bootstrap"]["admin"], ADMIN)
            names = [c["cluster"]["name"] for c in clusters["static_clusters"]]
            self.assertEqual(names, ["alpha", "beta"])
            c0 = clusters["static_clusters"][0]
            self.assertEqual(c0["cluster"]["@type"],
                             "type.googleapis.com/envoy.config.cluster.v3.Cluster")
            self.assertRegex(c0["last_updated"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
            self.assertEqual(c0["cluster"]["connect_timeout"], "1s")  # a string
            ep = c0["cluster"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
            self.assertEqual(ep["endpoint"]["address"]["socket_address"]["port_value"],
                             up.port)  # a number
            self.assertEqual([x["listener"]["name"] for x in listeners["static_listeners"]],
                             ["proxy", "second"])
            self.assertEqual([x["route_config"]["name"] for x in routes["static_route_configs"]],
                             ["local_route", "second_route"])

            d = admin_json(self, px, "/config_dump?resource=static_clusters")
            self.assertEqual([c["cluster"]["name"] for c in d["configs"]], ["alpha", "beta"])
            self.assertTrue(all(c["@type"].endswith("ClustersConfigDump.StaticCluster")
                                for c in d["configs"]))
            d = admin_json(self, px, "/config_dump?resource=static_clusters&name_regex=al.*")
            self.assertEqual([c["cluster"]["name"] for c in d["configs"]], ["alpha"])
            # A full match, as Envoy's RE2 matcher: "a" names neither cluster.
            d = admin_json(self, px, "/config_dump?resource=static_clusters&name_regex=a")
            self.assertEqual(d["configs"], [])
            d = admin_json(self, px, "/config_dump?resource=static_listeners&name_regex=sec.*")
            self.assertEqual([x["listener"]["name"] for x in d["configs"]], ["second"])
            d = admin_json(self, px, "/config_dump?resource=dynamic_active_clusters")
            self.assertEqual(d["configs"], [])
            d = admin_json(self, px, "/config_dump?name_regex=beta")
            self.assertEqual([c["cluster"]["name"] for c in d["configs"][1]["static_clusters"]],
                             ["beta"])
            self.assertEqual(d["configs"][2]["static_listeners"], [])

            d = admin_json(self, px, "/config_dump?resource=static_listeners&mask=listener.name")
            self.assertEqual(d["configs"][0]["listener"],
                             {"@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
                              "name": "proxy"})
            self.assertNotIn("last_updated", d["configs"][0])
            d = admin_json(self, px, "/config_dump?mask=static_clusters")
            self.assertNotIn("bootstrap", d["configs"][0])
            self.assertEqual(len(d["configs"][1]["static_clusters"]), 2)
            self.assertNotIn("static_listeners", d["configs"][2])

            self.assertEqual(admin(px, "/config_dump?resource=nope").status, 404)
            self.assertEqual(admin(px, "/config_dump?name_regex=(").status, 400)


class Listeners(harness.unittest.TestCase):
    def test_listeners(self):
        second = hcm_listener([vhost("v2", ["*"], [route("up")])], name="second")
        with HttpUpstream(name="a") as up, \
                Proxy(with_admin(http_config([vhost("v", ["*"], [route("up")])],
                                             clusters={"up": [up.endpoint]},
                                             extra_listeners=[second])),
                      ["--concurrency", "2"]) as px:
            text = admin(px, "/listeners").body.decode()
            want = ["%s::%s:%d" % ((n,) + px.addr(n)) for n in ("proxy", "second")]
            self.assertEqual(text.splitlines(), want)
            self.assertNotEqual(px.addr("proxy")[1], 0)
            d = admin_json(self, px, "/listeners?format=json")
            self.assertEqual(d["listener_statuses"], [
                {"name": n, "local_address": {"socket_address": {
                    "address": "127.0.0.1", "port_value": px.addr(n)[1]}}}
                for n in ("proxy", "second")])
            help_text = admin(px, "/help").body.decode()
            for ep in ("/config_dump", "/listeners", "/healthcheck/fail (POST)",
                       "/healthcheck/ok (POST)", "/drain_listeners (POST)"):
                self.assertIn("  " + ep + ":", help_text)
            for ep in ("/healthcheck/fail", "/healthcheck/ok", "/drain_listeners"):
                self.assertEqual(admin(px, ep).status, 405, ep)


class HealthCheck(harness.unittest.TestCase):
    def test_answered_without_a_route(self):
        """Envoy's health_check filter runs before the router: /healthz is answered even when
        no route matches it (here the only virtual host is for another domain)."""
        hcm = {"http_filters": [hc_filter("/healthz", False), ROUTER]}
        with HttpUpstream(name="a") as up, \
                Proxy(http_config([vhost("v", ["app.example"], [route("up")])],
                                  clusters={"up": [up.endpoint]}, hcm=hcm)) as px:
            r = http_request(px.addr(), "GET", "/healthz", (("Host", "lb-probe"),))
            self.assertEqual((r.status, r.body), (200, b""))
            r = http_request(px.addr(), "GET", "/other", (("Host", "lb-probe"),))
            self.assertEqual(r.status, 404)  # the router, after the filters
            self.assertEqual(up.snapshot(), [])

    def test_fail_and_ok(self):
        tmp = tempfile.TemporaryDirectory(prefix="ringway-hc-")
        self.addCleanup(tmp.cleanup)
        all_log = os.path.join(tmp.name, "all.log")
        app_log = os.path.join(tmp.name, "app.log")
        fmt = "%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n"
        logs = [
            {"name": "envoy.access_loggers.file",
             "typed_config": {"@type": FILE_TYPE, "path": all_log,
                              "log_format": {"text_format_source": {"inline_string": fmt}}}},
            {"name": "envoy.access_loggers.file", "filter": {"not_health_check_filter": {}},
             "typed_config": {"@type": FILE_TYPE, "path": app_log,
                              "log_format": {"text_format_source": {"inline_string": fmt}}}},
        ]
        hcm = {"http_filters": [hc_filter("/healthz", False), hc_filter("/pass", True), ROUTER],
               "access_log": logs}
        with HttpUpstream(name="a") as up, \
                Proxy(with_admin(http_config([vhost("v", ["*"], [route("up")])],
                                             clusters={"up": [up.endpoint]}, hcm=hcm)),
                      ["--concurrency", "2"]) as px:
            def get(path):
                return http_request(px.addr(), "GET", path, HOST)

            r = get("/healthz")
            self.assertEqual((r.status, r.body), (200, b""))
            self.assertIsNone(r.header("x-envoy-immediate-health-check-fail"))
            self.assertEqual(up.snapshot(), [])  # answered by the filter
            r = get("/pass")
            self.assertEqual((r.status, r.header("x-upstream")), (200, "a"))
            self.assertEqual(len(up.snapshot()), 1)

            self.assertEqual(admin(px, "/healthcheck/fail").status, 405)
            r = admin(px, "/healthcheck/fail", "POST")
            self.assertEqual((r.status, r.body), (200, b"OK\n"))
            r = admin(px, "/ready")
            self.assertEqual((r.status, r.body), (503, b"DRAINING\n"))
            self.assertEqual(admin_json(self, px, "/server_info")["state"], "DRAINING")
            for path in ("/healthz", "/pass"):
                r = get(path)
                self.assertEqual(r.status, 503, path)
                self.assertEqual(r.header("x-envoy-immediate-health-check-fail"), "true")
            self.assertEqual(len(up.snapshot()), 1)  # pass-through mode did not forward
            # Normal requests go on, marked, and close their connection (Envoy's drain close).
            with HttpClient(px.addr()) as c:
                r = c.request("GET", "/app", HOST)
                self.assertEqual((r.status, r.header("x-upstream")), (200, "a"))
                self.assertEqual(r.header("x-envoy-immediate-health-check-fail"), "true")
                self.assertEqual(r.header("connection"), "close")

            self.assertEqual(admin(px, "/healthcheck/ok", "POST").status, 200)
            self.assertEqual(admin(px, "/ready").status, 200)
            r = get("/healthz")
            self.assertEqual(r.status, 200)
            self.assertIsNone(r.header("x-envoy-immediate-health-check-fail"))
            r = get("/pass")
            self.assertEqual(r.status, 200)
            self.assertEqual(len(up.snapshot()), 3)

            deadline = time.monotonic() + 5
            lines = []
            while time.monotonic() < deadline:
                with open(all_log) as f:
                    lines = f.read().splitlines()
                if len(lines) >= 7:
                    break
                time.sleep(0.05)
            self.assertEqual(len(lines), 7, lines)
            self.assertIn("/healthz 200 - health_check_ok", lines)
            self.assertIn("/healthz 503 LH health_check_failed", lines)
            self.assertIn("/pass 503 LH health_check_failed", lines)
            with open(app_log) as f:
                self.assertEqual([x.split()[0] for x in f.read().splitlines()], ["/app"])


class DrainListeners(harness.unittest.TestCase):
    def slow(self, req):
        if req.target == "/slow":
            time.sleep(1.0)
        return Response(200, [("x-upstream", "a")], b"ok")

    def start(self, up):
        return Proxy(with_admin(http_config([vhost("v", ["*"], [route("up")])],
                                            clusters={"up": [up.endpoint]})),
                     ["--concurrency", "2", "--drain-time-s", "2"])

    def test_drain_listeners(self):
        with HttpUpstream(name="a") as up, self.start(up) as px, HttpClient(px.addr()) as c:
            self.assertEqual(c.request("GET", "/", HOST).status, 200)
            self.assertEqual(admin(px, "/drain_listeners", "POST").status, 200)
            self.assertTrue(refused(px.addr()), "new connections still accepted")
            r = c.request("GET", "/again", HOST)  # the open keep-alive connection goes on
            self.assertEqual(r.status, 200)
            self.assertIsNone(r.header("connection"))
            self.assertTrue(px.alive())
            self.assertEqual(admin(px, "/ready").status, 200)  # Envoy: still LIVE
            # A second drain is harmless; SIGTERM still drains and exits cleanly.
            self.assertEqual(admin(px, "/drain_listeners?inboundonly", "POST").status, 200)
            c.close()
            px.stop()

    def test_graceful(self):
        with HttpUpstream(self.slow, name="a") as up, self.start(up) as px, \
                HttpClient(px.addr()) as c:
            c.send(b"GET /slow HTTP/1.1\r\nHost: example.com\r\n\r\n")
            up.wait_requests(1)
            self.assertEqual(admin(px, "/drain_listeners?graceful", "POST").status, 200)
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("connection"), "close")
            self.assertTrue(c.read_eof(2.0))
            self.assertTrue(refused(px.addr()), "new connections still accepted")
            time.sleep(0.3)
            self.assertTrue(px.alive())
            self.assertEqual(admin(px, "/server_info").status, 200)
            px.stop()


if __name__ == "__main__":
    harness.main()
