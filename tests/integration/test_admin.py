"""The admin listener (bootstrap admin.address) through the real binary.

Proves that:
- it listens on its own address (port 0 resolved and logged as listener 'admin');
- /ready answers 200 "LIVE"; /server_info is JSON with the version, state and concurrency;
- /clusters lists every host with Envoy's "<cluster>::<host>::<stat>::<value>" lines and
  ?format=json parses, with health flags that follow an active health check and counters
  that move with traffic;
- POST /logging?level=debug changes the log level at runtime (GET is refused);
- unknown paths get 404; POST /quitquitquit (GET is refused with 405) shuts the server down
  with exit code 0;
- admin requests never go through the workers: they are served while the data-plane listener
  serves traffic.
"""

import json
import time

import harness
from http_harness import HttpUpstream, Proxy, Response, http_config, http_request, route, vhost

HOST = (("Host", "example.com"),)


def config(ups, health=False):
    opts = {}
    if health:
        opts = {"health_checks": [{"timeout": "0.5s", "interval": "0.2s",
                                   "unhealthy_threshold": 1, "healthy_threshold": 1,
                                   "http_health_check": {"path": "/hc"}}]}
    boot = json.loads(http_config([vhost("v", ["*"], [route("up")])],
                                  clusters={"up": [u.endpoint for u in ups]},
                                  cluster_opts={"up": opts}))
    boot["admin"] = {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}}
    return json.dumps(boot)


def admin(px, path, method="GET"):
    return http_request(px.addr("admin"), method, path, (("Host", "admin"),))


class Admin(harness.unittest.TestCase):
    def test_endpoints(self):
        with HttpUpstream(name="a") as a, HttpUpstream(name="b") as b, \
                Proxy(config([a, b]), ["--concurrency", "2"]) as px:
            self.assertNotEqual(px.addr("admin"), px.addr("proxy"))
            r = admin(px, "/ready")
            self.assertEqual((r.status, r.body), (200, b"LIVE\n"))
            info = json.loads(admin(px, "/server_info").body)
            self.assertEqual(info["state"], "LIVE")
            self.assertEqual(info["command_line_options"]["concurrency"], 2)
            self.assertTrue(info["version"])
            for _ in range(10):
                self.assertEqual(http_request(px.addr(), "GET", "/", HOST).status, 200)
            text = admin(px, "/clusters").body.decode()
            for u in (a, b):
                name = "%s:%d" % u.endpoint
                self.assertIn("up::%s::health_flags::healthy" % name, text)
                self.assertIn("up::%s::weight::1" % name, text)
                self.assertRegex(text, r"up::%s::cx_total::[1-9]" % name)
            data = json.loads(admin(px, "/clusters?format=json").body)
            hosts = data["cluster_statuses"][0]["host_statuses"]
            self.assertEqual(data["cluster_statuses"][0]["name"], "up")
            self.assertEqual(sorted(h["address"] for h in hosts),
                             sorted("%s:%d" % u.endpoint for u in (a, b)))
            # Round robin over two hosts: the 10 requests split 5/5, in text and JSON.
            self.assertEqual(sorted(h["rq_total"] for h in hosts), [5, 5])
            for u in (a, b):
                self.assertIn("up::%s:%d::rq_total::5" % u.endpoint, text)
            mem = json.loads(admin(px, "/memory").body)
            self.assertEqual(sorted(mem), ["allocated", "heap_size", "pageheap_free",
                                           "pageheap_unmapped", "total_physical_bytes",
                                           "total_thread_cache"])
            self.assertGreater(int(mem["total_physical_bytes"]), 0)
            self.assertGreaterEqual(int(mem["heap_size"]), int(mem["allocated"]))
            self.assertEqual(admin(px, "/nope").status, 404)
            self.assertEqual(admin(px, "/help").status, 200)

    def test_health_flags_follow_checks(self):
        up = HttpUpstream(lambda req: Response(503 if req.target == "/hc" else 200, [], b""),
                          name="sick")
        with up, Proxy(config([up], health=True), ["--concurrency", "1"]) as px:
            name = "%s:%d" % up.endpoint
            deadline = time.monotonic() + 10
            text = ""
            while time.monotonic() < deadline:
                text = admin(px, "/clusters").body.decode()
                if "up::%s::health_flags::/failed_active_hc" % name in text:
                    break
                time.sleep(0.1)
            self.assertIn("up::%s::health_flags::/failed_active_hc" % name, text)

    def test_logging_level(self):
        with HttpUpstream(name="a") as a, Proxy(config([a]), ["--concurrency", "1"]) as px:
            self.assertIn(b"all: info", admin(px, "/logging").body)
            self.assertEqual(admin(px, "/logging?level=debug").status, 405)
            r = admin(px, "/logging?level=debug", "POST")
            self.assertEqual(r.status, 200)
            self.assertIn(b"all: debug", r.body)
            http_request(px.addr(), "GET", "/", HOST)
            px.wait_log(r"\[debug\]\[http\]")  # debug lines now appear
            self.assertEqual(admin(px, "/logging?level=loud", "POST").status, 400)

    def test_quitquitquit(self):
        with HttpUpstream(name="a") as a, Proxy(config([a]), ["--concurrency", "1"]) as px:
            self.assertEqual(admin(px, "/quitquitquit").status, 405)
            self.assertTrue(px.alive())
            r = admin(px, "/quitquitquit", "POST")
            self.assertEqual((r.status, r.body), (200, b"OK\n"))
            self.assertEqual(px.wait(15), 0)


if __name__ == "__main__":
    harness.main()
