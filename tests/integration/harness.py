"""Shared harness for ringway's integration tests (Python 3 standard library only).

Starts the real binary ($RINGWAY_BIN) on 127.0.0.1/::1 port 0 and reads the kernel-chosen
ports back from its "listening on" log lines; runs mock upstreams in-process on threads
(in the spirit of haproxy's VTest `server s0 { rxreq; txresp }`); and puts a timeout on
every wait, so a hung proxy fails a test instead of hanging CI.  Nothing here binds a
fixed port.
"""

import hashlib
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77  # ctest SKIP_RETURN_CODE
MiB = 1024 * 1024


def ringway_bin():
    """The binary under test: $RINGWAY_BIN (set by ctest), else a local build for manual runs."""
    b = os.environ.get("RINGWAY_BIN")
    if b:
        return b
    for cand in ("build-it", "build", "build-lead"):
        p = os.path.join(HERE, "..", "..", cand, "server", "ringway")
        if os.access(p, os.X_OK):
            return os.path.abspath(p)
    raise RuntimeError("set RINGWAY_BIN to the ringway binary")


def main():
    """unittest.main() that exits non-zero when any test fails or errors."""
    unittest.main(verbosity=2)


def raise_nofile(want):
    """Raise RLIMIT_NOFILE to `want` (bounded by the hard limit); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def ipv6_available():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# Configs


def _addr_yaml(host, port):
    return "{socket_address: {address: '%s', port_value: %d}}" % (host, port)


TCP_PROXY_TYPE = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"


def listener_yaml(name, cluster, host="127.0.0.1", idle_timeout=None, buffer_limit=None):
    lines = ["  - name: %s" % name]
    if buffer_limit is not None:
        lines.append("    per_connection_buffer_limit_bytes: %d" % buffer_limit)
    lines += [
        "    address: %s" % _addr_yaml(host, 0),
        "    filter_chains:",
        "    - filters:",
        "      - name: envoy.filters.network.tcp_proxy",
        "        typed_config:",
        '          "@type": ' + TCP_PROXY_TYPE,
        "          stat_prefix: %s" % name,
        "          cluster: %s" % cluster,
    ]
    if idle_timeout is not None:
        lines.append("          idle_timeout: %s" % idle_timeout)
    return "\n".join(lines) + "\n"


def cluster_yaml(name, endpoints, connect_timeout="0.5s", buffer_limit=None):
    lines = [
        "  - name: %s" % name,
        "    connect_timeout: %s" % connect_timeout,
        "    type: STATIC",
        "    lb_policy: ROUND_ROBIN",
    ]
    if buffer_limit is not None:
        lines.append("    per_connection_buffer_limit_bytes: %d" % buffer_limit)
    lines += [
        "    load_assignment:",
        "      cluster_name: %s" % name,
        "      endpoints:",
        "      - lb_endpoints:",
    ]
    for host, port in endpoints:
        lines.append("        - endpoint: {address: %s}" % _addr_yaml(host, port))
    return "\n".join(lines) + "\n"


def proxy_config(endpoints, listen_host="127.0.0.1", idle_timeout=None, connect_timeout="0.5s",
                 down_buffer_limit=None, up_buffer_limit=None):
    """One TCP-proxy listener named 'proxy' in front of cluster 'up' with `endpoints`."""
    return ("static_resources:\n  listeners:\n"
            + listener_yaml("proxy", "up", listen_host, idle_timeout, down_buffer_limit)
            + "  clusters:\n"
            + cluster_yaml("up", endpoints, connect_timeout, up_buffer_limit))


# --------------------------------------------------------------------------------------------
# The proxy process

LISTEN_RE = re.compile(r"listener '([^']+)' listening on (?:\[([^\]]+)\]|([0-9.]+)):(\d+)")
STARTED_RE = re.compile(r"ringway \S+ started: (\d+) workers")


class Proxy:
    """One ringway process.  Use as a context manager: the process is always reaped.

    The config goes to a file in a temp dir (-c), or inline (--config-yaml) with inline=True;
    config=None serves the embedded default.
    """

    def __init__(self, config, args=(), start_timeout=10.0, inline=False):
        self.tmp = tempfile.TemporaryDirectory(prefix="ringway-it-")
        self.config_path = os.path.join(self.tmp.name, "ringway.yaml")
        with open(self.config_path, "w") as f:
            f.write(config or "")
        self.stderr_path = os.path.join(self.tmp.name, "stderr.log")
        self.stdout_path = os.path.join(self.tmp.name, "stdout.log")
        self._err = open(self.stderr_path, "wb")
        self._out = open(self.stdout_path, "wb")
        if config is None:
            source = []  # the embedded default config
        elif inline:
            source = ["--config-yaml", config]
        else:
            source = ["-c", self.config_path]
        self.argv = [ringway_bin()] + source + list(args)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err)
        self.pid = self.proc.pid
        self.listeners = {}
        self.workers = 0
        self._wait_started(start_timeout)

    def log(self):
        with open(self.stderr_path, "r", errors="replace") as f:
            return f.read()

    def _wait_started(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()
            m = STARTED_RE.search(text)
            if m:
                self.workers = int(m.group(1))
                for lm in LISTEN_RE.finditer(text):
                    host = lm.group(2) or lm.group(3)
                    self.listeners[lm.group(1)] = (host, int(lm.group(4)))
                return
            if self.proc.poll() is not None:
                raise AssertionError("ringway exited with %d before starting:\n%s"
                                     % (self.proc.returncode, text))
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("ringway did not log 'started' within %.0fs:\n%s"
                                     % (timeout, text))
            time.sleep(0.02)

    def addr(self, name="proxy"):
        return self.listeners[name]

    def wait_log(self, pattern, timeout=5.0):
        """Wait until `pattern` (a regex) appears in the log; returns the match."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.log())
            if m:
                return m
            time.sleep(0.02)
        raise AssertionError("no log line matching %r within %.1fs:\n%s"
                             % (pattern, timeout, self.log()))

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        """Wait for exit; returns the exit code, or raises AssertionError on timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("ringway still running after %.1fs:\n%s"
                                 % (timeout, self.log()))

    def stop(self, timeout=10.0, expect_rc=0):
        """SIGTERM, wait for exit, assert the exit code; returns the log."""
        if self.alive():
            self.signal(signal.SIGTERM)
        rc = self.wait(timeout)
        if expect_rc is not None and rc != expect_rc:
            raise AssertionError("ringway exited with %d, expected %d:\n%s"
                                 % (rc, expect_rc, self.log()))
        return self.log()

    def kill(self):
        if self.alive():
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def rss_kib(self):
        return rss_kib(self.pid)

    def close(self):
        self.kill()
        self._err.close()
        self._out.close()
        self.tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            sys.stderr.write("---- ringway log (%s) ----\n%s---- end of log ----\n"
                             % (" ".join(self.argv), self.log()))
        self.close()
        return False


def rss_kib(pid):
    """VmRSS of `pid` in KiB, from /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def run_ringway(args, timeout=10.0, config=None):
    """Run ringway to completion (validate, --version, ...); returns CompletedProcess."""
    with tempfile.TemporaryDirectory(prefix="ringway-it-") as d:
        argv = [ringway_bin()]
        if config is not None:
            path = os.path.join(d, "config.yaml")
            with open(path, "w") as f:
                f.write(config)
            argv += ["-c", path]
        argv += list(args)
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, text=True)


# --------------------------------------------------------------------------------------------
# Mock upstreams


class Upstream:
    """A listening socket on port 0 whose accepted connections each get a handler thread.

    handler(conn, upstream, index) runs on its own thread; the connection is closed after it
    returns.  Counters (accepted, active, max_active) prove the proxy really connected.
    """

    def __init__(self, handler, host="127.0.0.1", backlog=1024, name="upstream"):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(backlog)
        self.sock.settimeout(0.1)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.name = name
        self.lock = threading.Lock()
        self.accepted = 0
        self.active = 0
        self.max_active = 0
        self.errors = []
        self.results = []  # handlers append whatever they observed
        self.sent = 0  # bytes written by source_handler so far
        self.stopping = threading.Event()
        self.conns = []
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self.acceptor.start()

    @property
    def endpoint(self):
        return (self.host, self.port)

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self.lock:
                index = self.accepted
                self.accepted += 1
                self.active += 1
                self.max_active = max(self.max_active, self.active)
                self.conns.append(conn)
            t = threading.Thread(target=self._run, args=(conn, index), daemon=True)
            self.threads.append(t)
            t.start()

    def _run(self, conn, index):
        try:
            self.handler(conn, self, index)
        except OSError as e:
            # The proxy closing a connection early is a normal outcome for several tests.
            with self.lock:
                self.errors.append(e)
        except Exception as e:  # noqa: BLE001 - surfaced through self.errors
            with self.lock:
                self.errors.append(e)
        finally:
            with self.lock:
                self.active -= 1
            try:
                conn.close()
            except OSError:
                pass

    def record(self, value):
        with self.lock:
            self.results.append(value)

    def wait_accepted(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.accepted >= n:
                    return
            time.sleep(0.01)
        raise AssertionError("%s accepted %d connections, expected %d within %.1fs"
                             % (self.name, self.accepted, n, timeout))

    def wait_results(self, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.results) >= n:
                    return list(self.results)
            time.sleep(0.01)
        raise AssertionError("%s recorded %d results, expected %d within %.1fs (errors: %r)"
                             % (self.name, len(self.results), n, timeout, self.errors))

    def close(self):
        self.stopping.set()
        try:
            self.sock.close()
        except OSError:
            pass
        self.acceptor.join(2)
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(2)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def echo_handler(conn, up, index):
    """Echo everything; on EOF shut down our write side after the last byte."""
    total = 0
    while True:
        data = conn.recv(256 * 1024)
        if not data:
            break
        total += len(data)
        conn.sendall(data)
    conn.shutdown(socket.SHUT_WR)
    up.record(total)


def sink_handler(conn, up, index):
    """Read to EOF, then reply "<bytes> <sha256>\\n" and close."""
    h = hashlib.sha256()
    total = 0
    while True:
        data = conn.recv(256 * 1024)
        if not data:
            break
        total += len(data)
        h.update(data)
    conn.sendall(b"%d %s\n" % (total, h.hexdigest().encode()))
    up.record((total, h.hexdigest()))


def hold_handler(conn, up, index):
    """Never read; keep the connection open until the upstream is closed."""
    up.record("held")
    up.stopping.wait(60)


def id_handler(ident):
    """Write `ident` and close."""
    def handler(conn, up, index):
        conn.sendall(ident.encode())
        up.record(ident)
    return handler


def source_handler(block, total, sndbuf=None):
    """Write `block` repeatedly, `total` bytes in all, as fast as the peer takes them, then
    FIN and wait for the peer to close.  up.sent tracks the bytes accepted by the kernel."""
    def handler(conn, up, index):
        if sndbuf:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        view = memoryview(block)
        sent = 0
        try:
            while sent < total:
                off = sent % len(view)
                n = conn.send(view[off:off + min(len(view) - off, total - sent, 64 * 1024)])
                sent += n
                up.sent = sent
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(30)
            while conn.recv(65536):
                pass
        finally:
            up.record(sent)
    return handler


class SelectorEchoServer:
    """Single-threaded echo server for thousands of concurrent connections."""

    def __init__(self, host="127.0.0.1", backlog=4096):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(backlog)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.endpoint = (host, self.port)
        self.lock = threading.Lock()
        self.accepted = 0
        self.active = 0
        self.max_active = 0
        self.bytes = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, None)
        pending = {}  # conn -> bytes not yet echoed
        try:
            while not self.stopping.is_set():
                for key, ev in sel.select(0.1):
                    if key.data is None:
                        while True:
                            try:
                                c, _ = self.sock.accept()
                            except (BlockingIOError, InterruptedError):
                                break
                            c.setblocking(False)
                            pending[c] = b""
                            sel.register(c, selectors.EVENT_READ, "c")
                            with self.lock:
                                self.accepted += 1
                                self.active += 1
                                self.max_active = max(self.max_active, self.active)
                        continue
                    c = key.fileobj
                    if ev & selectors.EVENT_READ:
                        try:
                            data = c.recv(65536)
                        except (BlockingIOError, InterruptedError):
                            data = None
                        except OSError:
                            data = b""
                        if data == b"":
                            sel.unregister(c)
                            c.close()
                            del pending[c]
                            with self.lock:
                                self.active -= 1
                            continue
                        if data:
                            with self.lock:
                                self.bytes += len(data)
                            pending[c] += data
                    if pending.get(c):
                        try:
                            n = c.send(pending[c])
                            pending[c] = pending[c][n:]
                        except (BlockingIOError, InterruptedError):
                            pass
                        sel.modify(c, selectors.EVENT_READ |
                                   (selectors.EVENT_WRITE if pending[c] else 0), "c")
        finally:
            for c in list(pending):
                c.close()
            sel.close()

    def close(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class ClosedPort:
    """A 127.0.0.1 port that is bound but not listening: connecting to it is refused (RST).

    Holding the bind keeps anyone else from taking the port while the test runs.
    """

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.endpoint = (host, self.sock.getsockname()[1])

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class BlackHole:
    """A listener whose accept queue is full, so further SYNs are dropped and connects hang.

    listen(0) leaves room for one queued connection; filler connections are opened (and never
    accepted) until one of them stops completing.  Linux drops a SYN to a listener with a full
    accept queue (tcp_conn_request: LISTENOVERFLOWS), so an outgoing connect just retries.
    """

    def __init__(self, host="127.0.0.1", max_fillers=8):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(0)
        self.endpoint = (host, self.sock.getsockname()[1])
        self.fillers = []
        for _ in range(max_fillers):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            self.fillers.append(c)
            c.connect_ex(self.endpoint)
            if not wait_writable(c, 0.3):
                break  # this SYN was dropped: the queue is full
        else:
            raise AssertionError("could not fill the accept queue of a listen(0) socket")

    def close(self):
        for c in self.fillers:
            c.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def wait_writable(sock, timeout):
    """True if `sock` becomes writable (a non-blocking connect completed) within timeout."""
    sel = selectors.DefaultSelector()
    try:
        sel.register(sock, selectors.EVENT_WRITE)
        return bool(sel.select(timeout))
    finally:
        sel.close()


# --------------------------------------------------------------------------------------------
# Client helpers


def connect(addr, timeout=5.0, rcvbuf=None, sndbuf=None):
    fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    s.settimeout(timeout)
    try:
        s.connect(addr)
    except BaseException:
        s.close()
        raise
    return s


def recv_exact(sock, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    chunks = []
    got = 0
    while got < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out after %d of %d bytes" % (got, n))
        sock.settimeout(left)
        data = sock.recv(min(n - got, 1024 * 1024))
        if not data:
            raise AssertionError("EOF after %d of %d bytes" % (got, n))
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


def recv_to_eof(sock, timeout=10.0, limit=1 << 30):
    """Read until EOF; returns the bytes.  Raises AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    chunks = []
    got = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no EOF within %.1fs (%d bytes read)" % (timeout, got))
        sock.settimeout(left)
        data = sock.recv(1024 * 1024)
        if not data:
            return b"".join(chunks)
        chunks.append(data)
        got += len(data)
        if got > limit:
            raise AssertionError("more than %d bytes before EOF" % limit)


def wait_closed(sock, timeout):
    """Wait for the peer to close: returns 'eof' or 'reset', or None if still open at timeout.

    Data that arrives meanwhile is discarded.
    """
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return None
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            return "reset"
        if not data:
            return "eof"


def wait_write_fails(sock, timeout):
    """True once a write on `sock` fails (the peer closed its socket fully and sent RST)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            sock.send(b"x")
        except OSError:
            return True
        time.sleep(0.05)
    return False


def sha256(data):
    return hashlib.sha256(data).hexdigest()
