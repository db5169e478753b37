#!/usr/bin/env python3
"""Reads back every write the load run saw acknowledged, through the API itself.

client ID PHONE: an update with no fields returns the record; its phone must be PHONE.
entity ID SLUG: creating SLUG again must be refused on both entity_slug and email (the entity,
its slug and its email are one atomic write), and ids must be distinct.
The run itself (wrk.txt) fails the check when no write was acknowledged, or when more than
LOAD_MAX_ERROR_RATE (default 0.01) of its requests got no answer or a non-200 one.
A read that fails (the server still busy with the run's backlog) is retried; one that never
succeeds is counted as unreadable, apart from lost. Exits non-zero if any write was lost or
could not be read.
"""
import base64
import glob
import json
import os
import re
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

base, out_dir = sys.argv[1], sys.argv[2]


def call(method, path, body):
    req = urllib.request.Request(base + path, data=body.encode(), method=method,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        return json.load(e)


def check(line):
    """True: read back; False: lost; None: could not be read."""
    for _ in range(10):
        try:
            result = check_once(line)
        except OSError:
            result = None
        if result is not None:
            return result
        time.sleep(2)
    return None


def check_once(line):
    kind, ident, value = line.split()
    if kind == "client":
        body = json.dumps({"token": "load-employee-token", "id": int(ident)})
        r = call("PUT", "/api/v1/clients/update", base64.b64encode(body.encode()).decode())
        if r["status"] != "action-successful":
            return None
        return r["data"]["phone"] == value
    body = json.dumps({"token": "load-employee-token", "integration_id": 7, "entity_slug": value,
                       "email": value + "@load.example", "name": "again", "active": True,
                       "address": {"street": "s", "city": "c", "state": "CO", "country": "US", "postal_code": "1"}})
    r = call("POST", "/api/v1/entities/create", body)
    if r["status"] == "application-crash":
        return None
    return r["status"] == "invalid-param" and [e["param"] for e in r["errors"]] == ["entity_slug", "email"]


def run_errors(wrk_text):
    """(requests, failed): wrk's count, and its non-2xx answers plus socket errors."""
    total = int(re.search(r"(\d+) requests in", wrk_text).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk_text)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", wrk_text)
    failed = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return total, failed


lines = [l for f in glob.glob(out_dir + "/acked-*.txt") for l in open(f) if l.strip()]
entity_ids = [l.split()[1] for l in lines if l.startswith("entity ")]
with ThreadPoolExecutor(16) as pool:
    results = list(pool.map(check, lines))
lost, unreadable = results.count(False), results.count(None)
dup_ids = len(entity_ids) - len(set(entity_ids))
print(f"acknowledged writes: {len(lines)} ({len(entity_ids)} creates, {len(lines) - len(entity_ids)} updates)")
print(f"read back: {results.count(True)}; lost: {lost}; unreadable: {unreadable}; repeated entity ids: {dup_ids}")
total, failed = run_errors(open(out_dir + "/wrk.txt").read())
max_rate = float(os.environ.get("LOAD_MAX_ERROR_RATE", "0.01"))
rate = failed / total if total else 1.0
print(f"requests: {total}; failed: {failed} ({rate:.2%}, threshold {max_rate:.2%})")
problems = []
if not lines:
    problems.append("no write was acknowledged")
if rate > max_rate:
    problems.append(f"error rate {rate:.2%} over {max_rate:.2%}")
if lost or unreadable or dup_ids:
    problems.append("writes lost, unreadable or repeated")
for p in problems:
    print("FAIL:", p)
sys.exit(1 if problems else 0)
