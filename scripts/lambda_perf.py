#!/usr/bin/env python3
"""Start-up and steady-state figures of the three release function binaries.

Builds the release binaries, starts DynamoDB Local (scripts/dynamodb-local) with a seeded table,
and runs each function under a small Lambda Runtime API on loopback, as the Lambda service would
(its own, not the Runtime Interface Emulator: it times the function's first poll of /next, which
the emulator does not report). The functions reach DynamoDB Local over HTTPS, as they reach
DynamoDB in AWS: through stunnel (Debian's stunnel4, installed when missing and root) with a
throwaway certificate authority that they trust through SSL_CERT_FILE (the system bundle plus that
CA, the setting they read in production), so every TLS handshake is in the figures. Between
stunnel and DynamoDB Local a relay counts the store calls and connections; in front of stunnel a
pass-through notes when each connection starts.

- init: process start -> the function's first connection to the Runtime API, to poll
  /runtime/invocation/next; "CPU": the CPU time its threads ran until then; of it "own":
  process start -> its first connection to the store (or the first poll if none), "TLS": that
  connection -> its first call reaching DynamoDB Local (the handshake), "store": DynamoDB Local
- first response: the first event handed over -> its response posted
- warm: median and p99 of the next WARM invocations
- peak RSS: VmHWM after those invocations (no password change among them)
- size: the stripped binary
- store calls, new connections (TLS handshakes) and the time spent in DynamoDB Local ("store")
  during init, the first request and the warm ones

Each figure is the median over COLD_STARTS fresh processes, after one more not counted.

    scripts/lambda_perf.py [--cold-starts 5] [--warm 100] [--no-build] [--only FUNCTION]

CARGO_TARGET_DIR, when set, is where the binaries are built and looked for.
"""
import argparse
import base64
import http.client
import json
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
from template_functions import functions  # noqa: E402 (after the path it is found on)

# The API's functions, as template.yaml declares them.
FUNCTIONS = [binary for _, binary in functions(api_only=True)]
# Deployed too, but run by CloudFormation, not API Gateway: only its size is measured here (its
# behaviour is tested under the Runtime Interface Emulator, functions/registry-sync/tests).
SIZE_ONLY = [binary for _, binary in functions() if binary not in FUNCTIONS]
MAX_BINARY_BYTES = 7_000_000
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


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
    if function == "route-fallback":
        return apigw_event("GET", "/nowhere", None)
    sys.exit(f"scripts/lambda_perf.py: no request for {function}: add one to event_for")


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 without a log line per request."""
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's algorithm and the
    # client's delayed ACK add 40 ms to every exchange.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass


def serve_in_background(handler):
    """A threaded server for handler on a free loopback port: (server, port)."""
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    # A function killed between runs resets its connections: not worth a traceback.
    server.handle_error = lambda request, address: None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


class RuntimeApi:
    """One event at a time: /next blocks until an event is queued; responses are timed."""

    def __init__(self):
        self.lock = threading.Condition()
        self.pending = []
        self.first_poll = None
        self.polled = threading.Event()
        self.answers = {}
        api = self

        class Handler(QuietHandler):
            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    self.send_error(404)
                    return
                with api.lock:
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

        self.server, self.port = serve_in_background(Handler)

        def note_first_connection(request, address):
            # Called as each connection is accepted, before the server hands it to a thread and
            # parses it: the function's first is made to poll /next, so init ends here.
            with api.lock:
                if api.first_poll is None:
                    api.first_poll = time.perf_counter()
                    api.polled.set()
            return True

        self.server.verify_request = note_first_connection

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


class StoreRelay:
    """Plain HTTP between stunnel and DynamoDB Local: forwards each call, noting when it came and
    each connection stunnel opens (one per TLS connection a function opens)."""

    def __init__(self, upstream_port):
        self.lock = threading.Lock()
        self.calls = []
        self.connections = []
        relay = self

        class Handler(QuietHandler):
            def setup(self):
                super().setup()
                with relay.lock:
                    relay.connections.append(time.perf_counter())
                self.upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                started = time.perf_counter()
                self.upstream.request("POST", self.path, body, dict(self.headers.items()))
                answer = self.upstream.getresponse()
                payload = answer.read()
                with relay.lock:
                    relay.calls.append((started, time.perf_counter() - started))
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server, self.port = serve_in_background(Handler)

    def first_call_after(self, start):
        """When the first call after start reached the relay (TLS handshake done), or None."""
        with self.lock:
            return min((at for at, _ in self.calls if at >= start), default=None)

    def counts_between(self, start, end):
        """(store calls, new connections, ms DynamoDB Local took for those calls) from start to end."""
        with self.lock:
            calls = [took for at, took in self.calls if start <= at < end]
            return len(calls), sum(start <= t < end for t in self.connections), sum(calls) * 1000


class Doorway:
    """A TCP pass-through in front of stunnel that notes when each connection arrives: the moment
    a function starts connecting to the store, before its TLS handshake."""

    def __init__(self, upstream_port):
        self.accepted = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.serve, args=(upstream_port,), daemon=True).start()

    def serve(self, upstream_port):
        while True:
            client, _ = self.listener.accept()
            with self.lock:
                self.accepted.append(time.perf_counter())
            upstream = socket.create_connection(("127.0.0.1", upstream_port))
            for a, b in ((client, upstream), (upstream, client)):
                a.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def first_after(self, start, end):
        with self.lock:
            return min((at for at in self.accepted if start <= at < end), default=None)


def stunnel_binary():
    found = shutil.which("stunnel4") or shutil.which("stunnel")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("lambda_perf: installing stunnel4 ...", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "stunnel4"], check=True, stdout=subprocess.DEVNULL)
        return shutil.which("stunnel4")
    raise SystemExit("lambda_perf: needs stunnel4 (apt-get install stunnel4)")


def throwaway_ca(folder):
    """A CA made for this run and a certificate for 127.0.0.1 signed by it (openssl). Returns the
    bundle the functions trust (the system's plus this CA), the server certificate and key."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    quiet = dict(check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "1",
                    "-subj", "/CN=lambda_perf CA", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign"], **quiet)
    subprocess.run(["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"], **quiet)
    extensions = folder / "server.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                    "-out", cert, "-days", "1", "-extfile", extensions], **quiet)
    bundle = folder / "bundle.pem"
    system = pathlib.Path(SYSTEM_BUNDLE).read_text() if pathlib.Path(SYSTEM_BUNDLE).exists() else ""
    bundle.write_text(system + ca.read_text())
    return bundle, cert, key


def start_tls_terminator(folder, cert, key, upstream_port):
    """stunnel on a free port, TLS in front of upstream_port; returns (process, port)."""
    port = free_port()
    config = folder / "stunnel.conf"
    config.write_text(f"foreground = yes\npid =\n[dynamodb]\naccept = 127.0.0.1:{port}\n"
                      f"connect = 127.0.0.1:{upstream_port}\ncert = {cert}\nkey = {key}\n")
    proc = subprocess.Popen([stunnel_binary(), str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, port


def cpu_ms(pid):
    """CPU time the process's threads have run so far, in ms (/proc/PID/task/*/schedstat: ns)."""
    total = 0
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended meanwhile
    return total / 1e6


def peak_rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run_once(binary, function, env, warm, relay, doorway):
    api = RuntimeApi()
    proc_env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.port}", AWS_LAMBDA_FUNCTION_NAME=function,
                    AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                    AWS_LAMBDA_LOG_STREAM_NAME="perf", AWS_LAMBDA_LOG_GROUP_NAME="perf", RUST_LOG="warn")
    # Each function's own log lines (warnings and errors) go to target/perf-<function>.log.
    started = time.perf_counter()
    log = open(f"target/perf-{function}.log", "ab")
    proc = subprocess.Popen([binary], env=proc_env, stdout=log, stderr=log)
    try:
        # Blocked, not polling: on two cores a waking harness takes CPU from the function's init.
        while not api.polled.wait(0.05):
            if proc.poll() is not None:
                raise SystemExit(f"{function} exited with {proc.returncode} before polling")
        init_ms = (api.first_poll - started) * 1000
        # The function is blocked on /next now: its CPU time so far is all of init's.
        init_cpu_ms = cpu_ms(proc.pid)
        expected = "route-non-existent" if function == "route-fallback" else "action-successful"

        def timed(n):
            """One invocation: (ms to its answer, (store calls, new connections, store ms))."""
            before = time.perf_counter()
            ms, status = api.invoke(event_for(function, n))
            if status != expected:
                raise SystemExit(f"{function}: answer {n} was {status}")
            return ms, relay.counts_between(before, time.perf_counter())

        init_store = relay.counts_between(started, api.first_poll)
        # The function's own init: to its first connection to the store, or all of it if none;
        # then the TLS handshake, to its first call reaching the store.
        connecting = doorway.first_after(started, api.first_poll)
        own_init_ms = ((connecting or api.first_poll) - started) * 1000
        first_call = relay.first_call_after(started)
        handshake_ms = (first_call - connecting) * 1000 if connecting and first_call else 0.0
        first_ms, first_store = timed(0)
        warm = sorted((timed(n) for n in range(1, warm + 1)), key=lambda w: w[0])
        rss = peak_rss_kib(proc.pid)
        password_rss = password_ms = None
        if function == "clients-update":
            # Reported apart: Argon2id's m=19456 KiB is the documented memory cost
            # (docs/api.md#clients-update-rules).
            params = {"token": "demo-employee-token", "id": 101, "password": "perf password 1"}
            body = base64.b64encode(json.dumps(params).encode()).decode()
            password_ms, _ = api.invoke(apigw_event("PUT", "/api/v1/clients/update", body))
            password_rss = peak_rss_kib(proc.pid)
    finally:
        proc.kill()
        proc.wait()
        api.close()
    return {
        "init": init_ms, "init_cpu": init_cpu_ms, "own_init": own_init_ms, "handshake": handshake_ms, "init_store": init_store[2], "init_calls": init_store[0], "init_connections": init_store[1],
        "first": first_ms, "first_store": first_store[2], "first_calls": first_store[0],
        "first_connections": first_store[1],
        "warm": warm[len(warm) // 2][0], "warm_store": statistics.median(w[1][2] for w in warm),
        "warm_calls": statistics.median(w[1][0] for w in warm),
        "warm_p99": warm[int(len(warm) * 0.99) - 1][0], "rss": rss / 1024,
        "password_rss": password_rss and password_rss / 1024, "password_ms": password_ms,
    }


def fresh_table(env):
    """A newly seeded table for each cold start: the demo sessions' times count from the seed."""
    env = dict(env, TABLE_NAME=f"perf-{uuid.uuid4().hex[:8]}")
    planocore = f"{release_dir()}/planocore"
    subprocess.run([planocore, "table", "create"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([planocore, "seed", "tools/planocore/demo-fixture.json"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return env


def release_dir():
    return f"{os.environ.get('CARGO_TARGET_DIR', 'target')}/release"


def over_budget(function, median, size):
    """The budgets of docs/performance.md#figures-and-budgets this function misses, as text."""
    checks = [
        (median("own_init") <= 8, f"its own init (before connecting) {median('own_init'):.1f} ms > 8 ms"),
        (median("rss") <= 12, f"peak RSS {median('rss'):.1f} MiB > 12 MiB"),
        (size <= MAX_BINARY_BYTES, f"binary {size / 1e6:.2f} MB > 7 MB"),
        (median("first_connections") == 0, "the first request opened a connection"),
        (median("first_calls") <= median("warm_calls"), "the first request made more store calls than a warm one"),
    ]
    return [f"{function}: {text}" for kept, text in checks if not kept]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold-starts", type=int, default=5)
    ap.add_argument("--warm", type=int, default=100)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only", choices=FUNCTIONS, help="measure one function")
    args = ap.parse_args()
    os.chdir(ROOT)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "planocore"] + sum((["-p", f] for f in FUNCTIONS + SIZE_ONLY), []), check=True)
    ddb_port = free_port()
    ddb = subprocess.Popen(["scripts/dynamodb-local", str(ddb_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stunnel = None
    try:
        wait_port(ddb_port)
        relay = StoreRelay(ddb_port)
        tls = ROOT / release_dir() / "perf-tls"
        bundle, cert, key = throwaway_ca(tls)
        stunnel, stunnel_port = start_tls_terminator(tls, cert, key, relay.port)
        doorway = Doorway(stunnel_port)
        tls_port = doorway.port
        local = dict(os.environ, DYNAMODB_ENDPOINT=f"http://127.0.0.1:{ddb_port}", AWS_REGION="us-east-1",
                     AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", REGISTRY_CACHE_SECONDS="30")
        columns = [("init", "init ms", ".1f"), ("init_cpu", "CPU", ".1f"), ("own_init", "own", ".1f"), ("handshake", "TLS", ".1f"), ("init_store", "store", ".1f"), ("init_calls", "calls", ".0f"),
                   ("init_connections", "TLS conn", ".0f"),
                   ("first", "1st answer ms", ".1f"), ("first_store", "store", ".1f"),
                   ("first_calls", "calls", ".0f"), ("first_connections", "TLS conn", ".0f"),
                   ("warm", "warm p50 ms", ".2f"), ("warm_store", "store", ".2f"), ("warm_calls", "calls", ".0f"),
                   ("warm_p99", "warm p99", ".2f"),
                   ("rss", "peak RSS MiB", ".1f")]
        print(f"{'function':<16}" + "".join(f"{title:>14}" for _, title, _ in columns) + f"{'size MB':>10}")
        over = []
        functions = [args.only] if args.only else FUNCTIONS
        # Every table is seeded first, and each function's first run is not counted: it gives
        # DynamoDB Local's JVM the time and the requests to finish compiling the paths the
        # functions use. Seeded just before a cold start, the JVM would still be busy on one of
        # the two cores while the function started. (Seeded directly; the functions themselves
        # go through TLS and the relay.)
        envs = {f: [dict(fresh_table(local), DYNAMODB_ENDPOINT=f"https://127.0.0.1:{tls_port}", SSL_CERT_FILE=str(bundle))
                    for _ in range(args.cold_starts + 1)] for f in functions}
        runs = {f: [run_once(f"{release_dir()}/{f}", f, env, args.warm, relay, doorway) for env in envs[f]][1:]
                for f in functions}
        for function in functions:
            binary = f"{release_dir()}/{function}"
            median = lambda key: statistics.median(r[key] for r in runs[function])
            print(f"{function:<16}" + "".join(f"{median(key):>14{form}}" for key, _, form in columns)
                  + f"{os.path.getsize(binary) / 1e6:>10.2f}")
            if runs[function][0]["password_rss"] is not None:
                print(f"{'':<16} one more request, a password change (Argon2id): {median('password_ms'):.1f} ms, "
                      f"peak RSS after it {median('password_rss'):.1f} MiB")
            over += over_budget(function, median, os.path.getsize(binary))
        for function in SIZE_ONLY:
            size = os.path.getsize(f"{release_dir()}/{function}")
            print(f"{function:<16} size {size / 1e6:.2f} MB")
            if size > MAX_BINARY_BYTES:
                over.append(f"{function}: binary {size / 1e6:.2f} MB > 7 MB")
        print("budgets: " + ("; ".join(over) if over else "all kept"))
        if over:
            sys.exit(1)
    finally:
        if stunnel:
            stunnel.kill()
        ddb.kill()
        ddb.wait()


if __name__ == "__main__":
    main()
