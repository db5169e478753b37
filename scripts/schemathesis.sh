#!/usr/bin/env bash
# Schemathesis against `planocore serve` (memory store, demo fixture) from docs/openapi.yaml.
#
# Bounded: SCHEMATHESIS_MAX_EXAMPLES test cases per operation and phase (default 300), and the
# whole run is stopped after SCHEMATHESIS_TIMEOUT seconds (default 300), which fails it. Checks
# (scripts/schemathesis.toml): every response conforms to the spec (status code, content type,
# headers, body schema), no server error, and each operation succeeded at least once. Exits
# non-zero on any failure. Installs the pinned Schemathesis into .venv-schemathesis on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-300}"
TIME_LIMIT="${SCHEMATHESIS_TIMEOUT:-300}"
VENV=.venv-schemathesis

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV ..."
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --locked -p planocore
out=target/schemathesis
rm -rf "$out"
mkdir -p "$out"

port=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target/debug/planocore serve --addr "127.0.0.1:$port" > "$out/serve.log" 2>&1 &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  if grep -q "listening on" "$out/serve.log"; then break; fi
  if ! kill -0 "$serve_pid" 2>/dev/null; then
    echo "planocore serve exited:" >&2
    cat "$out/serve.log" >&2
    exit 1
  fi
  sleep 0.2
done
grep -q "listening on" "$out/serve.log" || { echo "planocore serve did not start" >&2; exit 1; }
echo "schemathesis $SCHEMATHESIS_VERSION against planocore serve on 127.0.0.1:$port" \
  "(at most $MAX_EXAMPLES examples per operation and phase, ${TIME_LIMIT}s)"

seed_args=()
if [ -n "${SCHEMATHESIS_SEED:-}" ]; then seed_args=(--seed "$SCHEMATHESIS_SEED"); fi

started=$SECONDS
status=0
PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}" \
SCHEMATHESIS_HOOKS=schemathesis_hooks \
SCHEMATHESIS_STATUS_FILE="$out/statuses.json" \
HYPOTHESIS_STORAGE_DIRECTORY="$out/hypothesis" \
  timeout --kill-after=10 "$TIME_LIMIT" \
  "$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml --no-color run docs/openapi.yaml \
    --url "http://127.0.0.1:$port" \
    --phases examples,coverage,fuzzing \
    --max-examples "$MAX_EXAMPLES" \
    --workers 2 \
    --request-timeout 15 \
    --report junit --report-dir "$out" \
    "${seed_args[@]}" \
  || status=$?
echo "schemathesis took $((SECONDS - started))s"
if [ -f "$out/statuses.json" ]; then
  echo "statuses answered per operation (distinct test cases):"
  cat "$out/statuses.json"
fi
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "schemathesis did not finish within ${TIME_LIMIT}s" >&2
fi
if ! kill -0 "$serve_pid" 2>/dev/null; then
  echo "planocore serve died during the run:" >&2
  tail -n 50 "$out/serve.log" >&2
  status=1
fi
if grep -q '"handler panicked"\|panicked at' "$out/serve.log"; then
  echo "planocore serve logged a panic:" >&2
  grep -m 5 '"handler panicked"\|panicked at' "$out/serve.log" >&2
  status=1
fi
exit "$status"
