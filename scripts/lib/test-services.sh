# Sourced by scripts/test and scripts/repeat-tests: installs the test tools a fresh machine lacks
# and starts the emulators the tests run against, once for the whole run.
#
#   install_test_tools     moto (pinned, in .venv) and aws-sam-cli + cfn-lint (pinned, in .venv-sam;
#                          it ships the Lambda Runtime Interface Emulator), DynamoDB Local
#   start_test_services    DynamoDB Local and moto (Secrets Manager only) on free loopback ports;
#                          exports PLANOCORE_TEST_DYNAMODB_ENDPOINT, PLANOCORE_TEST_SECRETSMANAGER_ENDPOINT
#                          PLANOCORE_TEST_RIE and PLANOCORE_TEST_SAM_PYTHON; both are stopped when the calling script exits
#   step NAME CMD...       runs CMD and prints how long it took (the step timings of scripts/test)

MOTO_VERSION=5.2.5
# aws-sam-cli pins an older boto3 than moto needs, so it lives in a venv of its own.
SAM_VERSION=1.170.0
CFN_LINT_VERSION=1.58.0

install_test_tools() {
  if ! .venv/bin/python -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    echo "installing moto $MOTO_VERSION into .venv ..."
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  fi
  if ! { .venv-sam/bin/sam --version 2>/dev/null | grep -qx "SAM CLI, version $SAM_VERSION" &&
         .venv-sam/bin/cfn-lint --version 2>/dev/null | grep -qx "cfn-lint $CFN_LINT_VERSION"; }; then
    echo "installing aws-sam-cli $SAM_VERSION and cfn-lint $CFN_LINT_VERSION into .venv-sam ..."
    python3 -m venv .venv-sam
    .venv-sam/bin/pip install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_VERSION" "cfn-lint==$CFN_LINT_VERSION"
  fi
  scripts/dynamodb-local install > /dev/null
}

_free_port() { .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Waits until PORT accepts connections; fails with the service's log if PID stops first or after 60 s.
_wait_port() { # PORT PID NAME LOG
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || { echo "$3 stopped before it listened; its log:" >&2; cat "$4" >&2; exit 1; }
    sleep 0.2
  done
  echo "$3 did not listen on port $1 within 60 s; its log:" >&2; cat "$4" >&2; exit 1
}

_service_pids=()
_stop_services() { kill "${_service_pids[@]}" 2>/dev/null || true; }

start_test_services() {
  mkdir -p target
  trap _stop_services EXIT
  local started=$SECONDS port
  port=$(_free_port)
  scripts/dynamodb-local "$port" > target/dynamodb-local.log 2>&1 &
  _service_pids+=($!)
  _wait_port "$port" "${_service_pids[-1]}" "DynamoDB Local" target/dynamodb-local.log
  export PLANOCORE_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
  echo "DynamoDB Local on $PLANOCORE_TEST_DYNAMODB_ENDPOINT (ready after $((SECONDS - started)) s)"

  port=$(_free_port)
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" > target/moto.log 2>&1 &
  _service_pids+=($!)
  _wait_port "$port" "${_service_pids[-1]}" "moto" target/moto.log
  # moto loads a service's backend on its first request, which took over the tests' 7 s SDK
  # timeout on a loaded machine: one ListSecrets now, waited for, makes the tests' first call a
  # plain one.
  .venv/bin/python - "$port" <<'PY' || { echo "moto's Secrets Manager did not answer; its log:" >&2; cat target/moto.log >&2; exit 1; }
import sys, urllib.request
request = urllib.request.Request(
    f"http://127.0.0.1:{sys.argv[1]}/", data=b"{}", method="POST",
    headers={"X-Amz-Target": "secretsmanager.ListSecrets", "Content-Type": "application/x-amz-json-1.1",
             "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/secretsmanager/aws4_request"})
urllib.request.urlopen(request, timeout=120).read()
PY
  export PLANOCORE_TEST_SECRETSMANAGER_ENDPOINT="http://127.0.0.1:$port"
  echo "moto (Secrets Manager only) on $PLANOCORE_TEST_SECRETSMANAGER_ENDPOINT"

  PLANOCORE_TEST_RIE=$(echo "$PWD"/.venv-sam/lib/python3*/site-packages/samcli/local/rapid/aws-lambda-rie-x86_64)
  [ -x "$PLANOCORE_TEST_RIE" ] || { echo "no Runtime Interface Emulator in .venv-sam ($PLANOCORE_TEST_RIE)" >&2; exit 1; }
  export PLANOCORE_TEST_RIE
  echo "Runtime Interface Emulator: $PLANOCORE_TEST_RIE"
  # The template tests transform template.yaml with samtranslator (scripts/sam-transform.py).
  export PLANOCORE_TEST_SAM_PYTHON="$PWD/.venv-sam/bin/python"
}

_step_times=()
step() { # NAME CMD...
  local name=$1 started=$SECONDS
  shift
  echo "== $name"
  "$@"
  _step_times+=("$(printf '%6d s  %s' $((SECONDS - started)) "$name")")
}

print_step_times() {
  echo "step times:"
  printf '  %s\n' "${_step_times[@]}"
}
