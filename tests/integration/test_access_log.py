"""Envoy access logs of ringway's HttpConnectionManager.

Proves that:
- the default format writes one line per request with method, path, protocol, status,
  flags "-", byte counts, duration and the upstream host;
- a custom text format and a json_format (one JSON object per line) expand their operators;
- NR (no route, 404), UH (no hosts, 503) and UF (connect failure, 503) show in
  %RESPONSE_FLAGS% with %RESPONSE_CODE_DETAILS%;
- status_code_filter GE 400 keeps only errors;
- header_filter, and_filter / or_filter nesting, runtime_filter (0%, 100%, and 50% sampled
  consistently from x-request-id) and traceable_filter (a trace x-envoy-force-trace forced);
- the stdout logger writes to the process's stdout;
- two workers appending to one file never interleave inside a line.
"""

import json
import os
import re
import tempfile
import time

import http_harness
from http_harness import (
    ClosedPort,
    HttpTestCase,
    HttpUpstream,
    http_config,
    http_request,
    main,
    route,
    start_proxy,
    vhost,
)

FILE_TYPE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"
STDOUT_TYPE = "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"

DEFAULT_RE = re.compile(
    r'^\[(?P<time>[0-9T:.\-]+Z)\] "(?P<method>\S+) (?P<path>\S+) (?P<proto>HTTP/1\.[01])" '
    r'(?P<code>\d+) (?P<flags>\S+) (?P<rx>\d+) (?P<tx>\d+) (?P<dur>\d+) (?P<ust>\S+) '
    r'"(?P<xff>[^"]*)" "(?P<ua>[^"]*)" "(?P<rid>[^"]*)" "(?P<authority>[^"]*)" '
    r'"(?P<uh>[^"]*)"$')


def file_log(path, log_format=None, flt=None):
    tc = {"@type": FILE_TYPE, "path": path}
    if log_format is not None:
        tc["log_format"] = log_format
    al = {"name": "envoy.access_loggers.file", "typed_config": tc}
    if flt is not None:
        al["filter"] = flt
    return al


# The requests setUpClass sends, in order.  Two workers write their own buffers, so lines of
# consecutive requests served by different workers can reach the file in either order.
TARGETS = ("/ok/a?x=1", "/nothing", "/empty", "/dead")


def in_request_order(lines):
    def key(line):
        for i, t in enumerate(TARGETS):
            if t in line:
                return i
        return len(TARGETS)
    return sorted(lines, key=key)


def read_lines(path, n, timeout=5.0):
    return in_request_order(http_harness.read_lines(path, n, timeout))


class AccessLog(HttpTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ok = cls.keep(HttpUpstream(name="ok"))
        cls.closed = cls.keep(ClosedPort())
        d = cls.tmp.name
        cls.default_path = os.path.join(d, "default.log")
        cls.text_path = os.path.join(d, "text.log")
        cls.json_path = os.path.join(d, "json.log")
        cls.err_path = os.path.join(d, "errors.log")
        logs = [
            file_log(cls.default_path),
            file_log(cls.text_path, {"text_format_source": {"inline_string":
                     "%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% "
                     "%RESPONSE_CODE_DETAILS% %UPSTREAM_CLUSTER% %ROUTE_NAME% "
                     "%UPSTREAM_REQUEST_ATTEMPT_COUNT% %REQ(X-MISSING)% %HOSTNAME%\n"}}),
            file_log(cls.json_path, {"json_format": {
                "method": "%REQ(:METHOD)%", "path": "%REQ(:PATH)%", "code": "%RESPONSE_CODE%",
                "bytes_sent": "%BYTES_SENT%", "duration": "%DURATION%",
                "authority": "%REQ(:AUTHORITY)%", "upstream": "%UPSTREAM_HOST%",
                "downstream": "%DOWNSTREAM_REMOTE_ADDRESS%",
                "local": "%DOWNSTREAM_LOCAL_ADDRESS%", "conn": "%CONNECTION_ID%",
                "proto": "%PROTOCOL%", "start": "%START_TIME(%Y-%m-%d)%"}}),
            file_log(cls.err_path, flt={"status_code_filter": {"comparison": {
                "op": "GE", "value": {"default_value": 400, "runtime_key": "x"}}}}),
            {"name": "envoy.access_loggers.stdout", "typed_config": {"@type": STDOUT_TYPE}},
        ]
        routes = [route("ok", prefix="/ok", name="r_ok"), route("empty", prefix="/empty"),
                  route("dead", prefix="/dead")]
        cfg = http_config([vhost("all", ["example.com"], routes)],
                          clusters={"ok": [cls.ok.endpoint], "empty": [],
                                    "dead": [cls.closed.endpoint]},
                          hcm={"access_log": logs})
        cls.proxy = cls.keep(start_proxy(cfg, workers=2))
        cls.addr = cls.proxy.addr()
        cls.sent = []
        for target in TARGETS:
            r = http_request(cls.addr, "GET", target, [("Host", "example.com"),
                                                        ("User-Agent", "ua-test")])
            cls.sent.append(r.status)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.tmp.cleanup()

    def test_statuses(self):
        self.assertEqual(self.sent, [200, 404, 503, 503])

    def test_default_format(self):
        lines = read_lines(self.default_path, 4)
        self.assertEqual(len(lines), 4, lines)
        m = DEFAULT_RE.match(lines[0])
        self.assertIsNotNone(m, lines[0])
        self.assertEqual(m["method"], "GET")
        self.assertEqual(m["path"], "/ok/a?x=1")
        self.assertEqual(m["proto"], "HTTP/1.1")
        self.assertEqual(m["code"], "200")
        self.assertEqual(m["flags"], "-")
        self.assertGreater(int(m["tx"]), 0)
        self.assertGreaterEqual(int(m["dur"]), 0)
        self.assertEqual(m["ua"], "ua-test")
        self.assertEqual(m["authority"], "example.com")
        self.assertEqual(m["uh"], "%s:%d" % self.ok.endpoint)

    def test_flags_and_details(self):
        lines = read_lines(self.text_path, 4)
        self.assertEqual(len(lines), 4, lines)
        f = [ln.split(" ") for ln in lines]
        self.assertEqual(f[0][:9], ["GET", "/ok/a?x=1", "200", "-", "via_upstream", "ok", "r_ok",
                                    "1", "-"])
        self.assertEqual(f[1][2:4], ["404", "NR"])
        self.assertEqual(f[2][2:4], ["503", "UH"])
        self.assertEqual(f[3][2:4], ["503", "UF"])
        for row in f[1:]:
            self.assertNotEqual(row[4], "-", row)

    def test_json(self):
        lines = read_lines(self.json_path, 4)
        self.assertEqual(len(lines), 4, lines)
        o = json.loads(lines[0])
        self.assertEqual(o["method"], "GET")
        self.assertEqual(o["path"], "/ok/a?x=1")
        self.assertEqual(o["code"], 200)
        self.assertIsInstance(o["bytes_sent"], int)
        self.assertEqual(o["authority"], "example.com")
        self.assertEqual(o["upstream"], "%s:%d" % self.ok.endpoint)
        self.assertTrue(o["downstream"].startswith("127.0.0.1:"), o)
        self.assertEqual(o["local"], "%s:%d" % self.addr)
        self.assertEqual(o["proto"], "HTTP/1.1")
        self.assertRegex(o["start"], r"^\d{4}-\d\d-\d\d$")
        self.assertEqual(json.loads(lines[1])["code"], 404)

    def test_status_filter(self):
        lines = read_lines(self.err_path, 3)
        time.sleep(0.2)
        lines = read_lines(self.err_path, 3)
        self.assertEqual(len(lines), 3, lines)
        codes = [DEFAULT_RE.match(ln)["code"] for ln in lines]
        self.assertEqual(codes, ["404", "503", "503"])

    def test_stdout(self):
        deadline = time.time() + 5
        out = ""
        while time.time() < deadline:
            with open(self.proxy.stdout_path) as f:
                out = f.read()
            if len(out.splitlines()) >= 4:
                break
            time.sleep(0.05)
        lines = in_request_order(out.splitlines())
        self.assertEqual(len(lines), 4, out)
        self.assertIsNotNone(DEFAULT_RE.match(lines[0]), lines[0])


class FilterTree(HttpTestCase):
    """The filters beyond the leaf ones: header_filter, and/or nesting, runtime_filter sampling
    on x-request-id (consistent) and with 0% / 100%, traceable_filter (a forced trace)."""

    REQUESTS = [
        ("/t/plain", []),
        ("/t/logme", [("x-log", "yes")]),
        ("/t/forced", [("x-envoy-force-trace", "1")]),
        ("/t/rid49", [("x-request-id", "00000031-0000-4000-8000-000000000000")]),
        ("/t/rid50", [("x-request-id", "00000032-0000-4000-8000-000000000000")]),
        ("/nothing", []),
    ]

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        up = cls.keep(HttpUpstream(name="ok"))
        fmt = {"text_format_source": {"inline_string": "%REQ(:PATH)%\n"}}
        cls.paths = {}

        def log(name, flt):
            cls.paths[name] = os.path.join(cls.tmp.name, name + ".log")
            return file_log(cls.paths[name], fmt, flt)

        def status_ge(v):
            return {"status_code_filter": {"comparison": {
                "op": "GE", "value": {"default_value": v, "runtime_key": "k"}}}}

        logs = [
            log("header", {"header_filter": {"header": {"name": "x-log",
                                                        "string_match": {"exact": "yes"}}}}),
            # (status >= 400 or x-log present) and not a health check
            log("nested", {"and_filter": {"filters": [
                {"or_filter": {"filters": [status_ge(400), {"header_filter": {
                    "header": {"name": "x-log", "present_match": True}}}]}},
                {"not_health_check_filter": {}}]}}),
            log("all", {"runtime_filter": {"runtime_key": "k", "percent_sampled": {
                "numerator": 100, "denominator": "HUNDRED"}}}),
            log("none", {"runtime_filter": {"runtime_key": "k"}}),
            # 50%: x-request-id 0x31 = 49 passes, 0x32 = 50 does not (Envoy's UUID draw)
            log("half", {"and_filter": {"filters": [
                {"header_filter": {"header": {"name": "x-request-id",
                                              "string_match": {"prefix": "000000"}}}},
                {"runtime_filter": {"runtime_key": "k", "percent_sampled": {
                    "numerator": 50, "denominator": "HUNDRED"}}}]}}),
            log("traced", {"traceable_filter": {}}),
        ]
        cfg = http_config([vhost("all", ["example.com"], [route("ok", prefix="/t")])],
                          clusters={"ok": [up.endpoint]},
                          hcm={"access_log": logs,
                               "tracing": {"random_sampling": {"value": 0}}})
        cls.proxy = cls.keep(start_proxy(cfg, workers=1))
        for path, extra in cls.REQUESTS:
            http_request(cls.proxy.addr(), "GET", path, [("Host", "example.com")] + extra)
        # "all" gets every line: once it has them, every log was written.
        cls.got_all = read_lines(cls.paths["all"], len(cls.REQUESTS))

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.tmp.cleanup()

    def lines(self, name):
        return sorted(http_harness.read_lines(self.paths[name], 0, timeout=0.1))

    def test_runtime_all_and_none(self):
        self.assertEqual(sorted(self.got_all), sorted(p for p, _ in self.REQUESTS))
        self.assertEqual(self.lines("none"), [])

    def test_header(self):
        self.assertEqual(self.lines("header"), ["/t/logme"])

    def test_nested(self):
        self.assertEqual(self.lines("nested"), ["/nothing", "/t/logme"])

    def test_runtime_consistent_on_request_id(self):
        self.assertEqual(self.lines("half"), ["/t/rid49"])

    def test_traceable(self):
        self.assertEqual(self.lines("traced"), ["/t/forced"])


class SharedFile(HttpTestCase):

    def test_two_workers_whole_lines(self):
        tmp = tempfile.TemporaryDirectory()
        path = os.path.join(tmp.name, "shared.log")
        up = self.keep(HttpUpstream(name="ok"))
        pad = "x" * 300
        cfg = http_config([vhost("all", ["example.com"], [route("ok")])],
                          clusters={"ok": [up.endpoint]},
                          hcm={"access_log": [file_log(path, {"text_format_source": {
                              "inline_string": "BEGIN %REQ(:PATH)% " + pad + " END\n"}})]})
        proxy = self.keep(start_proxy(cfg, workers=2))
        addr = proxy.addr()
        n = 200
        import threading

        def client(k):
            for i in range(n // 4):
                r = http_request(addr, "GET", "/r/%d/%d" % (k, i))
                self.assertEqual(r.status, 200)
        ts = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        lines = read_lines(path, n)
        self.assertEqual(len(lines), n)
        line_re = re.compile(r"^BEGIN /r/\d+/\d+ x{300} END$")
        for ln in lines:
            self.assertRegex(ln, line_re)
        self.assertEqual(len(set(lines)), n)
        tmp.cleanup()



class UnreadPipe(HttpTestCase):
    """A stdout access log on a pipe nobody reads: requests are still served (lines that find
    both buffers full are dropped and counted), and a drain is not held open by the blocked
    write past the drain deadline (the write is cancelled, the process exits)."""

    def test_drain_does_not_wait_for_the_pipe(self):
        import signal
        import subprocess

        from harness import LISTEN_RE, STARTED_RE, ringway_bin

        up = self.keep(HttpUpstream(name="ok"))
        fmt = "%REQ(:PATH)% " + "x" * 400 + "\n"
        cfg = http_config([vhost("all", ["example.com"], [route("ok")])],
                          clusters={"ok": [up.endpoint]},
                          hcm={"access_log": [{"name": "envoy.access_loggers.stdout",
                                               "typed_config": {"@type": STDOUT_TYPE,
                                                                "log_format": {
                                                                    "text_format_source": {
                                                                        "inline_string": fmt}}}}]})
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        path = os.path.join(tmp.name, "cfg.json")
        with open(path, "w") as f:
            f.write(cfg)
        err_path = os.path.join(tmp.name, "stderr.log")
        rfd, wfd = os.pipe()  # rfd is never read
        self.addCleanup(os.close, rfd)
        with open(err_path, "wb") as err:
            proc = subprocess.Popen([ringway_bin(), "-c", path, "--concurrency", "1",
                                     "--drain-time-s", "1"], stdout=wfd, stderr=err,
                                    stdin=subprocess.DEVNULL)
        os.close(wfd)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        deadline = time.time() + 10
        text = ""
        while time.time() < deadline and not STARTED_RE.search(text):
            time.sleep(0.05)
            with open(err_path) as f:
                text = f.read()
        self.assertRegex(text, STARTED_RE)
        m = LISTEN_RE.search(text)
        addr = (m.group(2) or m.group(3), int(m.group(4)))
        # ~1 MB of log lines against a 64 KiB pipe: the writes block, requests do not.
        for i in range(2500):
            self.assertEqual(http_request(addr, "GET", "/p%d" % i).status, 200)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=15)
        self.assertEqual(rc, 0)
        with open(err_path) as f:
            self.assertIn("dropped", f.read())



class Rotation(HttpTestCase):
    """Log rotation: after the file is moved away, POST /reopen_logs (or SIGUSR1, as Envoy)
    makes ringway write to a new file at the configured path; lines already written stay in
    the moved file, none is lost or duplicated."""

    def test_reopen_logs_and_sigusr1(self):
        import json as _json
        import signal

        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        path = os.path.join(tmp.name, "access.log")
        up = self.keep(HttpUpstream(name="ok"))
        boot = _json.loads(http_config(
            [vhost("all", ["example.com"], [route("ok")])], clusters={"ok": [up.endpoint]},
            hcm={"access_log": [file_log(path, {"text_format_source": {
                "inline_string": "%REQ(:PATH)%\n"}})]}))
        boot["admin"] = {"address": {"socket_address": {"address": "127.0.0.1",
                                                        "port_value": 0}}}
        px = self.keep(start_proxy(_json.dumps(boot), workers=2))

        def get(p):
            self.assertEqual(http_request(px.addr(), "GET", p).status, 200)

        for i in range(3):
            get("/a%d" % i)
        self.assertEqual(sorted(http_harness.read_lines(path, 3)), ["/a0", "/a1", "/a2"])
        os.rename(path, path + ".1")
        get("/b0")  # still to the moved file: not reopened yet
        self.assertEqual(len(http_harness.read_lines(path + ".1", 4)), 4)
        self.assertEqual(http_request(px.addr("admin"), "GET", "/reopen_logs").status, 405)
        self.assertEqual(http_request(px.addr("admin"), "POST", "/reopen_logs").status, 200)
        for i in range(3):
            get("/c%d" % i)
        self.assertEqual(sorted(http_harness.read_lines(path, 3)), ["/c0", "/c1", "/c2"])
        os.rename(path, path + ".2")
        px.signal(signal.SIGUSR1)
        px.wait_log(r"SIGUSR1: 1 access log file\(s\) reopened")
        get("/d0")
        self.assertEqual(http_harness.read_lines(path, 1), ["/d0"])
        time.sleep(0.3)  # a line in the wrong file would show up by now
        self.assertEqual(sorted(http_harness.read_lines(path + ".1", 4)),
                         ["/a0", "/a1", "/a2", "/b0"])
        self.assertEqual(sorted(http_harness.read_lines(path + ".2", 3)), ["/c0", "/c1", "/c2"])
        self.assertEqual(http_harness.read_lines(path, 1), ["/d0"])

if __name__ == "__main__":
    main()
