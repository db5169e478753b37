//! A function killed right after its commit (docs/api.md#idempotency), for real: `planocore
//! serve --store dynamodb` on DynamoDB Local, behind a relay that keeps the answer of its
//! transaction; the process is SIGKILLed once the transaction has committed, started again,
//! and the request retried with its key. The emails go to the log (no Mandrill key), read off
//! each process's stderr.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use store::attempts::{PasswordAttempt, PASSWORD_ATTEMPTS};
use store::seam::Store;
use test_support::{emulator, http, repo_root, wait, CallRecorder, CommitHold, EntityIds, HttpReply, ServeProcess};

fn planocore(table: &str, args: &[&str]) -> Output {
    let out = command(table, args).output().expect("planocore runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// `planocore` as the CLI tests run it, in the log-only email mode and logging at INFO (the
/// emails this file counts are log lines).
fn command(table: &str, args: &[&str]) -> Command {
    let mut cmd = crate::cli::command(table, args);
    cmd.env_remove("MANDRILL_API_KEY").env_remove("MANDRILL_SECRET_ID").env("RUST_LOG", "info");
    cmd
}

/// A seeded table of the test's own.
fn seeded_table() -> String {
    let table = format!("killed-{}", uuid::Uuid::new_v4().simple());
    planocore(&table, &["table", "create"]);
    planocore(&table, &["seed", repo_root().join("tools/planocore/demo-fixture.json").to_str().unwrap()]);
    table
}

/// `planocore serve --store dynamodb` on `endpoint`, its stderr (the log) collected line by line.
struct Served {
    process: ServeProcess,
    log: Arc<Mutex<Vec<String>>>,
}

impl Served {
    fn start(table: &str, endpoint: &str) -> Served {
        let mut cmd = command(table, &["serve", "--addr", "127.0.0.1:0", "--store", "dynamodb"]);
        cmd.env("DYNAMODB_ENDPOINT", endpoint).stderr(Stdio::piped());
        let mut process = ServeProcess::start(cmd);
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stderr, sink) = (process.take_stderr(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Served { process, log }
    }

    /// The emails this process logged as sent, by recipient.
    fn emails(&self) -> Vec<String> {
        let lines = self.log.lock().unwrap().clone();
        let logged = lines.iter().filter_map(|l| serde_json::from_str::<Value>(l).ok());
        logged.filter(|l| l["fields"]["event"] == "email-logged").map(|l| l["fields"]["to"].to_string()).collect()
    }

    /// Waits until this process has logged `count` emails (at most 10 s), and returns them.
    fn wait_for_emails(&self, count: usize) -> Vec<String> {
        let log = || self.log.lock().unwrap().join("\n");
        wait::until(&format!("{count} email(s) logged as sent"), Duration::from_secs(10), log, || {
            let emails = self.emails();
            (emails.len() >= count).then_some(emails)
        })
    }
}

/// The raw HTTP/1.1 request `http` sends.
fn raw_request(addr: &str, method: &str, path: &str, key: &str, body: &[u8]) -> Vec<u8> {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: application/json\r\n\
         idempotency-key: {key}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    [head.as_bytes(), body].concat()
}

/// Sends a keyed request through a process whose transaction's answer is held, SIGKILLs the
/// process once the transaction has committed, starts the server again (straight to DynamoDB
/// Local) and sends the request again twice: the restarted server and its two answers.
fn killed_after_commit(
    table: &str,
    method: &str,
    path: &str,
    key: &str,
    body: &[u8],
) -> (Served, HttpReply, HttpReply) {
    let hold = CommitHold::start(emulator::endpoint());
    let mut dying = Served::start(table, &hold.url);
    hold.arm();
    let mut stream = std::net::TcpStream::connect(dying.process.address()).unwrap();
    stream.write_all(&raw_request(dying.process.address(), method, path, key, body)).unwrap();
    hold.wait_held(Duration::from_secs(20), || dying.log.lock().unwrap().join("\n"));
    dying.process.kill();
    let mut answered = Vec::new();
    let _ = stream.read_to_end(&mut answered);
    assert!(answered.is_empty(), "the killed process answered: {}", String::from_utf8_lossy(&answered));
    assert_eq!(dying.emails(), Vec::<String>::new(), "it died before its emails");

    let restarted = Served::start(table, emulator::endpoint());
    let send =
        || http(restarted.process.address(), method, path, Some("application/json"), &[("idempotency-key", key)], body);
    let (retry, again) = (send(), send());
    (restarted, retry, again)
}

/// The answer the dead request would have given, replayed: its own `request_id`, the same on
/// every replay.
#[track_caller]
fn assert_replayed(retry: &HttpReply, again: &HttpReply) {
    for reply in [retry, again] {
        assert_eq!(reply.header("idempotent-replayed"), Some("true"), "{}", reply.body);
        assert_eq!((reply.code, &reply.body["status"]), (200, &json!("action-successful")), "{}", reply.body);
    }
    assert_eq!((&again.body["data"], &again.body["request_id"]), (&retry.body["data"], &retry.body["request_id"]));
    assert_eq!(retry.header("x-request-id"), retry.body["request_id"].as_str());
}

fn store(table: &str) -> (tokio::runtime::Runtime, store::dynamodb::DynamoStore) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(test_support::table_at(emulator::endpoint(), table, CallRecorder::default()));
    (rt, store)
}

fn b64(json: &Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(json.to_string()).into_bytes()
}

#[test]
fn a_create_killed_after_its_commit_is_replayed_with_its_id_and_its_email_sent_once() {
    let table = seeded_table();
    let (rt, store) = store(&table);
    let before = rt.block_on(store.entity_ids());
    let body = json!({"token": "demo-employee-token", "integration_id": 8, "entity_slug": "killed",
                      "email": "killed@made.example", "name": "Killed", "active": true,
                      "address": {"street": "s", "city": "c", "state": "CO", "country": "US", "postal_code": "1"}});
    let (served, retry, again) =
        killed_after_commit(&table, "POST", "/api/v1/entities/create", "create-killed", body.to_string().as_bytes());
    assert_replayed(&retry, &again);
    let after = rt.block_on(store.entity_ids());
    assert_eq!(after.len(), before.len() + 1, "one record");
    assert_eq!(retry.body["data"]["id"], *after.iter().find(|id| !before.contains(id)).unwrap());
    assert_eq!(retry.body["data"]["entity_slug"], "killed");
    assert_eq!(served.wait_for_emails(1), ["\"killed@made.example\""], "sent by the retry, once");
}

#[test]
fn an_email_change_killed_after_its_commit_is_replayed_and_notified_once() {
    let table = seeded_table();
    let body = b64(&json!({"token": "demo-employee-token", "id": 100, "email": "ada@killed.example"}));
    let (served, retry, again) = killed_after_commit(&table, "PUT", "/api/v1/clients/update", "move-ada", &body);
    assert_replayed(&retry, &again);
    assert_eq!(retry.body["data"]["email"], "ada@killed.example");
    let (rt, store) = store(&table);
    assert_eq!(rt.block_on(Store::client(&store, 100)).unwrap().unwrap().email, "ada@killed.example");
    assert_eq!(served.wait_for_emails(1), ["\"ada@example.com\""], "to the old address, once");
}

#[test]
fn an_own_password_change_killed_after_its_commit_is_replayed_without_counting_a_guess() {
    let table = seeded_table();
    let body = b64(&json!({"token": "demo-client-token", "id": 100, "password": "killed but changed",
                           "current_password": "correct horse battery"}));
    let (served, retry, again) = killed_after_commit(&table, "PUT", "/api/v1/clients/update", "new-password", &body);
    assert_replayed(&retry, &again);
    let (rt, store) = store(&table);
    let hash = rt.block_on(store.user(10)).unwrap().unwrap().password_hash.unwrap();
    assert!(domain::credentials::verify_password("killed but changed", &hash));
    assert_eq!(served.wait_for_emails(1), ["\"ada@example.com\""], "one password-changed email");
    // No guess was counted by the retries: the whole window of checks is still open.
    let now = time::OffsetDateTime::now_utc();
    for _ in 0..PASSWORD_ATTEMPTS {
        assert_eq!(rt.block_on(store.begin_password_attempt(10, now)).unwrap(), PasswordAttempt::Allowed);
    }
    assert!(matches!(rt.block_on(store.begin_password_attempt(10, now)).unwrap(), PasswordAttempt::Locked { .. }));
}
