//! In-process handler latency on the memory store: the whole request path from an
//! API Gateway-shaped request to the serialised envelope, minus the network.
//!
//!   cargo bench -p planocore --bench handlers

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, criterion_main, Criterion};
use lambda_http::http::Method;
use serde_json::json;
use test_support::{base64, request, TestApp};

fn handlers(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let app = rt.block_on(TestApp::memory());
    let update_body =
        base64(&json!({"token": "demo-employee-token", "id": 100, "phone": "303-555-0199", "bio": "Bench"}));

    c.bench_function("clients_update/plain_fields", |b| {
        b.to_async(&rt).iter(|| async {
            let req = request(Method::PUT, "/api/v1/clients/update", Some("application/json"), update_body.clone());
            let resp = clients_update::handle(&app.deps, req).await;
            assert_eq!(resp.status(), 200);
        })
    });

    let n = AtomicU64::new(0);
    // Every create needs its own slug and email; the body is a template so that building it
    // costs next to nothing next to the handler.
    let template = json!({"token": "demo-app-token", "integration_id": 7, "entity_slug": "bench-N",
                          "email": "bench-N@x.example", "name": "Bench", "active": true,
                          "address": {"street": "s", "city": "c", "state": "CO", "country": "US", "postal_code": "1"}})
    .to_string();
    c.bench_function("entities_create", |b| {
        b.to_async(&rt).iter(|| async {
            let i = n.fetch_add(1, Ordering::Relaxed);
            let body = template.replace("bench-N", &format!("bench-{i}"));
            let req = request(Method::POST, "/api/v1/entities/create", Some("application/json"), body);
            let resp = entities_create::handle(&app.deps, req).await;
            assert_eq!(resp.status(), 200);
        })
    });

    // The same create with an Idempotency-Key of its own: the claim, the kept answer.
    c.bench_function("entities_create/idempotency_key", |b| {
        b.to_async(&rt).iter(|| async {
            let i = n.fetch_add(1, Ordering::Relaxed);
            let body = template.replace("bench-N", &format!("bench-{i}"));
            let mut req = request(Method::POST, "/api/v1/entities/create", Some("application/json"), body);
            req.headers_mut().insert("idempotency-key", format!("bench-key-{i}").parse().unwrap());
            let resp = entities_create::handle(&app.deps, req).await;
            assert_eq!(resp.status(), 200);
        })
    });
}

criterion_group!(benches, handlers);
criterion_main!(benches);
