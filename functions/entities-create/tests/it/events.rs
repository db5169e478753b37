//! The API Gateway events in `events/` (the ones `sam local invoke` takes) through this
//! function's handler, each answering the status its file name gives.

use futures_util::FutureExt;
use test_support::check_events;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_answers_its_status() {
    let count = check_events("entities-create", |deps, req| entities_create::handle(deps, req).boxed()).await;
    assert!(count >= 10, "only {count} events");
}
