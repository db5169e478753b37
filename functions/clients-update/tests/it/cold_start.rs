//! A container's first request after init (docs/architecture.md#cold-starts): init reads the
//! route registry and so opens the store's connection; the first request then makes no registry
//! query and opens no connection. A store that is down at init holds init no longer than the
//! prewarm deadline, and the first request reads the registry itself. DynamoDB Local behind a
//! TCP relay that counts connections; the SDK's own calls noted by an interceptor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::deps::{Deps, PREWARM_DEADLINE};
use lambda_http::http::Method;
use serde_json::json;
use test_support::{base64, emulator, request, seeded_table, table_at, CallRecorder, Reply, TcpRelay};

/// A new container's dependencies: the seeded table through a relay, every call recorded.
async fn container() -> (Deps, TcpRelay, CallRecorder) {
    let table = seeded_table().await;
    let relay = TcpRelay::start(emulator::endpoint().trim_start_matches("http://")).await;
    let recorder = CallRecorder::default();
    let store = table_at(&relay.url, table.table(), recorder.clone()).await;
    (Deps::new(Arc::new(store), &test_support::settings()), relay, recorder)
}

async fn first_request(deps: &Deps) -> Reply {
    let body = base64(&json!({"token": "demo-employee-token", "id": 100, "phone": "303-555-0100"}));
    let reply =
        clients_update::handle(deps, request(Method::PUT, "/api/v1/clients/update", Some("application/json"), body))
            .await;
    Reply::from_response(reply)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_init_the_first_request_reads_no_registry_and_opens_no_connection() {
    let (deps, relay, recorder) = container().await;
    // Init's read, given the time it needs: on a loaded machine DynamoDB Local can take longer
    // than PREWARM_DEADLINE, and then the first request rightly reads the registry itself (the
    // next test), which is not what this one checks.
    deps.prewarm_within(Duration::from_secs(10)).await;
    assert_eq!(recorder.take(), ["Query"], "init reads the registry");
    assert_eq!(relay.connections(), 1, "init opens the store's connection");

    let reply = first_request(&deps).await;
    assert_eq!(reply.status(), "action-successful", "{}", reply.body);
    let calls = recorder.take();
    assert!(!calls.contains(&"Query".to_string()), "no registry query in the first request: {calls:?}");
    assert_eq!(calls.len(), 3, "a plain update's own round trips only: {calls:?}");
    assert_eq!(relay.connections(), 1, "the first request reuses init's connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_down_at_init_costs_init_at_most_the_deadline_and_the_first_request_still_answers() {
    let (deps, relay, recorder) = container().await;
    relay.set_down(true);
    let started = Instant::now();
    deps.prewarm().await;
    let init = started.elapsed();
    assert!(init < PREWARM_DEADLINE + Duration::from_millis(250), "init waited {init:?}");
    recorder.take();

    relay.set_down(false);
    let reply = first_request(&deps).await;
    assert_eq!(reply.status(), "action-successful", "{}", reply.body);
    assert_eq!(recorder.take().first().map(String::as_str), Some("Query"), "the first request reads the registry");
}
