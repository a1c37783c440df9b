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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOLS = ("rw-upstream", "rw-loadgen", "rw-splice-relay")
TOOL_SOURCES = {
    "rw-upstream": "upstream.c",
    "rw-loadgen": "loadgen.c",
    "rw-splice-relay": "splice_relay.c",
}
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Process names that mean another benchmark (or a leftover of ours) is competing for the CPU.
COMPETING = {
    "haproxy", "nginx", "ringway", "rw-loadgen", "rw-upstream", "rw-splice-relay", "wrk",
    "wrk2", "h2load", "ab", "iperf", "iperf3", "netperf", "sockperf", "fortio", "vegeta",
    "hey", "envoy", "nighthawk_clien", "perf",
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_size(text):
    m = re.fullmatch(r"(\d+)\s*([KMG]?)(i?B?)", text.strip(), re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (use e.g. 64MiB, 1GiB, 1000000)")
    value, unit, binary = int(m.group(1)), m.group(2).upper(), m.group(3).lower().startswith("i")
    base = 1024 if binary else 1000
    return value * base ** " KMG".index(unit or " ")


def free_port():
    """Ask the kernel for a free port: bind port 0, read it back, close."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_listening(port):
    """True when something listens on 127.0.0.1:port (reads /proc, opens no connection)."""
    want = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] == want and fields[3] == "0A":
                    return True
    except OSError:
        pass
    return False


def proc_stat_ticks(pid):
    """utime+stime of a process (all its threads) in clock ticks, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def proc_sched_ns(pid):
    """Run time of all threads in ns from schedstat: a finer cross-check of the tick count."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
    except OSError:
        pass
    return total


def system_busy_s():
    """CPU-seconds all CPUs spent busy since boot (/proc/stat; idle and iowait excluded)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already inside user)
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def ksoftirqd_pids(cpus):
    """pids of the per-CPU softirq threads of the given CPUs."""
    want = {f"ksoftirqd/{cpu}" for cpu in cpus or ()}
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() in want:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def children_cpu_s():
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def descendants(pid):
    """pid and every process below it, so master/worker servers are measured whole."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                data = f.read()
        except OSError:
            continue
        ppid = int(data[data.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def competing_processes():
    mine = {os.getpid(), os.getppid()}
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in mine:
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace").strip()
        except OSError:
            continue
        if comm in COMPETING or "bench_tcp.py" in cmdline:
            found.append(f"{entry} {cmdline[:100] or comm}")
    return found


def busy_processes(sample_s=1.0, threshold=0.2):
    """Processes (any name: compilers, fuzzers, ...) using > threshold of a CPU right now."""
    def snapshot():
        out = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                ticks = proc_stat_ticks(entry)
                if ticks is not None:
                    out[entry] = ticks
        return out

    before = snapshot()
    time.sleep(sample_s)
    after = snapshot()
    busy = []
    for pid, ticks in after.items():
        share = (ticks - before.get(pid, ticks)) / CLK_TCK / sample_s
        if share > threshold and int(pid) != os.getpid():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace").strip()
            except OSError:
                continue
            busy.append(f"{pid} {share * 100:.0f}% CPU {cmd[:100]}")
    return busy


# A fixed amount of socket work: 64 B send+recv over a socketpair. Run on the proxy's CPU right
# before each measurement, it shows when that CPU got slower for reasons invisible inside the
# VM (a busy hyperthread sibling or neighbour on the host; steal time reads 0 under Firecracker).
PROBE = """
import socket, time
a, b = socket.socketpair()
m = b"x" * 64
t = time.process_time()
for _ in range(20000):
    a.send(m)
    b.recv(64)
print((time.process_time() - t) / 20000 * 1e6)
"""


def cpu_probe_us(cpus):
    """µs of CPU per probe iteration on cpus, or None when not pinned."""
    if not cpus:
        return None
    res = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=30, preexec_fn=pin(cpus))
    try:
        return float(res.stdout.strip())
    except ValueError:
        return None


def pin(cpus):
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


# --------------------------------------------------------------------------- tools


def tools_are_fresh(directory):
    """True when every tool exists in directory and is newer than its own sources."""
    for tool in TOOLS:
        path = directory / tool
        if not os.access(path, os.X_OK):
            return False
        newest_src = max((REPO / "tools" / name).stat().st_mtime
                         for name in (TOOL_SOURCES[tool], "tool_common.c", "tool_common.h"))
        if path.stat().st_mtime < newest_src:
            return False
    return True


def find_or_build_tools(args, tmp):
    candidates = [Path(args.tools_dir)] if args.tools_dir else [
        REPO / "build" / "tools", REPO / "build-tools" / "tools"]
    for directory in candidates:
        if tools_are_fresh(directory):
            log(f"tools: using {directory}")
            return directory
    if args.tools_dir:
        sys.exit(f"bench_tcp: {args.tools_dir} lacks up-to-date {', '.join(TOOLS)}")
    # CMake-free path: the tools depend on nothing but libc, so one cc call each is enough.
    out = Path(tmp) / "tools"
    out.mkdir()
    cc = os.environ.get("CC", "cc")
    for tool, src in TOOL_SOURCES.items():
        cmd = [cc, "-O2", "-std=gnu17", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-o", str(out / tool),
               str(REPO / "tools" / src), str(REPO / "tools" / "tool_common.c"), "-lm"]
        subprocess.run(cmd, check=True)
    log(f"tools: built with {cc} into {out} (no up-to-date CMake build found)")
    return out


# --------------------------------------------------------------------------- processes


class Process:
    """A started server whose stdout/stderr go to files in the temp dir."""

    def __init__(self, name, cmd, tmp, cpus):
        self.name = name
        self.out_path = Path(tmp) / f"{name}.stdout"
        self.err_path = Path(tmp) / f"{name}.stderr"
        self.out = open(self.out_path, "w")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err,
                                     stdin=subprocess.DEVNULL, preexec_fn=pin(cpus))

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def first_line_port(self, timeout=5.0):
        """Our tools print 'listening on ADDR:PORT' first; return PORT."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.out_path.read_text()
            if "\n" in text:
                m = re.match(r"listening on .*:(\d+)$", text.splitlines()[0])
                if m:
                    return int(m.group(1))
            if not self.alive():
                break
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not report its port: {self.stderr_tail()}")

    def wait_listening(self, port, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: "
                                   f"{self.stderr_tail()}")
            if is_listening(port):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} is not listening on {port} after {timeout}s")

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        self.err.close()
        return self.err_path.read_text(errors="replace")

    def stderr_tail(self):
        try:
            return self.err_path.read_text(errors="replace")[-600:].strip()
        except OSError:
            return ""


class Peer:
    """One thing the load generator can be pointed at: a proxy, or 'direct' (no proxy)."""

    name = "?"
    is_proxy = True

    def __init__(self, args, tmp):
        self.args = args
        self.tmp = Path(tmp)
        self.process = None
        self.port = None
        self.exit_info = {}

    def available(self):
        """None if usable, else a reason to skip."""
        return None

    def start(self, upstream_port, phase):
        raise NotImplementedError

    def measured_pids(self):
        return descendants(self.process.pid) if self.process else []

    def cpu(self):
        ticks = 0
        ns = 0
        for pid in self.measured_pids():
            t = proc_stat_ticks(pid)
            if t is not None:
                ticks += t
                ns += proc_sched_ns(pid)
        return ticks / CLK_TCK, ns / 1e9

    def stop(self):
        if self.process:
            stderr = self.process.stop()
            self.parse_exit(stderr)
            self.process = None

    def parse_exit(self, stderr):
        pass


class Direct(Peer):
    name = "direct"
    is_proxy = False

    def start(self, upstream_port, phase):
        self.port = upstream_port

    def cpu(self):
        return 0.0, 0.0


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
        self.process = Process(f"ringway-{phase}", cmd, self.tmp, self.args.proxy_cpus)
        self.process.wait_listening(self.port)

    def parse_exit(self, stderr):
        info = {}
        for m in re.finditer(r"worker \d+:([^\n]*)", stderr):
            for key, value in re.findall(r"(\w+)=(\d+)", m.group(1)):
                info[key] = info.get(key, 0) + int(value)
        self.exit_info = info


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
    def softirqd():
        return sum(proc_stat_ticks(pid) or 0 for pid in args.softirqd_pids) / CLK_TCK

    probe = cpu_probe_us(args.proxy_cpus)
    cpu0, sched0, soft0 = *peer.cpu(), softirqd()
    sys0, lg0, up0 = system_busy_s(), children_cpu_s(), proc_stat_ticks(args.upstream_pid) or 0
    result = run_loadgen(args, peer.port, phase, duration, bulk_bytes)
    cpu1, sched1, soft1 = *peer.cpu(), softirqd()
    sys1, lg1, up1 = system_busy_s(), children_cpu_s(), proc_stat_ticks(args.upstream_pid) or 0
    result["cpu_s"] = cpu1 - cpu0
    result["sched_cpu_s"] = sched1 - sched0
    result["probe_us"] = probe
    crashed = bool(peer.process and not peer.process.alive())
    if crashed:
        result["peer_exit_code"] = peer.process.proc.returncode
    # Network softirq work the kernel deferred to ksoftirqd on the proxy's (pinned) CPU was
    # caused by the proxy's traffic but is not in its utime+stime. Batching engines (io_uring)
    # shift more work there, so it gets its own column. Unpinned it cannot be attributed.
    result["softirqd_s"] = soft1 - soft0 if args.softirqd_pids and peer.is_proxy else None
    # Busy CPU on the machine that was neither the proxy, the loadgen nor the upstream: a
    # neighbour's compile or fuzzer. Above ~0.1 CPUs the run is contaminated.
    foreign = ((sys1 - sys0) - result["cpu_s"] - (lg1 - lg0) - (up1 - up0) / CLK_TCK
               - (soft1 - soft0))
    result["foreign_cpus"] = max(foreign, 0.0) / max(result["seconds"], 1e-3)
    with_softirqd = (result["cpu_s"] + result["softirqd_s"]
                     if result["softirqd_s"] is not None else None)
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


def errors_cell(row):
    kinds = ", ".join(f"{k} {v}" for k, v in row.get("errors_by_kind", {}).items() if v)
    return f"{row['errors']} ({kinds})" if kinds else str(row["errors"])


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


def fmt(value, digits):
    return "failed" if value is None else f"{value:,.{digits}f}"


def ratio(value, base):
    if value is None or base is None or not base:
        return ""
    return f" ({value / base:.2f}×)"


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
    if worst > 0.1:
        lines.append(f"- WARNING: other processes used up to {worst:.2f} CPUs during some runs "
                     f"(foreign_cpus in the JSON); these numbers are contaminated.")
    else:
        lines.append(f"- other processes used at most {worst:.2f} CPUs during the runs.")
    probes = [r["probe_us"] for runs in report["runs"].values() for rs in runs.values()
              for r in rs if r.get("probe_us")]
    if probes:
        spread = max(probes) / min(probes)
        lines.append(f"- speed probe on the proxy CPU: {min(probes):.2f}–{max(probes):.2f} µs "
                     f"({spread:.2f}× spread)"
                     + (": WARNING, the CPU's speed changed during the run (host interference);"
                        " absolute numbers moved with it, compare within rounds"
                        if spread > 1.3 else "."))
    for what, why in report["skipped"].items():
        lines.append(f"- skipped {what}: {why}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--ringway", default=str(REPO / "build" / "server" / "ringway"),
                    help="ringway binary")
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
    cpus = sorted(os.sched_getaffinity(0))
    if args.no_pin or len(cpus) < 2:
        args.proxy_cpus = args.tool_cpus = None
    else:
        # The proxy gets a CPU of its own; loadgen and upstream share the rest.
        args.proxy_cpus, args.tool_cpus = {cpus[-1]}, set(cpus[:-1])
    args.softirqd_pids = ksoftirqd_pids(args.proxy_cpus)
    try:
        import resource
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        hard = 4096
    args.maxconn = max(256, min(10000, (hard - 200) // 2))
    return args


def tool_versions():
    out = {}
    for name, cmd in (("haproxy", ["haproxy", "-v"]), ("nginx", ["nginx", "-v"])):
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
            out[name] = (res.stdout + res.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            pass
    return out


def main():
    args = parse_args()
    competing = competing_processes()
    if competing:
        log("WARNING: other benchmark-like processes are running; numbers will be noisy:")
        for line in competing:
            log(f"  {line}")
    busy = busy_processes()
    if busy:
        log("WARNING: other processes are using CPU right now; numbers will be noisy:")
        for line in busy:
            log(f"  {line}")
    log(f"load average: {Path('/proc/loadavg').read_text().strip()}")
    tmp = tempfile.mkdtemp(prefix="rw-bench-")
    try:
        args.tools = find_or_build_tools(args, tmp)
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
