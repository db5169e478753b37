//! The `registry-sync` binary under AWS's Runtime Interface Emulator with the CloudFormation
//! events of `events/cloudformation/`, a local HTTP server as their `ResponseURL` and DynamoDB
//! Local: `Create` writes the records once, `Update` leaves a disabled route disabled and adds
//! only what is missing, `Delete` touches nothing, every answer is PUT with the right ids; and a
//! store that never answers gets a `FAILED` answer inside the function's timeout.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use app::registry;
use domain::model::RegistryRecord;
use serde_json::Value;
use store::dynamodb::{keys, DynamoStore};
use store::seam::{RecordKind, Store};
use test_support::rie::Function;
use test_support::{emulator, fresh_dynamodb_table, repo_root, CaughtRequest, RequestCatcher};

const BINARY: &str = env!("CARGO_BIN_EXE_registry-sync");

/// `events/cloudformation/registry-sync.<kind>.json`, answering to `url`.
fn event(kind: &str, url: &str) -> (Value, String) {
    let path = repo_root().join(format!("events/cloudformation/registry-sync.{kind}.json"));
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    event["ResponseURL"] = url.into();
    let text = event.to_string();
    (event, text)
}

fn start(table: &str, endpoint: &str, timeout_seconds: u32) -> Function {
    let env = [
        ("AWS_REGION", "us-east-1".to_string()),
        ("TABLE_NAME", table.to_string()),
        ("DYNAMODB_ENDPOINT", endpoint.to_string()),
        ("RUST_LOG", "info".to_string()),
        ("AWS_LAMBDA_FUNCTION_TIMEOUT", timeout_seconds.to_string()),
    ];
    Function::start(Path::new(BINARY), "registry-sync", &env)
}

/// Sends `kind`'s event and returns the one PUT it caused.
fn send(function: &Function, catcher: &RequestCatcher, kind: &str, seen: usize) -> (Value, CaughtRequest) {
    let path = format!("/{kind}?X-Amz-Signature=0000");
    let (event, text) = event(kind, &catcher.url(&path));
    function.invoke_raw(&text);
    let caught = catcher.wait_for(seen + 1, Duration::from_secs(20), || function.output());
    assert_eq!(caught.len(), seen + 1, "one PUT per request ({kind})\n{}", function.output());
    let put = caught.last().unwrap().clone();
    assert_eq!((put.method.as_str(), put.target.as_str()), ("PUT", path.as_str()), "{kind}");
    // A presigned S3 URL is signed for no content type: none, or an empty one.
    assert!(put.header("content-type").is_none_or(str::is_empty), "{kind}: {:?}", put.headers);
    let answer = put.json();
    for key in ["StackId", "RequestId", "LogicalResourceId"] {
        assert_eq!(answer[key], event[key], "{kind}: {key} echoed");
    }
    (answer, put)
}

async fn records(store: &DynamoStore) -> (Vec<RegistryRecord>, Vec<RegistryRecord>) {
    let mut snapshot = store.registry().await.unwrap();
    snapshot.routes.sort_by(|a, b| a.name.cmp(&b.name));
    snapshot.services.sort_by(|a, b| a.name.cmp(&b.name));
    (snapshot.routes, snapshot.services)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_update_and_delete_keep_the_registry_and_always_answer() {
    let store = fresh_dynamodb_table().await;
    let catcher = RequestCatcher::start();
    let function = start(store.table(), emulator::endpoint(), 30);
    let created_id = format!("{}-route-registry", store.table());

    // Create: every record, once, as deployed.
    let (answer, _) = tokio::task::block_in_place(|| send(&function, &catcher, "create", 0));
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], created_id.as_str());
    let (routes, services) = records(&store).await;
    let written = routes.len() + services.len();
    assert_eq!(answer["Data"]["RecordsWritten"], written.to_string().as_str());
    assert_eq!(routes.len(), domain::RouteId::ALL.len());
    assert!(routes.iter().chain(&services).all(|r| r.deployed), "{routes:?} {services:?}");

    // An operator's kill switch, and a record lost (say, a route added in this release).
    registry::set_deployed(&store, RecordKind::Route, "clients.update", false).await.unwrap();
    let lost = keys::registry(RecordKind::Service, "entities");
    store.client().delete_item().table_name(store.table()).set_key(Some(lost)).send().await.unwrap();

    // Update: the missing record comes back, the disabled route stays disabled.
    let (answer, _) = tokio::task::block_in_place(|| send(&function, &catcher, "update", 1));
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], "planocore-route-registry", "the id CloudFormation holds");
    assert_eq!(answer["Data"]["RecordsWritten"], "1");
    let (routes, services) = records(&store).await;
    let disabled: Vec<&str> = routes.iter().filter(|r| !r.deployed).map(|r| r.name.as_str()).collect();
    assert_eq!(disabled, ["clients.update"]);
    assert!(services.iter().any(|s| s.name == "entities" && s.deployed));

    // Delete: nothing changes.
    let before = records(&store).await;
    let (answer, _) = tokio::task::block_in_place(|| send(&function, &catcher, "delete", 2));
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], "planocore-route-registry");
    assert_eq!(records(&store).await, before);

    // Nothing the function logs carries the presigned URL's signature.
    assert!(!function.output().contains("X-Amz-Signature"), "{}", function.output());
}

/// A store that accepts connections and never answers: the sync is cut at the invocation's
/// deadline less the answer's reserve, and CloudFormation hears `FAILED`, with a reason, in time.
#[test]
fn a_store_that_never_answers_is_answered_failed_within_the_timeout() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || silent.incoming().map_while(Result::ok).take(64).collect::<Vec<_>>());
    const TIMEOUT: u32 = 8;
    let catcher = RequestCatcher::start();
    let function = start("planocore", &endpoint, TIMEOUT);

    let started = Instant::now();
    let (answer, put) = send(&function, &catcher, "create", 0);
    let took = put.at - started;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    assert!(answer["Reason"].as_str().unwrap().contains("route registry sync failed"), "{answer}");
    assert_eq!(answer["PhysicalResourceId"], "planocore-route-registry");
    assert!(took < Duration::from_secs(TIMEOUT.into()), "answered after {took:?}");
    eprintln!("FAILED answered {} ms after the invoke (function timeout {TIMEOUT} s)", took.as_millis());
    drop(function);
    drop(held);
}
