#!/usr/bin/env python3
"""Start-up and steady-state figures of the three release function binaries.

Builds the release binaries, starts DynamoDB Local (scripts/dynamodb-local) with a seeded table,
and runs each function under a small Lambda Runtime API on loopback, as the Lambda service would
(its own, not the Runtime Interface Emulator: it times the function's first poll of /next, which
the emulator does not report):

- init: process start -> the function's first poll of /runtime/invocation/next
- first response: the first event handed over -> its response posted (cold: SDK connections)
- warm: median and p99 of the next WARM invocations
- peak RSS: VmHWM after those invocations (no password change among them)
- size: the stripped binary

Each figure is the median over COLD_STARTS fresh processes.

    scripts/lambda_perf.py [--cold-starts 5] [--warm 100] [--no-build]
"""
import argparse
import base64
import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = pathlib.Path(__file__).resolve().parent.parent
FUNCTIONS = ["clients-update", "entities-create", "route-fallback"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def apigw_event(method, path, body, base64_body=False):
    rid = str(uuid.uuid4())
    return {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"accountId": "123456789012", "apiId": "perf", "domainName": "perf.local",
                           "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": "perf"},
                           "requestId": rid, "routeKey": f"{method} {path}", "stage": "$default",
                           "time": "23/Nov/2026:12:00:00 +0000", "timeEpoch": 0},
        "body": body, "isBase64Encoded": base64_body,
    }


def event_for(function, n):
    """A request that succeeds and writes, different each time."""
    if function == "clients-update":
        params = {"token": "demo-employee-token", "id": 100, "phone": f"303-555-{n:04d}"}
        return apigw_event("PUT", "/api/v1/clients/update", base64.b64encode(json.dumps(params).encode()).decode())
    if function == "entities-create":
        slug = f"perf-{uuid.uuid4().hex[:12]}"
        params = {"token": "demo-app-token", "integration_id": 7, "entity_slug": slug, "email": f"{slug}@perf.example",
                  "name": "Perf", "active": True,
                  "address": {"street": "s", "city": "c", "state": "CO", "country": "US", "postal_code": "1"}}
        return apigw_event("POST", "/api/v1/entities/create", json.dumps(params))
    return apigw_event("GET", "/nowhere", None)


class RuntimeApi:
    """One event at a time: /next blocks until an event is queued; responses are timed."""

    def __init__(self):
        self.lock = threading.Condition()
        self.pending = []
        self.first_poll = None
        self.answers = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle's algorithm and
            # the client's delayed ACK add 40 ms to every invocation.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    self.send_error(404)
                    return
                with api.lock:
                    if api.first_poll is None:
                        api.first_poll = time.perf_counter()
                    while not api.pending:
                        api.lock.wait()
                    rid, event = api.pending.pop(0)
                body = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 15000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:perf")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                parts = self.path.split("/")
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if "invocation" in parts:
                    rid = parts[parts.index("invocation") + 1]
                    with api.lock:
                        api.answers[rid] = (time.perf_counter(), parts[-1], body)
                        api.lock.notify_all()

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        # A function killed between runs resets its connection: not worth a traceback.
        self.server.handle_error = lambda request, address: None
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event, timeout=30):
        rid = str(uuid.uuid4())
        with self.lock:
            start = time.perf_counter()
            self.pending.append((rid, event))
            self.lock.notify_all()
            end = time.time() + timeout
            while rid not in self.answers:
                if time.time() > end:
                    raise SystemExit("the function did not answer")
                self.lock.wait(0.5)
            at, kind, body = self.answers.pop(rid)
        if kind != "response":
            raise SystemExit(f"the function posted {kind}: {body[:200]!r}")
        status = json.loads(json.loads(body)["body"])["status"]
        return (at - start) * 1000, status

    def close(self):
        self.server.shutdown()


def peak_rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run_once(binary, function, env, warm):
    api = RuntimeApi()
    proc_env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.port}", AWS_LAMBDA_FUNCTION_NAME=function,
                    AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                    AWS_LAMBDA_LOG_STREAM_NAME="perf", AWS_LAMBDA_LOG_GROUP_NAME="perf", RUST_LOG="warn")
    # Each function's own log lines (warnings and errors) go to target/perf-<function>.log.
    started = time.perf_counter()
    log = open(f"target/perf-{function}.log", "ab")
    proc = subprocess.Popen([binary], env=proc_env, stdout=log, stderr=log)
    try:
        while api.first_poll is None:
            if proc.poll() is not None:
                raise SystemExit(f"{function} exited with {proc.returncode} before polling")
            time.sleep(0.0005)
        init_ms = (api.first_poll - started) * 1000
        first_ms, status = api.invoke(event_for(function, 0))
        expected = "route-non-existent" if function == "route-fallback" else "action-successful"
        if status != expected:
            raise SystemExit(f"{function}: first answer {status}")
        warm_ms = []
        for n in range(1, warm + 1):
            ms, status = api.invoke(event_for(function, n))
            if status != expected:
                raise SystemExit(f"{function}: answer {n} was {status}")
            warm_ms.append(ms)
        rss = peak_rss_kib(proc.pid)
        password_rss = None
        if function == "clients-update":
            # Reported apart: Argon2id's m=19456 KiB is the documented memory cost
            # (docs/api.md#clients-update-rules).
            params = {"token": "demo-employee-token", "id": 101, "password": "perf password 1"}
            body = base64.b64encode(json.dumps(params).encode()).decode()
            api.invoke(apigw_event("PUT", "/api/v1/clients/update", body))
            password_rss = peak_rss_kib(proc.pid)
    finally:
        proc.kill()
        proc.wait()
        api.close()
    warm_ms.sort()
    return init_ms, first_ms, statistics.median(warm_ms), warm_ms[int(len(warm_ms) * 0.99) - 1], rss, password_rss


def fresh_table(env):
    """A newly seeded table for each cold start: the demo sessions' times count from the seed."""
    env = dict(env, TABLE_NAME=f"perf-{uuid.uuid4().hex[:8]}")
    subprocess.run(["target/release/planocore", "table", "create"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["target/release/planocore", "seed", "tools/planocore/demo-fixture.json"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold-starts", type=int, default=5)
    ap.add_argument("--warm", type=int, default=100)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only", choices=FUNCTIONS, help="measure one function")
    args = ap.parse_args()
    os.chdir(ROOT)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "planocore"] + sum((["-p", f] for f in FUNCTIONS), []), check=True)
    ddb_port = free_port()
    ddb = subprocess.Popen(["scripts/dynamodb-local", str(ddb_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(ddb_port)
        base_env = dict(os.environ, DYNAMODB_ENDPOINT=f"http://127.0.0.1:{ddb_port}", AWS_REGION="us-east-1",
                        AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", REGISTRY_CACHE_SECONDS="30")
        print(f"{'function':<16} {'init ms':>8} {'1st resp ms':>12} {'warm p50 ms':>12} {'warm p99 ms':>12} {'peak RSS MiB':>12} {'size MB':>8}")
        for function in [args.only] if args.only else FUNCTIONS:
            binary = f"target/release/{function}"
            runs = [run_once(binary, function, fresh_table(base_env), args.warm) for _ in range(args.cold_starts)]
            med = [statistics.median(r[i] for r in runs) for i in range(5)]
            size = os.path.getsize(binary) / 1e6
            print(f"{function:<16} {med[0]:>8.1f} {med[1]:>12.1f} {med[2]:>12.2f} {med[3]:>12.2f} {med[4] / 1024:>12.1f} {size:>8.2f}")
            if runs[0][5] is not None:
                print(f"{'':<16} peak RSS after one more request, a password change: "
                      f"{statistics.median(r[5] for r in runs) / 1024:.1f} MiB")
            sys.stdout.flush()
    finally:
        ddb.kill()


if __name__ == "__main__":
    main()
