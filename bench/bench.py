#!/usr/bin/env python3
"""Benchmarks of the Rust Online Boutique, run on loopback only.

Measures, for release builds:
  * binary sizes;
  * cold start to SERVING of every service (spawn -> `<bin> healthcheck` succeeds);
  * idle RSS of every service, and of the whole shop (ten processes, and the
    all-in-one `boutique` runner);
  * the frontend under the load generator: req/s, p50/p95/p99 per route,
    failures, and the peak RSS of every process during the run.

Writes the results (with machine info and every command used) to
BENCHMARKS.md. Usage: python3 bench/bench.py [--duration 60] [--users 32]
"""
import argparse
import json
import os
import shutil
import platform
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REL = ROOT / "target" / "release"

SERVICES = [
    # name, env-var that points at it, required peers
    ("productcatalogservice", "PRODUCT_CATALOG_SERVICE_ADDR", []),
    ("currencyservice", "CURRENCY_SERVICE_ADDR", []),
    ("paymentservice", "PAYMENT_SERVICE_ADDR", []),
    ("shippingservice", "SHIPPING_SERVICE_ADDR", []),
    ("emailservice", "EMAIL_SERVICE_ADDR", []),
    ("adservice", "AD_SERVICE_ADDR", []),
    ("cartservice", "CART_SERVICE_ADDR", []),
    ("recommendationservice", "RECOMMENDATION_SERVICE_ADDR", ["PRODUCT_CATALOG_SERVICE_ADDR"]),
    ("checkoutservice", "CHECKOUT_SERVICE_ADDR", [
        "PRODUCT_CATALOG_SERVICE_ADDR", "SHIPPING_SERVICE_ADDR", "PAYMENT_SERVICE_ADDR",
        "EMAIL_SERVICE_ADDR", "CURRENCY_SERVICE_ADDR", "CART_SERVICE_ADDR"]),
    ("frontend", None, [
        "PRODUCT_CATALOG_SERVICE_ADDR", "CURRENCY_SERVICE_ADDR", "CART_SERVICE_ADDR",
        "RECOMMENDATION_SERVICE_ADDR", "SHIPPING_SERVICE_ADDR", "CHECKOUT_SERVICE_ADDR", "AD_SERVICE_ADDR"]),
]

COMMANDS = []
RESULTS = {"idle": {}, "peak": {}, "rpc": {}, "pages": {}}


def sh(cmd, **kw):
    COMMANDS.append(cmd if isinstance(cmd, str) else " ".join(cmd))
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, text=True, capture_output=True, **kw).stdout


def rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0


class Proc:
    """A service binary on ephemeral loopback ports."""

    def __init__(self, name, env, prefix=()):
        full = dict(os.environ, PORT="0", METRICS_PORT="0", LISTEN_ADDR="127.0.0.1", RUST_LOG="info")
        full.update(env)
        self.name = name
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(list(prefix) + [str(REL / name)], env=full, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addr = None
        self.peak = 0
        for line in self.p.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("message") == "listening":
                self.addr = ev["addr"]
                break
        if not self.addr:
            raise RuntimeError(f"{name} did not start")
        threading.Thread(target=self._drain, daemon=True).start()
        self.port = int(self.addr.rsplit(":", 1)[1])

    def _drain(self):
        for _ in self.p.stdout:
            pass

    def wait_serving(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = subprocess.run([str(REL / self.name), "healthcheck"], env=dict(os.environ, PORT=str(self.port)),
                               capture_output=True)
            if r.returncode == 0:
                return (time.monotonic() - self.t0) * 1000.0
            time.sleep(0.005)
        raise RuntimeError(f"{self.name} never became healthy")

    def rss(self):
        v = rss_kib(self.p.pid)
        self.peak = max(self.peak, v)
        return v

    def stop(self):
        self.p.terminate()
        try:
            return self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return None


def start_shop(prefix=()):
    procs, addrs = {}, {}
    for name, var, peers in SERVICES:
        env = {p: addrs[p] for p in peers}
        proc = Proc(name, env, prefix)
        proc.cold_ms = proc.wait_serving()
        procs[name] = proc
        if var:
            addrs[var] = f"127.0.0.1:{proc.port}"
    return procs


RPC_TARGETS = [
    # (service, RPCs, peers it needs started next to it)
    ("productcatalogservice", ["ProductCatalogService/GetProduct", "ProductCatalogService/ListProducts",
                               "ProductCatalogService/SearchProducts"], []),
    ("currencyservice", ["CurrencyService/Convert", "CurrencyService/GetSupportedCurrencies"], []),
    ("paymentservice", ["PaymentService/Charge"], []),
    ("shippingservice", ["ShippingService/GetQuote", "ShippingService/ShipOrder"], []),
    ("emailservice", ["EmailService/SendOrderConfirmation"], []),
    ("adservice", ["AdService/GetAds"], []),
    ("cartservice", ["CartService/AddItem", "CartService/GetCart", "CartService/EmptyCart"], []),
    ("recommendationservice", ["RecommendationService/ListRecommendations"], ["productcatalogservice"]),
]


def taskset(core):
    return ["taskset", "-c", str(core)] if shutil.which("taskset") else []


def per_rpc_section(args):
    """Every backend RPC at 16 and 50 concurrent streams: server on core 0, client on core 1."""
    out = ["## Per-RPC throughput and latency", "",
           f"Server pinned to core 0 with one tokio worker (`taskset -c 0`, `TOKIO_WORKER_THREADS=1`), the load "
           f"client `grpcbench` pinned to core 1: one HTTP/2 connection with 16 or 50 calls in flight, "
           f"{args.rpc_seconds} s after a 1 s warm-up; every response's gRPC status is checked (errors column). "
           "recommendationservice's numbers include its call to the catalog (also on core 0). "
           "PlaceOrder is measured through the frontend below (it needs a filled cart per call).", "",
           "| RPC | streams | req/s | p50 | p99 | errors |", "|---|---|---|---|---|---|"]
    for service, rpcs, peers in RPC_TARGETS:
        started = []
        env = {"TOKIO_WORKER_THREADS": "1"}
        for peer in peers:
            p = Proc(peer, {"TOKIO_WORKER_THREADS": "1"}, prefix=taskset(0))
            p.wait_serving()
            started.append(p)
            env["PRODUCT_CATALOG_SERVICE_ADDR"] = f"127.0.0.1:{p.port}"
        srv = Proc(service, env, prefix=taskset(0))
        srv.wait_serving()
        started.append(srv)
        for rpc in rpcs:
            for streams in (16, 50):
                cmd = taskset(1) + [str(REL / "grpcbench"), "--target", f"127.0.0.1:{srv.port}", "--rpc", rpc,
                                    "--concurrency", str(streams), "--duration", str(args.rpc_seconds), "--warmup", "1"]
                COMMANDS.append(" ".join(cmd).replace(f"127.0.0.1:{srv.port}", f"<{service}>"))
                r = subprocess.run(cmd, capture_output=True, text=True)
                try:
                    res = json.loads(r.stdout.strip().splitlines()[-1])
                except (ValueError, IndexError):
                    out.append(f"| {rpc} | {streams} | failed: {r.stderr.strip()[:80]} | | | |")
                    continue
                errs = sum(res["errors"].values())
                RESULTS["rpc"][(rpc, streams)] = res
                out.append(f"| {rpc} | {streams} | {res['rps']:,} | {res['p50_us'] / 1000:.2f} ms | "
                           f"{res['p99_us'] / 1000:.2f} ms | {errs} |")
        for p in started:
            p.stop()
    out.append("")
    return out


def wrk(url, seconds, headers=()):
    cmd = taskset(1) + ["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    COMMANDS.append(" ".join(cmd).replace(url.split("/", 3)[2], "<frontend>"))
    text = subprocess.run(cmd, capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:.*", text)
    return (float(rps.group(1)) if rps else 0.0, p50.group(1) if p50 else "?", p99.group(1) if p99 else "?",
            int(non2xx.group(1)) if non2xx else 0, errors.group(0) if errors else "")


def frontend_section(args):
    """Frontend pages at 32 connections with wrk; the shop on core 0, wrk on core 1."""
    out = ["## Frontend pages (wrk, 32 connections)", "",
           f"The ten services as separate processes pinned to core 0 (one tokio worker each), `wrk -t1 -c32 "
           f"-d{args.page_seconds}s --latency` pinned to core 1. The cart page is a session holding two items.", "",
           "| page | req/s | p50 | p99 | non-2xx | socket errors |", "|---|---|---|---|---|---|"]
    saved = os.environ.get("TOKIO_WORKER_THREADS")
    os.environ["TOKIO_WORKER_THREADS"] = "1"
    procs = start_shop(prefix=taskset(0))
    if saved is None:
        del os.environ["TOKIO_WORKER_THREADS"]
    else:
        os.environ["TOKIO_WORKER_THREADS"] = saved
    base = f"http://127.0.0.1:{procs['frontend'].port}"
    import urllib.request
    cookie = "shop_session-id=bench-session"
    for pid in ("OLJCESPC7Z", "6E92ZMYYFZ"):
        req = urllib.request.Request(base + "/cart", data=f"product_id={pid}&quantity=1".encode(),
                                     headers={"Cookie": cookie})
        try:
            urllib.request.urlopen(req)
        except urllib.error.HTTPError as e:
            if e.code not in (302, 303):
                raise
    for name, path, headers in [("home `/`", "/", []), ("product `/product/OLJCESPC7Z`", "/product/OLJCESPC7Z", []),
                                ("cart `/cart`", "/cart", [f"Cookie: {cookie}"])]:
        rps, p50, p99, non2xx, errs = wrk(base + path, args.page_seconds, headers)
        RESULTS["pages"][path] = (rps, p50, p99)
        out.append(f"| {name} | {rps:,.0f} | {p50} | {p99} | {non2xx} | {errs or 'none'} |")
    for p in procs.values():
        p.stop()
    out.append("")
    return out


def image_section():
    """Compressed image size estimate: an image is `scratch` + one static binary, so
    its one layer is about the gzip of that binary."""
    static = ROOT / "target" / "static" / "x86_64-unknown-linux-gnu" / "release"
    src = static if static.exists() else REL
    out = ["## Image sizes (estimate)", "",
           "Every image is `FROM scratch` plus one static binary, so its compressed size is about `gzip -9` of "
           f"that binary (here: `{src.relative_to(ROOT)}`, "
           + ("static glibc from `STATIC_PROFILE=release bash scripts/build-static.sh`; the images ship static musl"
              if src == static else "dynamic release build; run `STATIC_PROFILE=release bash scripts/build-static.sh` "
              "first for the static binaries") + "). No container engine runs here to build the images themselves.",
           "", "| image | binary | compressed (gzip -9) | target |", "|---|---|---|---|"]
    import gzip
    for name, _, _ in SERVICES + [("loadgenerator", None, [])]:
        p = src / name
        if not p.exists():
            continue
        data = p.read_bytes()
        gz = len(gzip.compress(data, 9))
        limit = 15 if name == "frontend" else 12
        out.append(f"| {name} | {len(data) / 1048576:.2f} MiB | {gz / 1048576:.2f} MiB | "
                   f"≤ {limit} MB: {'yes' if gz <= limit * 1_000_000 else '**no**'} |")
    out.append("")
    return out


def wrk_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)$", v or "")
    if not m:
        return float("inf")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def targets_section():
    """Issue 9's targets, each marked met or missed from this run's numbers."""
    rows = ["## Targets", "", "| target | measured | met |", "|---|---|---|"]

    def row(name, measured, ok):
        rows.append(f"| {name} | {measured} | {'yes' if ok else '**no**'} |")

    worst_idle = max(RESULTS["idle"].items(), key=lambda kv: kv[1], default=("-", 0))
    row("every service ≤ 4 MiB idle RSS", f"max {mib(worst_idle[1])} MiB ({worst_idle[0]})", worst_idle[1] <= 4096)
    worst_peak = max(RESULTS["peak"].items(), key=lambda kv: kv[1], default=("-", 0))
    row("every service ≤ 10 MiB under load", f"max {mib(worst_peak[1])} MiB ({worst_peak[0]})", worst_peak[1] <= 10240)
    home = RESULTS["pages"].get("/")
    if home:
        row("frontend home p99 ≤ 20 ms at 32 connections", home[2], wrk_ms(home[2]) <= 20)
    gp = max((RESULTS["rpc"].get(("ProductCatalogService/GetProduct", c), {}).get("rps", 0) for c in (16, 50)))
    row("catalog GetProduct ≥ 50k req/s on one core", f"{gp:,} req/s", gp >= 50000)
    conv = RESULTS["rpc"].get(("CurrencyService/Convert", 16))
    if conv:
        row("currency Convert p99 ≤ 1 ms at 16 streams", f"{conv['p99_us'] / 1000:.2f} ms", conv["p99_us"] <= 1000)
    rows.append("")
    return rows


def mib(kib):
    return f"{kib / 1024:.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--users", type=int, default=32)
    ap.add_argument("--rpc-seconds", type=int, default=5)
    ap.add_argument("--page-seconds", type=int, default=10)
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()

    if not shutil.which("wrk"):
        print("installing wrk (Debian package) ...", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if not args.skip_build:
        print("building release binaries ...", file=sys.stderr)
        sh(["cargo", "build", "--release", "--workspace", "--bins", "--quiet"], cwd=ROOT)

    out = ["# Benchmarks", "",
           "Produced by `python3 bench/bench.py` (" + " ".join(sys.argv[1:]) + "), on loopback only. ",
           "Re-run it to refresh every number; the commands it ran are listed at the end.", ""]
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    out += ["## Machine", "",
            f"- CPU: {cpu}, {os.cpu_count()} cores; memory {int(int(Path('/proc/meminfo').read_text().split()[1]) / 1024 / 1024)} GiB",
            f"- Kernel: {platform.release()}; {sh(['rustc', '--version']).strip()}",
            f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", ""]

    out += ["## Binary sizes (release, stripped)", "", "| binary | size |", "|---|---|"]
    for name, _, _ in SERVICES + [("boutique", None, []), ("loadgenerator", None, [])]:
        p = REL / name
        if p.exists():
            out.append(f"| {name} | {p.stat().st_size / 1024 / 1024:.2f} MiB |")
    out.append("")

    out += image_section()

    print("starting the shop as ten processes ...", file=sys.stderr)
    procs = start_shop()
    time.sleep(2.0)
    out += ["## Cold start and idle memory (each service its own process)", "",
            "Cold start: from spawning the process to its first successful health check "
            "(`<binary> healthcheck`: gRPC `Check(\"\")` = SERVING, frontend `GET /_healthz` = 200). "
            "Idle RSS: `VmRSS` 2 s after start, no traffic yet.", "",
            "| service | cold start to SERVING | idle RSS |", "|---|---|---|"]
    total_idle = 0
    for name, proc in procs.items():
        r = proc.rss()
        RESULTS["idle"][name] = r
        total_idle += r
        out.append(f"| {name} | {proc.cold_ms:.0f} ms | {mib(r)} MiB |")
    out += [f"| **whole shop (10 processes)** | | **{mib(total_idle)} MiB** |", ""]

    # Load: the Rust load generator against the frontend, sampling RSS.
    front = f"127.0.0.1:{procs['frontend'].port}"
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for p in procs.values():
                p.rss()
            time.sleep(0.2)

    threading.Thread(target=sample, daemon=True).start()
    lg_cmd = [str(REL / "loadgenerator"), "--frontend-addr", front, "--users", str(args.users), "--rate", str(args.users),
              "--duration", f"{args.duration}s", "--wait-min", "0s", "--wait-max", "0s"]
    print(f"running the load generator for {args.duration}s ...", file=sys.stderr)
    COMMANDS.append(" ".join(lg_cmd[:1] + ["--frontend-addr", "<frontend>"] + lg_cmd[3:]))
    lg = subprocess.run(lg_cmd, capture_output=True, text=True)
    stop.set()
    out += [f"## Whole shop under load ({args.users} users, no think time, {args.duration} s)", "",
            "The load generator runs upstream's user flows and weights (home, set currency, product, add to cart, "
            "view cart, checkout) with no wait between tasks, against the frontend of the ten processes above, "
            f"exit code {lg.returncode} (non-zero means failures).", "", "```", lg.stdout.rstrip(), "```", "",
            "| service | peak RSS under load |", "|---|---|"]
    for name, proc in procs.items():
        RESULTS["peak"][name] = proc.peak
        out.append(f"| {name} | {mib(proc.peak)} MiB |")
    out.append("")
    codes = {name: proc.stop() for name, proc in procs.items()}
    out += ["Every process exited with code 0 on SIGTERM: " + ("yes" if all(c == 0 for c in codes.values()) else f"no {codes}"), ""]

    out += per_rpc_section(args)
    out += frontend_section(args)

    # The all-in-one runner.
    env = dict(os.environ, BOUTIQUE_EPHEMERAL_PORTS="1", METRICS_PORT="0", RUST_LOG="info")
    COMMANDS.append("BOUTIQUE_EPHEMERAL_PORTS=1 target/release/boutique")
    runner = subprocess.Popen([str(REL / "boutique")], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in runner.stdout:
        if '"the shop is open"' in line:
            break
    time.sleep(2.0)
    out += ["## The all-in-one runner", "",
            f"`boutique` (all ten services in one process), idle RSS: {mib(rss_kib(runner.pid))} MiB", ""]
    runner.terminate()
    runner.wait(timeout=15)

    out += targets_section()
    findings = ROOT / "bench" / "FINDINGS.md"
    if findings.exists():
        out += [findings.read_text().rstrip(), ""]
    out += ["## Commands", "", "```"] + COMMANDS + ["```", ""]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
