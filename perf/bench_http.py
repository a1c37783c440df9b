#!/usr/bin/python3
"""Side-by-side HTTP/1.1 proxy benchmark: ringway vs HAProxy vs nginx (keep-alive, small bodies).

Every proxy runs one worker on 127.0.0.1 and forwards to the same `rw-upstream --mode http`;
the same `rw-loadgen --mode http` drives each in turn. Rounds are interleaved (the order rotates
every round) and the median per proxy is reported, so slow drift of the machine hits every proxy
alike.

Measured per proxy:
  rps phase   50 keep-alive connections, closed loop, GET / -> 200 with a 13 B body:
              rps, p50/p99 latency, proxy CPU µs per request (utime+stime from /proc)
  ringway     io_uring_enter calls per request, from the line it prints at exit
  idle phase  10,000 idle keep-alive connections (one GET each, then held by
              `rw-loadgen --mode idle`): the proxy's VmRSS before and after, bytes per connection

Python 3 standard library only. See perf/README.md.
"""

import argparse
import datetime
import json
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (REPO, Direct, Peer, Process, choose_cpus, descendants, environment_notes,
                      errors_cell, find_or_build_tools, fmt, free_port, log, measure_cpu,
                      parse_ringway_exit, parse_size, pin, preflight, proc_rss_kib, raise_nofile,
                      tool_versions)

TOOLS = ("rw-upstream", "rw-loadgen")
# What ringway says about a config part it cannot serve (older builds refused the HCM itself).
RINGWAY_REFUSED = "not supported by ringway yet"
ORDER = ["direct", "haproxy", "nginx", "ringway", "ringway-obs"]


# --------------------------------------------------------------------------- peers


class HAProxy(Peer):
    name = "haproxy"

    def available(self):
        return None if shutil.which("haproxy") else "haproxy not installed"

    def start(self, upstream_port, phase):
        self.port = free_port()
        cfg = self.tmp / f"haproxy-{phase}.cfg"
        # http-reuse always: idle server connections are shared by all clients, HAProxy's
        # most economical (and its documented fastest) setting. Timeouts well above the hold.
        # ulimit-n + no strict-limits: HAProxy sizes its FD needs as 2 × maxconn (every client
        # with its own server connection) and refuses to start when the hard limit is lower.
        # With http-reuse it needs far fewer, so cap it at what we have and let it only warn.
        cfg.write_text(f"""global
  nbthread 1
  maxconn {self.args.maxconn}
  ulimit-n {self.args.nofile}
  no strict-limits
defaults
  mode http
  http-reuse always
  timeout connect 1s
  timeout client 300s
  timeout server 300s
  timeout http-request 300s
  timeout http-keep-alive 300s
frontend bench
  bind 127.0.0.1:{self.port}
  default_backend up
backend up
  server up1 127.0.0.1:{upstream_port}
""")
        # -db: foreground, no daemon, no master: the started pid is the one worker.
        self.process = Process(f"haproxy-{phase}", ["haproxy", "-db", "-f", str(cfg)], self.tmp,
                               self.args.proxy_cpus)
        self.process.wait_listening(self.port)


class Nginx(Peer):
    name = "nginx"

    def available(self):
        return None if shutil.which("nginx") else "nginx not installed"

    def start(self, upstream_port, phase):
        self.port = free_port()
        prefix = self.tmp / f"nginx-http-{phase}"
        prefix.mkdir(exist_ok=True)
        cfg = prefix / "nginx.conf"
        # Each proxied connection is two nginx connections, but nginx keeps at most
        # `keepalive 64` idle upstream ones: fit both in the descriptors we have.
        conns = min(self.args.maxconn * 2, self.args.nofile - 100)
        temps = "\n".join(f"  {kind}_temp_path {prefix}/{kind};"
                          for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        cfg.write_text(f"""daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {self.args.nofile};
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections {conns}; }}
http {{
  access_log off;
{temps}
  keepalive_timeout 300s;
  keepalive_requests 1000000;
  upstream up {{
    server 127.0.0.1:{upstream_port};
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }}
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    location / {{
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 1s;
    }}
  }}
}}
""")
        # master_process off: one process is both master and the single worker.
        cmd = ["nginx", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(cfg)]
        self.process = Process(f"nginx-{phase}", cmd, self.tmp, self.args.proxy_cpus)
        self.process.wait_listening(self.port)


class Ringway(Peer):
    name = "ringway"

    def config(self, upstream_port, phase):
        cfg = self.tmp / f"ringway-http-{phase}.yaml"
        cfg.write_text(f"""static_resources:
  listeners:
  - name: bench
    address: {{socket_address: {{address: 127.0.0.1, port_value: {self.port}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bench
          codec_type: HTTP1
          generate_request_id: false
          route_config:
            name: local
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {{prefix: "/"}}
                route: {{cluster: up}}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
              dynamic_stats: false
  clusters:
  - name: up
    connect_timeout: 1s
    load_assignment:
      cluster_name: up
      endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {upstream_port}}}}}}}}}]}}]
""")
        return cfg

    def available(self):
        if not os.access(self.args.ringway, os.X_OK):
            return (f"binary not found at {self.args.ringway} (build it: cmake --build build "
                    f"--target ringway, or pass --ringway PATH)")
        # Ask ringway whether it takes an HttpConnectionManager at all before timing anything.
        self.port = free_port()
        cfg = self.config(9, "validate")
        try:
            res = subprocess.run([str(self.args.ringway), "--mode", "validate", "-c", str(cfg)],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"--mode validate failed: {exc}"
        if res.returncode != 0:
            text = (res.stderr + res.stdout).strip()
            line = next((ln for ln in text.splitlines() if RINGWAY_REFUSED in ln),
                        text.splitlines()[0] if text else f"exit code {res.returncode}")
            # Drop "error loading configuration 'PATH': " and the long @type path prefix.
            line = re.sub(r"^error loading configuration '[^']*': ", "", line)
            line = line.replace("type.googleapis.com/envoy.extensions.filters.network.", "")
            return f"config refused: {line[-300:]}"
        return None

    def start(self, upstream_port, phase):
        self.port = free_port()
        cfg = self.config(upstream_port, phase)
        cmd = [str(self.args.ringway), "-c", str(cfg), "--concurrency", "1", "-l", "info",
               "--drain-time-s", "1"] + self.args.ringway_args.split()
        self.process = Process(f"ringway-{phase}", cmd, self.tmp, self.args.proxy_cpus)
        self.process.wait_listening(self.port)

    def parse_exit(self, stderr):
        self.exit_info = parse_ringway_exit(stderr)


class RingwayObserved(Ringway):
    """ringway as an operator runs it: an access log to a file (Envoy's default format) and the
    admin listener, scraped every second for /stats?format=json and /stats/prometheus while
    the load runs (the scrapes' CPU is in the proxy's, where it belongs)."""

    name = "ringway-obs"

    def config(self, upstream_port, phase):
        cfg = super().config(upstream_port, phase)
        self.admin_port = free_port()
        self.log_path = self.tmp / f"access-{phase}.log"
        text = cfg.read_text()
        text = text.replace("          http_filters:\n", f"""          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: {self.log_path}
          http_filters:
""", 1)
        text = (f"admin:\n  address: {{socket_address: {{address: 127.0.0.1, port_value: "
                f"{self.admin_port}}}}}\nstats_flush_interval: 1s\n") + text
        cfg.write_text(text)
        return cfg

    def start(self, upstream_port, phase):
        import threading
        import urllib.request

        super().start(upstream_port, phase)
        self.scrapes = 0
        self._stop = threading.Event()

        def scrape():
            base = f"http://127.0.0.1:{self.admin_port}"
            while not self._stop.wait(1.0):
                for path in ("/stats?format=json", "/stats/prometheus"):
                    try:
                        with urllib.request.urlopen(base + path, timeout=5) as r:
                            r.read()
                        self.scrapes += 1
                    except OSError:
                        pass

        self._scraper = threading.Thread(target=scrape, daemon=True)
        self._scraper.start()

    def stop(self):
        if getattr(self, "_scraper", None):
            self._stop.set()
            self._scraper.join()
            self._scraper = None
            log(f"{self.name}: {self.scrapes} scrapes; access log "
                f"{self.log_path.stat().st_size if self.log_path.exists() else 0} bytes")
        super().stop()


PEERS = {"direct": Direct, "haproxy": HAProxy, "nginx": Nginx, "ringway": Ringway,
         "ringway-obs": RingwayObserved}


# --------------------------------------------------------------------------- load


def loadgen_cmd(args, port, mode):
    return [str(args.tools / "rw-loadgen"), "--target", f"127.0.0.1:{port}", "--mode", mode,
            "--path", args.path]


def run_loadgen(args, port, duration, connections=None, requests=None):
    cmd = loadgen_cmd(args, port, "http") + ["--connections", str(connections or args.connections)]
    cmd += ["--requests", str(requests)] if requests else ["--duration", str(duration)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=(duration or 10) + 30,
                         preexec_fn=pin(args.tool_cpus))
    if res.returncode != 0 or not res.stdout.strip():
        raise RuntimeError(f"rw-loadgen failed ({res.returncode}): {res.stderr.strip()}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    if res.stderr.strip():
        out["stderr"] = res.stderr.strip()[-300:]
    return out


def measure(args, peer, duration):
    result, with_softirqd = measure_cpu(args, peer,
                                        lambda: run_loadgen(args, peer.port, duration))
    reqs = result["requests"]
    # A run that moved nothing has no per-request cost: None, shown as "failed". Neither has a
    # proxy that died: its /proc counters vanished with it.
    ok = reqs and "peer_exit_code" not in result
    result["cpu_us_per_req"] = result["cpu_s"] * 1e6 / reqs if ok else None
    result["sched_cpu_us_per_req"] = result["sched_cpu_s"] * 1e6 / reqs if ok else None
    result["cpu_softirqd_us_per_req"] = (with_softirqd * 1e6 / reqs
                                         if ok and with_softirqd is not None else None)
    return result


def established_to(port):
    """ESTABLISHED TCP sockets whose local port is port: the connections a proxy holds to the
    upstream, seen from the upstream's side."""
    want = f":{port:04X}"
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split(None, 4)
                    if fields[1].endswith(want) and fields[3] == "01":
                        count += 1
        except OSError:
            pass
    return count


def rss_kib(peer):
    return sum(proc_rss_kib(pid) or 0 for pid in descendants(peer.process.pid))


def idle_run(args, peer, upstream_port):
    """Open args.idle_connections idle keep-alive connections through peer; RSS before/after."""
    # Warm-up: the first requests make a proxy allocate what it allocates once (buffers, pools,
    # the first upstream connection), which is not per-connection cost.
    run_loadgen(args, peer.port, None, connections=4, requests=400)
    time.sleep(0.3)
    rss0 = rss_kib(peer)
    cmd = loadgen_cmd(args, peer.port, "idle") + [
        "--connections", str(args.idle_connections), "--hold", str(args.idle_hold_max),
        "--duration", str(args.idle_setup_max)]
    lg = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          preexec_fn=pin(args.tool_cpus))
    result = {"rss_before_kib": rss0}
    try:
        ready = False
        deadline = time.monotonic() + args.idle_setup_max + 10
        while time.monotonic() < deadline:
            if select.select([lg.stdout], [], [], 0.5)[0]:
                line = lg.stdout.readline()
                if not line or line.strip() == "ready":
                    ready = bool(line)
                    break
            if lg.poll() is not None:
                break
        if ready:
            time.sleep(args.idle_settle)
            result["rss_after_kib"] = rss_kib(peer)
            result["upstream_conns"] = established_to(upstream_port)
        lg.send_signal(signal.SIGTERM)
        out, err = lg.communicate(timeout=60)
    finally:
        if lg.poll() is None:
            lg.kill()
            lg.wait()
    lines = out.strip().splitlines()
    if not lines or not lines[-1].startswith("{"):
        raise RuntimeError(f"rw-loadgen --mode idle failed ({lg.returncode}): {err.strip()}")
    result.update(json.loads(lines[-1]))
    if err.strip():
        result["stderr"] = err.strip()[-300:]
    if "rss_after_kib" in result and result["established"]:
        result["bytes_per_conn"] = ((result["rss_after_kib"] - rss0) * 1024
                                    / result["established"])
    else:
        result["bytes_per_conn"] = None
    if peer.process and not peer.process.alive():
        result["peer_exit_code"] = peer.process.proc.returncode
        result["bytes_per_conn"] = None
    return result


# --------------------------------------------------------------------------- phases


def start_upstream(args, tmp, phase):
    upstream = Process(f"upstream-{phase}",
                       [str(args.tools / "rw-upstream"), "--listen", "127.0.0.1:0", "--mode",
                        "http", "--resp-size", str(args.resp_size)], tmp, args.tool_cpus)
    port = upstream.first_line_port()
    args.upstream_pid = upstream.pid
    return upstream, port


def start_peer(peer, uport, phase, report):
    try:
        peer.start(uport, phase)
        return True
    except Exception as exc:  # a broken proxy must not sink the whole run
        why = str(exc)
        if peer.name == "ringway" and RINGWAY_REFUSED in why:
            why = "config refused: " + why[why.rfind("\n") + 1:][-300:]
        log(f"{peer.name}: failed to start for {phase}: {why}")
        report["skipped"][f"{peer.name}/{phase}"] = why
        peer.stop()
        return False


def run_rps(args, peers, tmp, report):
    phase = "rps"
    upstream, uport = start_upstream(args, tmp, phase)
    started = []
    try:
        started = [p for p in peers if start_peer(p, uport, phase, report)]
        work = {p.name: 0 for p in started}
        runs = report["runs"].setdefault(phase, {p.name: [] for p in started})

        def alive(peer):
            if not peer.process or peer.process.alive():
                return True
            key = f"{peer.name}/{phase}"
            if key not in report["skipped"]:
                why = (f"exited with {peer.process.proc.returncode} during the run: "
                       f"{peer.process.stderr_tail()[-300:]}")
                report["skipped"][key] = why
                log(f"{peer.name}: {why}")
            return False

        for peer in started:  # warm-up: first connections, page faults, CPU frequency
            work[peer.name] += measure(args, peer, args.warmup)["requests"]
        for rnd in range(args.rounds):
            k = rnd % len(started) if started else 0
            for peer in started[k:] + started[:k]:
                if not alive(peer):
                    continue
                res = measure(args, peer, args.duration)
                res["round"] = rnd
                runs[peer.name].append(res)
                work[peer.name] += res["requests"]
                log(f"  rps round {rnd + 1}/{args.rounds} {peer.name:8s} " + describe(res))
    finally:
        for peer in started:
            peer.stop()
        upstream.stop()
    for peer in started:
        if peer.exit_info:
            info = dict(peer.exit_info, requests=work[peer.name])
            if "io_uring_enter" in info and work[peer.name]:
                info["io_uring_enter_per_req"] = info["io_uring_enter"] / work[peer.name]
            report["exit_info"].setdefault(phase, {})[peer.name] = info
        elif peer.name == "ringway":
            log("ringway: no 'worker N: ... io_uring_enter=N' line on stderr at exit")


def run_idle(args, peers, tmp, report):
    phase = "idle"
    upstream, uport = start_upstream(args, tmp, phase)
    runs = report["runs"].setdefault(phase, {})
    proxies = [p for p in peers if p.is_proxy]
    try:
        for rnd in range(args.idle_rounds):
            k = rnd % len(proxies) if proxies else 0
            for peer in proxies[k:] + proxies[:k]:
                # A fresh proxy every time: what an earlier run allocated must not hide in
                # the "before" figure or be reused for the new connections.
                if not start_peer(peer, uport, f"{phase}{rnd}", report):
                    continue
                try:
                    res = idle_run(args, peer, uport)
                except Exception as exc:
                    log(f"  idle {peer.name}: FAILED: {exc}")
                    report["skipped"][f"{peer.name}/{phase}"] = str(exc)[-300:]
                    continue
                finally:
                    peer.stop()
                res["round"] = rnd
                runs.setdefault(peer.name, []).append(res)
                bpc = res["bytes_per_conn"]
                log(f"  idle round {rnd + 1}/{args.idle_rounds} {peer.name:8s} "
                    f"established={res['established']}/{res['connections']} "
                    f"upstream_conns={res.get('upstream_conns')} "
                    f"rss {res['rss_before_kib'] / 1024:.1f} -> "
                    f"{res.get('rss_after_kib', 0) / 1024:.1f} MiB "
                    f"= {'failed' if bpc is None else f'{bpc:,.0f}'} B/conn "
                    f"errors={res['errors']}"
                    + (f" [{res['stderr'].splitlines()[0]}]" if res.get("stderr") else ""))
    finally:
        upstream.stop()


def describe(res):
    note = f" [{res['stderr'].splitlines()[0]}]" if res.get("stderr") else ""
    if "peer_exit_code" in res:
        note += f" PROXY EXITED with {res['peer_exit_code']}; skipped from now on"
    if res.get("probe_us") is not None:
        note += f" probe={res['probe_us']:.2f}us"
    if res.get("foreign_cpus", 0) > 0.1:
        note += f" CONTENDED: {res['foreign_cpus']:.2f} CPUs used by other processes"
    cpu = res["cpu_us_per_req"]
    return (f"rps={res['rps']:.0f} p50={res['p50_us']:.0f}us p99={res['p99_us']:.0f}us "
            f"cpu={'failed' if cpu is None else f'{cpu:.2f}'}us/req errors={res['errors']}"
            + note)


# --------------------------------------------------------------------------- report


def median_of(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def summarize(report):
    summary = {}
    for phase, keys in (("rps", ["rps", "p50_us", "p99_us", "cpu_us_per_req",
                                 "sched_cpu_us_per_req", "cpu_softirqd_us_per_req"]),
                        ("idle", ["bytes_per_conn", "rss_before_kib", "rss_after_kib",
                                  "upstream_conns", "established"])):
        for name, runs in report["runs"].get(phase, {}).items():
            if not runs:
                continue
            row = {k: median_of(runs, k) for k in keys}
            row["errors"] = sum(r["errors"] for r in runs)
            row["foreign_cpus_max"] = max(r.get("foreign_cpus", 0.0) for r in runs)
            kinds = {}
            for r in runs:
                for k, v in r.get("errors_by_kind", {}).items():
                    kinds[k] = kinds.get(k, 0) + v
            row["errors_by_kind"] = kinds
            status = {}
            for r in runs:
                for k, v in r.get("status_counts", {}).items():
                    status[k] = status.get(k, 0) + v
            row["status_counts"] = status
            row["rounds"] = len(runs)
            summary.setdefault(phase, {})[name] = row
    return summary


def ratios(value, rows, key, name):
    """' (0.83× H, 1.10× N)': value over HAProxy's and nginx's (a peer is not its own base)."""
    parts = []
    for base_name, tag in (("haproxy", "H"), ("nginx", "N")):
        base = rows.get(base_name, {}).get(key)
        if base_name != name and value is not None and base:
            parts.append(f"{value / base:.2f}× {tag}")
    return f" ({', '.join(parts)})" if parts else ""


def markdown(report):
    s = report["summary"]
    a = report["config"]
    lines = []
    if "rps" in s:
        rows = s["rps"]
        lines += [f"### HTTP/1.1 keep-alive: {a['connections']} connections, GET {a['path']} → "
                  f"200 with a {a['resp_size']} B body, closed loop "
                  f"(median of {a['rounds']} × {a['duration']} s)", "",
                  "| proxy | rps | p50 µs | p99 µs | proxy CPU µs / request | "
                  "+ ksoftirqd µs / req | io_uring_enter / req | errors |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name in ORDER:
            row = rows.get(name)
            if not row:
                continue
            proxy = name != "direct"

            def cell(key, digits, proxy_only=False, row=row, name=name, proxy=proxy):
                if proxy_only and not proxy:
                    return "–"
                return fmt(row[key], digits) + (ratios(row[key], rows, key, name) if proxy
                                                else "")

            soft = row.get("cpu_softirqd_us_per_req")
            enter = report["exit_info"].get("rps", {}).get(name, {}).get("io_uring_enter_per_req")
            lines.append(
                f"| {name} | {cell('rps', 0)} | {cell('p50_us', 0)} | {cell('p99_us', 0)}"
                f" | {cell('cpu_us_per_req', 2, True)}"
                f" | {cell('cpu_softirqd_us_per_req', 2, True) if soft is not None else '–'}"
                f" | {fmt(enter, 2) if enter is not None else '–'} | {errors_cell(row)} |")
        lines.append("")
    if "idle" in s:
        rows = s["idle"]
        lines += [f"### Memory per idle keep-alive connection: {a['idle_connections']:,} "
                  f"connections, one GET each, then idle (median of {a['idle_rounds']})", "",
                  "| proxy | established | upstream conns held | RSS before MiB | "
                  "RSS with idle conns MiB | bytes / idle connection | errors |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name in ORDER:
            row = rows.get(name)
            if not row:
                continue
            bpc = row["bytes_per_conn"]
            after = row["rss_after_kib"]
            lines.append(
                f"| {name} | {fmt(row['established'], 0)} | {fmt(row['upstream_conns'], 0)}"
                f" | {fmt(row['rss_before_kib'] / 1024, 1)}"
                f" | {fmt(after / 1024 if after is not None else None, 1)}"
                f" | {fmt(bpc, 0)}{ratios(bpc, rows, 'bytes_per_conn', name)}"
                f" | {errors_cell(row)} |")
        lines.append("")
    lines.append("(× H, × N) = ratio to HAProxy, to nginx. CPU = utime+stime of the proxy "
                 "process(es) from /proc/PID/stat over the loadgen run; '+ ksoftirqd' adds the "
                 "softirq thread of the proxy's pinned CPU. RSS = VmRSS of all the proxy's "
                 "processes; bytes / idle connection = (after − before) / established. See "
                 "perf/README.md.")
    worst = max((row.get("foreign_cpus_max", 0.0) for rows in s.values() for row in rows.values()),
                default=0.0)
    probes = [r["probe_us"] for r in
              (r for rs in report["runs"].get("rps", {}).values() for r in rs)
              if r.get("probe_us")]
    lines += environment_notes(worst, probes, report["skipped"])
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--ringway", default=str(REPO / "build" / "server" / "ringway"),
                    help="ringway binary")
    ap.add_argument("--ringway-args", default="",
                    help="extra ringway flags, e.g. \"--io-buffers 256 --io-buffer-size 16384\"")
    ap.add_argument("--tools-dir", help="directory with rw-upstream and rw-loadgen (default: "
                    "build/tools, build-tools/tools or build-perf/tools if up to date, else "
                    "compile them with cc into the temp dir)")
    ap.add_argument("--proxies", default="direct,haproxy,nginx,ringway,ringway-obs",
                    help="comma list from: " + ",".join(PEERS))
    ap.add_argument("--phases", default="rps,idle", help="comma list from: rps,idle")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per rps run")
    ap.add_argument("--connections", type=int, default=50, help="rps connections")
    ap.add_argument("--path", default="/", help="request path")
    ap.add_argument("--resp-size", type=parse_size, default=13, help="response body bytes")
    ap.add_argument("--warmup", type=float, default=1.0, help="rps warm-up seconds per proxy")
    ap.add_argument("--idle-connections", type=int, default=10000)
    ap.add_argument("--idle-rounds", type=int, default=1,
                    help="idle runs per proxy (a fresh proxy each)")
    ap.add_argument("--idle-settle", type=float, default=1.0,
                    help="seconds between 'ready' and reading RSS")
    ap.add_argument("--idle-setup-max", type=float, default=60.0,
                    help="cap on opening the idle connections")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not pin proxies to the last CPU and load tools to the others")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 round × 1 s, 1,000 idle connections; checks the script")
    ap.add_argument("--keep-tmp", action="store_true", help="keep configs and logs")
    ap.add_argument("--results-dir", default=str(REPO / "perf" / "results"))
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 1.0, 0.3
        args.idle_connections = min(args.idle_connections, 1000)
        args.idle_settle = 0.3
    args.idle_hold_max = args.idle_settle + 120  # loadgen holds until we SIGTERM it
    args.ringway = Path(args.ringway)
    choose_cpus(args)
    # Loadgen, proxy and upstream each hold idle_connections sockets, the proxy twice over.
    want = 2 * max(args.idle_connections, args.connections) + 2000
    args.nofile = raise_nofile(want)
    if args.nofile < want:
        log(f"note: RLIMIT_NOFILE is {args.nofile} (hard limit; raising it needs "
            f"CAP_SYS_RESOURCE), below 2 × {args.idle_connections} connections + 2000; "
            f"enough as long as the proxies share upstream connections")
    args.maxconn = max(args.idle_connections, args.connections) + 100
    return args


def main():
    args = parse_args()
    competing, busy = preflight()
    tmp = tempfile.mkdtemp(prefix="rw-bench-http-")
    try:
        args.tools = find_or_build_tools(args, tmp, TOOLS)
        report = {
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
            "benchmark": "http",
            "command": sys.argv,
            "host": {"cpus": os.cpu_count(), "kernel": os.uname().release,
                     "loadavg_at_start": Path("/proc/loadavg").read_text().strip(),
                     "competing_processes": competing, "busy_processes": busy,
                     "versions": tool_versions()},
            "config": {k: (str(v) if isinstance(v, Path) else
                           sorted(v) if isinstance(v, set) else v)
                       for k, v in vars(args).items()},
            "runs": {}, "exit_info": {}, "skipped": {},
        }
        peers = []
        for key in args.proxies.split(","):
            key = key.strip()
            if key not in PEERS:
                sys.exit(f"bench_http: unknown proxy {key!r}; choose from {','.join(PEERS)}")
            peer = PEERS[key](args, tmp)
            reason = peer.available()
            if reason:
                log(f"{peer.name}: SKIPPED: {reason}")
                report["skipped"][peer.name] = reason
            else:
                peers.append(peer)
        if args.proxy_cpus:
            log(f"pinning: proxies on CPU {sorted(args.proxy_cpus)}, "
                f"loadgen+upstream on CPUs {sorted(args.tool_cpus)}")
        for phase in args.phases.split(","):
            phase = phase.strip()
            if phase not in ("rps", "idle"):
                sys.exit(f"bench_http: unknown phase {phase!r}")
            log(f"== phase {phase}")
            (run_rps if phase == "rps" else run_idle)(args, peers, tmp, report)
        report["summary"] = summarize(report)
        print(markdown(report))
        results = Path(args.results_dir)
        results.mkdir(parents=True, exist_ok=True)
        path = results / ("http-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ".json")
        path.write_text(json.dumps(report, indent=1) + "\n")
        log(f"results: {path}")
    finally:
        if args.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
