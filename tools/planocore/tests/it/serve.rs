//! `planocore serve` over a real socket: the binary is started on a free port and spoken to
//! with plain HTTP/1.1.

use std::io::{BufRead, Read};
use std::process::{Command, Stdio};

use test_support::{http as http_with, HttpReply, ServeProcess};

struct Server {
    /// Stops the server when the test ends.
    _process: ServeProcess,
    addr: String,
    banner: Vec<String>,
}

/// Starts `planocore serve` on port 0 and reads the address it prints.
fn start(extra: &[&str]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_planocore"));
    command
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .env_remove("PLANOCORE_CORS_ORIGINS")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::inherit());
    let mut process = ServeProcess::start(command);
    let first = process.listening_line();
    assert!(first.starts_with("planocore: listening on http://"), "unexpected: {first}");
    let addr = process.address().to_string();
    let mut lines = process.take_stdout().lines();
    // The banner is printed in one go right after the address; read what there is.
    let mut banner = Vec::new();
    if extra.is_empty() {
        for line in lines.by_ref() {
            let line = line.unwrap();
            let done = line.contains("entities/create");
            banner.push(line);
            if done {
                break;
            }
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Server { _process: process, addr, banner }
}

fn http(addr: &str, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> HttpReply {
    http_with(addr, method, path, content_type, &[], body)
}

fn b64(json: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(json)
}

#[test]
fn serves_every_route_over_a_socket() {
    let server = start(&[]);
    let a = &server.addr;

    let r = http(
        a,
        "POST",
        "/api/v1/entities/create",
        Some("application/json"),
        br#"{"token":"demo-app-token","integration_id":7,"entity_slug":"peak-realty","email":"team@peak.example",
            "name":"Peak Realty","active":true,"address":{"street":"5 Elm St","city":"Denver","state":"CO",
            "country":"US","postal_code":"80203"}}"#,
    );
    assert_eq!((r.code, r.body["status"].as_str()), (200, Some("action-successful")), "{}", r.body);
    assert_eq!(r.body["data"]["id"], 7);
    let id = r.header("x-request-id").expect("x-request-id header");
    assert_eq!(r.body["request_id"], id);
    assert!(uuid_like(id), "{id}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));

    let body = b64(r#"{"token":"demo-employee-token","id":100,"phone":"303-555-0199"}"#);
    let r = http(a, "PUT", "/api/v1/clients/update", Some("application/json"), body.as_bytes());
    assert_eq!(r.body["status"], "action-successful", "{}", r.body);
    assert_eq!(r.body["data"]["phone"], "303-555-0199");

    let r = http(a, "PUT", "/api/v1/clients/update", Some("text/plain"), body.as_bytes());
    assert_eq!((r.code, r.body["status"].as_str()), (400, Some("invalid-content-type")));

    let r = http(a, "PUT", "/api/v1/clients/update", Some("application/json"), br#"{"token":"demo-employee-token"}"#);
    assert_eq!((r.code, r.body["status"].as_str()), (400, Some("invalid-encoded-params")));

    let r = http(a, "POST", "/api/v1/entities/create", Some("application/json"), br#"{"token":"not-a-token"}"#);
    assert_eq!((r.code, r.body["status"].as_str()), (401, Some("invalid-token")));
    assert!(!r.body.to_string().contains("not-a-token"));

    let r = http(a, "GET", "/api/v1/clients/update", None, b"");
    assert_eq!((r.code, r.body["status"].as_str()), (500, Some("route-non-existent")));
    assert!(r.header("x-request-id").is_some());
}

// A panic in a handler over a socket: test-support/tests/panics.rs, through a test-only server
// (the planocore binary carries no fault injection).

#[test]
fn bodies_over_ten_megabytes_are_refused() {
    let server = start(&[]);
    let big = vec![b'x'; 10 * 1024 * 1024 + 1];
    let r = http(&server.addr, "POST", "/api/v1/entities/create", Some("application/json"), &big);
    assert_eq!((r.code, r.body["status"].as_str()), (400, Some("invalid-param")));
    assert_eq!(r.body["errors"][0]["param"], "body");
}

#[test]
fn many_requests_at_once() {
    let server = start(&[]);
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let addr = server.addr.clone();
            std::thread::spawn(move || {
                let body = format!(
                    r#"{{"token":"demo-employee-token","integration_id":8,"entity_slug":"par-{i}","email":"p{i}@par.example","name":"P","active":false,"address":{{"street":"s","city":"c","state":"st","country":"US","postal_code":"1"}}}}"#
                );
                http(&addr, "POST", "/api/v1/entities/create", Some("application/json"), body.as_bytes())
            })
        })
        .collect();
    let mut ids: Vec<u64> =
        threads.into_iter().map(|t| t.join().unwrap().body["data"]["id"].as_u64().expect("created")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16, "every create got its own id");
}

#[test]
fn the_demo_banner_prints_tokens_and_a_curl_line_but_a_seed_file_prints_none() {
    let server = start(&[]);
    let banner = server.banner.join("\n");
    assert!(banner.contains("demo-employee-token") && banner.contains("demo-app-token"), "{banner}");
    assert!(banner.contains("curl -s -X PUT"), "{banner}");

    let dir = std::env::temp_dir().join(format!("planocore-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = dir.join("seed.json");
    std::fs::write(&seed, r#"{"users":[{"id":1,"employee_id":9}],"sessions":[{"token":"seeded-secret","user_id":1}]}"#)
        .unwrap();
    // Everything it prints, on both streams and at the most verbose log level, is read.
    let mut command = Command::new(env!("CARGO_BIN_EXE_planocore"));
    command.args(["serve", "--addr", "127.0.0.1:0", "--seed", seed.to_str().unwrap()]);
    command.env("RUST_LOG", "trace").stderr(Stdio::piped());
    let mut server = ServeProcess::start(command);
    let (mut out, mut err) = (server.take_stdout(), server.take_stderr());
    let first = server.listening_line().to_string();
    let addr = server.address().to_string();
    let r = http(
        &addr,
        "POST",
        "/api/v1/entities/create",
        Some("application/json"),
        br#"{"token":"seeded-secret","integration_id":1}"#,
    );
    assert_eq!(r.body["status"], "missing-param", "the seeded session works: {}", r.body);
    server.kill();
    let (mut rest, mut logs) = (String::new(), String::new());
    out.read_to_string(&mut rest).unwrap();
    err.read_to_string(&mut logs).unwrap();
    assert!(logs.contains(r#""status":"missing-param""#), "the request was logged: {logs}");
    for printed in [&first, &rest, &logs] {
        assert!(!printed.contains("seeded-secret"), "the seed's token was printed: {printed}");
    }
}

#[test]
fn a_bad_seed_file_is_refused_with_a_message() {
    let dir = std::env::temp_dir().join(format!("planocore-badseed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = dir.join("seed.json");
    std::fs::write(&seed, r#"{"sessions":[{"token":"t","user_id":77}]}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_planocore"))
        .args(["serve", "--addr", "127.0.0.1:0", "--seed", seed.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sessions[0]") && err.contains("77"), "{err}");
}

fn preflight(addr: &str, origin: &str, method: &str) -> HttpReply {
    let headers = [
        ("origin", origin),
        ("access-control-request-method", method),
        ("access-control-request-headers", "content-type, idempotency-key"),
    ];
    http_with(addr, "OPTIONS", "/api/v1/clients/update", None, &headers, b"")
}

#[test]
fn a_browser_on_localhost_gets_its_preflight_answered_and_the_request_id_exposed() {
    let server = start(&[]);
    let r = preflight(&server.addr, "http://localhost:5173", "PUT");
    assert_eq!(r.code, 204, "answered before any route, as API Gateway does: {:?}", r.headers);
    assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:5173"));
    assert_eq!(r.header("access-control-allow-methods"), Some("PUT,POST"));

    // The header reaches the handler: the retry is the first answer, replayed.
    let body = b64(r#"{"token":"demo-employee-token","id":100,"phone":"303-555-0100"}"#);
    let headers = [("origin", "http://127.0.0.1:8080"), ("idempotency-key", "serve-retry-1")];
    let put = || {
        http_with(&server.addr, "PUT", "/api/v1/clients/update", Some("application/json"), &headers, body.as_bytes())
    };
    let (r, retry) = (put(), put());
    assert_eq!(r.body["status"], "action-successful", "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some("http://127.0.0.1:8080"));
    assert_eq!(r.header("access-control-expose-headers"), Some("x-request-id,retry-after,idempotent-replayed"));
    assert_eq!((r.header("idempotent-replayed"), retry.header("idempotent-replayed")), (None, Some("true")));
    assert_eq!(retry.body, r.body);

    // Without Access-Control-Request-Method it is no preflight: the route fallback answers.
    let origin = [("origin", "http://127.0.0.1:8080")];
    let r = http_with(&server.addr, "OPTIONS", "/api/v1/clients/update", None, &origin, b"");
    assert_eq!((r.code, r.body["status"].as_str()), (500, Some("route-non-existent")));
}

/// A preflight to a path no route has, with or without `Origin`, is answered `204` without a
/// body, as the deployed `$default` route (route-fallback) answers it; never `route-non-existent`.
#[test]
fn a_preflight_to_no_route_gets_a_204_as_the_deployed_fallback_gives() {
    let server = start(&[]);
    for path in ["/nowhere", "/api/v1/clients/update/"] {
        let with_origin = [("origin", "http://localhost:5173"), ("access-control-request-method", "PUT")];
        let without_origin = [("access-control-request-method", "PUT")];
        for headers in [&with_origin[..], &without_origin[..]] {
            let r = http_with(&server.addr, "OPTIONS", path, None, headers, b"");
            assert_eq!((r.code, &r.body), (204, &serde_json::Value::Null), "{path} {headers:?}: {:?}", r.headers);
        }
        // The deployed fallback, given the same preflight, answers the same.
        let mut req = test_support::request(lambda_http::http::Method::OPTIONS, path, None, "");
        req.headers_mut().insert("access-control-request-method", "PUT".parse().unwrap());
        let fallback = route_fallback::handle(&req);
        assert_eq!((fallback.status().as_u16(), fallback.body().is_empty()), (204, true), "{path}");
    }
}

#[test]
fn origins_from_the_flag_or_the_environment_replace_the_default() {
    let server = start(&["--cors-origin", "https://app.example.com", "--cors-origin", "http://localhost:4000"]);
    for origin in ["https://app.example.com", "http://localhost:4000"] {
        assert_eq!(preflight(&server.addr, origin, "POST").header("access-control-allow-origin"), Some(origin));
    }
    let refused = preflight(&server.addr, "http://localhost:5173", "PUT");
    assert_eq!(refused.code, 204);
    assert_eq!(refused.header("access-control-allow-origin"), None, "{:?}", refused.headers);
    assert_eq!(
        preflight(&server.addr, "https://app.example.com", "DELETE").header("access-control-allow-origin"),
        None
    );
    let r = http_with(
        &server.addr,
        "POST",
        "/api/v1/entities/create",
        Some("application/json"),
        &[("origin", "http://localhost:5173")],
        b"{}",
    );
    assert_eq!(r.body["status"], "no-params-decoded", "the request is still answered; the browser hides it");
    assert_eq!(r.header("access-control-allow-origin"), None);
    drop(server);

    let mut command = Command::new(env!("CARGO_BIN_EXE_planocore"));
    command
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("PLANOCORE_CORS_ORIGINS", "https://a.example, https://b.example")
        .env("RUST_LOG", "warn");
    let mut process = ServeProcess::start(command);
    let mut out = process.take_stdout();
    // Read the demo banner to the end, or the server would fail writing it.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let addr = process.address().to_string();
    let env_server = Server { _process: process, addr, banner: Vec::new() };
    assert_eq!(
        preflight(&env_server.addr, "https://b.example", "PUT").header("access-control-allow-origin"),
        Some("https://b.example")
    );
    assert_eq!(preflight(&env_server.addr, "http://localhost:5173", "PUT").header("access-control-allow-origin"), None);
}

#[test]
fn a_malformed_cors_origin_stops_the_server_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_planocore"))
        .args(["serve", "--addr", "127.0.0.1:0", "--cors-origin", "localhost:3000"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--cors-origin") && err.contains("localhost:3000"), "{err}");
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[test]
fn a_mandrill_url_that_is_not_https_stops_the_server_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_planocore"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("MANDRILL_API_URL", "http://mandrillapp.com/api/1.0")
        .env("MANDRILL_API_KEY", "md-not-sent")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MANDRILL_API_URL must be an https:// URL"), "{err}");
    assert!(!err.contains("md-not-sent") && !String::from_utf8_lossy(&out.stdout).contains("listening"), "{err}");
}
