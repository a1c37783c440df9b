"""HTTP/1.1 helpers for ringway's integration tests (Python 3 standard library only).

Builds on harness.py (the proxy process, port-0 upstream sockets, timeouts on every wait) and
adds what the HTTP connection manager tests need:

- http_config(): an Envoy v3 bootstrap (JSON text) with one HttpConnectionManager listener;
- HttpUpstream: a mock HTTP/1.1 origin that records every request it received, verbatim;
- http_request() / HttpClient: raw-socket clients with a small strict response parser, so a
  test sees exactly the bytes the proxy sent (no library normalises headers behind our back).

API kept stable for other test files: names are only ever added, never renamed.
"""

import copy
import sys
import unittest
import json
import socket
import threading
import time

from harness import (  # noqa: F401 - re-exported for the test scripts
    SKIP,
    ClosedPort,
    Proxy,
    Upstream,
    connect,
    main,
    ringway_bin,
    wait_closed,
)

HCM_TYPE = ("type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
            "HttpConnectionManager")
ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
HCM_NAME = "envoy.filters.network.http_connection_manager"
ROUTER_NAME = "envoy.filters.http.router"

CRLF = b"\r\n"
MAX_HEAD = 1024 * 1024  # a peer that sends more head than this is broken: fail, don't hang


# --------------------------------------------------------------------------------------------
# Configs


def deep_merge(base, extra):
    """Merge dict `extra` into dict `base` (in place): nested dicts merge, everything else
    (lists, scalars) replaces.  Returns base."""
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_merge(base[k], v)
        else:
            base[k] = copy.deepcopy(v)
    return base


def socket_address(host, port):
    return {"socket_address": {"address": host, "port_value": port}}


def cluster_dict(name, endpoints, opts=None):
    """A STATIC ROUND_ROBIN cluster, connect_timeout 1s; endpoints [(host, port), ...] (may be
    empty: a cluster with no hosts)."""
    c = {
        "name": name,
        "connect_timeout": "1s",
        "type": "STATIC",
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{
                "lb_endpoints": [{"endpoint": {"address": socket_address(h, p)}}
                                 for h, p in endpoints],
            }] if endpoints else [],
        },
    }
    return deep_merge(c, opts)


def hcm_listener(virtual_hosts, name="proxy", hcm=None, route_config=None, listener=None,
                 host="127.0.0.1"):
    """A listener dict on host:0 whose only filter is an HCM with an inline route_config."""
    rc = {"name": "local_route", "virtual_hosts": copy.deepcopy(virtual_hosts)}
    deep_merge(rc, route_config)
    tc = {
        "@type": HCM_TYPE,
        "stat_prefix": "ingress_http",
        "codec_type": "AUTO",
        "route_config": rc,
        "http_filters": [{"name": ROUTER_NAME, "typed_config": {"@type": ROUTER_TYPE}}],
    }
    deep_merge(tc, hcm)
    lst = {
        "name": name,
        "address": socket_address(host, 0),
        "filter_chains": [{"filters": [{"name": HCM_NAME, "typed_config": tc}]}],
    }
    return deep_merge(lst, listener)


def http_config(virtual_hosts, clusters=None, hcm=None, route_config=None, listener=None,
                cluster_opts=None, extra_listeners=None):
    """A bootstrap as JSON text: one listener named 'proxy' on 127.0.0.1:0 whose only filter is
    an HCM (stat_prefix 'ingress_http', codec_type AUTO, the router filter) with an inline
    route_config {name: 'local_route', virtual_hosts: virtual_hosts}.

    clusters: {name: [(host, port), ...]} -> STATIC ROUND_ROBIN clusters, connect_timeout 1s.
    hcm: dict merged into the HCM typed_config (e.g. {"use_remote_address": True}).
    route_config: dict merged into route_config.  listener: dict merged into the listener.
    cluster_opts: {name: dict merged into that cluster}.  extra_listeners: listener dicts
    appended.  ("Merged" is a deep merge: nested dicts merge, lists and scalars replace.)
    """
    listeners = [hcm_listener(virtual_hosts, "proxy", hcm, route_config, listener)]
    listeners += [copy.deepcopy(x) for x in (extra_listeners or [])]
    cluster_opts = cluster_opts or {}
    cl = [cluster_dict(n, eps, cluster_opts.get(n)) for n, eps in (clusters or {}).items()]
    boot = {"static_resources": {"listeners": listeners, "clusters": cl}}
    return json.dumps(boot, indent=1)


def vhost(name, domains, routes, **extra):
    """A virtual host dict (extra keys merged in, e.g. request_headers_to_add=[...])."""
    v = {"name": name, "domains": list(domains), "routes": list(routes)}
    v.update(extra)
    return v


def route(cluster=None, prefix=None, path=None, match=None, action=None, **extra):
    """A route dict: match {prefix | path} (default prefix '/'), or `match` as given; action
    {"route": {"cluster": cluster}} unless `action` (e.g. {"direct_response": ...}) is given."""
    if match is None:
        match = {"path": path} if path is not None else {"prefix": prefix or "/"}
    r = {"match": match}
    if action is not None:
        r.update(action)
    else:
        r["route"] = {"cluster": cluster}
    r.update(extra)
    return r


# --------------------------------------------------------------------------------------------
# Header helpers


def _first(headers, name):
    n = name.lower()
    for k, v in headers:
        if k.lower() == n:
            return v
    return None


def _all(headers, name):
    n = name.lower()
    return [v for k, v in headers if k.lower() == n]


class _Headers:
    def header(self, name):
        """First value of `name` (case-insensitive), or None."""
        return _first(self.headers, name)

    def header_all(self, name):
        """Every value of `name` (case-insensitive), in order."""
        return _all(self.headers, name)

    def header_names(self):
        return [k.lower() for k, _ in self.headers]


class Request(_Headers):
    """What an upstream received."""

    def __init__(self, method, target, version, headers, body, conn_index, trailers=(),
                 chunked=False):
        self.method = method
        self.target = target
        self.version = version
        self.headers = list(headers)
        self.body = body
        self.conn_index = conn_index
        self.trailers = list(trailers)
        self.chunked = chunked  # the body arrived with Transfer-Encoding: chunked

    def __repr__(self):
        return "Request(%s %s %s, %r, body=%r, conn=%d)" % (
            self.method, self.target, self.version, self.headers, self.body[:64],
            self.conn_index)


class Response:
    """What an upstream should answer.

    Content-Length is added unless `chunked` (then Transfer-Encoding: chunked) or the caller's
    headers already frame the body, or the status has no body (1xx, 204, 304).  `close`
    closes the connection after the response (and sends 'Connection: close')."""

    def __init__(self, status=200, headers=(), body=b"", chunked=False, close=False, reason=None,
                 delay=0.0):
        self.status = status
        self.headers = list(headers)
        self.body = body.encode() if isinstance(body, str) else body
        self.chunked = chunked
        self.close = close
        self.reason = reason
        self.delay = delay  # seconds to wait before answering

    def encode(self, head_request=False):
        reason = self.reason if self.reason is not None else _REASONS.get(self.status, "Unknown")
        out = [b"HTTP/1.1 %d %s" % (self.status, reason.encode())]
        names = {k.lower() for k, _ in self.headers}
        for k, v in self.headers:
            out.append(("%s: %s" % (k, v)).encode("latin-1"))
        bodyless = self.status < 200 or self.status in (204, 304)
        if self.close and "connection" not in names:
            out.append(b"Connection: close")
        if not bodyless and not names & {"content-length", "transfer-encoding"}:
            if self.chunked:
                out.append(b"Transfer-Encoding: chunked")
            else:
                out.append(b"Content-Length: %d" % len(self.body))
        head = CRLF.join(out) + CRLF + CRLF
        if bodyless or head_request:
            return head
        if self.chunked:
            body = (b"%x\r\n%s\r\n" % (len(self.body), self.body) if self.body else b"") \
                + b"0\r\n\r\n"
            return head + body
        return head + self.body


_REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
    302: "Found", 303: "See Other", 304: "Not Modified", 307: "Temporary Redirect",
    308: "Permanent Redirect", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}


# --------------------------------------------------------------------------------------------
# A buffered reader over a socket, shared by the upstream and the clients


class PeerClosed(Exception):
    """EOF (or reset) before the message was complete."""


class _Reader:
    def __init__(self, sock, deadline_fn):
        self.sock = sock
        self.buf = b""
        self.deadline_fn = deadline_fn  # () -> absolute monotonic deadline, or None (block)
        self.eof = False

    def _fill(self):
        if self.eof:
            raise PeerClosed("EOF")
        dl = self.deadline_fn()
        if dl is not None:
            left = dl - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, ConnectionAbortedError):
            self.eof = True
            raise PeerClosed("reset")
        if not data:
            self.eof = True
            raise PeerClosed("EOF")
        self.buf += data

    def until(self, sep, limit=MAX_HEAD):
        """Bytes up to and including `sep`."""
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out, self.buf = self.buf[:i + len(sep)], self.buf[i + len(sep):]
                return out
            if len(self.buf) > limit:
                raise AssertionError("no %r within %d bytes" % (sep, limit))
            self._fill()

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def to_eof(self, limit=1 << 28):
        while True:
            try:
                self._fill()
            except PeerClosed:
                out, self.buf = self.buf, b""
                return out
            if len(self.buf) > limit:
                raise AssertionError("more than %d bytes before EOF" % limit)

    def at_eof(self):
        """True when nothing is buffered and the peer has closed (reads one more time)."""
        if self.buf:
            return False
        try:
            self._fill()
        except PeerClosed:
            return True
        return False


def _parse_fields(lines):
    """['Name: value', ...] -> [(name, value)]; strict: no obs-fold, no space before colon."""
    out = []
    for ln in lines:
        if not ln:
            continue
        if ln[:1] in (" ", "\t"):
            raise AssertionError("obs-fold in a message from the proxy: %r" % ln)
        name, sep, value = ln.partition(":")
        if not sep or not name or name != name.strip() or any(c in name for c in " \t"):
            raise AssertionError("malformed header line from the proxy: %r" % ln)
        out.append((name, value.strip(" \t")))
    return out


def _read_head(reader):
    """(first line, [(name, value)]) of the next message; latin-1 decoded."""
    raw = reader.until(b"\r\n\r\n")
    text = raw[:-4].decode("latin-1")
    if "\r" in text.replace("\r\n", "") or "\n" in text.replace("\r\n", ""):
        raise AssertionError("bare CR or LF in a message head from the proxy: %r" % raw)
    lines = text.split("\r\n")
    return lines[0], _parse_fields(lines[1:])


def _read_chunked(reader):
    """Body and trailers of a chunked message."""
    body = []
    while True:
        line = reader.until(CRLF, 4096)[:-2]
        size_s = line.split(b";", 1)[0].strip()
        try:
            size = int(size_s, 16)
        except ValueError:
            raise AssertionError("bad chunk size line %r" % line)
        if size == 0:
            break
        body.append(reader.exact(size))
        if reader.exact(2) != CRLF:
            raise AssertionError("chunk not followed by CRLF")
    trailer_lines = []
    while True:
        line = reader.until(CRLF)[:-2]
        if not line:
            break
        trailer_lines.append(line.decode("latin-1"))
    return b"".join(body), _parse_fields(trailer_lines)


def _content_length(headers):
    values = _all(headers, "content-length")
    if not values:
        return None
    if len(set(values)) != 1 or not values[0].isdigit():
        raise AssertionError("bad Content-Length from the proxy: %r" % values)
    return int(values[0])


def _is_chunked(headers):
    te = ",".join(_all(headers, "transfer-encoding")).lower()
    return bool(te) and te.replace(" ", "").split(",")[-1] == "chunked"


# --------------------------------------------------------------------------------------------
# Mock upstream


def default_respond(name):
    def respond(req):
        return Response(200, [("x-upstream", name)],
                        ("%s %s %s" % (name, req.method, req.target)).encode("latin-1"))
    return respond


class HttpUpstream:
    """Mock HTTP/1.1 origin built on harness.Upstream.

    Per connection, loops reading requests (request line, headers until CRLFCRLF, body by
    Content-Length or chunked with trailers), records each Request (thread-safe list
    .requests) and answers respond(req), which returns:
      - a Response (default: 200, 'x-upstream: <name>', body b'<name> <method> <target>');
      - bytes: written as they are, then the connection is closed (b'' = close before any
        byte; garbage answers);
      - None: no answer at all; the connection is held until the peer closes it or the
        upstream is closed (for timeouts).
    Honors 'Connection: close' (and HTTP/1.0 without keep-alive) from the request, and
    Response.close.  .accepted = connections accepted.  Context manager.
    """

    def __init__(self, respond=None, name="up", host="127.0.0.1"):
        self.name = name
        self.respond = respond or default_respond(name)
        self.requests = []
        self.errors = []
        self._lock = threading.Lock()
        self._up = Upstream(self._handle, host=host, name=name)

    # --- harness.Upstream passthroughs
    @property
    def endpoint(self):
        return self._up.endpoint

    @property
    def port(self):
        return self._up.port

    @property
    def accepted(self):
        with self._up.lock:
            return self._up.accepted

    @property
    def active(self):
        with self._up.lock:
            return self._up.active

    def wait_accepted(self, n, timeout=5.0):
        self._up.wait_accepted(n, timeout)

    def wait_requests(self, n, timeout=5.0):
        """Wait until `n` requests were received; returns a copy of the list."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.005)
        with self._lock:
            raise AssertionError("%s received %d requests, expected %d within %.1fs (errors: %r)"
                                 % (self.name, len(self.requests), n, timeout, self.errors))

    def snapshot(self):
        with self._lock:
            return list(self.requests)

    def reset(self):
        """Forget the recorded requests (connections stay)."""
        with self._lock:
            self.requests.clear()

    # --- the per-connection loop
    def _handle(self, conn, up, index):
        reader = _Reader(conn, lambda: None)
        while not up.stopping.is_set():
            try:
                req = self._read_request(reader, index)
            except PeerClosed:
                return
            except (OSError, AssertionError, ValueError) as e:
                with self._lock:
                    self.errors.append(e)
                return
            with self._lock:
                self.requests.append(req)
            ans = self.respond(req)
            if ans is None:
                # Hold: wait for the peer to go away (or the test to end).
                try:
                    reader.to_eof()
                except OSError:
                    pass
                return
            if isinstance(ans, (bytes, bytearray)):
                if ans:
                    conn.sendall(ans)
                return
            if ans.delay:
                time.sleep(ans.delay)
            conn.sendall(ans.encode(head_request=req.method == "HEAD"))
            if ans.close or _wants_close(req):
                return

    def _read_request(self, reader, index):
        line, headers = _read_head(reader)
        parts = line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise AssertionError("bad request line from the proxy: %r" % line)
        method, target, version = parts
        trailers = []
        chunked = _is_chunked(headers)
        if chunked:
            body, trailers = _read_chunked(reader)
        else:
            n = _content_length(headers)
            body = reader.exact(n) if n else b""
        return Request(method, target, version, headers, body, index, trailers, chunked)

    def close(self):
        self._up.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _wants_close(msg_headers_owner):
    tokens = [t.strip().lower() for v in msg_headers_owner.header_all("connection")
              for t in v.split(",")]
    if "close" in tokens:
        return True
    return msg_headers_owner.version == "HTTP/1.0" and "keep-alive" not in tokens


# --------------------------------------------------------------------------------------------
# Clients


class ClientResponse(_Headers):
    """What the client received."""

    def __init__(self, version, status, reason, headers, body, trailers=()):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = list(headers)
        self.body = body
        self.trailers = list(trailers)

    def __repr__(self):
        return "ClientResponse(%s %d %s, %r, body=%r)" % (
            self.version, self.status, self.reason, self.headers, self.body[:200])


def encode_request(method="GET", target="/", headers=(("Host", "example.com"),), body=None,
                   version="HTTP/1.1"):
    """Request bytes.  A Content-Length is added for a body unless the headers frame it."""
    out = [("%s %s %s" % (method, target, version)).encode("latin-1")]
    names = set()
    for k, v in headers:
        names.add(k.lower())
        out.append((k.encode("latin-1") if isinstance(k, str) else k) + b": "
                   + (v.encode("latin-1") if isinstance(v, str) else v))
    if isinstance(body, str):
        body = body.encode()
    if body is not None and not names & {"content-length", "transfer-encoding"}:
        out.append(b"Content-Length: %d" % len(body))
    return CRLF.join(out) + CRLF + CRLF + (body or b"")


def _read_response(reader, head_request=False, skip_interim=True):
    while True:
        line, headers = _read_head(reader)
        parts = line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit() \
                or len(parts[1]) != 3:
            raise AssertionError("bad status line from the proxy: %r" % line)
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        if skip_interim and 100 <= status < 200 and status != 101:
            continue
        break
    trailers = []
    if head_request or status < 200 or status in (204, 304):
        body = b""
    elif _is_chunked(headers):
        body, trailers = _read_chunked(reader)
    else:
        n = _content_length(headers)
        body = reader.exact(n) if n is not None else reader.to_eof()
    return ClientResponse(version, status, reason, headers, body, trailers)


def http_request(addr, method="GET", target="/", headers=(("Host", "example.com"),), body=None,
                 timeout=5.0):
    """One request on a fresh connection (no Connection header forced); reads exactly one
    response (Content-Length, chunked, or until EOF) and closes."""
    c = HttpClient(addr, timeout)
    try:
        return c.request(method, target, headers, body)
    finally:
        c.close()


def read_lines(path, n, timeout=5.0):
    """The lines of a file (an access log) once it has at least n, or what it has at the
    deadline (the caller asserts the count)."""
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        if len(lines) >= n:
            return lines
        time.sleep(0.05)
    return lines


def http_raw(addr, raw, timeout=5.0, head_request=False):
    """Send raw request bytes on a fresh connection; returns (ClientResponse, closed) where
    closed tells whether the proxy closed the connection after the response (within 2 s)."""
    c = HttpClient(addr, timeout)
    try:
        c.send(raw)
        resp = c.read_response(head_request)
        return resp, c.read_eof(2.0)
    finally:
        c.close()


class HttpClient:
    """A persistent raw keep-alive client connection (pipelining / connection-reuse tests)."""

    def __init__(self, addr, timeout=5.0):
        self.addr = addr
        self.timeout = timeout
        self.sock = connect(addr, timeout)
        self._deadline = None
        self.reader = _Reader(self.sock, lambda: self._deadline)

    def send(self, raw):
        self.sock.settimeout(self.timeout)
        self.sock.sendall(raw)

    def request(self, method="GET", target="/", headers=(("Host", "example.com"),), body=None):
        self.send(encode_request(method, target, headers, body))
        return self.read_response(head_request=method == "HEAD")

    def read_response(self, head_request=False):
        self._deadline = time.monotonic() + self.timeout
        try:
            return _read_response(self.reader, head_request)
        except PeerClosed as e:
            raise AssertionError("connection closed (%s) before a whole response; got %r"
                                 % (e, self.reader.buf[:300]))
        except socket.timeout:
            raise AssertionError("no whole response within %.1fs; got %r"
                                 % (self.timeout, self.reader.buf[:300]))
        finally:
            self._deadline = None

    def read_eof(self, timeout=2.0):
        """True if the peer closed (EOF or reset) within `timeout`.  Bytes arriving meanwhile
        stay buffered (a later read_response sees them)."""
        self._deadline = time.monotonic() + timeout
        try:
            while True:
                self.reader._fill()
        except PeerClosed:
            return True
        except socket.timeout:
            return False
        except OSError:
            return True
        finally:
            self._deadline = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def closed_port():
    """A 127.0.0.1 port nobody listens on (bound then closed: connecting gets RST)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------------------------
# Fixtures for test classes


class UpstreamSet:
    """One HttpUpstream per name (each answers with 'x-upstream: <name>'), and the matching
    `clusters` dict for http_config: {name: [endpoint]}."""

    def __init__(self, names, respond=None):
        self.ups = {}
        try:
            for n in names:
                self.ups[n] = HttpUpstream(respond, name=n)
        except BaseException:
            self.close()
            raise

    def __getitem__(self, name):
        return self.ups[name]

    @property
    def clusters(self):
        return {n: [u.endpoint] for n, u in self.ups.items()}

    def total_requests(self):
        return sum(len(u.snapshot()) for u in self.ups.values())

    def close(self):
        for u in self.ups.values():
            u.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def start_proxy(config, workers=2, args=()):
    """A ringway Proxy on `config` with `workers` worker threads."""
    return Proxy(config, args=["--concurrency", str(workers)] + list(args))


class HttpTestCase(unittest.TestCase):
    """Base class: resources opened with cls.keep() in setUpClass are closed in tearDownClass
    (in reverse order), and the proxies' logs are printed when a test of the class failed."""

    _resources = None
    _proxies = None
    _failed = False

    @classmethod
    def keep(cls, resource):
        if cls._resources is None:
            cls._resources = []
            cls._proxies = []
        cls._resources.append(resource)
        if isinstance(resource, Proxy):
            cls._proxies.append(resource)
        return resource

    @classmethod
    def tearDownClass(cls):
        for p in cls._proxies or []:
            if cls._failed or not p.alive():
                sys.stderr.write("---- ringway log (%s) ----\n%s---- end of log ----\n"
                                 % (" ".join(p.argv), p.log()))
        for r in reversed(cls._resources or []):
            try:
                r.close()
            except Exception:  # noqa: BLE001 - best effort cleanup
                pass
        cls._resources = None
        cls._proxies = None

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result is not None else 0
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            type(self)._failed = True
        return out

    def assert_alive(self, proxy):
        self.assertTrue(proxy.alive(), "ringway exited:\n" + proxy.log())


def assert_serves(test, addr, host="example.com", target="/", expect_status=200):
    """The proxy at addr still answers a plain request (the worker survived the last case)."""
    r = http_request(addr, "GET", target, [("Host", host)])
    test.assertEqual(r.status, expect_status, r)
    return r


def header_values(obj, name):
    """Every comma-separated value of header `name`, across repeated lines, stripped: the same
    list whether a proxy appended with a new line or with ', '."""
    return [v.strip() for line in obj.header_all(name) for v in line.split(",") if v.strip()]
