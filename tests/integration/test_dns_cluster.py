"""STRICT_DNS and LOGICAL_DNS clusters follow DNS answers without a restart.

A tiny DNS server (UDP on 127.0.0.1, standard library only) answers A queries for
svc.ringway.test from a table the test changes; AAAA gets an empty NOERROR answer and any
other name NXDOMAIN.  ringway reaches it through the cluster's dns_resolvers, never a real
DNS server.  Upstreams on 127.0.0.1/.2/.3 share one port (the endpoint's port_value) and
greet each connection with their address, then echo.

What Envoy does on failures, and so ringway: its c-ares resolver reports NXDOMAIN/NODATA as
a *completed* resolution with no addresses, so a STRICT_DNS cluster drops that name's hosts
(connections then fail at once), while a failed lookup (SERVFAIL, timeout) keeps the last
known hosts.  LOGICAL_DNS only replaces its host on a non-empty answer, so NXDOMAIN keeps it.
"""

import socket
import struct
import threading
import time
import unittest

import harness

NAME = "svc.ringway.test"
LISTEN_TYPE = harness.TCP_PROXY_TYPE


class DnsServer:
    """Answers A for NAME from self.answers (a list of IPv4 strings) or with self.rcode."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.answers = []
        self.rcode = 0  # 0: answer from the table; 2: SERVFAIL; 3: NXDOMAIN
        self.queries = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def set(self, answers=None, rcode=0):
        with self.lock:
            self.answers = list(answers or [])
            self.rcode = rcode

    def _loop(self):
        while not self.stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            reply = self._reply(data)
            if reply:
                self.sock.sendto(reply, peer)

    def _reply(self, q):
        if len(q) < 12:
            return None
        qid, flags, qdcount = struct.unpack("!HHH", q[:6])
        if qdcount != 1:
            return None
        labels, i = [], 12
        while i < len(q) and q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace").lower())
            i += 1 + q[i]
        qtype, _ = struct.unpack("!HH", q[i + 1:i + 5])
        question = q[12:i + 5]
        with self.lock:
            self.queries += 1
            answers, rcode = list(self.answers), self.rcode
        name = ".".join(labels)
        if name != NAME:
            rcode, answers = 3, []
        elif rcode or qtype != 1:  # AAAA and others: NOERROR, no records (NODATA)
            answers = []
        rr = b""
        for a in answers:
            rr += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 1, 4) + socket.inet_aton(a)
        hdr = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100) | rcode, 1,
                          len(answers), 0, 0)
        return hdr + question + rr

    def close(self):
        self.stopping.set()
        self.thread.join(2)
        self.sock.close()


class GreetEcho:
    """Listen on (host, port); each connection gets "<host>\\n", then an echo."""

    def __init__(self, host, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(128)
        self.sock.settimeout(0.1)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            conn.settimeout(30)
            conn.sendall(self.host.encode() + b"\n")
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stopping.set()
        self.thread.join(2)
        self.sock.close()


def start_upstreams():
    """127.0.0.1, .2 and .3 on one port (the first picks it; retried if another is taken)."""
    for _ in range(20):
        first = GreetEcho("127.0.0.1", 0)
        try:
            return [first] + [GreetEcho(h, first.port) for h in ("127.0.0.2", "127.0.0.3")]
        except OSError:
            first.close()
    raise AssertionError("no port free on 127.0.0.1-3")


def config(cluster_type, dns_port, port):
    return ("static_resources:\n  listeners:\n"
            + harness.listener_yaml("proxy", "up")
            + "  clusters:\n"
            + "  - name: up\n"
            + "    connect_timeout: 0.5s\n"
            + "    type: %s\n" % cluster_type
            + "    dns_refresh_rate: 0.2s\n"
            + "    dns_lookup_family: V4_ONLY\n"
            + "    dns_resolvers: [{socket_address: {address: 127.0.0.1, port_value: %d}}]\n"
            % dns_port
            + "    load_assignment:\n"
            + "      cluster_name: up\n"
            + "      endpoints:\n"
            + "      - lb_endpoints:\n"
            + "        - endpoint: {address: {socket_address: {address: %s, port_value: %d}}}\n"
            % (NAME, port))


def which(px):
    """Connect through the proxy; the upstream's address, or None if the proxy closed."""
    c = harness.connect(px.addr())
    c.settimeout(5)
    data = b""
    try:
        while not data.endswith(b"\n"):
            chunk = c.recv(64)
            if not chunk:
                return None
            data += chunk
    finally:
        c.close()
    return data.decode().strip()


def wait_for(px, want, timeout=5.0):
    """Poll until a new connection reaches an upstream in `want` (a set; {None}: closed)."""
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = which(px)
        if got in want:
            return
        time.sleep(0.05)
    raise AssertionError("connections still reach %r, want %r:\n%s" % (got, want, px.log()))


class DnsCluster(unittest.TestCase):
    def setUp(self):
        self.dns = DnsServer()
        self.ups = start_upstreams()
        self.port = self.ups[0].port

    def tearDown(self):
        for u in self.ups:
            u.close()
        self.dns.close()

    def test_strict_dns_follows_answers(self):
        self.dns.set(["127.0.0.1"])
        with harness.Proxy(config("STRICT_DNS", self.dns.port, self.port),
                           ["--concurrency", "2"]) as px:
            # Start-up waited for the first answer: the very first connection works.
            self.assertEqual(which(px), "127.0.0.1")
            px.wait_log(r"cluster 'up': hosts now 127\.0\.0\.1:%d" % self.port)

            held = harness.connect(px.addr())
            held.settimeout(5)
            self.assertEqual(held.recv(64), b"127.0.0.1\n")

            self.dns.set(["127.0.0.2"])
            wait_for(px, {"127.0.0.2"})
            for _ in range(6):
                self.assertEqual(which(px), "127.0.0.2")
            # The session to the removed host keeps its host and keeps working.
            held.sendall(b"still there")
            self.assertEqual(held.recv(64), b"still there")
            held.close()

            self.dns.set(["127.0.0.2", "127.0.0.3"])
            px.wait_log(r"hosts now 127\.0\.0\.2:%d, 127\.0\.0\.3:%d" % (self.port, self.port))
            seen = [which(px) for _ in range(8)]
            self.assertEqual(set(seen), {"127.0.0.2", "127.0.0.3"}, seen)
            for k in range(2, 8):
                self.assertEqual(seen[k], seen[k - 2], "not a rotation: %r" % seen)

            # SERVFAIL is a failed lookup: the last known hosts stay.
            self.dns.set(rcode=2)
            time.sleep(1.0)
            self.assertIn(which(px), {"127.0.0.2", "127.0.0.3"})
            self.assertNotIn("hosts now none", px.log())
            # ... and the operator is told, once per run of failures, not at every refresh.
            px.wait_log(r"'svc\.ringway\.test': .*keeping the last 2 addresses")
            self.assertEqual(px.log().count("keeping the last 2 addresses"), 1)

            # NXDOMAIN is an answer (Envoy's c-ares resolver: completed, no records): the
            # name's hosts are removed and connections are closed at once.
            self.dns.set(rcode=3)
            wait_for(px, {None})
            px.wait_log(r"cluster 'up': hosts now none")
            px.wait_log(r"'svc\.ringway\.test' resolves again")

            self.dns.set(["127.0.0.3"])
            wait_for(px, {"127.0.0.3"})
            log = px.stop()
        self.assertNotIn("ERROR", log)

    def test_logical_dns_uses_first_address(self):
        self.dns.set(["127.0.0.2", "127.0.0.3"])
        with harness.Proxy(config("LOGICAL_DNS", self.dns.port, self.port)) as px:
            seen = {which(px) for _ in range(6)}
            self.assertEqual(seen, {"127.0.0.2"})
            # An empty answer keeps the logical host (Envoy: only non-empty answers count).
            self.dns.set(rcode=3)
            time.sleep(1.0)
            self.assertEqual(which(px), "127.0.0.2")
            self.dns.set(["127.0.0.3"])
            wait_for(px, {"127.0.0.3"})
            # Still in the answer: the logical host stays (ringway's watch sorts answers, so
            # it keeps the current address rather than Envoy's answer-order first).
            self.dns.set(["127.0.0.1", "127.0.0.3"])
            time.sleep(1.0)
            self.assertEqual({which(px) for _ in range(4)}, {"127.0.0.3"})
            px.stop()

    def test_first_resolution_failure_starts_empty(self):
        self.dns.set(rcode=3)
        with harness.Proxy(config("STRICT_DNS", self.dns.port, self.port)) as px:
            self.assertIsNone(which(px))
            self.dns.set(["127.0.0.1"])
            wait_for(px, {"127.0.0.1"})
            px.stop()


if __name__ == "__main__":
    harness.main()
