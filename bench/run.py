#!/usr/bin/python3
"""lode's side-by-side benchmark: see bench/README.md. Run it as bench/run.sh [--quick].

Builds lode (release, build-bench/), installs the Debian packages it needs when missing, starts every
server itself on a free loopback port, drives each with the same h2load load, stops them, prints one
table and writes bench/results/latest.json (the run before it becomes previous.json).
It reports; its exit status is 0 whenever the harness itself ran, whatever the figures.
"""
import argparse
import datetime
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
ANCHORS = os.path.normpath(os.path.join(REPO, "..", "shared", "anchors"))
BUILD = os.path.join(REPO, "build-bench")
LODE = os.path.join(BUILD, "lode")
RESULTS = os.path.join(BENCH, "results")
LOGS = os.path.join(RESULTS, "logs")
LUAHTTP_PATH = "/usr/share/lua/5.2/?.lua;;"

# Debian packages the harness itself needs: (package, a command it provides).
PACKAGES = [("nghttp2-client", "h2load"), ("nghttp2-server", "nghttpd"), ("lua5.3", "lua5.3"),
            ("lua-http", None), ("openssl", "openssl"), ("procps", "pgrep"), ("time", "/usr/bin/time"),
            ("nodejs", "node")]

# Loads per mode. Full: the figures. Quick: about a tenth, one run each, under a minute.
LOADS = {
    "full": dict(hello=300000, many=200000, tls=200000, file_mib=256, file_n=4, upload_n=4,
                 client=100000, idle=10000, startup_runs=20, warmup=True, timeout=180),
    "quick": dict(hello=30000, many=20000, tls=20000, file_mib=64, file_n=2, upload_n=2,
                  client=20000, idle=1000, startup_runs=5, warmup=False, timeout=60),
}

CHILDREN = []          # every Popen this run started (servers, clients, openers)
VERBOSE = True


def say(msg):
    if VERBOSE:
        print(msg, file=sys.stderr, flush=True)


class Failed(Exception):
    """A server or client that could not run: its row says why, the run goes on."""


class Pending(Exception):
    """lode has not got what the row needs yet."""


# ----------------------------------------------------------------------------------------------
# Processes

def spawn(argv, cwd=None, env=None, log=None, stdin=subprocess.DEVNULL, stdout=None):
    out = open(log, "wb") if log else subprocess.DEVNULL
    try:
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin,
                             stdout=stdout if stdout is not None else out,
                             stderr=out, start_new_session=True)
    except OSError as e:
        raise Failed(f"cannot start {argv[0]}: {e.strerror}")
    finally:
        if log:
            out.close()
    CHILDREN.append(p)
    return p


def stop(p, grace=3.0):
    """Stops one child we started (its own process group, by its id) and reaps it."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    # Anything its process group left behind goes too.
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all():
    for p in CHILDREN:
        try:
            stop(p, grace=1.0)
        except Exception:  # noqa: BLE001 - cleanup must go on
            pass


def leftovers():
    """Ids of processes from any group we started that still exist (should be none)."""
    left = []
    for p in CHILDREN:
        r = subprocess.run(["pgrep", "-g", str(p.pid)], stdout=subprocess.PIPE, text=True)
        left += r.stdout.split()
    r = subprocess.run(["pgrep", "-P", str(os.getpid())], stdout=subprocess.PIPE, text=True)
    left += [x for x in r.stdout.split() if x not in left]
    return left


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def log_tail(path, n=2):
    """The last messages of a log, leaving out stack traces (Lua's and Node's indented lines)."""
    try:
        with open(path, "rb") as f:
            raw = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    lines = [x.strip() for x in raw if x.strip() and not x[:1].isspace() and x.strip() != "stack traceback:"]
    return " | ".join(lines[-n:])[:300]


def proc_status(pid, field):
    """A /proc/PID/status figure in kB (VmHWM, VmRSS), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# ----------------------------------------------------------------------------------------------
# Servers

class Server:
    def __init__(self, sid, label, role, argv, cwd=None, env=None, gate=None):
        self.id, self.label, self.role = sid, label, role
        self.argv, self.cwd, self.env, self.gate = argv, cwd, env, gate


class Running:
    def __init__(self, server, proc, port, log):
        self.server, self.proc, self.port, self.log = server, proc, port, log

    def alive(self):
        return self.proc.poll() is None

    def died(self):
        rc = self.proc.poll()
        how = f"signal {-rc}" if rc is not None and rc < 0 else f"exit {rc}"
        tail = log_tail(self.log)
        return f"server died ({how})" + (f": {tail}" if tail else "")


def wait_accepting(proc, port, log, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_tail(log)
            return f"exited with {proc.returncode} before listening" + (f": {tail}" if tail else "")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            time.sleep(0.1)
            if proc.poll() is None:
                return None
        except OSError:
            time.sleep(0.05)
    return f"not accepting on port {port} after {timeout:.0f} s"


def start(server, ctx, scenario):
    if server.gate:
        server.gate(ctx)      # raises Pending / Failed
    env = dict(os.environ)
    env.update(server.env or {})
    cwd = server.cwd(ctx) if callable(server.cwd) else server.cwd
    log = os.path.join(LOGS, f"{scenario}-{server.id}.log")
    why = None
    for _ in range(2):        # a port taken between bind(0) and the server's bind gets one retry
        port = free_port()
        p = spawn(server.argv(port, ctx), cwd=cwd, env=env, log=log)
        why = wait_accepting(p, port, log)
        if why is None:
            return Running(server, p, port, log)
        stop(p)
        if "in use" not in why.lower():
            break
    raise Failed(why)


# ----------------------------------------------------------------------------------------------
# h2load

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def duration(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def h2load(args, url, timeout, log_file=None):
    argv = ["h2load", *args]
    if log_file:
        argv.append("--log-file=" + log_file)
    argv.append(url)
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failed(f"h2load did not finish in {timeout} s")
    out = r.stdout
    res = {}
    m = re.search(r"finished in ([\d.]+(?:us|ms|s)), ([\d.]+) req/s", out)
    if m:
        res["seconds"] = duration(m.group(1))
        res["req_s"] = float(m.group(2))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", out)
    if m:
        keys = ["total", "started", "done", "succeeded", "failed", "errored", "timeout"]
        res["requests"] = dict(zip(keys, map(int, m.groups())))
    m = re.search(r"\((\d+)\) data", out)
    if m:
        res["data_bytes"] = int(m.group(1))
    m = re.search(r"time to 1st byte:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", out)
    if m:
        vals = [duration(x) for x in m.groups()]
        if None not in vals:
            res["ttfb_conn_ms"] = dict(zip(["min", "max", "mean", "sd"], [v * 1e3 for v in vals]))
    if "requests" not in res or "seconds" not in res:
        last = " | ".join(x for x in out.strip().splitlines()[-2:])
        raise Failed(f"h2load exited {r.returncode} without a summary: {last[:200]}")
    return res


def check_all_succeeded(res, n, body_len=None):
    q = res["requests"]
    if q["succeeded"] != n or q["total"] != n:
        raise Failed(f"{q['succeeded']} of {n} requests succeeded "
                     f"({q['failed']} failed, {q['errored']} errored, {q['timeout']} timeout)")
    if body_len is not None and res.get("data_bytes") != n * body_len:
        raise Failed(f"received {res.get('data_bytes')} body bytes, expected {n} x {body_len}")


def percentile_from_log(path, pct):
    vals = []
    with open(path) as f:
        for line in f:
            parts = line.split("\t")
            if len(parts) >= 3:
                vals.append(int(parts[2]))
    if not vals:
        return None
    vals.sort()
    return vals[min(len(vals) - 1, int(round(pct / 100.0 * (len(vals) - 1))))] / 1e3  # ms


# ----------------------------------------------------------------------------------------------
# Gates: what a lode row needs before it can run (else "pending")

def lode_probe(ctx, code, what):
    """Runs `lode -e code` in the temporary folder; a failure makes the row pending, with lode's message."""
    key = ("probe", code)
    if key not in ctx:
        try:
            r = subprocess.run([LODE, "-e", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, errors="replace", timeout=10, cwd=ctx["tmp"])
            msg = next((x.strip() for x in r.stderr.splitlines() if x.strip()), "")
            ctx[key] = None if r.returncode == 0 else msg
        except (OSError, subprocess.TimeoutExpired) as e:
            ctx[key] = str(e)
    if ctx[key] is not None:
        raise Pending(what + (f" ({ctx[key][:120]})" if ctx[key] else ""))


def lua_defines(ctx, method):
    """Whether lode's Lua layer defines METHOD (`function X:method(` or `.method =`)."""
    key = ("defines", method)
    if key not in ctx:
        pat = re.compile(r"function\s+[\w.:]*[.:]" + method + r"\s*\(|[.]" + method + r"\s*=[^=]")
        found = False
        for root, _, files in os.walk(os.path.join(REPO, "lua")):
            for name in files:
                if name.endswith(".lua"):
                    with open(os.path.join(root, name), errors="replace") as f:
                        if pat.search(f.read()):
                            found = True
        ctx[key] = found
    return ctx[key]


def gate_built(ctx):
    if ctx["build_error"]:
        raise Failed(ctx["build_error"])


def gate_http2(ctx):
    gate_built(ctx)
    lode_probe(ctx, 'assert(type(require("http2").createServer) == "function")',
               "no http2 server in lode yet")


def gate_example(name):
    def gate(ctx):
        gate_built(ctx)
        if not os.path.exists(os.path.join(REPO, "examples", name)):
            raise Pending(f"examples/{name} not written yet")
        gate_http2(ctx)
    return gate


def gate_tls(ctx):
    gate_http2(ctx)
    lode_probe(ctx, 'local fs = require "fs"; assert(require("http2").createSecureServer({ '
                    'key = fs.readFileSync("key.pem"), cert = fs.readFileSync("cert.pem") }))',
               "no TLS server in lode yet")


def gate_file(ctx):
    gate_http2(ctx)
    if not lua_defines(ctx, "respondWithFile"):
        raise Pending("no respondWithFile in lode yet")


def gate_file_tls(ctx):
    gate_tls(ctx)
    gate_file(ctx)


def gate_client(ctx):
    gate_built(ctx)
    lode_probe(ctx, 'assert(type(require("http2").connect) == "function")', "no http2.connect in lode yet")


def gate_anchor(*files):
    def gate(ctx):
        for f in files:
            if not os.path.exists(f):
                raise Failed(f"missing {os.path.relpath(f, REPO)}")
    return gate


def anchor(name):
    return os.path.join(ANCHORS, name)


def servers():
    tmp = lambda ctx: ctx["tmp"]  # noqa: E731
    www = lambda ctx: os.path.join(ctx["tmp"], "www")  # noqa: E731
    ex = lambda name: (lambda port, ctx: [LODE, os.path.join(REPO, "examples", name), str(port)])  # noqa: E731
    srv = lambda name: (lambda port, ctx: [LODE, os.path.join(BENCH, "servers", name), str(port)])  # noqa: E731
    node = lambda path: (lambda port, ctx: ["node", path, str(port)])  # noqa: E731
    return {s.id: s for s in [
        Server("lode", "lode", "lode", ex("http2_hello.lua"), gate=gate_example("http2_hello.lua")),
        Server("node-core", "Node core", "anchor", node(anchor("node-hello.js")),
               gate=gate_anchor(anchor("node-hello.js"))),
        Server("nghttpd", "nghttpd", "anchor",
               lambda port, ctx: ["nghttpd", "--no-tls", "-a", "127.0.0.1", "-d", www(ctx), str(port)]),
        Server("lua-http", "lua-http 0.4", "anchor",
               lambda port, ctx: ["lua5.3", anchor("luahttp-hello.lua"), str(port)],
               env={"LUA_PATH": LUAHTTP_PATH}, gate=gate_anchor(anchor("luahttp-hello.lua"))),
        Server("lode-compat", "lode compat", "lode", ex("http2_compat_hello.lua"),
               gate=gate_example("http2_compat_hello.lua")),
        Server("node-compat", "Node compat", "anchor", node(anchor("node-compat.js")),
               gate=gate_anchor(anchor("node-compat.js"))),
        Server("lode-tls", "lode TLS", "lode", srv("lode-tls-hello.lua"), cwd=tmp, gate=gate_tls),
        Server("node-tls", "Node TLS", "anchor", node(anchor("node-tls.js")), cwd=tmp,
               gate=gate_anchor(anchor("node-tls.js"))),
        Server("nghttpd-tls", "nghttpd TLS", "anchor",
               lambda port, ctx: ["nghttpd", "-a", "127.0.0.1", "-d", www(ctx), str(port),
                                  os.path.join(ctx["tmp"], "key.pem"), os.path.join(ctx["tmp"], "cert.pem")]),
        Server("lode-file", "lode", "lode", srv("lode-file.lua"), cwd=tmp, gate=gate_file),
        Server("node-file", "Node file", "anchor", node(anchor("node-file.js")), cwd=tmp,
               gate=gate_anchor(anchor("node-file.js"))),
        Server("lode-file-tls", "lode TLS", "lode", srv("lode-file-tls.lua"), cwd=tmp, gate=gate_file_tls),
        Server("node-file-tls", "Node TLS file", "anchor",
               node(os.path.join(BENCH, "servers", "node-file-tls.js")), cwd=tmp),
        Server("lode-upload", "lode", "lode", srv("lode-upload.lua"), gate=gate_example("http2_hello.lua")),
        Server("node-upload", "Node", "anchor", node(os.path.join(BENCH, "servers", "node-upload.js"))),
    ]}


# ----------------------------------------------------------------------------------------------
# Scenarios

def row(server, **extra):
    r = {"id": server.id, "label": server.label, "role": server.role, "status": "ok"}
    r.update(extra)
    return r


def run_rows(sc_id, server_list, ctx, measure):
    """Starts each server in turn, measures it, stops it. Failures become rows, never exceptions."""
    rows = []
    for s in server_list:
        running = None
        try:
            running = start(s, ctx, sc_id)
            r = row(s)
            measure(running, r)
            if not running.alive():
                raise Failed(running.died())
            rows.append(r)
        except Pending as e:
            rows.append(row(s, status="pending", reason=str(e)))
        except Failed as e:
            rows.append(row(s, status="failed", reason=str(e)))
        finally:
            if running:
                stop(running.proc)
        last = rows[-1]
        say(f"  [{sc_id}] {s.label}: " + (figure(ctx["scenario"], last) if last["status"] == "ok"
                                          else f"{last['status']}: {last.get('reason', '')}"))
    return rows


def h2load_measure(n, c, m, path, ctx, tls=False, extra=(), bytes_per_req=None, warmup=False, p99=False,
                   body_len=11, check=None):
    def measure(running, r):
        url = f"{'https' if tls else 'http'}://127.0.0.1:{running.port}{path}"
        if check:
            check(url)
        if warmup and ctx["load"]["warmup"]:
            h2load(["-n", str(max(10000, c * 10)), "-c", str(c), "-m", str(m), "-t", "1", *extra], url,
                   ctx["load"]["timeout"])
        log_file = os.path.join(ctx["tmp"], "h2load-requests.tsv") if p99 else None
        res = h2load(["-n", str(n), "-c", str(c), "-m", str(m), "-t", "1", *extra], url,
                     ctx["load"]["timeout"], log_file)
        if not running.alive():
            raise Failed(running.died())
        check_all_succeeded(res, n, body_len)
        r["req_s"] = res["req_s"]
        r["seconds"] = res["seconds"]
        r["requests"] = res["requests"]
        if "ttfb_conn_ms" in res:
            r["ttfb_conn_ms"] = res["ttfb_conn_ms"]
        if bytes_per_req:
            r["mb_s"] = n * bytes_per_req / res["seconds"] / 1e6
        if p99:
            r["p99_ms"] = percentile_from_log(log_file, 99)
            r["p50_ms"] = percentile_from_log(log_file, 50)
            os.unlink(log_file)
        r["rss_peak_mb"] = (proc_status(running.proc.pid, "VmHWM") or 0) / 1024.0
    return measure


def sc_hello(ctx, S):
    n = ctx["load"]["hello"]
    return run_rows("hello", [S["lode"], S["node-core"], S["nghttpd"], S["lua-http"]], ctx,
                    h2load_measure(n, 10, 100, "/index.html", ctx, warmup=True))


def sc_compat(ctx, S):
    n = ctx["load"]["hello"]
    return run_rows("compat", [S["lode-compat"], S["node-compat"]], ctx,
                    h2load_measure(n, 10, 100, "/index.html", ctx, warmup=True))


def sc_many(ctx, S):
    n = ctx["load"]["many"]
    return run_rows("many", [S["lode"], S["node-core"], S["nghttpd"]], ctx,
                    h2load_measure(n, 1000, 10, "/index.html", ctx, warmup=True, p99=True))


def sc_tls(ctx, S):
    n = ctx["load"]["tls"]
    return run_rows("tls", [S["lode-tls"], S["node-tls"], S["nghttpd-tls"]], ctx,
                    h2load_measure(n, 10, 100, "/index.html", ctx, tls=True, warmup=True))


def sc_file(ctx, S):
    L = ctx["load"]
    return run_rows("file", [S["lode-file"], S["node-file"], S["nghttpd"]], ctx,
                    h2load_measure(L["file_n"], 1, 1, "/big.bin", ctx, bytes_per_req=ctx["big_size"],
                                   body_len=ctx["big_size"]))


def sc_file_tls(ctx, S):
    L = ctx["load"]
    return run_rows("file-tls", [S["lode-file-tls"], S["node-file-tls"], S["nghttpd-tls"]], ctx,
                    h2load_measure(L["file_n"], 1, 1, "/big.bin", ctx, tls=True,
                                   bytes_per_req=ctx["big_size"], body_len=ctx["big_size"]))


def sc_upload(ctx, S):
    L = ctx["load"]
    big = os.path.join(ctx["tmp"], "www", "big.bin")
    size = str(ctx["big_size"])

    def check(url):
        """One upload by nghttp first: the sink must answer with the number of bytes it read."""
        try:
            r = subprocess.run(["nghttp", "-d", big, url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, errors="replace", timeout=ctx["load"]["timeout"])
        except subprocess.TimeoutExpired:
            raise Failed("a single upload by nghttp did not finish")
        if r.stdout.strip() != size:
            raise Failed(f"the sink answered {r.stdout.strip()[:80]!r} to a {size}-byte upload")
    return run_rows("upload", [S["lode-upload"], S["node-upload"]], ctx,
                    h2load_measure(L["upload_n"], 1, 1, "/upload", ctx, extra=("-d", big),
                                   bytes_per_req=ctx["big_size"], body_len=len(size), check=check))


def sc_client(ctx, S):
    n = ctx["load"]["client"]
    clients = [
        ("lode", "lode client", "lode", gate_client,
         lambda port: [LODE, os.path.join(BENCH, "client.lua"), str(n), str(port)]),
        ("node", "Node client", "anchor", gate_anchor(anchor("node-client.js")),
         lambda port: ["node", anchor("node-client.js"), str(n), str(port)]),
        ("h2load", "h2load (C)", "reference", None, None),
    ]
    rows = []
    running = None
    try:
        running = start(S["nghttpd"], ctx, "client")
    except (Failed, Pending) as e:
        return [{"id": c[0], "label": c[1], "role": c[2], "status": "failed",
                 "reason": f"nghttpd: {e}"} for c in clients]
    try:
        for cid, label, role, gate, argv in clients:
            r = {"id": cid, "label": label, "role": role, "status": "ok"}
            try:
                if gate:
                    gate(ctx)
                if argv is None:
                    res = h2load(["-n", str(n), "-c", "1", "-m", "100", "-t", "1"],
                                 f"http://127.0.0.1:{running.port}/index.html", ctx["load"]["timeout"])
                    check_all_succeeded(res, n, 11)
                    r["req_s"], r["seconds"] = res["req_s"], res["seconds"]
                else:
                    log = os.path.join(LOGS, f"client-{cid}.log")
                    p = spawn(argv(running.port), cwd=ctx["tmp"], log=log)
                    try:
                        p.wait(ctx["load"]["timeout"])
                    except subprocess.TimeoutExpired:
                        stop(p)
                        raise Failed(f"did not finish in {ctx['load']['timeout']} s: {log_tail(log)}")
                    text = open(log, errors="replace").read()
                    m = re.search(r"(\d+) requests in ([\d.]+) s = (\d+(?:\.\d+)?) req/s", text)
                    if p.returncode != 0 or not m:
                        raise Failed(f"exit {p.returncode}: {log_tail(log)}")
                    if int(m.group(1)) != n:
                        raise Failed(f"finished {m.group(1)} of {n} requests")
                    r["req_s"], r["seconds"] = float(m.group(3)), float(m.group(2))
            except Pending as e:
                r.update(status="pending", reason=str(e))
            except Failed as e:
                r.update(status="failed", reason=str(e))
            rows.append(r)
            say(f"  [client] {label}: " + (figure("client", r) if r["status"] == "ok"
                                           else f"{r['status']}: {r.get('reason', '')}"))
            if not running.alive():
                raise Failed(running.died())
    except Failed as e:
        rows += [{"id": c[0], "label": c[1], "role": c[2], "status": "failed", "reason": f"nghttpd: {e}"}
                 for c in clients[len(rows):]]
    finally:
        stop(running.proc)
    return rows


def sc_memory(ctx, S, results):
    """Peak RSS under the hello load: read off the hello scenario's servers."""
    hello = next((s for s in results if s["id"] == "hello"), None)
    rows = []
    for r in (hello["servers"] if hello else []):
        m = {k: r[k] for k in ("id", "label", "role", "status") if k in r}
        if r["status"] == "ok":
            m["rss_peak_mb"] = r.get("rss_peak_mb")
        else:
            m["reason"] = r.get("reason", "")
        rows.append(m)
    return rows


def sc_idle(ctx, S):
    n = ctx["load"]["idle"]

    def measure(running, r):
        time.sleep(0.5)
        before = proc_status(running.proc.pid, "VmRSS")
        log = os.path.join(LOGS, f"idle-opener-{running.server.id}.log")
        opener = spawn(["/usr/bin/python3", os.path.join(BENCH, "idle_conns.py"), str(n), str(running.port),
                        str(ctx["load"]["timeout"])],
                       log=log, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            line = opener.stdout.readline().decode().split()
            if len(line) != 3 or line[0] != "ready":
                raise Failed(f"opener: {log_tail(log)}")
            answered, closed = int(line[1]), int(line[2])
            if answered != n:
                raise Failed(f"only {answered} of {n} connections answered ({closed} closed)")
            time.sleep(1.0)
            if not running.alive():
                raise Failed(running.died())
            after = proc_status(running.proc.pid, "VmRSS")
            r["connections"] = n
            r["rss_before_mb"], r["rss_after_mb"] = before / 1024.0, after / 1024.0
            r["kb_per_conn"] = (after - before) / n
        finally:
            stop(opener)
    return run_rows("idle", [S["lode"], S["node-core"], S["nghttpd"]], ctx, measure)


def sc_startup(ctx, S):
    runs = ctx["load"]["startup_runs"]
    cmds = [("lode", "lode -e ''", "lode", gate_built, [LODE, "-e", ""]),
            ("node", "node -e ''", "anchor", None, ["node", "-e", ""]),
            ("lua5.4", "lua5.4 -e ''", "reference", None, ["lua5.4", "-e", ""])]
    rows = []
    for cid, label, role, gate, argv in cmds:
        r = {"id": cid, "label": label, "role": role, "status": "ok"}
        try:
            if gate:
                gate(ctx)
            walls, rss = [], []
            for i in range(runs + 2):               # two untimed runs warm the page cache
                t0 = time.perf_counter()
                try:
                    rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, cwd=ctx["tmp"]).returncode
                except OSError as e:
                    raise Failed(f"cannot start: {e.strerror}")
                wall = time.perf_counter() - t0
                if rc != 0:
                    raise Failed(f"exit {rc}")
                if i >= 2:
                    walls.append(wall * 1e3)
            # Peak RSS through GNU time: a child forked from this Python would report Python's own
            # RSS (Linux keeps the pre-exec high-water mark in ru_maxrss).
            for _ in range(3):
                t = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ctx["tmp"])
                last = (t.stderr.strip().splitlines() or [""])[-1]
                if t.returncode == 0 and last.isdigit():
                    rss.append(int(last) / 1024.0)
            r["wall_ms"] = statistics.median(walls)
            r["rss_mb"] = statistics.median(rss) if rss else None
            r["runs"] = runs
        except Pending as e:
            r.update(status="pending", reason=str(e))
        except Failed as e:
            r.update(status="failed", reason=str(e))
        rows.append(r)
        say(f"  [startup] {label}: " + (figure("startup", r) if r["status"] == "ok"
                                        else f"{r['status']}: {r.get('reason', '')}"))
    return rows


# id, title, load text (filled from the mode), main metric, runner, targets [(metric, anchor, op, factor)]
SCENARIOS = [
    ("hello", "hello, Core API, h2c", "h2load -n {hello} -c 10 -m 100 -t 1", "req_s", sc_hello,
     [("req_s", "node-core", ">=", 4), ("req_s", "nghttpd", ">=", 0.5)]),
    ("compat", "hello, compat API, h2c", "h2load -n {hello} -c 10 -m 100 -t 1", "req_s", sc_compat,
     [("req_s", "node-compat", ">=", 5)]),
    ("many", "many connections", "h2load -n {many} -c 1000 -m 10 -t 1", "req_s", sc_many,
     [("req_s", "node-core", ">=", 4), ("p99_ms", "nghttpd", "<=", 1.5)]),
    ("tls", "hello over TLS", "h2load -n {tls} -c 10 -m 100 -t 1, https", "req_s", sc_tls,
     [("req_s", "node-tls", ">=", 4), ("req_s", "nghttpd-tls", ">=", 0.4)]),
    ("file", "{file_mib} MiB respondWithFile, h2c", "h2load -n {file_n} -c 1 -m 1", "mb_s", sc_file,
     [("mb_s", "nghttpd", ">=", 0.75), ("mb_s", "node-file", ">=", 4)]),
    ("file-tls", "{file_mib} MiB file over TLS", "h2load -n {file_n} -c 1 -m 1, https", "mb_s", sc_file_tls,
     [("mb_s", "node-file-tls", ">=", 2), ("mb_s", "nghttpd-tls", ">=", 0.6)]),
    ("upload", "{file_mib} MiB upload into a sink", "h2load -n {upload_n} -c 1 -m 1 -d FILE", "mb_s",
     sc_upload, [("mb_s", "node-upload", ">=", 4)]),
    ("client", "client: GETs over one session", "{client} GETs, 100 in flight, against nghttpd", "req_s",
     sc_client, [("req_s", "node", ">=", 4)]),
    ("memory", "memory under the hello load", "peak RSS (VmHWM) in the hello scenario", "rss_peak_mb",
     sc_memory, [("rss_peak_mb", "node-core", "<=", 0.25)]),
    ("idle", "idle connections", "{idle} idle h2c connections, RSS growth", "kb_per_conn", sc_idle,
     [("kb_per_conn", "node-core", "<=", 0.25)]),
    ("startup", "start-up", "median wall time of {startup_runs} runs", "wall_ms", sc_startup,
     [("wall_ms", "node", "<=", 0.2)]),
]

METRIC_NAMES = {"req_s": "req/s", "mb_s": "MB/s", "p99_ms": "p99", "rss_peak_mb": "RSS",
                "kb_per_conn": "KB/conn", "wall_ms": "time"}


def figure(sc_id, r, full=True):
    if r.get("status") != "ok":
        return f"{r.get('status')}: {r.get('reason', '')}" if full else f"{r.get('status')} (see below)"
    if sc_id == "many":
        p99 = r.get("p99_ms")
        return f"{r['req_s']:,.0f} req/s, p99 " + (f"{p99:.1f} ms" if p99 is not None else "?")
    if sc_id in ("file", "file-tls", "upload"):
        return f"{r['mb_s']:,.0f} MB/s"
    if sc_id == "memory":
        return f"{r['rss_peak_mb']:.1f} MB"
    if sc_id == "idle":
        return f"{r['kb_per_conn']:.1f} KB/conn (+{r['rss_after_mb'] - r['rss_before_mb']:.0f} MB)"
    if sc_id == "startup":
        rss = f", {r['rss_mb']:.1f} MB" if r.get("rss_mb") is not None else ""
        return f"{r['wall_ms']:.1f} ms" + rss
    return f"{r['req_s']:,.0f} req/s"


def evaluate(sc):
    """Fills sc['targets'] with ratios and verdicts, and a ratio to every anchor row."""
    rows = {r["id"]: r for r in sc["servers"]}
    lode = next((r for r in sc["servers"] if r["role"] == "lode"), None)
    main = sc["metric"]
    for r in sc["servers"]:
        if r is lode or lode is None or lode["status"] != "ok" or r["status"] != "ok":
            continue
        if r.get(main) and lode.get(main) is not None:
            r["lode_ratio"] = lode[main] / r[main]
    out = []
    for metric, aid, op, factor in sc["target_specs"]:
        t = {"metric": metric, "anchor": aid, "op": op, "factor": factor}
        a = rows.get(aid)
        if lode is None or lode["status"] == "pending":
            t["verdict"] = "pending"
        elif lode["status"] == "failed":
            t["verdict"] = "failed"
        elif a is None or a["status"] != "ok" or not a.get(metric) or lode.get(metric) is None:
            t["verdict"] = "n/a"
        else:
            ratio = lode[metric] / a[metric]
            t["ratio"] = ratio
            t["verdict"] = "met" if (ratio >= factor if op == ">=" else ratio <= factor) else "not met"
        out.append(t)
    sc["targets"] = out


# ----------------------------------------------------------------------------------------------
# Output

def table_rows(results, full=True):
    """(scenario, server, figure, ratio, target, result) tuples, one per server row."""
    out = []
    for sc in results:
        first = True
        by_anchor = {}
        for t in sc["targets"]:
            by_anchor.setdefault(t["anchor"], []).append(t)
        for r in sc["servers"]:
            ts = by_anchor.get(r["id"], [])
            if r["role"] == "lode":
                ratio = "—"
                verdicts = [t["verdict"] for t in sc["targets"]]
                if r["status"] == "pending":
                    result = "pending"
                elif r["status"] == "failed":
                    result = "failed"
                elif verdicts:
                    met = sum(v == "met" for v in verdicts)
                    result = f"{met}/{len(verdicts)} met"
                else:
                    result = ""
                target = "—"
            else:
                ratios, targets, results_ = [], [], []
                for t in ts:
                    metric = METRIC_NAMES[t["metric"]]
                    op = "≥" if t["op"] == ">=" else "≤"
                    targets.append(f"{op} {t['factor']:g}× {metric}")
                    results_.append(t["verdict"])
                    if "ratio" in t:
                        ratios.append(f"{t['ratio']:.2f}×" + (f" {metric}" if t["metric"] != sc["metric"] else ""))
                if not ts and "lode_ratio" in r:
                    ratios.append(f"{r['lode_ratio']:.2f}×")
                ratio = ", ".join(ratios) or "—"
                target = ", ".join(targets) or "—"
                result = ", ".join(results_) or "—"
            out.append((sc["title"] if first else "", r["label"], figure(sc["id"], r, full), ratio, target, result))
            first = False
    return out


def print_table(results, meta):
    head = ("scenario", "server", "figure", "lode ÷ it", "target", "result")
    rows = table_rows(results, full=False)
    widths = [max(len(head[i]), *(len(x[i]) for x in rows)) for i in range(6)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    print()
    print(f"lode benchmark ({meta['mode']}), {meta['date']}, nproc {meta['nproc']}, "
          f"lode {meta['lode_commit']}, {meta['duration_s']:.0f} s")
    print(line(head))
    print(line(["-" * w for w in widths]))
    first = True
    for x in rows:
        if x[0] and not first:
            print()
        first = False
        print(line(x))
    reasons = {}
    for sc in results:
        for r in sc["servers"]:
            if r["status"] != "ok":
                key = (r["label"], r["status"], r.get("reason", ""))
                reasons.setdefault(key, []).append(sc["id"])
    if reasons:
        print("\nnot measured:")
        for (label, status, reason), where in reasons.items():
            print(f"  {label}: {status}: {reason}  [{', '.join(where)}]")


def markdown(results, meta):
    out = [f"Run of {meta['date']} ({meta['mode']} mode, {meta['duration_s']:.0f} s), `nproc` = {meta['nproc']}, "
           f"lode {meta['lode_commit']}.", "",
           "| scenario | load | server | figure | lode ÷ it | target | result |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    loads = {sc["title"]: sc["load"] for sc in results}
    for x in table_rows(results):
        cells = [x[0], loads.get(x[0], "") if x[0] else "", *x[1:]]
        out.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(out) + "\n"


def lode_figures(results):
    figs = {}
    for sc in results:
        for r in sc["servers"]:
            if r["role"] == "lode" and r["status"] == "ok" and r.get(sc["metric"]) is not None:
                figs[sc["id"]] = (r[sc["metric"]], METRIC_NAMES[sc["metric"]])
    return figs


def print_change(results, meta, previous):
    print()
    if not previous:
        print("change vs previous run: no previous run (bench/results/previous.json)")
        return
    note = "" if previous.get("mode") == meta["mode"] else \
        f" (previous was a {previous.get('mode')} run: absolute figures are not comparable)"
    now, before = lode_figures(results), lode_figures(previous.get("scenarios", []))
    print(f"change vs previous run of {previous.get('date', '?')}{note}:")
    if not now and not before:
        print("  no lode figures in either run")
        return
    ran = {sc["id"] for sc in results}
    for sid in sorted(set(now) | (set(before) & ran), key=[s[0] for s in SCENARIOS].index):
        if sid in now and sid in before:
            a, b = before[sid][0], now[sid][0]
            pct = (b - a) / a * 100 if a else float("nan")
            print(f"  {sid:9} {now[sid][1]:8} {a:12,.1f} -> {b:12,.1f}  ({pct:+.1f}%)")
        elif sid in now:
            print(f"  {sid:9} {now[sid][1]:8} {'—':>12} -> {now[sid][0]:12,.1f}  (new)")
        else:
            print(f"  {sid:9} {before[sid][1]:8} {before[sid][0]:12,.1f} -> {'—':>12}  (no figure now)")
    skipped = sorted(set(before) - ran)
    if skipped:
        print(f"  (not run this time: {', '.join(skipped)})")


# ----------------------------------------------------------------------------------------------
# Setup

def ensure_packages():
    missing = []
    for pkg, cmd in PACKAGES:
        if cmd and shutil.which(cmd):
            continue
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        if "install ok installed" not in r.stdout:
            missing.append(pkg)
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    say(f"installing {' '.join(missing)} ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
    r = subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                               "-o", "DPkg::Lock::Timeout=120", *missing], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        say(f"warning: apt-get install failed ({r.stderr.strip()[-200:]}); the rows needing them will fail")


def build_lode():
    """Builds build-bench/ (release). Returns None, or why lode cannot be benchmarked."""
    log = os.path.join(LOGS, "build.log")
    with open(log, "wb") as f:
        deps = os.path.join(REPO, "tools", "deps.sh")
        if os.access(deps, os.X_OK):
            subprocess.run([deps, "build"], stdout=f, stderr=f, cwd=REPO)
        try:
            if not os.path.exists(os.path.join(BUILD, "build.ninja")):
                say("configuring build-bench (release) ...")
                r = subprocess.run(["meson", "setup", BUILD, "--buildtype=release"], stdout=f, stderr=f,
                                   cwd=REPO)
                if r.returncode != 0:
                    return f"meson setup failed (bench/results/logs/build.log): {log_tail(log, 1)}"
            say("building build-bench ...")
            r = subprocess.run(["ninja", "-C", BUILD], stdout=f, stderr=f, cwd=REPO)
        except OSError as e:
            return f"cannot build: {e.filename}: {e.strerror}"
    if r.returncode != 0:
        errs = [x for x in open(log, errors="replace").read().splitlines() if "error" in x]
        return f"build failed (bench/results/logs/build.log): {(errs or ['?'])[0][:160]}"
    if not os.access(LODE, os.X_OK):
        return "build-bench/lode missing after the build"
    return None


def make_files(tmp, need_big, size):
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("hello world")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-keyout", os.path.join(tmp, "key.pem"), "-out", os.path.join(tmp, "cert.pem")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        say(f"warning: openssl could not make a key pair: {r.stderr.strip()[-200:]}")
    if need_big:
        chunk = 1 << 20
        with open(os.path.join(www, "big.bin"), "wb") as f:
            for _ in range(size // chunk):
                f.write(os.urandom(chunk))


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description="lode's side-by-side benchmark (bench/README.md)")
    ap.add_argument("--quick", action="store_true", help="smaller loads, one run each: under a minute")
    ap.add_argument("--only", help="comma-separated scenario ids: " + ",".join(s[0] for s in SCENARIOS))
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results/*.json")
    ap.add_argument("-q", "--silent", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args()
    VERBOSE = not args.silent
    mode = "quick" if args.quick else "full"
    load = LOADS[mode]
    chosen = [s[0] for s in SCENARIOS]
    if args.only:
        chosen = [x.strip() for x in args.only.split(",") if x.strip()]
        bad = [x for x in chosen if x not in [s[0] for s in SCENARIOS]]
        if bad:
            ap.error(f"unknown scenario {', '.join(bad)}")
        if "memory" in chosen and "hello" not in chosen:
            chosen.insert(0, "hello")

    t_start = time.monotonic()
    os.makedirs(LOGS, exist_ok=True)
    for name in os.listdir(LOGS):          # this run's logs only
        if name.endswith(".log"):
            os.unlink(os.path.join(LOGS, name))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))   # children inherit it (ulimit -n)
    if hard != resource.RLIM_INFINITY and hard < load["idle"] + 100:
        load = dict(load, idle=max(100, hard - 200))
        say(f"note: fd limit {hard}: idle connections lowered to {load['idle']}")

    ensure_packages()
    build_error = build_lode()
    if build_error:
        say(f"lode: {build_error}")

    tmp = tempfile.mkdtemp(prefix="lode-bench-")
    ctx = {"tmp": tmp, "load": load, "build_error": build_error, "big_size": load["file_mib"] << 20}
    results = []
    interrupted = False

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, on_term)      # also when started with SIGINT ignored (a background job)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    try:
        make_files(tmp, any(c in chosen for c in ("file", "file-tls", "upload")), ctx["big_size"])
        S = servers()
        for sid, title, load_text, metric, fn, targets in SCENARIOS:
            if sid not in chosen:
                continue
            say(f"{sid}: {load_text.format(**load)}")
            ctx["scenario"] = sid
            rows = fn(ctx, S, results) if sid == "memory" else fn(ctx, S)
            sc = {"id": sid, "title": title.format(**load), "load": load_text.format(**load), "metric": metric,
                  "servers": rows, "target_specs": targets}
            evaluate(sc)
            del sc["target_specs"]
            results.append(sc)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        left = leftovers()
        if left:
            say(f"warning: processes still running after cleanup: {' '.join(left)}")
    if interrupted:
        print("\ninterrupted: every server stopped, nothing saved", file=sys.stderr)
        return 130

    nproc = os.cpu_count()
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True).stdout.strip() or "?"
    except OSError:
        commit = "?"
    meta = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "mode": mode,
            "nproc": nproc, "lode_commit": commit, "duration_s": time.monotonic() - t_start,
            "loads": load, "uname": " ".join(os.uname()[2:3] + os.uname()[4:5])}
    print_table(results, meta)

    latest, previous_path = os.path.join(RESULTS, "latest.json"), os.path.join(RESULTS, "previous.json")
    previous = None
    if os.path.exists(latest):
        try:
            previous = json.load(open(latest))
        except (OSError, ValueError):
            previous = None
    print_change(results, meta, previous)
    if not args.no_save:
        if previous is not None:
            os.replace(latest, previous_path)
        with open(latest, "w") as f:
            json.dump(dict(meta, scenarios=results), f, indent=1)
            f.write("\n")
        with open(os.path.join(RESULTS, "latest.md"), "w") as f:
            f.write(markdown(results, meta))
        print(f"\nsaved bench/results/latest.json and latest.md"
              + (" (the run before is previous.json)" if previous is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
