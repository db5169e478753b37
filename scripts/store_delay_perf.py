#!/usr/bin/env python3
"""Warm latency of the two routes when every store call costs a region's round trip.

Runs the release function binaries under the Lambda Runtime Interface Emulator (from .venv-sam)
against DynamoDB Local (scripts/dynamodb-local, a seeded table) through a proxy that holds every
call for a fixed delay before forwarding it, as the network to DynamoDB would. For each route
and each delay it prints, over the warm requests (after WARMUP not counted):

- calls: store calls per request (median; max in brackets: the once-a-minute session touch
  and outbox sweep)
- steps: sequential store steps per request (median, max): calls that reach the proxy while
  another call of the request is still held there share its step
- p50, p99: ms from the invocation sent to the RIE to its answer
- gap p50, >30 ms: ms from the invocation sent to the request's first call reaching the proxy,
  and how many requests waited more than 30 ms for it

and at the end each route's warm p50 at the delay minus at no delay, as a multiple of the delay
(issue 26's target: at most 2.3).

    scripts/store_delay_perf.py [--delay-ms 10] [--warm 200] [--warmup 50] [--binaries target/release]
                                [--proxy-nagle]

--binaries is where the release binaries are (clients-update, entities-create, planocore: it
creates and seeds the table); build them first (cargo build --release -p clients-update
-p entities-create -p planocore). --proxy-nagle leaves Nagle's algorithm on in the proxy, as
a plain Python proxy has it: its answers then go out in two writes (headers, then body), and
the second waits for the function's delayed ACK (the 40 ms stalls issue 26 asked about).
"""
import argparse
import base64
import http.client
import json
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True  # no __pycache__ in scripts/ for the import below
from lambda_perf import apigw_event, free_port, wait_port  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
RIE = next(ROOT.glob(".venv-sam/lib/python3*/site-packages/samcli/local/rapid/aws-lambda-rie-x86_64"), None)


def request(route, n):
    """A warm request of `route` that succeeds and writes, different each time."""
    if route == "clients-update":
        params = {"token": "demo-employee-token", "id": 100, "phone": f"303-555-{n % 10000:04d}"}
        body = base64.b64encode(json.dumps(params).encode()).decode()
        return apigw_event("PUT", "/api/v1/clients/update", body)
    token = "demo-app-token" if "application" in route else "demo-employee-token"
    slug = f"perf-{uuid.uuid4().hex[:12]}"
    params = {"token": token, "integration_id": 7, "entity_slug": slug, "email": f"{slug}@perf.example",
              "name": "Perf", "active": True,
              "address": {"street": "s", "city": "c", "state": "CO", "country": "US", "postal_code": "1"}}
    return apigw_event("POST", "/api/v1/entities/create", json.dumps(params))


ROUTES = {"clients-update": "clients-update", "entities-create (application)": "entities-create",
          "entities-create (employee)": "entities-create"}


class DelayProxy:
    """Plain HTTP in front of DynamoDB Local: holds each call `delay` seconds, then forwards it;
    notes when each call arrived and when its answer went back."""

    def __init__(self, upstream_port, nagle):
        self.delay = 0.0
        self.lock = threading.Lock()
        self.calls = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = not nagle

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                self.upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                arrived = time.perf_counter()
                time.sleep(proxy.delay)
                self.upstream.request("POST", self.path, body, dict(self.headers.items()))
                answer = self.upstream.getresponse()
                payload = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
                with proxy.lock:
                    proxy.calls.append((arrived, time.perf_counter(), operation))

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.handle_error = lambda request, address: None
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def calls_between(self, start, end):
        with self.lock:
            return sorted(c for c in self.calls if start <= c[0] < end)


def steps_of(calls):
    """The calls' operations by sequential step: a call that arrives while an earlier one is
    still held shares its step."""
    steps, busy_until = [], None
    for arrived, done, operation in calls:
        if busy_until is None or arrived >= busy_until:
            steps.append([operation])
            busy_until = done
        else:
            steps[-1].append(operation)
            busy_until = max(busy_until, done)
    return " | ".join(" + ".join(step) for step in steps)


class Function:
    """One release binary under the RIE, on free ports."""

    def __init__(self, binary, env):
        self.port = free_port()
        log = open(ROOT / "target" / f"store-delay-{pathlib.Path(binary).name}.log", "ab")
        self.proc = subprocess.Popen(
            [str(RIE), "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
             "--runtime-api-address", f"127.0.0.1:{free_port()}", str(pathlib.Path(binary).resolve())],
            env=env, stdout=log, stderr=log)
        wait_port(self.port)

    def invoke(self, event):
        url = f"http://127.0.0.1:{self.port}/2015-03-31/functions/function/invocations"
        req = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=30) as answer:
            return json.loads(json.loads(answer.read())["body"])["status"]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def measure(function, proxy, route, delay, warmup, warm):
    proxy.delay = delay
    for n in range(warmup):
        function.invoke(request(route, n))
    rows = []
    for n in range(warm):
        started = time.perf_counter()
        status = function.invoke(request(route, warmup + n))
        ended = time.perf_counter()
        if status != "action-successful":
            raise SystemExit(f"{route}: answer {n} was {status}")
        calls = proxy.calls_between(started, ended)
        gap = (calls[0][0] - started) * 1000 if calls else 0.0
        steps = steps_of(calls)
        rows.append(((ended - started) * 1000, len(calls), steps.count("|") + 1 if calls else 0, gap, steps))
    times = sorted(r[0] for r in rows)
    shapes = [r[4] for r in rows]
    return {
        "calls": statistics.median(r[1] for r in rows), "max_calls": max(r[1] for r in rows),
        "steps": statistics.median(r[2] for r in rows), "max_steps": max(r[2] for r in rows),
        "p50": times[len(times) // 2], "p99": times[int(len(times) * 0.99) - 1],
        "gap": statistics.median(r[3] for r in rows), "stalled": sum(r[3] > 30 for r in rows),
        "n": len(rows), "shape": max(set(shapes), key=shapes.count),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay-ms", type=float, default=10)
    ap.add_argument("--warm", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--binaries", default="target/release")
    ap.add_argument("--proxy-nagle", action="store_true")
    args = ap.parse_args()
    os.chdir(ROOT)
    if RIE is None:
        raise SystemExit("no Runtime Interface Emulator in .venv-sam (./scripts/test installs it)")
    binaries = pathlib.Path(args.binaries)
    ddb_port = free_port()
    ddb = subprocess.Popen(["scripts/dynamodb-local", str(ddb_port)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_port(ddb_port)
        env = dict(os.environ, DYNAMODB_ENDPOINT=f"http://127.0.0.1:{ddb_port}", AWS_REGION="us-east-1",
                   AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", TABLE_NAME=f"delay-{uuid.uuid4().hex[:8]}",
                   REGISTRY_CACHE_SECONDS="30", RUST_LOG="warn")
        planocore = str(binaries / "planocore")
        subprocess.run([planocore, "table", "create"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([planocore, "seed", "tools/planocore/demo-fixture.json"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proxy = DelayProxy(ddb_port, args.proxy_nagle)
        env["DYNAMODB_ENDPOINT"] = f"http://127.0.0.1:{proxy.port}"
        delays = [0.0, args.delay_ms]
        print(f"binaries: {binaries}; proxy: {'Nagle on' if args.proxy_nagle else 'TCP_NODELAY'}; "
              f"{args.warm} warm requests per row after {args.warmup}")
        print(f"{'route':<30}{'delay ms':>9}{'calls':>9}{'steps':>9}{'p50 ms':>9}{'p99 ms':>9}"
              f"{'gap p50':>9}{'>30 ms':>8}")
        results = {}
        for route, binary in ROUTES.items():
            function = Function(binaries / binary, env)
            try:
                for delay in delays:
                    r = measure(function, proxy, route, delay / 1000, args.warmup, args.warm)
                    results[(route, delay)] = r
                    print(f"{route:<30}{delay:>9.0f}{r['calls']:>6.0f} ({r['max_calls']}){r['steps']:>5.0f} ({r['max_steps']})"
                          f"{r['p50']:>9.1f}{r['p99']:>9.1f}{r['gap']:>9.1f}{r['stalled']:>5}/{r['n']}")
            finally:
                function.stop()
        delay = args.delay_ms
        for route in ROUTES:
            print(f"{route}: most requests at {delay:.0f} ms: {results[(route, delay)]['shape']}")
        for route in ROUTES:
            added = results[(route, delay)]["p50"] - results[(route, 0.0)]["p50"]
            print(f"{route}: warm p50 at {delay:.0f} ms per call is {added:.1f} ms more than at none "
                  f"= {added / delay:.2f} x the delay (target <= 2.3)")
    finally:
        ddb.kill()
        ddb.wait()


if __name__ == "__main__":
    main()
