//! `planocore serve`: every route over a real socket, through the functions' own handlers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use domain::envelope::{Envelope, Outcome, Status};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use store::memory::MemoryStore;
use store::seam::Store;
use store::seed::SeedMode;

use crate::admin::load_seed;
use crate::StoreKind;
use app::deps::Deps;
use app::settings::Settings;
use domain::routes::RouteId;
use planocore::cors::CorsPolicy;
use tokio::net::TcpListener;

/// Bodies larger than this are refused before they are read to the end.
const MAX_SERVER_BODY: usize = 10 * 1024 * 1024;

const DEMO_FIXTURE: &str = include_str!("../demo-fixture.json");

/// What every connection shares: the handlers' dependencies and the CORS policy.
struct Server {
    deps: Deps,
    cors: CorsPolicy,
}

pub async fn run(
    settings: &Settings,
    addr: SocketAddr,
    seed: Option<PathBuf>,
    kind: StoreKind,
    cors_origins: &[String],
) -> Result<(), String> {
    let cors = CorsPolicy::new(cors_origins).map_err(|e| format!("--cors-origin: {e}"))?;
    settings.check()?;
    let store: Arc<dyn Store> = match kind {
        StoreKind::Memory => Arc::new(MemoryStore::new()),
        StoreKind::Dynamodb => Arc::new(app::config::dynamodb_store(settings).await),
    };
    let demo = seed.is_none() && matches!(kind, StoreKind::Memory);
    match (&seed, kind) {
        (Some(path), _) => load_seed(settings, store.as_ref(), path, SeedMode::KeepExisting).await?,
        (None, StoreKind::Memory) => {
            let fixture =
                domain::fixture::parse(DEMO_FIXTURE, time::OffsetDateTime::now_utc()).map_err(|e| e.to_string())?;
            store.load_fixture(&fixture, SeedMode::KeepExisting).await.map_err(|e| e.to_string())?;
            app::registry::sync(store.as_ref(), false).await.map_err(|e| e.to_string())?;
        }
        // The table is used as it is; an unreachable store is reported per request.
        (None, StoreKind::Dynamodb) => {}
    }
    let deps = Deps::new(store, settings);

    let listener = TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("planocore: listening on http://{local}");
    if demo {
        print_demo_help(local);
    }
    serve(listener, Arc::new(Server { deps, cors })).await;
    Ok(())
}

/// Accepts connections until the process is stopped; each is served on its own task.
async fn serve(listener: TcpListener, server: Arc<Server>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let server = server.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let server = server.clone();
                async move { Ok::<_, Infallible>(answer_with_cors(&server, req).await) }
            });
            if let Err(e) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
}

/// A preflight is answered here, as API Gateway does; any other request goes to its route and
/// its answer gets the CORS headers of the request's origin.
async fn answer_with_cors(server: &Server, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    if let Some(preflight) = server.cors.preflight(req.method(), req.headers()) {
        let mut response = hyper::Response::new(Full::new(Bytes::new()));
        *response.status_mut() = preflight.status;
        *response.headers_mut() = preflight.headers;
        return response;
    }
    let request_headers = req.headers().clone();
    let mut response = answer(&server.deps, req).await;
    server.cors.decorate(&request_headers, response.headers_mut());
    response
}

/// One HTTP request: read the body (bounded), hand it to the route's handler as Lambda would.
async fn answer(deps: &Deps, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let route = RouteId::identify(&parts.method, parts.uri.path());
    let bytes = match Limited::new(body, MAX_SERVER_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let id = uuid::Uuid::new_v4().to_string();
            let outcome = match route {
                Some(_) => Outcome::param(Status::InvalidParam, "body", "The body must not exceed 10 MB."),
                None => Outcome::status(Status::RouteNonExistent),
            };
            return to_hyper(app::pipeline::response(Envelope::new(outcome, &id)));
        }
    };
    let body = if bytes.is_empty() { Body::Empty } else { Body::Binary(bytes.to_vec()) };
    let request: Request = lambda_http::http::Request::from_parts(parts, body);
    to_hyper(planocore::handle(deps, request).await)
}

fn to_hyper(response: Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = Bytes::copy_from_slice(body.as_ref());
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// The demo fixture's tokens (they are demo values, not secrets) and a curl line to paste.
fn print_demo_help(addr: SocketAddr) {
    let fixture: Value = serde_json::from_str(DEMO_FIXTURE).unwrap_or(Value::Null);
    println!("demo tokens:");
    for s in fixture["sessions"].as_array().into_iter().flatten() {
        println!("  session     {:<28} user {}", s["token"].as_str().unwrap_or(""), s["user_id"]);
    }
    for a in fixture["applications"].as_array().into_iter().flatten() {
        println!("  application {:<28} {}", a["token"].as_str().unwrap_or(""), a["name"].as_str().unwrap_or(""));
    }
    println!("try (Clients Update takes its JSON body base64-encoded):");
    // Each is one shell command, printed over two lines with a `\` continuation.
    println!("  curl -s -X PUT http://{addr}/api/v1/clients/update -H 'content-type: application/json' \\");
    println!(r#"    --data "$(printf '%s' '{DEMO_UPDATE}' | base64 -w0)""#);
    println!("  curl -s -X POST http://{addr}/api/v1/entities/create -H 'content-type: application/json' \\");
    println!("    --data '{DEMO_CREATE}'");
}

const DEMO_UPDATE: &str = r#"{"token":"demo-employee-token","id":100,"phone":"303-555-0199"}"#;
const DEMO_CREATE: &str = concat!(
    r#"{"token":"demo-app-token","integration_id":7,"entity_slug":"peak-realty","email":"team@peak.example","#,
    r#""name":"Peak Realty","active":true,"address":{"street":"5 Elm St","city":"Denver","state":"CO","#,
    r#""country":"US","postal_code":"80203"}}"#
);
