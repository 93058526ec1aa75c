#!/usr/bin/env python3
"""End-to-end benchmark of c2w-net against gvproxy and passt (see bench/README.md).

The guest is the host's own kernel in a network namespace with a TAP device; bench/native/bridge
copies frames between that TAP and a QEMU-stream connection to the stack under test. Servers
(iperf3, probe) listen on the host's 127.0.0.1 and are reached through each stack's address for
the host loopback. Run through bench/run, which installs tools and builds everything first.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.join(HERE, "target", "native")
JAR = os.path.join(ROOT, "cli", "target", "c2w-net.jar")
NS = "c2wbench"
TAP = "tap0"
GUEST_MAC = "02:00:00:00:00:01"
IPERF_PORT = 5201
ECHO_PORT, SINK_PORT = 5301, 5302
STATS_PORT = SINK_PORT + 1
GVPROXY_PORT = 17017
DNS_STUB = "127.0.0.1:53535"  # nothing answers there: the bench never resolves names
# the launcher's JVM flags (./c2w-net), so RSS figures match what users run
JAVA_FLAGS = ["-XX:+UseSerialGC", "-Xss512k", "-Xms8m", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=30",
              "-XX:-UsePerfData", "-XX:TrimNativeHeapInterval=1000", "-XX:CompileThresholdScaling=5",
              "-XX:-DontCompileHugeMethods"]

STACKS = ["c2w-net", "gvproxy", "passt"]
# --variant-opts / --variant-jar add a stack "c2w-net-variant": c2w-net with extra JVM options or
# another build, measured in the same interleaved runs (A/B test of a change)
VARIANT_OPTS, VARIANT_JAR = [], None


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, **kw)


def ns(*args, **kw):
    return sh("ip", "netns", "exec", NS, *args, **kw)


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    """User and system CPU seconds of a process (all its threads) so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick
    except (OSError, IndexError, ValueError):
        return None


def gvproxy_binary():
    found = shutil.which("gvproxy")
    if found:
        return found
    local = os.path.join(HERE, "target", "peers", "usr", "bin", "gvproxy")
    if not os.path.exists(local):
        deb = os.environ.get("GVPROXY_DEB", os.path.join(ROOT, "..", "shared", "peers", "gvproxy_0.8.1-3_amd64.deb"))
        if not os.path.exists(deb):
            sys.exit(f"bench: gvproxy not found: install it or set GVPROXY_DEB to gvproxy_0.8.1-3_amd64.deb")
        sh("dpkg", "-x", deb, os.path.join(HERE, "target", "peers"))
    return local


class Session:
    """One stack process + a fresh namespace + the bridge + a DHCP lease."""

    def __init__(self, stack, mtu, workdir):
        self.stack, self.mtu, self.workdir = stack, mtu, workdir
        self.procs = []
        self.pid = None
        self.server_ip = "192.168.127.1" if stack == "passt" else "192.168.127.254"

    def __enter__(self):
        teardown_ns()
        sh("ip", "netns", "add", NS)
        os.makedirs(f"/etc/netns/{NS}", exist_ok=True)
        with open(f"/etc/netns/{NS}/resolv.conf", "w") as f:
            f.write("nameserver 127.0.0.1\n")  # the namespace's own loopback: lookups fail locally
        ns("ip", "link", "set", "lo", "up")
        ns("ip", "tuntap", "add", "dev", TAP, "mode", "tap")
        # a deep TAP queue: tun drops (rather than backpressures) when the reader falls behind,
        # and a burst of drops costs a stack without SACK (passt) whole RTOs
        ns("ip", "link", "set", TAP, "address", GUEST_MAC, "mtu", str(self.mtu), "txqueuelen", "10000")
        ns("ip", "link", "set", TAP, "up")
        out = open(os.path.join(self.workdir, f"{self.stack}-{self.mtu}.log"), "ab")
        sock = os.path.join(self.workdir, f"{self.stack}.sock")
        if os.path.exists(sock):
            os.unlink(sock)
        if self.stack.startswith("c2w-net"):
            extra = VARIANT_OPTS if self.stack == "c2w-net-variant" else []
            jar = VARIANT_JAR if self.stack == "c2w-net-variant" and VARIANT_JAR else JAR
            cmd = ["java", *JAVA_FLAGS, *extra, *self.extra_java(), "-jar", jar, "--listen-qemu", f"unix://{sock}",
                   "--dns-upstream", DNS_STUB, "--mtu", str(self.mtu)]
            target = f"unix:{sock}"
        elif self.stack == "gvproxy":
            cmd = [gvproxy_binary(), "-listen-qemu", f"tcp://127.0.0.1:{GVPROXY_PORT}", "-ssh-port", "-1",
                   "-mtu", str(self.mtu)]
            target = f"tcp:127.0.0.1:{GVPROXY_PORT}"
        else:
            cmd = ["passt", "-f", "-q", "-1", "-4", "-s", sock, "-m", str(self.mtu), "-a", "192.168.127.3",
                   "-n", "24", "-g", "192.168.127.1", "-D", "127.0.0.1", "--no-dhcp-search"]
            target = f"unix:{sock}"
        self.t0 = time.monotonic()
        env = dict(os.environ, MALLOC_ARENA_MAX="2") if self.stack.startswith("c2w-net") else None  # as the launcher
        stack = subprocess.Popen(cmd, stdout=out, stderr=out, env=env)
        self.procs.append(stack)
        self.pid = stack.pid
        bridge = subprocess.Popen([os.path.join(BIN, "bridge"), NS, TAP, target], stdout=subprocess.PIPE, stderr=out)
        self.procs.append(bridge)
        # DHCP starts once the bridge is connected (it retries until the stack listens): a DISCOVER
        # sent before would be lost and cost a whole udhcpc retry interval
        if bridge.stdout.readline().strip() != b"bridge: connected":
            self.__exit__(None, None, None)
            raise RuntimeError(f"{self.stack}: the bridge could not connect (see {out.name})")
        dhcp = ns("busybox", "udhcpc", "-i", TAP, "-s", os.path.join(HERE, "native", "udhcpc.script"),
                  "-q", "-n", "-f", "-t", "60", "-T", "1", capture_output=True, check=False)
        self.dhcp_ms = (time.monotonic() - self.t0) * 1000
        if dhcp.returncode != 0:
            self.__exit__(None, None, None)
            raise RuntimeError(f"{self.stack}: no DHCP lease: {dhcp.stderr.decode()[-500:]}")
        # the TAP MTU is set by the lease (option 26) when the stack sends it; make sure either way
        ns("ip", "link", "set", TAP, "mtu", str(self.mtu))
        return self

    def extra_java(self):
        return os.environ.get("BENCH_JAVA_OPTS", "").split()

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        teardown_ns()


def teardown_ns():
    sh("ip", "netns", "del", NS, check=False, stderr=subprocess.DEVNULL)
    shutil.rmtree(f"/etc/netns/{NS}", ignore_errors=True)


def tap_drops():
    """Frames the guest kernel dropped at the TAP because the bridge did not read them in time."""
    r = subprocess.run(["ip", "netns", "exec", NS, "cat", f"/sys/class/net/{TAP}/statistics/tx_dropped"],
                       capture_output=True, text=True)
    return int(r.stdout.strip() or 0)


def run_json(cmd, timeout):
    r = subprocess.run(cmd, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.decode()[-400:]}")
    return json.loads(r.stdout)


def iperf(prefix, ip, seconds, reverse):
    cmd = [*prefix, "iperf3", "-c", ip, "-p", str(IPERF_PORT), "-t", str(seconds), "-J", "-O", "1"]
    if reverse:
        cmd.append("-R")
    res = run_json(cmd, timeout=seconds + 60)
    return res["end"]["sum_received"]["bits_per_second"] / 1e9


def sink_stats():
    line = subprocess.run([os.path.join(BIN, "probe"), "stats", str(STATS_PORT)], capture_output=True,
                          check=True).stdout.split()
    return int(line[0]), int(line[1]), int(line[2])


def flows(prefix, ip, n, seconds, pid):
    drops0 = tap_drops() if prefix else 0
    p = subprocess.Popen([*prefix, os.path.join(BIN, "probe"), "flows", ip, str(SINK_PORT), str(n), str(seconds)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stderr.readline().strip() == b"connected"
    # sample after one second of sending, so the figure is the steady state, not slow start
    time.sleep(1)
    b0, open0, _ = sink_stats()
    t0 = time.monotonic()
    time.sleep(max(seconds - 2, 1))
    b1, open1, _ = sink_stats()
    t1 = time.monotonic()
    rss = rss_kib(pid) if pid else None
    out, err = p.communicate(timeout=120)
    res = json.loads(out)
    res.update(gbit_per_s=(b1 - b0) * 8 / (t1 - t0) / 1e9, sink_open_connections=min(open0, open1),
               rss_kib=rss)
    res["tap_tx_dropped"] = tap_drops() - drops0 if prefix else 0
    res["errors"] = res["connect_errors"] + res["write_errors"] + max(0, n - res["sink_open_connections"])
    time.sleep(1)  # let the stack drop the closed flows before the next measurement
    return res


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 run, 3 s iperf, 2000 round trips, 200 connections")
    ap.add_argument("--stacks", default=",".join(STACKS), help="comma-separated subset of " + ",".join(STACKS))
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--jfr", action="store_true", help="record a JFR profile of c2w-net's throughput runs")
    ap.add_argument("--variant-opts", help="JVM options of an extra stack c2w-net-variant (A/B test)")
    ap.add_argument("--variant-jar", help="c2w-net jar of the extra stack c2w-net-variant (A/B test)")
    ap.add_argument("--runs", type=int, help="throughput runs per stack and MTU (default 3, quick 1)")
    ap.add_argument("--seconds", type=int, help="length of each iperf3 run (default 10, quick 3)")
    ap.add_argument("--mtus", default="1500,65520", help="comma-separated MTUs of the throughput runs")
    ap.add_argument("--only", choices=["throughput", "probes"],
                    help="only the throughput runs, or only the probes (latency, connections, flows, idle RSS)")
    ap.add_argument("--no-loopback", action="store_true", help="skip the loopback (ceiling) figures")
    args = ap.parse_args()
    stacks = args.stacks.split(",")
    global VARIANT_OPTS, VARIANT_JAR
    if args.variant_opts or args.variant_jar:
        VARIANT_OPTS, VARIANT_JAR = (args.variant_opts or "").split(), args.variant_jar
        stacks.insert(stacks.index("c2w-net") + 1 if "c2w-net" in stacks else 0, "c2w-net-variant")
    q = args.quick
    runs, secs = (1, 3) if q else (3, 10)
    runs, secs = args.runs or runs, args.seconds or secs
    rtt_n, conn_n = (2000, 200) if q else (10000, 1000)
    flow_n, flow_secs = (1000, 5) if q else (1000, 10)
    mtus = [int(m) for m in args.mtus.split(",")] if args.only != "probes" else []
    workdir = tempfile.mkdtemp(prefix="c2w-bench-")
    os.chmod(workdir, 0o1777)  # passt drops to "nobody" before it binds its socket
    log(f"logs in {workdir}")
    servers = [subprocess.Popen(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(IPERF_PORT)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
               subprocess.Popen([os.path.join(BIN, "probe"), "server", str(ECHO_PORT), str(SINK_PORT)])]
    time.sleep(0.5)
    jfr_dir = os.path.join(HERE, "results")
    res = {"throughput": {}, "latency": {}, "connect": {}, "flows": {}, "startup": {}}
    try:
        # throughput: 3 runs, interleaved across stacks, each run in a fresh session per MTU
        tp = {(s, m, d): [] for s in stacks + ["loopback"] for m in mtus for d in ("g2h", "h2g")}
        tap_dropped = {k: 0 for k in tp}
        cpu = {k: [] for k in tp}
        for run in range(runs):
            for mtu in mtus:
                for stack in stacks:
                    if args.jfr and stack == "c2w-net":
                        os.environ["BENCH_JAVA_OPTS"] = (
                            f"-XX:StartFlightRecording=filename={jfr_dir}/c2w-net-mtu{mtu}-run{run}.jfr,settings=profile")
                    with Session(stack, mtu, workdir) as s:
                        for d in ("g2h", "h2g"):
                            drops0 = tap_drops()
                            cpu0 = cpu_seconds(s.pid)
                            g = iperf(["ip", "netns", "exec", NS], s.server_ip, secs, d == "h2g")
                            cpu1 = cpu_seconds(s.pid)
                            drops = tap_drops() - drops0
                            tp[(stack, mtu, d)].append(g)
                            tap_dropped[(stack, mtu, d)] += drops
                            # CPU of the stack per GB carried (user, sys): less noisy than throughput
                            # on a shared machine; iperf3 runs secs + 1 s (-O 1)
                            gb = g * (secs + 1) / 8
                            cu, cs = ((cpu1[0] - cpu0[0]) / gb, (cpu1[1] - cpu0[1]) / gb) if cpu0 and cpu1 and gb else (0, 0)
                            cpu[(stack, mtu, d)].append([round(cu, 3), round(cs, 3)])
                            log(f"run {run + 1}/{runs} mtu {mtu} {stack} {d}: {g:.2f} Gbit/s"
                                f" (frames the TAP dropped: {drops}; stack CPU per GB: user {cu:.2f} s, sys {cs:.2f} s)")
                    os.environ.pop("BENCH_JAVA_OPTS", None)
                for d in ("g2h", "h2g") if not args.no_loopback else ():
                    g = iperf([], "127.0.0.1", secs, d == "h2g")
                    tp[("loopback", mtu, d)].append(g)
                    log(f"run {run + 1}/{runs} loopback {d}: {g:.2f} Gbit/s")
        for (s, m, d), xs in tp.items():
            res["throughput"].setdefault(s, {}).setdefault(str(m), {})[d] = {
                "gbit_per_s": median(xs), "runs": xs, "tap_tx_dropped": tap_dropped[(s, m, d)],
                "stack_cpu_s_per_gb": cpu[(s, m, d)]}
        # latency, connection rate, many flows, start-up: one session per stack at MTU 1500
        for stack in (stacks + ([] if args.no_loopback else ["loopback"])) if args.only != "throughput" else []:
            if stack == "loopback":
                prefix, ip, pid = [], "127.0.0.1", None
                ctx = None
            else:
                if args.jfr and stack == "c2w-net":
                    os.environ["BENCH_JAVA_OPTS"] = (
                        f"-XX:StartFlightRecording=filename={jfr_dir}/c2w-net-probes.jfr,settings=profile")
                ctx = Session(stack, 1500, workdir).__enter__()
                os.environ.pop("BENCH_JAVA_OPTS", None)
                prefix, ip, pid = ["ip", "netns", "exec", NS], ctx.server_ip, ctx.pid
                time.sleep(2)
                res["startup"][stack] = {"dhcp_lease_ms": round(ctx.dhcp_ms, 1), "idle_rss_kib": rss_kib(pid)}
                log(f"{stack}: lease after {ctx.dhcp_ms:.0f} ms, idle RSS {rss_kib(pid)} KiB")
            try:
                r = run_json([*prefix, os.path.join(BIN, "probe"), "rr", ip, str(ECHO_PORT), str(rtt_n)], 300)
                res["latency"][stack] = r
                log(f"{stack}: rr {r}")
                r = run_json([*prefix, os.path.join(BIN, "probe"), "connect", ip, str(ECHO_PORT), str(conn_n)], 300)
                res["connect"][stack] = r
                log(f"{stack}: connect {r}")
                r = flows(prefix, ip, flow_n, flow_secs, pid)
                res["flows"][stack] = r
                log(f"{stack}: flows {r}")
            finally:
                if ctx:
                    ctx.__exit__(None, None, None)
    finally:
        for p in servers:
            p.terminate()
            p.wait()
        teardown_ns()
    res["meta"] = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "quick": q, "runs": runs, "iperf_seconds": secs,
        "round_trips": rtt_n, "connections": conn_n, "flows": flow_n, "flow_seconds": flow_secs,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(res, f, indent=2)
    text = table(res, stacks)
    print(text)
    with open(os.path.splitext(args.out)[0] + ".md", "w") as f:
        f.write(text + "\n")
    log(f"wrote {args.out}")


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Linux {platform.release()}"


def table(res, stacks):
    """Markdown table: each figure, then c2w-net's ratio to gvproxy and to passt."""
    rows = []
    columns = [s for s in STACKS + ["c2w-net-variant"] if s in stacks or s in STACKS]
    columns.sort(key=lambda s: {"c2w-net": 0, "c2w-net-variant": 1}.get(s, 2))

    def add(name, getter, higher_better=True, fmt="{:.2f}"):
        vals = {s: getter(s) for s in stacks + ["loopback"]}

        def f(v):
            return "–" if v is None else fmt.format(v)

        def ratio(peer):
            a, b = vals.get("c2w-net"), vals.get(peer)
            if a is None or b is None or b == 0 or a == 0:
                return "–"
            return f"{(a / b if higher_better else b / a):.2f}×"
        rows.append([name] + [f(vals.get(s)) for s in columns + ["loopback"]] + [ratio("gvproxy"), ratio("passt")])

    def tp(m, d):
        return lambda s: res["throughput"].get(s, {}).get(str(m), {}).get(d, {}).get("gbit_per_s")

    for m in (1500, 65520):
        add(f"TCP guest→host, MTU {m} (Gbit/s)", tp(m, "g2h"))
        add(f"TCP host→guest, MTU {m} (Gbit/s)", tp(m, "h2g"))
    def cpu(m, d):
        def get(s):
            xs = res["throughput"].get(s, {}).get(str(m), {}).get(d, {}).get("stack_cpu_s_per_gb")
            return median([u + k for u, k in xs]) if xs else None
        return get

    for m in (1500, 65520):
        add(f"stack CPU per GB guest→host, MTU {m} (s)", cpu(m, "g2h"), False, "{:.2f}")
        add(f"stack CPU per GB host→guest, MTU {m} (s)", cpu(m, "h2g"), False, "{:.2f}")
    lat = res["latency"]
    add("request/response p50 (µs)", lambda s: lat.get(s, {}).get("p50_us"), False, "{:.0f}")
    add("request/response p99 (µs)", lambda s: lat.get(s, {}).get("p99_us"), False, "{:.0f}")
    add("connections per second", lambda s: res["connect"].get(s, {}).get("per_second"), True, "{:.0f}")
    fl = res["flows"]
    add("1000 flows: aggregate (Gbit/s)", lambda s: fl.get(s, {}).get("gbit_per_s"))
    add("1000 flows: errors", lambda s: fl.get(s, {}).get("errors"), False, "{:.0f}")
    add("1000 flows: stack RSS (MiB)", lambda s: kib_mib(fl.get(s, {}).get("rss_kib")), False, "{:.0f}")
    st = res["startup"]
    add("idle RSS (MiB)", lambda s: kib_mib(st.get(s, {}).get("idle_rss_kib")), False, "{:.0f}")
    add("start to DHCP lease (ms)", lambda s: st.get(s, {}).get("dhcp_lease_ms"), False, "{:.0f}")
    head = ["", *columns, "loopback (ceiling)", "c2w-net vs gvproxy", "c2w-net vs passt"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", "Goals (issue 5):", ""] + [f"- {g}" for g in goals(res)]
    meta = res["meta"]
    lines.append("")
    lines.append(f"{meta['date_utc']}, {meta['machine']}; median of {meta['runs']} run(s) of "
                 f"{meta['iperf_seconds']} s iperf3. Ratios: >1× means c2w-net is better "
                 f"(for latency, RSS and time: peer ÷ c2w-net).")
    return "\n".join(lines)


def goals(res):
    def tp(s, m, d):
        return res["throughput"].get(s, {}).get(str(m), {}).get(d, {}).get("gbit_per_s")

    def check(text, ok, detail):
        return f"{'✓' if ok else '✗'} {text}: {detail}"

    out = []
    for d, name in (("g2h", "guest→host"), ("h2g", "host→guest")):
        a, g = tp("c2w-net", 1500, d), tp("gvproxy", 1500, d)
        if a and g:
            out.append(check(f"MTU 1500 {name} ≥ 1.5× gvproxy", a >= 1.5 * g, f"{a / g:.2f}×"))
    a = res["latency"].get("c2w-net", {}).get("p50_us")
    g = res["latency"].get("gvproxy", {}).get("p50_us")
    if a and g:
        out.append(check("request/response p50 ≤ gvproxy's", a <= g, f"{a:.0f} µs vs {g:.0f} µs"))
    for d, name in (("g2h", "guest→host"), ("h2g", "host→guest")):
        a, p = tp("c2w-net", 65520, d), tp("passt", 65520, d)
        if a and p:
            out.append(check(f"MTU 65520 {name} ≥ 0.8× passt", a >= 0.8 * p, f"{a / p:.2f}×"))
    f = res["flows"].get("c2w-net")
    if f:
        out.append(check("1000 concurrent flows with no errors", f["errors"] == 0, f"{f['errors']} errors"))
    r = res["startup"].get("c2w-net", {}).get("idle_rss_kib")
    if r:
        out.append(check("idle RSS ≤ 64 MiB", r <= 64 * 1024, f"{r / 1024:.0f} MiB"))
    return out


def kib_mib(v):
    return None if v is None else v / 1024


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("bench: needs root (network namespaces and TAP devices)")
    main()
