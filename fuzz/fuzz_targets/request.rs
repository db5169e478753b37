//! Any request through the whole path: decoding, params and every route's handler on the memory
//! store. A panic is caught by the pipeline and answered `application-crash`; here that is a finding.

#![no_main]

use domain::envelope::Status;
use domain::routes::RouteId;
use lambda_http::http::Method;
use lambda_http::{Body, Request};
use libfuzzer_sys::fuzz_target;
use test_support::{Reply, TestApp};

/// After a route's own method (choice 0), these.
const OTHER_METHODS: [Method; 4] = [Method::PUT, Method::POST, Method::GET, Method::DELETE];
const CONTENT_TYPES: [Option<&str>; 4] =
    [Some("application/json"), Some("application/json; charset=utf-8"), None, Some("text/plain")];

/// Every route of the catalogue by path (scripts/fuzz.sh seeds the i-th with first byte i), then
/// a path of none (answered by the fallback, GET by default).
fn targets() -> Vec<(Method, &'static str)> {
    let mut routes: Vec<_> = RouteId::ALL.iter().map(|r| (r.method(), r.path())).collect();
    routes.sort_by_key(|(_, path)| *path);
    routes.push((Method::GET, "/api/v1/other"));
    routes
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks path, method and content type (in that order of its digits); the
    // rest is the body. Byte i is the i-th route as a client sends it.
    let Some((&choice, body)) = data.split_first() else { return };
    let targets = targets();
    let (own_method, path) = targets[usize::from(choice) % targets.len()].clone();
    let rest = usize::from(choice) / targets.len();
    let method = match rest % (OTHER_METHODS.len() + 1) {
        0 => own_method,
        i => OTHER_METHODS[i - 1].clone(),
    };
    let mut builder = lambda_http::http::Request::builder().method(method).uri(path);
    if let Some(ct) = CONTENT_TYPES[rest / (OTHER_METHODS.len() + 1) % CONTENT_TYPES.len()] {
        builder = builder.header("content-type", ct);
    }
    let req: Request = builder.body(if body.is_empty() { Body::Empty } else { Body::Binary(body.to_vec()) }).unwrap();
    let (rt, app) = TestApp::shared_memory();
    let reply = Reply::from_response(rt.block_on(planocore::handle(&app.deps, req)));
    let status = Status::from_slug(reply.status()).expect("a status from the catalogue");
    assert_eq!(reply.code, status.http_code());
    assert_ne!(status, Status::ApplicationCrash, "{}", reply.body);
});
