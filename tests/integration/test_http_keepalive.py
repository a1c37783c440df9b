"""HTTP/1.1 connection reuse through the HTTP connection manager, as a client sees it.

What this proves (Envoy's behaviour, --concurrency 1 so one worker owns every connection):
- upstream connections are pooled: 200 requests over 4 keep-alive client connections open at
  most 4 upstream connections, and 20 clients that each use a fresh connection share at most 2;
- pipelined requests (GET, POST with a body, HEAD, chunked POST) sent in one write are answered
  in order, each with its own body, and HEAD with none;
- an upstream that closes a pooled connection after answering (without saying
  "Connection: close") costs the client nothing: the next request still gets a 200, never a 503;
- "Connection: close" from the client is honoured: the response says "connection: close" and
  the proxy closes after it;
- common_http_protocol_options.idle_timeout closes an idle client connection;
- draining (SIGTERM): idle keep-alive client connections are closed at once, a request in
  flight still gets its response (with "connection: close"), and the process exits long
  before --drain-time-s.
"""

import threading
import time
import unittest

import http_harness as hh
from http_harness import HttpClient, HttpUpstream, Proxy, Response

HOST = (("Host", "example.com"),)


def echo_respond(name="up"):
    """200 whose body names the request and repeats its body, so a mixed-up answer shows."""
    def respond(req):
        return Response(200, [("x-upstream", name)],
                        b"%s %s %s|" % (name.encode(), req.method.encode(), req.target.encode())
                        + req.body)
    return respond


def expected_body(method, target, body=b"", name="up"):
    return b"%s %s %s|" % (name.encode(), method.encode(), target.encode()) + body


def start(up, hcm=None, args=("--concurrency", "1")):
    cfg = hh.http_config([hh.vhost("local", ["*"], [hh.route("up")])],
                         clusters={"up": [up.endpoint]}, hcm=hcm)
    return Proxy(cfg, list(args))


class KeepAlive(unittest.TestCase):
    def test_pool_reused_across_keepalive_connections(self):
        """4 clients x 50 requests, concurrently: every answer right, <= 4 upstream conns."""
        with HttpUpstream(echo_respond()) as up, start(up) as px:
            failures = []

            def client(k):
                try:
                    with HttpClient(px.addr()) as c:
                        for i in range(50):
                            target = "/k/%d/%d" % (k, i)
                            r = c.request("GET", target, HOST)
                            if r.status != 200 or r.body != expected_body("GET", target):
                                failures.append((target, r))
                                return
                except Exception as e:  # noqa: BLE001 - reported below
                    failures.append((k, e))

            threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            self.assertEqual(failures, [])
            reqs = up.wait_requests(200)
            self.assertEqual(len(reqs), 200)
            self.assertEqual(sorted(r.target for r in reqs),
                             sorted("/k/%d/%d" % (k, i) for k in range(4) for i in range(50)))
            # Pooled: one upstream connection per concurrently active stream at most.
            self.assertLessEqual(up.accepted, 4, "upstream connections are not reused")
            px.stop()

    def test_pool_reused_across_fresh_client_connections(self):
        """20 sequential clients, each on its own connection: the pool survives them."""
        with HttpUpstream(echo_respond()) as up, start(up) as px:
            for i in range(20):
                target = "/fresh/%d" % i
                r = hh.http_request(px.addr(), "GET", target, HOST)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, expected_body("GET", target))
            self.assertEqual(len(up.wait_requests(20)), 20)
            self.assertLessEqual(up.accepted, 2, "the pool was not reused across clients")
            px.stop()

    def test_pipelined_requests_answered_in_order(self):
        with HttpUpstream(echo_respond()) as up, start(up) as px:
            reqs = [
                ("GET", "/p/1", HOST, None),
                ("POST", "/p/2", HOST, b"hello body"),
                ("HEAD", "/p/3", HOST, None),
                ("GET", "/p/4", HOST, None),
                ("POST", "/p/5", HOST + (("Transfer-Encoding", "chunked"),),
                 b"5\r\nchunk\r\n6\r\ned one\r\n0\r\n\r\n"),
            ]
            raw = b"".join(hh.encode_request(m, t, h, b) for m, t, h, b in reqs)
            with HttpClient(px.addr()) as c:
                c.send(raw)  # all five in one write
                bodies = [expected_body("GET", "/p/1"),
                          expected_body("POST", "/p/2", b"hello body"),
                          b"",
                          expected_body("GET", "/p/4"),
                          expected_body("POST", "/p/5", b"chunked one")]
                for (m, t, _, _), want in zip(reqs, bodies):
                    r = c.read_response(head_request=m == "HEAD")
                    self.assertEqual(r.status, 200, (m, t, r))
                    self.assertEqual(r.body, want, (m, t))
                    if m == "HEAD":
                        # The origin's Content-Length of the body a GET would get is kept.
                        self.assertEqual(r.header("content-length"),
                                         str(len(expected_body("HEAD", t))))
                # Nothing after the fifth response (a HEAD body would show up here).
                self.assertFalse(c.read_eof(0.3))
                self.assertEqual(c.reader.buf, b"")
                # The connection is still usable.
                r = c.request("GET", "/p/6", HOST)
                self.assertEqual(r.body, expected_body("GET", "/p/6"))
            got = up.wait_requests(6)
            self.assertEqual([(r.method, r.target) for r in got],
                             [(m, t) for m, t, _, _ in reqs] + [("GET", "/p/6")])
            self.assertEqual(got[4].body, b"chunked one")
            px.stop()

    def test_upstream_closes_pooled_connection(self):
        """Each upstream connection answers one request (Content-Length, no
        'Connection: close') and then closes: later requests must still succeed."""
        def respond(req):
            body = expected_body(req.method, req.target)
            # bytes: written as they are, then the mock closes the socket.
            return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

        with HttpUpstream(respond) as up, start(up) as px, HttpClient(px.addr()) as c:
            for i in range(5):
                target = "/closing/%d" % i
                r = c.request("GET", target, HOST)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, expected_body("GET", target))
                # The upstream's close is hop-by-hop: the client connection stays open.
                self.assertNotEqual((r.header("connection") or "").lower(), "close")
                # Give the proxy time to see the FIN of the idle pooled connection (Envoy
                # removes it then; reusing a connection the peer is closing *at the same
                # moment* is a race even Envoy answers with 503 without a retry policy).
                time.sleep(0.5)
            self.assertEqual(len(up.wait_requests(5)), 5)
            self.assertEqual(up.accepted, 5)
            px.stop()

    def test_client_connection_close(self):
        with HttpUpstream(echo_respond()) as up, start(up) as px:
            with HttpClient(px.addr()) as c:
                r = c.request("GET", "/bye", HOST + (("Connection", "close"),))
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, expected_body("GET", "/bye"))
                self.assertEqual((r.header("connection") or "").lower(), "close", r)
                self.assertTrue(c.read_eof(3.0), "the proxy kept the connection open")
            # The upstream connection is the proxy's own: it may stay pooled, and the next
            # client is served normally.
            r = hh.http_request(px.addr(), "GET", "/after", HOST)
            self.assertEqual(r.body, expected_body("GET", "/after"))
            px.stop()

    def test_idle_timeout_closes_client_connection(self):
        hcm = {"common_http_protocol_options": {"idle_timeout": "1s"}}
        with HttpUpstream(echo_respond()) as up, start(up, hcm=hcm) as px:
            # After a request ...
            with HttpClient(px.addr()) as c:
                r = c.request("GET", "/idle", HOST)
                self.assertEqual(r.body, expected_body("GET", "/idle"))
                self.assertTrue(c.read_eof(8.0), "idle connection not closed within 8 s")
                self.assertEqual(c.reader.buf, b"", "bytes sent on an idle close")
            # ... and without any request at all.
            with HttpClient(px.addr()) as c:
                self.assertTrue(c.read_eof(8.0), "silent connection not closed within 8 s")
            px.stop()


class Drain(unittest.TestCase):
    def test_sigterm_finishes_in_flight_and_closes_idle(self):
        release = threading.Event()

        def respond(req):
            if req.target == "/slow":
                release.wait(10)
            return Response(200, [], b"done " + req.target.encode())

        with HttpUpstream(respond) as up, \
                start(up, args=("--concurrency", "1", "--drain-time-s", "30")) as px:
            idle = HttpClient(px.addr())
            self.assertEqual(idle.request("GET", "/warm", HOST).status, 200)
            busy = HttpClient(px.addr())
            busy.send(b"GET /slow HTTP/1.1\r\nHost: example.com\r\n\r\n")
            up.wait_requests(2)
            t0 = time.monotonic()
            px.signal()
            # The idle connection is closed by the proxy without a byte.
            self.assertTrue(idle.read_eof(5.0))
            release.set()
            r = busy.read_response()
            self.assertEqual((r.status, r.body), (200, b"done /slow"))
            self.assertEqual((r.header("connection") or "").lower(), "close")
            self.assertTrue(busy.read_eof(5.0))
            self.assertEqual(px.wait(10), 0)
            self.assertLess(time.monotonic() - t0, 10, "drain waited for its deadline")
            idle.close()
            busy.close()


if __name__ == "__main__":
    hh.main()
