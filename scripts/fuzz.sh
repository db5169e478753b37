#!/usr/bin/env bash
# Fuzzes request decoding, params and both handlers (fuzz/fuzz_targets/request.rs) for a given
# time, then prints the run's figures. Findings land in fuzz/artifacts/request/.
#
#   scripts/fuzz.sh [SECONDS]     (default 600)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p fuzz/corpus/request
# Seed the corpus with the bodies of the API Gateway events. The first byte picks the route: i
# is the i-th route by path (the fuzz target sorts the catalogue's the same way), one past the
# last a path of none.
python3 - <<'PY'
import base64, json, pathlib
corpus = pathlib.Path("fuzz/corpus/request")
events = [json.loads(f.read_text()) for f in sorted(pathlib.Path("events").glob("*.json"))]
routes = sorted({ev["rawPath"] for ev in events if ev["routeKey"] != "$default"})
for i, ev in enumerate(events):
    body = ev.get("body", "").encode()
    if ev.get("isBase64Encoded"):
        body = base64.b64decode(body)
    route = routes.index(ev["rawPath"]) if ev["routeKey"] != "$default" else len(routes)
    (corpus / f"event-{i}").write_bytes(bytes([route]) + body)
PY
# cargo-fuzz needs nightly-only flags; RUSTC_BOOTSTRAP lets this stable toolchain accept them.
# libFuzzer exits non-zero on a finding (a crash, a leak, a timeout): that fails this script,
# after the run's figures and the finding are printed.
status=0
RUSTC_BOOTSTRAP=1 cargo fuzz run request --sanitizer none -- -max_total_time="$seconds" -max_len=4096 \
  > fuzz/last-run.log 2>&1 || status=$?
grep -E "^#[0-9]+ +(DONE|pulse)|Done|SUMMARY|crash-|ERROR" fuzz/last-run.log || true
tail -n 5 fuzz/last-run.log
if [ "$status" -ne 0 ]; then
  echo "FAIL: the fuzzer stopped with status $status: a finding is in fuzz/artifacts/request/ (see fuzz/last-run.log)" >&2
fi
exit "$status"
