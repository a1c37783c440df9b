#!/usr/bin/python3
"""Side-by-side L4 (TCP) proxy benchmark: ringway vs HAProxy vs nginx vs a splice(2) relay.

Every proxy runs one worker on 127.0.0.1 and forwards to the same rw-upstream; the same
rw-loadgen drives each in turn. Rounds are interleaved (the order rotates every round) and the
median per proxy is reported, so slow drift of the machine hits every proxy alike.

Measured per proxy:
  rr phase    50 connections, 64 B request / 64 B response, closed loop:
              rps, p50/p99 latency, proxy CPU µs per round trip (utime+stime from /proc)
  bulk phase  4 connections x 1 GiB upload into a sink: GB/s, proxy CPU seconds per GB
  ringway     io_uring_enter calls per round trip, from the line it prints at exit
  --syscalls  an extra, separate pass under `strace -c -f` (strace distorts CPU, so never
              during the measured rounds): syscalls per round trip and per GB

Python 3 standard library only. See perf/README.md.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (REPO, Direct, Peer, Process, choose_cpus, environment_notes,
                      errors_cell, find_or_build_tools, fmt, log, measure_cpu, parse_ringway_exit,
                      parse_size, pin, preflight, raise_nofile, ratio, tool_versions, free_port)

TOOLS = ("rw-upstream", "rw-loadgen", "rw-splice-relay")
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"


class SpliceRelay(Peer):
    name = "splice-relay"

    def start(self, upstream_port, phase):
        cmd = [str(self.args.tools / "rw-splice-relay"), "--listen", "127.0.0.1:0",
               "--upstream", f"127.0.0.1:{upstream_port}"]
        self.process = Process(f"splice-{phase}", cmd, self.tmp, self.args.proxy_cpus)
        self.port = self.process.first_line_port()


class HAProxy(Peer):
    name = "haproxy"

    def available(self):
        return None if shutil.which("haproxy") else "haproxy not installed"

    def start(self, upstream_port, phase):
        self.port = free_port()
        cfg = self.tmp / f"haproxy-{phase}.cfg"
        splice = "  option splice-auto\n" if self.args.haproxy_splice else ""
        cfg.write_text(f"""global
  nbthread 1
  maxconn {self.args.maxconn}
defaults
  mode tcp
  timeout connect 1s
  timeout client 120s
  timeout server 120s
{splice}frontend bench
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
        if not shutil.which("nginx"):
            return "nginx not installed"
        if not os.path.exists(NGINX_STREAM_MODULE):
            return f"{NGINX_STREAM_MODULE} missing (apt-get install libnginx-mod-stream)"
        return None

    def start(self, upstream_port, phase):
        self.port = free_port()
        prefix = self.tmp / f"nginx-{phase}"
        prefix.mkdir(exist_ok=True)
        cfg = prefix / "nginx.conf"
        cfg.write_text(f"""load_module {NGINX_STREAM_MODULE};
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {self.args.maxconn * 2 + 100};
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections {self.args.maxconn * 2}; }}
stream {{
  server {{
    listen 127.0.0.1:{self.port};
    proxy_pass 127.0.0.1:{upstream_port};
    proxy_connect_timeout 1s;
    # Pass the client's FIN on instead of closing both sides (nginx >= 1.21.4); the bulk
    # test needs it, HAProxy and Envoy do it by default.
    proxy_half_close on;
  }}
}}
""")
        # master_process off: one process is both master and the single worker.
        cmd = ["nginx", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(cfg)]
        self.process = Process(f"nginx-{phase}", cmd, self.tmp, self.args.proxy_cpus)
        self.process.wait_listening(self.port)


class Ringway(Peer):
    name = "ringway"

    def available(self):
        if not os.access(self.args.ringway, os.X_OK):
            return (f"binary not found at {self.args.ringway} (build it: cmake --build build "
                    f"--target ringway, or pass --ringway PATH)")
        return None

    def start(self, upstream_port, phase):
        self.port = free_port()
        cfg = self.tmp / f"ringway-{phase}.yaml"
        cfg.write_text(f"""static_resources:
  listeners:
  - name: bench
    address: {{socket_address: {{address: 127.0.0.1, port_value: {self.port}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: bench
          cluster: up
  clusters:
  - name: up
    connect_timeout: 1s
    load_assignment:
      cluster_name: up
      endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {upstream_port}}}}}}}}}]}}]
""")
        cmd = [str(self.args.ringway), "-c", str(cfg), "--concurrency", "1", "-l", "info"]
        cmd += self.args.ringway_args.split()
        self.process = Process(f"ringway-{phase}", cmd, self.tmp, self.args.proxy_cpus)
        self.process.wait_listening(self.port)

    def parse_exit(self, stderr):
        self.exit_info = parse_ringway_exit(stderr)


PEERS = {"direct": Direct, "splice": SpliceRelay, "haproxy": HAProxy, "nginx": Nginx,
         "ringway": Ringway}


# --------------------------------------------------------------------------- load


def run_loadgen(args, port, phase, duration, bulk_bytes=None):
    lg = str(args.tools / "rw-loadgen")
    if phase == "rr":
        cmd = [lg, "--target", f"127.0.0.1:{port}", "--mode", "rr", "--connections",
               str(args.connections), "--duration", str(duration), "--req-size",
               str(args.req_size), "--resp-size", str(args.resp_size)]
        timeout = duration + 30
    else:
        cmd = [lg, "--target", f"127.0.0.1:{port}", "--mode", "bulk", "--connections",
               str(args.bulk_connections), "--bytes", str(bulk_bytes or args.bulk_bytes),
               "--duration", str(args.bulk_max_seconds)]
        timeout = args.bulk_max_seconds + 30
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                         preexec_fn=pin(args.tool_cpus))
    if res.returncode != 0 or not res.stdout.strip():
        raise RuntimeError(f"rw-loadgen failed ({res.returncode}): {res.stderr.strip()}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    if res.stderr.strip():
        out["stderr"] = res.stderr.strip()[-300:]
    return out


def measure(args, peer, phase, duration, bulk_bytes=None):
    result, with_softirqd = measure_cpu(
        args, peer, lambda: run_loadgen(args, peer.port, phase, duration, bulk_bytes))
    crashed = "peer_exit_code" in result
    # A run that moved nothing has no per-unit cost: None, shown as "failed".
    if phase == "rr":
        reqs = result["requests"]
        result["cpu_us_per_rt"] = result["cpu_s"] * 1e6 / reqs if reqs else None
        result["sched_cpu_us_per_rt"] = result["sched_cpu_s"] * 1e6 / reqs if reqs else None
        result["cpu_softirqd_us_per_rt"] = (with_softirqd * 1e6 / reqs
                                            if reqs and with_softirqd is not None else None)
    else:
        gb = result["bytes"] / 1e9
        result["cpu_s_per_gb"] = result["cpu_s"] / gb if gb else None
        result["sched_cpu_s_per_gb"] = result["sched_cpu_s"] / gb if gb else None
        result["cpu_softirqd_s_per_gb"] = (with_softirqd / gb
                                           if gb and with_softirqd is not None else None)
    if crashed:
        # Its /proc counters vanished with it, so its CPU cost for this run is unknown.
        for key in ("cpu_us_per_rt", "sched_cpu_us_per_rt", "cpu_softirqd_us_per_rt",
                    "cpu_s_per_gb", "sched_cpu_s_per_gb", "cpu_softirqd_s_per_gb"):
            if key in result:
                result[key] = None
    return result


def strace_pass(args, peer, phase):
    """Count syscalls of one loadgen run under strace -c -f (separate from the CPU rounds)."""
    out = peer.tmp / f"strace-{peer.name}-{phase}.txt"
    pids = peer.measured_pids()
    cmd = ["strace", "-c", "-f", "-q", "-o", str(out)]
    for pid in pids:
        cmd += ["-p", str(pid)]
    tracer = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)  # let strace attach to every thread
    try:
        # Syscalls per GB do not depend on the size, so a quarter of a bulk run will do.
        result = run_loadgen(args, peer.port, phase, args.duration,
                             max(args.bulk_bytes // 4, 2**20) if phase == "bulk" else None)
    finally:
        time.sleep(0.2)
        tracer.send_signal(signal.SIGINT)
        try:
            tracer.wait(10)
        except subprocess.TimeoutExpired:
            tracer.kill()
            tracer.wait()
    calls = {}
    for line in out.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5 and re.fullmatch(r"[\d.]+", fields[0]) and fields[-1] != "total":
            calls[fields[-1]] = int(fields[3])
    total = sum(calls.values())
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:4]
    if phase == "rr":
        per = total / max(result["requests"], 1)
    else:
        per = total / max(result["bytes"] / 1e9, 1e-9)
    return {"total": total, "per_unit": per, "top": top, "load": result}


# --------------------------------------------------------------------------- phases


def run_phase(args, phase, peers, tmp, report):
    mode = "rr" if phase == "rr" else "sink"
    upstream = Process(f"upstream-{phase}",
                       [str(args.tools / "rw-upstream"), "--listen", "127.0.0.1:0", "--mode", mode,
                        "--req-size", str(args.req_size), "--resp-size", str(args.resp_size)],
                       tmp, args.tool_cpus)
    started = []
    try:
        uport = upstream.first_line_port()
        args.upstream_pid = upstream.pid
        for peer in peers:
            try:
                peer.start(uport, phase)
                started.append(peer)
            except Exception as exc:  # a broken proxy must not sink the whole run
                log(f"{peer.name}: failed to start for {phase}: {exc}")
                report["skipped"][f"{peer.name}/{phase}"] = str(exc)
                peer.stop()
        work = {p.name: {"requests": 0, "bytes": 0} for p in started}
        runs = report["runs"].setdefault(phase, {p.name: [] for p in started})

        def alive(peer):
            """False (reported once) when the proxy has exited."""
            if not peer.process or peer.process.alive():
                return True
            key = f"{peer.name}/{phase}"
            if key not in report["skipped"]:
                why = (f"exited with {peer.process.proc.returncode} during the run: "
                       f"{peer.process.stderr_tail()[-300:]}")
                report["skipped"][key] = why
                log(f"{peer.name}: {why}")
            return False

        def account(peer, res):
            work[peer.name]["requests"] += res.get("requests", 0)
            work[peer.name]["bytes"] += res.get("bytes", 0)

        # Warm-up: first connections, page faults, CPU frequency.
        for peer in started:
            res = measure(args, peer, phase, args.warmup, args.warmup_bytes)
            account(peer, res)
        for rnd in range(args.rounds):
            k = rnd % len(started) if started else 0
            order = started[k:] + started[:k]
            for peer in order:
                if not alive(peer):
                    continue
                res = measure(args, peer, phase, args.duration)
                res["round"] = rnd
                runs[peer.name].append(res)
                account(peer, res)
                log(f"  {phase} round {rnd + 1}/{args.rounds} {peer.name:13s} "
                    + describe(phase, res))
        if args.syscalls and shutil.which("strace"):
            for peer in started:
                if not peer.is_proxy or not alive(peer):
                    continue
                st = strace_pass(args, peer, phase)
                account(peer, st["load"])
                report["syscalls"].setdefault(phase, {})[peer.name] = st
                log(f"  {phase} strace {peer.name:13s} {st['total']} syscalls, "
                    f"{st['per_unit']:.2f} per {'round trip' if phase == 'rr' else 'GB'}, "
                    f"top {st['top']}")
        elif args.syscalls:
            log("strace not installed: --syscalls pass skipped")
    finally:
        for peer in started:
            peer.stop()
        upstream.stop()
    for peer in started:
        if peer.exit_info:
            info = dict(peer.exit_info)
            info.update(work[peer.name])
            if phase == "rr" and "io_uring_enter" in info and work[peer.name]["requests"]:
                info["io_uring_enter_per_rt"] = info["io_uring_enter"] / work[peer.name]["requests"]
            if phase == "bulk" and "io_uring_enter" in info and work[peer.name]["bytes"]:
                info["io_uring_enter_per_gb"] = info["io_uring_enter"] / (work[peer.name]["bytes"] / 1e9)
            report["exit_info"].setdefault(phase, {})[peer.name] = info
        elif peer.name == "ringway":
            log("ringway: no 'worker N: ... io_uring_enter=N' line on stderr at exit")


def describe(phase, res):
    note = f" [{res['stderr'].splitlines()[0]}]" if res.get("stderr") else ""
    if "peer_exit_code" in res:
        note += f" PROXY EXITED with {res['peer_exit_code']}; skipped from now on"
    if res.get("probe_us") is not None:
        note += f" probe={res['probe_us']:.2f}us"
    if res.get("foreign_cpus", 0) > 0.1:
        note += f" CONTENDED: {res['foreign_cpus']:.2f} CPUs used by other processes"
    if phase == "rr":
        cpu = res["cpu_us_per_rt"]
        return (f"rps={res['rps']:.0f} p50={res['p50_us']:.0f}us p99={res['p99_us']:.0f}us "
                f"cpu={'failed' if cpu is None else f'{cpu:.2f}'}us/rt errors={res['errors']}"
                + note)
    cpu = res["cpu_s_per_gb"]
    return (f"{res['gbytes_per_s']:.2f} GB/s cpu={'failed' if cpu is None else f'{cpu:.3f}'}s/GB "
            f"errors={res['errors']}" + note)


# --------------------------------------------------------------------------- report


def summarize(report):
    summary = {}
    for phase, by_peer in report["runs"].items():
        keys = (["rps", "p50_us", "p99_us", "cpu_us_per_rt", "sched_cpu_us_per_rt",
                 "cpu_softirqd_us_per_rt"] if phase == "rr" else
                ["gbytes_per_s", "cpu_s_per_gb", "sched_cpu_s_per_gb", "cpu_softirqd_s_per_gb"])
        for name, runs in by_peer.items():
            if not runs:
                continue
            row = {}
            for k in keys:
                values = [r[k] for r in runs if r[k] is not None]
                row[k] = statistics.median(values) if values else None
            row["errors"] = sum(r["errors"] for r in runs)
            row["foreign_cpus_max"] = max(r.get("foreign_cpus", 0.0) for r in runs)
            kinds = {}
            for r in runs:
                for k, v in r.get("errors_by_kind", {}).items():
                    kinds[k] = kinds.get(k, 0) + v
            row["errors_by_kind"] = kinds
            row["rounds"] = len(runs)
            summary.setdefault(phase, {})[name] = row
    return summary


def markdown(report):
    s = report["summary"]
    lines = []
    order = ["direct", "splice-relay", "haproxy", "nginx", "ringway"]
    if "rr" in s:
        a = report["config"]
        lines += [f"### Small round trips: {a['connections']} connections, "
                  f"{a['req_size']} B / {a['resp_size']} B, closed loop "
                  f"(median of {a['rounds']} × {a['duration']} s)", "",
                  "| proxy | rps | p50 µs | p99 µs | proxy CPU µs / round trip | "
                  "+ ksoftirqd µs / rt | io_uring_enter / rt | syscalls / rt (strace) | errors |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        hp = s["rr"].get("haproxy")
        for name in order:
            row = s["rr"].get(name)
            if not row:
                continue
            proxy = name != "direct"
            cpu = (fmt(row["cpu_us_per_rt"], 2) + ratio(row["cpu_us_per_rt"],
                                                       hp and hp["cpu_us_per_rt"])
                   if proxy else "–")
            soft = row.get("cpu_softirqd_us_per_rt")
            soft_cell = (fmt(soft, 2) + ratio(soft, hp and hp.get("cpu_softirqd_us_per_rt"))
                         if proxy and soft is not None else "–")
            enter = report["exit_info"].get("rr", {}).get(name, {}).get("io_uring_enter_per_rt")
            sc = report["syscalls"].get("rr", {}).get(name)
            lines.append(
                f"| {name} | {fmt(row['rps'], 0)}{ratio(row['rps'], hp and hp['rps']) if proxy else ''}"
                f" | {fmt(row['p50_us'], 0)}{ratio(row['p50_us'], hp and hp['p50_us']) if proxy else ''}"
                f" | {fmt(row['p99_us'], 0)}{ratio(row['p99_us'], hp and hp['p99_us']) if proxy else ''}"
                f" | {cpu} | {soft_cell} | {fmt(enter, 2) if enter is not None else '–'}"
                f" | {fmt(sc['per_unit'], 2) if sc else '–'} | {errors_cell(row)} |")
        lines.append("")
    if "bulk" in s:
        a = report["config"]
        lines += [f"### Bulk upload: {a['bulk_connections']} connections × "
                  f"{a['bulk_bytes'] / 2**20:,.0f} MiB into a sink (median of {a['rounds']})", "",
                  "| proxy | GB/s | proxy CPU s / GB | + ksoftirqd s / GB | GB per proxy CPU-second | "
                  "syscalls / GB (strace) | errors |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        hp = s["bulk"].get("haproxy")
        for name in order:
            row = s["bulk"].get(name)
            if not row:
                continue
            proxy = name != "direct"
            cpu = row["cpu_s_per_gb"]
            soft = row.get("cpu_softirqd_s_per_gb")
            soft_cell = (fmt(soft, 3) + ratio(soft, hp and hp.get("cpu_softirqd_s_per_gb"))
                         if proxy and soft is not None else "–")
            sc = report["syscalls"].get("bulk", {}).get(name)
            lines.append(
                f"| {name} | {fmt(row['gbytes_per_s'], 2)}"
                f"{ratio(row['gbytes_per_s'], hp and hp['gbytes_per_s']) if proxy else ''}"
                f" | {(fmt(cpu, 3) + ratio(cpu, hp and hp['cpu_s_per_gb'])) if proxy else '–'}"
                f" | {soft_cell}"
                f" | {fmt(1 / cpu if cpu else None, 2) if proxy else '–'}"
                f" | {fmt(sc['per_unit'], 0) if sc else '–'} | {errors_cell(row)} |")
        lines.append("")
    lines.append("(×) = ratio to HAProxy. CPU = utime+stime of the proxy process(es) from "
                 "/proc/PID/stat over the loadgen run; '+ ksoftirqd' adds the softirq thread of "
                 "the proxy's pinned CPU. See perf/README.md.")
    worst = max((row.get("foreign_cpus_max", 0.0) for rows in s.values() for row in rows.values()),
                default=0.0)
    probes = [r["probe_us"] for runs in report["runs"].values() for rs in runs.values()
              for r in rs if r.get("probe_us")]
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
    ap.add_argument("--tools-dir", help="directory with rw-upstream, rw-loadgen, rw-splice-relay "
                    "(default: build/tools or build-tools/tools if up to date, else compile "
                    "them with cc into the temp dir)")
    ap.add_argument("--proxies", default="direct,splice,haproxy,nginx,ringway",
                    help="comma list from: " + ",".join(PEERS))
    ap.add_argument("--phases", default="rr,bulk", help="comma list from: rr,bulk")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per rr run")
    ap.add_argument("--connections", type=int, default=50, help="rr connections")
    ap.add_argument("--req-size", type=parse_size, default=64)
    ap.add_argument("--resp-size", type=parse_size, default=64)
    ap.add_argument("--bulk-connections", type=int, default=4)
    ap.add_argument("--bulk-bytes", type=parse_size, default=parse_size("1GiB"),
                    help="bytes uploaded per bulk connection")
    ap.add_argument("--bulk-max-seconds", type=float, default=120.0,
                    help="cap on one bulk run")
    ap.add_argument("--warmup", type=float, default=1.0, help="rr warm-up seconds per proxy")
    ap.add_argument("--syscalls", action="store_true",
                    help="extra pass under strace -c -f counting syscalls (not timed)")
    ap.add_argument("--haproxy-splice", action="store_true",
                    help="add 'option splice-auto' to HAProxy (off by default, as in stock configs)")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not pin proxies to the last CPU and load tools to the others")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 round × 1 s, 64 MiB bulk; checks the script works")
    ap.add_argument("--keep-tmp", action="store_true", help="keep configs and logs")
    ap.add_argument("--results-dir", default=str(REPO / "perf" / "results"))
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 1.0, 0.3
        args.bulk_bytes = min(args.bulk_bytes, 64 * 2**20)
    args.warmup_bytes = max(args.bulk_bytes // 16, 2**20)
    args.ringway = Path(args.ringway)
    choose_cpus(args)
    hard = raise_nofile()
    args.maxconn = max(256, min(10000, (hard - 200) // 2))
    return args


def main():
    args = parse_args()
    competing, busy = preflight()
    tmp = tempfile.mkdtemp(prefix="rw-bench-")
    try:
        args.tools = find_or_build_tools(args, tmp, TOOLS)
        report = {
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": sys.argv,
            "host": {"cpus": os.cpu_count(), "kernel": os.uname().release,
                     "loadavg_at_start": Path("/proc/loadavg").read_text().strip(),
                     "competing_processes": competing, "busy_processes": busy,
                     "versions": tool_versions()},
            "config": {k: (str(v) if isinstance(v, Path) else
                           sorted(v) if isinstance(v, set) else v)
                       for k, v in vars(args).items()},
            "runs": {}, "exit_info": {}, "syscalls": {}, "skipped": {},
        }
        peers = []
        for key in args.proxies.split(","):
            key = key.strip()
            if key not in PEERS:
                sys.exit(f"bench_tcp: unknown proxy {key!r}; choose from {','.join(PEERS)}")
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
            if phase not in ("rr", "bulk"):
                sys.exit(f"bench_tcp: unknown phase {phase!r}")
            log(f"== phase {phase}")
            run_phase(args, phase, peers, tmp, report)
        report["summary"] = summarize(report)
        table = markdown(report)
        print(table)
        results = Path(args.results_dir)
        results.mkdir(parents=True, exist_ok=True)
        path = results / (datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ".json")
        path.write_text(json.dumps(report, indent=1) + "\n")
        log(f"results: {path}")
    finally:
        if args.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
