//! The fallback answers `route-non-existent` to anything, in the envelope.

use futures_util::FutureExt;
use lambda_http::http::Method;
use test_support::{check_events, request, Reply};

#[tokio::test]
async fn every_event_answers_its_status() {
    let count = check_events("route-fallback", |_, req| async move { route_fallback::handle(&req) }.boxed()).await;
    assert!(count >= 1);
}

#[test]
fn even_a_known_route_path_is_route_non_existent_here() {
    for (method, path) in
        [(Method::PUT, "/api/v1/clients/update"), (Method::DELETE, "/"), (Method::GET, "/api/v1/clients/update/")]
    {
        let r = Reply::from_response(route_fallback::handle(&request(method, path, None, "junk")));
        assert_eq!((r.status(), r.code), ("route-non-existent", 500));
        assert_eq!(r.body["data"], serde_json::Value::Null);
        assert_eq!(r.headers["cache-control"], "no-store");
    }
}
