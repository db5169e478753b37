//! Property tests (bounded, in the normal run): whatever arrives, the answer is an envelope with
//! a status from the catalogue, never a crash and never the token; valid params round-trip.

use base64::Engine;
use domain::envelope::Status;
use domain::params::{read, Param};
use domain::request::decode_params;
use domain::routes::RouteId;
use lambda_http::http::{HeaderName, HeaderValue, Method};
use lambda_http::{Body, Request};
use proptest::prelude::*;
use serde_json::{Map, Value};
use test_support::{Reply, TestApp};

fn answer(req: Request) -> Reply {
    let (rt, app) = TestApp::shared_memory();
    Reply::from_response(rt.block_on(planocore::handle(&app.deps, req)))
}

fn is_envelope(reply: &Reply) -> Result<(), TestCaseError> {
    let status = Status::from_slug(reply.status());
    prop_assert!(status.is_some(), "status outside the catalogue: {}", reply.body);
    let status = status.unwrap();
    prop_assert_eq!(reply.code, status.http_code());
    // A crash on the memory store can only be a panic: no input may cause one.
    prop_assert_ne!(status, Status::ApplicationCrash, "{}", reply.body);
    prop_assert!(
        reply.body["message"].is_string() && reply.body["errors"].is_array() && reply.body["request_id"].is_string()
    );
    prop_assert_eq!(reply.headers["content-type"].to_str().unwrap(), "application/json; charset=utf-8");
    Ok(())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        "[0-9]{1,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Param names the routes know, plus junk, so that some bodies reach the params stage.
fn param_name() -> impl Strategy<Value = String> {
    let known: Vec<&'static str> =
        clients_update::handler::PARAMS.iter().chain(entities_create::handler::PARAMS).map(|p| p.name).collect();
    prop_oneof![prop::sample::select(known).prop_map(str::to_string), "[a-z_]{1,12}"]
}

fn token() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec!["demo-employee-token", "demo-app-token", "demo-client-token", "demo-liaison-token"])
            .prop_map(Value::from),
        "[A-Za-z0-9]{12,24}".prop_map(Value::from),
        json_value(),
    ]
}

fn params_body() -> impl Strategy<Value = Value> {
    (token(), prop::collection::btree_map(param_name(), json_value(), 0..8)).prop_map(|(token, rest)| {
        let mut map: Map<String, Value> = rest.into_iter().collect();
        map.insert("token".into(), token);
        Value::Object(map)
    })
}

/// The body as sent: JSON, base64 of it (either alphabet), or raw bytes.
fn encoded(body: Value) -> impl Strategy<Value = Vec<u8>> {
    let text = body.to_string();
    prop_oneof![
        Just(text.clone().into_bytes()),
        Just(base64::engine::general_purpose::STANDARD.encode(&text).into_bytes()),
        Just(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&text).into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH, Method::OPTIONS])
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/api/v1/clients/update".to_string()),
        Just("/api/v1/entities/create".to_string()),
        Just("/api/v1/clients/update/".to_string()),
        "/[a-zA-Z0-9/_.%-]{0,40}",
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let content_type = prop_oneof![
        Just(b"application/json".to_vec()),
        Just(b"application/json; charset=utf-8".to_vec()),
        Just(b"APPLICATION/JSON;charset=latin-1".to_vec()),
        "[ -~]{0,30}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..20),
    ];
    prop::collection::vec(
        prop_oneof![
            content_type.prop_map(|v| ("content-type".to_string(), v)),
            ("[a-z-]{1,16}", "[ -~]{0,20}").prop_map(|(n, v)| (n, v.into_bytes())),
        ],
        0..4,
    )
}

fn build(method: Method, path: &str, headers: &[(String, Vec<u8>)], body: Vec<u8>) -> Option<Request> {
    let mut builder = lambda_http::http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value)) else {
            continue;
        };
        builder = builder.header(name, value);
    }
    builder.body(if body.is_empty() { Body::Empty } else { Body::Binary(body) }).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_request_gets_an_envelope_and_never_the_token(
        method in method(),
        path in path(),
        headers in headers(),
        (body, sent) in params_body().prop_flat_map(|b| (Just(b.clone()), encoded(b))),
    ) {
        let Some(req) = build(method, &path, &headers, sent) else { return Ok(()) };
        let reply = answer(req);
        is_envelope(&reply)?;
        if let Some(token) = body["token"].as_str().filter(|t| t.len() >= 8) {
            prop_assert!(!reply.body.to_string().contains(token), "the token came back: {}", reply.body);
        }
    }

    #[test]
    fn the_routes_answer_any_json_body(
        route in prop::sample::select(RouteId::ALL.to_vec()),
        body in params_body(),
    ) {
        let sent = if route.sensitive() {
            base64::engine::general_purpose::STANDARD.encode(body.to_string())
        } else {
            body.to_string()
        };
        let req = build(route.method(), route.path(), &[("content-type".into(), b"application/json".to_vec())], sent.into_bytes()).unwrap();
        is_envelope(&answer(req))?;
    }

    #[test]
    fn decoding_an_encoded_object_gives_it_back(
        object in prop::collection::btree_map("[a-z_]{1,10}", json_value(), 1..8),
        url_safe in any::<bool>(),
        wrap in any::<bool>(),
    ) {
        let object: Map<String, Value> = object.into_iter().collect();
        let text = Value::Object(object.clone()).to_string();
        prop_assert_eq!(&decode_params(text.as_bytes(), false).unwrap(), &object);
        let engine = if url_safe { &base64::engine::general_purpose::URL_SAFE_NO_PAD } else { &base64::engine::general_purpose::STANDARD };
        let mut encoded = engine.encode(&text);
        if wrap {
            encoded = encoded.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\n");
        }
        prop_assert_eq!(decode_params(encoded.as_bytes(), true).unwrap(), object);
    }

    #[test]
    fn valid_update_params_read_back_as_sent(
        phone in "[0-9][0-9 ()+-]{0,29}",
        bio in "[a-zA-Z0-9][a-zA-Z0-9 .,\n]{0,199}",
        active in any::<bool>(),
        id in 1u64..=(1u64 << 53) - 1,
        emails in prop::collection::vec("[a-z]{1,8}@[a-z]{1,8}\\.(com|io)", 0..5),
    ) {
        let body: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "token": "t", "id": id.to_string(), "phone": phone, "bio": bio, "active": active.to_string(),
            "assistant_emails": emails.join(","),
        })).unwrap();
        let params = read(clients_update::handler::PARAMS, &body).expect("valid params");
        prop_assert_eq!(params.int("id"), Some(id));
        prop_assert_eq!(params.get("phone").map(Param::to_json), Some(Value::from(phone.trim())));
        prop_assert_eq!(params.get("bio").map(Param::to_json), Some(Value::from(bio.trim())));
        prop_assert_eq!(params.bool("active"), Some(active));
        let mut unique: Vec<String> = Vec::new();
        for e in &emails {
            if !unique.iter().any(|u| u.eq_ignore_ascii_case(e)) {
                unique.push(e.clone());
            }
        }
        prop_assert_eq!(params.emails("assistant_emails").unwrap(), &unique[..]);
    }
}
