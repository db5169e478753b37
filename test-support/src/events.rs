//! The API Gateway events of `events/`, named `<function>.<status>[.<variant>].json`, where the
//! status is a slug of the catalogue or [`PREFLIGHT`].

use app::deps::Deps;
use lambda_http::{Body, Request, Response};

use crate::repo::repo_root;
use crate::requests::Reply;
use crate::test_app::TestApp;

/// Whether sending `request` again must replay its answer: it carries an `Idempotency-Key` and
/// answered with a status that wrote.
pub fn replays(request: &Request, status: domain::envelope::Status) -> bool {
    request.headers().contains_key(app::idempotency::HEADER)
        && matches!(status, domain::Status::ActionSuccessful | domain::Status::MandrillEmailFailed)
}

/// The "status" of a CORS preflight's event: answered `204` without a body (no envelope).
pub const PREFLIGHT: &str = "preflight";

/// An API Gateway HTTP API v2 event from `events/`, as `lambda_http` parses it in Lambda.
pub fn event(name: &str) -> Request {
    let path = repo_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every event file whose name starts with `prefix`.
pub fn events_with_prefix(prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("events"))
        .expect("events/ exists")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with(prefix) && n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// Runs every `events/<prefix>.*.json` through `handle`, each on a fresh demo app, and checks
/// the status named in the file name, its HTTP code and the echoed request id. An event with an
/// `Idempotency-Key` that wrote is sent again and must be replayed.
pub async fn check_events<F>(prefix: &str, handle: F) -> usize
where
    F: for<'a> Fn(&'a Deps, Request) -> futures_util::future::BoxFuture<'a, Response<Body>>,
{
    let names = events_with_prefix(&format!("{prefix}."));
    assert!(!names.is_empty(), "no events for {prefix}");
    for name in &names {
        let expected = name.split('.').nth(1).expect("<function>.<status>[.<variant>].json");
        let app = TestApp::memory().await;
        if expected == PREFLIGHT {
            let answer = handle(&app.deps, event(name)).await;
            assert_eq!(answer.status().as_u16(), 204, "{name}");
            assert!(answer.body().is_empty(), "{name}: no body");
            continue;
        }
        let status = domain::Status::from_slug(expected).unwrap_or_else(|| panic!("{name}: unknown status {expected}"));
        let reply = Reply::from_response(handle(&app.deps, event(name)).await);
        assert_eq!(reply.status(), expected, "{name}: {}", reply.body);
        assert_eq!(reply.code, status.http_code(), "{name}");
        let event_id = format!("evt-{}", name.trim_end_matches(".json").replace('.', "-"));
        assert_eq!(reply.body["request_id"], event_id.as_str(), "{name}");
        assert_eq!(reply.headers["x-request-id"], event_id.as_str(), "{name}");
        if replays(&event(name), status) {
            let again = Reply::from_response(handle(&app.deps, event(name)).await);
            assert_eq!(again.headers.get("idempotent-replayed").map(|v| v.as_bytes()), Some(&b"true"[..]), "{name}");
            assert_eq!((again.code, &again.body), (reply.code, &reply.body), "{name}: the first answer, replayed");
        }
    }
    names.len()
}
