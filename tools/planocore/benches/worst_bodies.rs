//! The worst bodies the size limit allows, per route and per param kind, next to a normal
//! request: the whole request path on the memory store (docs/api.md#stages), minus the network.
//! Each body is as large as `MAX_BODY_BYTES` allows (Clients Update's after its base64 layer).
//!
//!   cargo bench -p planocore --bench worst_bodies

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use domain::request::MAX_BODY_BYTES;
use lambda_http::http::Method;
use serde_json::{json, Map, Value};
use test_support::{base64, request, Reply, TestApp};

/// Room for the JSON of a Clients Update body: its base64 form is 4/3 as long.
const JSON_LIMIT_BASE64: usize = MAX_BODY_BYTES / 4 * 3;

/// The largest body `build(n)` that fits in `limit` (`build(n)` grows with `n`).
fn fit(limit: usize, build: impl Fn(usize) -> String) -> String {
    let (mut lo, mut hi) = (1, limit);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if build(mid).len() <= limit {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let body = build(lo);
    assert!(body.len() <= limit && body.len() > limit - 64, "{} bytes", body.len());
    body
}

/// `base` with `param` set to the largest `fill(n)` that keeps the body within `limit`.
fn filled(base: &Value, param: &str, limit: usize, fill: impl Fn(usize) -> Value) -> String {
    fit(limit, |n| {
        let mut body = base.clone();
        body[param] = fill(n);
        body.to_string()
    })
}

/// A body of `token` and `n` unknown params.
fn unknown_params(n: usize) -> String {
    let mut body = wide_object(n);
    body["token"] = json!("demo-employee-token");
    body.to_string()
}

fn text(n: usize) -> Value {
    Value::String("a".repeat(n))
}
fn digits(n: usize) -> Value {
    Value::String("9".repeat(n))
}
fn email(n: usize) -> Value {
    Value::String(format!("{}@x.io", "a".repeat(n)))
}
fn email_array(n: usize) -> Value {
    Value::from((0..n).map(|i| format!("u{i}@x.io")).collect::<Vec<_>>())
}
fn email_string(n: usize) -> Value {
    Value::String((0..n).map(|i| format!("u{i}@x.io")).collect::<Vec<_>>().join(","))
}
fn wide_object(n: usize) -> Value {
    Value::Object((0..n).map(|i| (format!("k{i}"), Value::from(1))).collect::<Map<_, _>>())
}
fn long_array(n: usize) -> Value {
    Value::from(vec![0; n])
}
/// Nesting past serde_json's limit (128): refused at the limit, whatever follows.
fn deep(n: usize) -> String {
    format!("{}0{}", "[".repeat(n), "]".repeat(n))
}

struct Case {
    name: String,
    body: String,
    status: &'static str,
}

fn entities_cases() -> Vec<Case> {
    let base = json!({"token": "demo-employee-token", "integration_id": 7, "entity_slug": "worst",
        "email": "worst@x.example", "name": "Worst", "active": true,
        "address": {"street": "s", "city": "c", "state": "CO", "country": "US", "postal_code": "1"}});
    let limit = MAX_BODY_BYTES;
    let case = |name: &str, param: &str, fill: fn(usize) -> Value, status| Case {
        name: format!("entities_create/{name}"),
        body: filled(&base, param, limit, fill),
        status,
    };
    let mut cases = vec![
        case("token", "token", text, "invalid-token"),
        case("view", "view", text, "invalid-param"),
        case("integer", "integration_id", digits, "invalid-param"),
        case("slug", "entity_slug", text, "invalid-param"),
        case("email", "email", email, "invalid-param"),
        case("str", "name", text, "invalid-param"),
        case("object_wide", "address", wide_object, "invalid-param"),
        case("email_list_array", "operational_transaction_emails", email_array, "invalid-param"),
        case("email_list_string", "order_completion_emails", email_string, "invalid-param"),
        case("bool", "active", text, "invalid-param"),
        case("unknown_long_array", "extra", long_array, "invalid-param"),
    ];
    let nested = format!(r#"{{"token":"demo-employee-token","extra":{}}}"#, deep((limit - 42) / 2));
    cases.push(Case { name: "entities_create/deep_nesting".into(), body: nested, status: "invalid-encoded-params" });
    let wide = fit(limit, unknown_params);
    cases.push(Case { name: "entities_create/unknown_params".into(), body: wide, status: "invalid-param" });
    cases
}

fn clients_cases() -> Vec<Case> {
    let base = json!({"token": "demo-employee-token", "id": 100});
    let limit = JSON_LIMIT_BASE64;
    let case = |name: &str, param: &str, fill: fn(usize) -> Value, status| Case {
        name: format!("clients_update/{name}"),
        body: base64(&serde_json::from_str(&filled(&base, param, limit, fill)).unwrap()),
        status,
    };
    let mut cases = vec![
        case("token", "token", text, "invalid-token"),
        case("view", "view", text, "invalid-param"),
        case("integer", "id", digits, "invalid-param"),
        case("str", "phone", text, "invalid-param"),
        case("text", "bio", text, "invalid-param"),
        case("secret", "password", text, "invalid-param"),
        case("email", "email", email, "invalid-param"),
        case("email_list_array", "assistant_emails", email_array, "invalid-param"),
        case("email_list_string", "additional_emails", email_string, "invalid-param"),
        case("bool", "use_display_name", text, "invalid-param"),
        case("unknown_wide_object", "extra", wide_object, "invalid-param"),
    ];
    let nested = format!(r#"{{"token":"demo-employee-token","extra":{}}}"#, deep((limit - 42) / 2));
    let encode = |json: String| base64::engine::general_purpose::STANDARD.encode(json);
    cases.push(Case {
        name: "clients_update/deep_nesting".into(),
        body: encode(nested),
        status: "invalid-encoded-params",
    });
    let wide = encode(fit(limit, unknown_params));
    cases.push(Case { name: "clients_update/unknown_params".into(), body: wide, status: "invalid-param" });
    assert!(cases.iter().all(|c| c.body.len() <= MAX_BODY_BYTES));
    cases
}

fn worst_bodies(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let app = rt.block_on(TestApp::memory());
    let mut group = c.benchmark_group("worst_bodies");
    group.sample_size(20).warm_up_time(std::time::Duration::from_millis(500));
    group.measurement_time(std::time::Duration::from_secs(2));

    let update = base64(&json!({"token": "demo-employee-token", "id": 100, "phone": "303-555-0199", "bio": "B"}));
    group.bench_function("clients_update/normal", |b| {
        b.to_async(&rt).iter(|| async {
            let req = request(Method::PUT, "/api/v1/clients/update", Some("application/json"), update.clone());
            assert_eq!(clients_update::handle(&app.deps, req).await.status(), 200);
        })
    });
    let n = AtomicU64::new(0);
    let template = json!({"token": "demo-employee-token", "integration_id": 7, "entity_slug": "bench-N",
        "email": "bench-N@x.example", "name": "Bench", "active": true,
        "address": {"street": "s", "city": "c", "state": "CO", "country": "US", "postal_code": "1"}})
    .to_string();
    group.bench_function("entities_create/normal", |b| {
        b.to_async(&rt).iter(|| async {
            let body = template.replace("bench-N", &format!("bench-{}", n.fetch_add(1, Ordering::Relaxed)));
            let req = request(Method::POST, "/api/v1/entities/create", Some("application/json"), body);
            assert_eq!(entities_create::handle(&app.deps, req).await.status(), 200);
        })
    });

    for case in entities_cases().into_iter().chain(clients_cases()) {
        let send = |body: String| {
            let (method, path) = match case.name.starts_with("entities") {
                true => (Method::POST, "/api/v1/entities/create"),
                false => (Method::PUT, "/api/v1/clients/update"),
            };
            request(method, path, Some("application/json"), body)
        };
        let answer = |req| async {
            match case.name.starts_with("entities") {
                true => entities_create::handle(&app.deps, req).await,
                false => clients_update::handle(&app.deps, req).await,
            }
        };
        let reply = Reply::from_response(rt.block_on(answer(send(case.body.clone()))));
        assert_eq!(reply.status(), case.status, "{}: {}", case.name, reply.body);
        group.bench_function(&case.name, |b| b.to_async(&rt).iter(|| answer(send(case.body.clone()))));
    }
    group.finish();
}

criterion_group!(benches, worst_bodies);
criterion_main!(benches);
