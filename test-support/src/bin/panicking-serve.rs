//! Test-only (never shipped): every route over a socket through `planocore::handle`, the
//! dispatcher `planocore serve` uses, on the demo fixture in a store that panics whenever a
//! client is read. The accept loop is a copy of `planocore serve`'s, which is private to its
//! binary. Prints `panicking-serve: listening on http://ADDR` first, as `planocore serve` does.

use std::convert::Infallible;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use app::deps::Deps;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::{Body, Request};
use test_support::{FaultyStore, TestApp};

#[tokio::main]
async fn main() {
    app::logging::init(&app::config::settings(), true);
    let store = Arc::new(FaultyStore::default());
    store.panic_on_client_read.store(true, SeqCst);
    let deps = Arc::new(TestApp::on(store).await.deps);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    println!("panicking-serve: listening on http://{}", listener.local_addr().expect("an address"));
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let deps = deps.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let deps = deps.clone();
                async move { Ok::<_, Infallible>(answer(&deps, req).await) }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn answer(deps: &Deps, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body = if bytes.is_empty() { Body::Empty } else { Body::Binary(bytes.to_vec()) };
    let (parts, body) = planocore::handle(deps, Request::from_parts(parts, body)).await.into_parts();
    hyper::Response::from_parts(parts, Full::new(Bytes::copy_from_slice(body.as_ref())))
}
