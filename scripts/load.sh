#!/usr/bin/env bash
# Load run: wrk with 64 connections for 30 s against `planocore serve`, on the memory store and
# on DynamoDB Local (AWS's emulator, scripts/dynamodb-local), mixing Clients Updates and Entities
# Creates; then every write that was acknowledged is read back through the API
# (scripts/load/verify.py). Fails when a write was lost, when none was acknowledged, or when more
# than LOAD_MAX_ERROR_RATE (default 0.01) of the requests failed.
#
#   scripts/load.sh [memory|dynamodb ...]      (default: both; DURATION, CONNECTIONS override)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30s}
CONNECTIONS=${CONNECTIONS:-64}
stores=("${@:-memory dynamodb}")
stores=(${stores[*]})

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -p planocore
bin=target/release/planocore
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; return 1; }

for store in "${stores[@]}"; do
  out="$work/$store"; mkdir -p "$out"
  port=$(free_port)
  first_client=1000
  case "$store" in
    memory)
      clients=200000
      python3 scripts/load/fixture.py "$clients" "$first_client" > "$out/fixture.json"
      RUST_LOG=warn "$bin" serve --addr "127.0.0.1:$port" --seed "$out/fixture.json" > "$out/serve.log" 2>&1 &
      pids+=($!) ;;
    dynamodb)
      clients=5000
      python3 scripts/load/fixture.py "$clients" "$first_client" > "$out/fixture.json"
      ddb_port=$(free_port)
      scripts/dynamodb-local "$ddb_port" > "$out/dynamodb-local.log" 2>&1 &
      pids+=($!)
      wait_port "$ddb_port" || { cat "$out/dynamodb-local.log" >&2; exit 1; }
      export DYNAMODB_ENDPOINT="http://127.0.0.1:$ddb_port" TABLE_NAME="load-$$"
      "$bin" table create > /dev/null
      echo "seeding $clients clients into DynamoDB Local ..."
      RUST_LOG=warn "$bin" seed "$out/fixture.json" > /dev/null
      RUST_LOG=warn "$bin" serve --addr "127.0.0.1:$port" --store dynamodb > "$out/serve.log" 2>&1 &
      pids+=($!) ;;
    *) echo "unknown store $store" >&2; exit 2 ;;
  esac
  wait_port "$port"
  echo "== $store store: $CONNECTIONS connections for $DURATION"
  LOAD_THREADS=2 LOAD_CLIENTS=$clients LOAD_FIRST_CLIENT=$first_client LOAD_OUT="$out" \
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency -s scripts/load/load.lua "http://127.0.0.1:$port" | tee "$out/wrk.txt"
  python3 scripts/load/verify.py "http://127.0.0.1:$port" "$out"
  kill "${pids[@]}" 2>/dev/null || true
  pids=()
  unset DYNAMODB_ENDPOINT TABLE_NAME
done
