//! The DynamoDB commands of `planocore` against the local emulator: table, seed, the route
//! registry and its kill switch, and `serve --store dynamodb`.

use std::process::{Command, Output};

use serde_json::Value;
use test_support::{emulator, http, repo_root, wait, ServeProcess, RACING_CLIENT_FIELDS};

/// `planocore` with the emulator and a table of the test's own.
fn planocore(table: &str, args: &[&str]) -> Output {
    command(table, args).output().expect("planocore runs")
}

/// The `planocore` binary with `args`, on the emulator and `table`, logging warnings only.
pub(crate) fn command(table: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_planocore"));
    cmd.args(args)
        .env("TABLE_NAME", table)
        .env("DYNAMODB_ENDPOINT", emulator::endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("REGISTRY_CACHE_SECONDS", "0")
        .env("RUST_LOG", "warn");
    cmd
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn table() -> String {
    format!("cli-{}", uuid::Uuid::new_v4().simple())
}

/// `planocore serve` as `cmd` runs it: stopped when the guard drops.
fn serve(cmd: Command) -> ServeProcess {
    ServeProcess::start(cmd)
}

/// A POST of `body` to Entities Create, answered as JSON.
fn create(addr: &str, body: &str) -> Value {
    http(addr, "POST", "/api/v1/entities/create", Some("application/json"), &[], body.as_bytes()).body
}

const NEW_ENTITY: &str = r#"{"token":"demo-employee-token","integration_id":8,"entity_slug":"cli-made","email":"cli@made.example",
  "name":"CLI","active":true,"address":{"street":"s","city":"c","state":"CO","country":"US","postal_code":"1"}}"#;

#[test]
fn table_seed_registry_and_serve_on_dynamodb() {
    let t = table();
    assert!(ok(planocore(&t, &["table", "create"])).contains("created"));
    assert!(ok(planocore(&t, &["table", "create"])).contains("already exists"));
    let fixture = repo_root().join("tools/planocore/demo-fixture.json");
    let fixture = fixture.to_str().unwrap();
    ok(planocore(&t, &["seed", fixture]));
    let list = ok(planocore(&t, &["routes", "list"]));
    assert!(list.contains("clients.update") && list.contains("route deployed, service deployed"), "{list}");

    ok(planocore(&t, &["routes", "disable", "entities.create"]));
    ok(planocore(&t, &["seed", fixture]));
    ok(planocore(&t, &["routes", "sync"]));
    let list = ok(planocore(&t, &["routes", "list"]));
    assert!(list.lines().any(|l| l.starts_with("entities.create") && l.contains("route disabled")), "{list}");

    let server = serve(command(&t, &["serve", "--addr", "127.0.0.1:0", "--store", "dynamodb"]));
    assert_eq!(
        create(server.address(), NEW_ENTITY)["status"],
        "route-not-found",
        "the kill switch holds across seed and serve"
    );
    ok(planocore(&t, &["routes", "enable", "entities.create"]));
    let made = create(server.address(), NEW_ENTITY);
    assert_eq!(made["status"], "action-successful", "{made}");
    assert_eq!(made["data"]["id"], 7, "the counter was raised to the fixture's largest id");
    ok(planocore(&t, &["services", "disable", "entities"]));
    assert_eq!(create(server.address(), NEW_ENTITY)["status"], "service-not-found");
    ok(planocore(&t, &["routes", "sync", "--force"]));
    assert_eq!(
        create(server.address(), NEW_ENTITY)["status"],
        "invalid-param",
        "back in service; the slug is taken now"
    );
}

#[test]
fn unknown_names_and_an_unreachable_store_are_clear_errors() {
    let t = table();
    let out = planocore(&t, &["routes", "disable", "clients.delete"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown route 'clients.delete'"));
    let out = planocore(&t, &["services", "enable", "billing"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown service 'billing'"));

    let out = command(&t, &["routes", "list"]).env("DYNAMODB_ENDPOINT", "http://127.0.0.1:9").output().unwrap();
    let err = one_line_failure(&out, "start the emulator or fix DYNAMODB_ENDPOINT");
    assert!(err.contains("cannot reach DynamoDB") && err.contains("127.0.0.1:9") && err.contains(&t), "{err}");
}

/// The stderr of a failed command: exit status 1, exactly one line, saying what to do, with no
/// SDK `Debug` dump.
fn one_line_failure(out: &Output, what_to_do: &str) -> String {
    let err = String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8");
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("planocore: ") && err.contains(what_to_do), "{err}");
    for dump in ["{", "ServiceError", "DispatchFailure", "ConnectorError", "source:"] {
        assert!(!err.contains(dump), "'{dump}' in {err}");
    }
    err
}

#[test]
fn a_table_name_dynamodb_refuses_is_its_message_on_one_line() {
    let out = planocore("t1", &["table", "create"]);
    let err = one_line_failure(&out, "check TABLE_NAME");
    assert!(err.contains("ValidationException") && err.contains("3") && err.contains("255"), "{err}");
    assert!(err.contains("table 't1' at http://"), "the table and endpoint: {err}");
}

#[test]
fn a_missing_table_says_to_create_it() {
    let out = planocore(&table(), &["routes", "list"]);
    one_line_failure(&out, "planocore table create");
}

#[test]
fn no_endpoint_and_no_credentials_says_so_without_waiting_on_instance_metadata() {
    let home = std::env::temp_dir().join(format!("planocore-nocreds-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = command(&table(), &["routes", "list"]);
    cmd.env_remove("DYNAMODB_ENDPOINT").env("HOME", &home);
    for var in std::env::vars().map(|(k, _)| k).filter(|k| k.starts_with("AWS_") && k != "AWS_REGION") {
        cmd.env_remove(var);
    }
    // An empty HOME: no ~/.aws files; no instance metadata to wait on.
    cmd.env("AWS_EC2_METADATA_DISABLED", "true");
    let out = finished_within(cmd, std::time::Duration::from_secs(60));
    let err = one_line_failure(
        &out,
        "no AWS credentials (set DYNAMODB_ENDPOINT for a local emulator, or configure credentials)",
    );
    assert!(err.contains("at AWS"), "{err}");
    std::fs::remove_dir_all(home).ok();
}

/// `cmd`'s output; a command still running after `limit` is killed and the test fails (a bound
/// against a hang, not a timing).
fn finished_within(mut cmd: Command, limit: std::time::Duration) -> Output {
    use std::process::Stdio;
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("planocore runs");
    if wait::poll(limit, || child.try_wait().expect("waitable")).is_none() {
        child.kill().ok();
        let out = child.wait_with_output().expect("output");
        let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        wait::never("planocore exited", limit, &printed);
    }
    child.wait_with_output().expect("output")
}

#[test]
fn serve_on_an_unreachable_store_still_listens_and_answers_in_the_envelope() {
    let t = table();
    let mut cmd = command(&t, &["serve", "--addr", "127.0.0.1:0", "--store", "dynamodb"]);
    cmd.env("DYNAMODB_ENDPOINT", "http://127.0.0.1:9");
    let server = serve(cmd);
    let r = create(server.address(), NEW_ENTITY);
    assert_eq!(r["status"], "identify-request-error");
    assert!(!r.to_string().contains("127.0.0.1:9"));
}

/// Sends every body at once over its own connection, each from its own thread, released
/// together by one barrier; the answers in order.
fn all_at_once(addr: &str, method: &'static str, path: &'static str, bodies: Vec<String>) -> Vec<Value> {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(bodies.len()));
    let threads: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let (addr, barrier) = (addr.to_string(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                http(&addr, method, path, Some("application/json"), &[], body.as_bytes()).body
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().expect("the request thread finished")).collect()
}

fn b64(json: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(json.to_string())
}

/// Races through `planocore serve --store dynamodb` on DynamoDB Local, which runs transactions
/// concurrently as DynamoDB does: 16 requests at once, each race repeated.
#[test]
fn sixteen_requests_at_once_through_serve_on_dynamodb_lose_nothing_and_claim_once() {
    const ROUNDS: usize = 5;
    let t = table();
    ok(planocore(&t, &["table", "create"]));
    ok(planocore(&t, &["seed", repo_root().join("tools/planocore/demo-fixture.json").to_str().unwrap()]));
    let server = serve(command(&t, &["serve", "--addr", "127.0.0.1:0", "--store", "dynamodb"]));
    let fields = RACING_CLIENT_FIELDS;
    let mut ids = std::collections::HashSet::new();
    for round in 0..ROUNDS {
        // One slug, sixteen creators: one wins, fifteen are told the slug is taken.
        let bodies = (0..16)
            .map(|n| {
                NEW_ENTITY
                    .replace("cli-made", &format!("race-{round}"))
                    .replace("cli@made", &format!("r{n}-{round}@made"))
            })
            .collect();
        let replies = all_at_once(server.address(), "POST", "/api/v1/entities/create", bodies);
        let winners: Vec<&Value> = replies.iter().filter(|r| r["status"] == "action-successful").collect();
        assert_eq!(winners.len(), 1, "round {round}: {replies:?}");
        assert!(ids.insert(winners[0]["data"]["id"].as_u64().unwrap()), "round {round}: an id given twice");
        assert!(replies
            .iter()
            .filter(|r| r["status"] != "action-successful")
            .all(|r| r["errors"][0]["param"] == "entity_slug"));

        // Sixteen fields of one client, one request each: none is lost.
        let bodies = fields
            .iter()
            .map(|f| b64(&serde_json::json!({"token": "demo-employee-token", "id": 100, (*f): format!("{f}-{round}")})))
            .collect();
        for r in all_at_once(server.address(), "PUT", "/api/v1/clients/update", bodies) {
            assert_eq!(r["status"], "action-successful", "round {round}: {r}");
        }
        let read = b64(&serde_json::json!({"token": "demo-employee-token", "id": 100, "view": "client_read"}));
        let client =
            http(server.address(), "PUT", "/api/v1/clients/update", Some("application/json"), &[], read.as_bytes())
                .body;
        for f in fields {
            assert_eq!(client["data"][f], format!("{f}-{round}"), "round {round}: {f} was lost");
        }
    }
}

/// `RUST_LOG=trace` is the project's trace: the AWS SDK, hyper and rustls (whose trace output
/// has carried credentials) stay at `warn` unless named.
#[test]
fn rust_log_trace_writes_no_line_from_a_dependency_crate() {
    let t = table();
    ok(planocore(&t, &["table", "create"]));
    let mut cmd = command(&t, &["serve", "--addr", "127.0.0.1:0", "--store", "dynamodb"]);
    cmd.env("RUST_LOG", "trace").stderr(std::process::Stdio::piped());
    let mut server = ServeProcess::start(cmd);
    let stderr = server.take_stderr();
    let r = create(server.address(), NEW_ENTITY);
    assert_eq!(r["status"], "route-not-found", "a store call was made: {r}");
    server.kill();
    let logs = std::io::read_to_string(stderr).unwrap();
    let lines: Vec<Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(lines.iter().any(|l| l["level"] == "TRACE" || l["level"] == "DEBUG" || l["level"] == "INFO"), "{logs}");
    for line in &lines {
        let target = line["target"].as_str().unwrap_or("");
        let own = ["domain", "store", "app", "planocore", "clients_update", "entities_create", "route_fallback"];
        assert!(
            own.iter().any(|c| target == *c || target.starts_with(&format!("{c}::"))),
            "a dependency's line: {line}"
        );
    }
}

/// `planocore seed` on a live table creates what is missing and leaves the rest: a password
/// changed through the API stays changed, and the sessions that change revoked stay revoked.
/// `--overwrite` replaces, and says so.
#[test]
fn seeding_a_live_table_keeps_what_the_api_changed() {
    let t = table();
    let fixture = repo_root().join("tools/planocore/demo-fixture.json");
    let fixture = fixture.to_str().unwrap();
    ok(planocore(&t, &["table", "create"]));
    ok(planocore(&t, &["seed", fixture]));
    let server = serve(command(&t, &["serve", "--addr", "127.0.0.1:0", "--store", "dynamodb"]));
    let put = |body: Value| {
        http(server.address(), "PUT", "/api/v1/clients/update", Some("application/json"), &[], b64(&body).as_bytes())
            .body
    };
    let change = |token: &str, from: &str, to: &str| {
        put(serde_json::json!({"token": token, "id": 100, "password": to, "current_password": from}))
    };
    let phone_session = || put(serde_json::json!({"token": "demo-client-phone-token", "id": 100}));
    assert_eq!(phone_session()["status"], "action-successful");
    let r = change("demo-client-token", "correct horse battery", "changed through the API");
    assert_eq!(r["status"], "action-successful", "{r}");
    assert_eq!(phone_session()["status"], "invalid-token", "revoked by the change");

    ok(planocore(&t, &["seed", fixture]));
    assert_eq!(phone_session()["status"], "invalid-token", "seeding does not revive a revoked session");
    let r = change("demo-client-token", "correct horse battery", "back to the fixture's");
    assert_eq!(
        (r["status"].as_str(), r["errors"][0]["param"].as_str()),
        (Some("invalid-param"), Some("current_password"))
    );
    let r = change("demo-client-token", "changed through the API", "changed again");
    assert_eq!(r["status"], "action-successful", "the API's password survived the seed: {r}");

    let out = planocore(&t, &["seed", "--overwrite", fixture]);
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success() && said.contains("REPLACED"), "{said}");
    assert_eq!(phone_session()["status"], "action-successful", "--overwrite restores the fixture's records");
}
