//! Any request through the whole path: decoding, params and both handlers on the memory store.
//! A panic is caught by the pipeline and answered `application-crash`; here that is a finding.

#![no_main]

use lambda_http::http::Method;
use lambda_http::{Body, Request};
use libfuzzer_sys::fuzz_target;
use domain::envelope::Status;
use test_support::{Reply, TestApp};

const METHODS: [Method; 4] = [Method::PUT, Method::POST, Method::GET, Method::DELETE];
const PATHS: [&str; 3] = ["/api/v1/clients/update", "/api/v1/entities/create", "/api/v1/other"];
const CONTENT_TYPES: [Option<&str>; 4] =
    [Some("application/json"), Some("application/json; charset=utf-8"), None, Some("text/plain")];

fuzz_target!(|data: &[u8]| {
    // The first byte picks method, path and content type; the rest is the body.
    let Some((&choice, body)) = data.split_first() else { return };
    let mut builder = lambda_http::http::Request::builder()
        .method(METHODS[usize::from(choice) % 4].clone())
        .uri(PATHS[usize::from(choice >> 2) % 3]);
    if let Some(ct) = CONTENT_TYPES[usize::from(choice >> 4) % 4] {
        builder = builder.header("content-type", ct);
    }
    let req: Request = builder.body(if body.is_empty() { Body::Empty } else { Body::Binary(body.to_vec()) }).unwrap();
    let (rt, app) = TestApp::shared_memory();
    let reply = Reply::from_response(rt.block_on(planocore::handle(&app.deps, req)));
    let status = Status::from_slug(reply.status()).expect("a status from the catalogue");
    assert_eq!(reply.code, status.http_code());
    assert_ne!(status, Status::ApplicationCrash, "{}", reply.body);
});
