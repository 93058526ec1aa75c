#!/usr/bin/env python3
"""Boots the guest in headless Chromium and prints what the page reports.

usage: chromium-run.py [--append CMDLINE] [--initrd NAME] [--ws URL] [--stdin TEXT] [--boot DIR]
                       [--wasm FILE] [--timeout S]

Serves web/page/ (run.html, worker.js, wasi-host.js, ws-link.js), the
transport-neutral socket bridge of web/node/, the emulator and the boot
files (DIR/Image, DIR/NAME; default guest/build/test/boot, initrd.cpio) from a
loopback HTTP server with cross-origin isolation headers (so the Worker can
sleep with Atomics.wait), opens run.html?report=1 in Debian's headless
Chromium (tools/headless-chromium: /usr/bin/chromium or $C2W_CHROMIUM, fresh
profile, every host name mapped to 127.0.0.1) and waits for the page's POST
/result. With --ws the page connects to that WebSocket (c2w-net --listen-ws)
and the guest gets a network through it. Prints the guest console output,
exits with the guest's exit status (3 on a page error or timeout)."""
import argparse
import http.server
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GUEST = os.path.join(ROOT, "guest")
NODE = os.path.join(ROOT, "web", "node")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--append", default="console=hvc0 quiet -- /bin/echo hello from the browser")
    ap.add_argument("--initrd", default="initrd.cpio")
    ap.add_argument("--ws", default=None)
    ap.add_argument("--stdin", default=None, help="text typed into the guest's console once it reads")
    ap.add_argument("--boot", default=os.path.join(GUEST, "build/test/boot"))
    ap.add_argument("--wasm", default=os.path.join(GUEST, "emulator/build/wasm/c2w-emu.wasm"))
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()
    routes = {
        "/run.html": (os.path.join(HERE, "run.html"), "text/html; charset=utf-8"),
        "/worker.js": (os.path.join(HERE, "worker.js"), "text/javascript"),
        "/wasi-host.js": (os.path.join(HERE, "wasi-host.js"), "text/javascript"),
        "/ws-link.js": (os.path.join(HERE, "ws-link.js"), "text/javascript"),
        "/c2w-emu.wasm": (a.wasm, "application/wasm"),
        "/boot/Image": (os.path.join(a.boot, "Image"), "application/octet-stream"),
        "/boot/" + a.initrd: (os.path.join(a.boot, a.initrd), "application/octet-stream"),
    }
    for name in ("ring.mjs", "bridge-shared.mjs", "bridge-host.mjs", "wasi-socket.mjs"):
        routes["/node/" + name] = (os.path.join(NODE, name), "text/javascript")
    for path, _ in routes.values():
        if not os.path.isfile(path):
            sys.exit(f"chromium-run: missing {path} (run guest/test.sh first)")
    results = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def isolation_headers(self):
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cache-Control", "no-store")

        def do_GET(self):
            route = routes.get(urllib.parse.urlparse(self.path).path)
            if not route:
                self.send_error(404)
                return
            with open(route[0], "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Type", route[1])
            self.send_header("Content-Length", str(len(body)))
            self.isolation_headers()
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(min(n, 1 << 20)).decode("utf-8", "replace")
            self.send_response(204)
            self.end_headers()
            kv = {}
            for line in body.split("\n"):
                k, eq, v = line.partition("=")
                if eq:
                    kv[k] = v
            results.put(kv)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    query = {"report": "1", "append": a.append, "initrd": a.initrd}
    if a.ws:
        query["ws"] = a.ws
    if a.stdin is not None:
        query["stdin"] = a.stdin
    url = "http://127.0.0.1:%d/run.html?%s" % (srv.server_address[1], urllib.parse.urlencode(query))
    profile = tempfile.mkdtemp(prefix="c2w-chromium-")
    log = open(os.path.join(profile, "chromium.log"), "wb")
    proc = subprocess.Popen([os.path.join(GUEST, "..", "tools", "headless-chromium"), profile, url],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        r = results.get(timeout=a.timeout)
    except queue.Empty:
        r = {"error": json.dumps(f"no report from the page within {a.timeout:.0f} s")}
    finally:
        proc.kill()
        proc.wait()
        srv.shutdown()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
    if "error" in r:
        print("chromium-run: page error: " + json.loads(r["error"]), file=sys.stderr)
        return 3
    sys.stdout.write(json.loads(r.get("output", '""')))
    if r.get("isolated") != "true":
        print("chromium-run: page was not cross-origin isolated (the guest spins while idle)", file=sys.stderr)
    return int(r.get("exit", "3"))


if __name__ == "__main__":
    sys.exit(main())
