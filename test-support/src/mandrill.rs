//! A stand-in for Mandrill's API on a loopback socket, over HTTP or HTTPS.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;

use crate::tls::ServerIdentity;
use crate::wait;

/// A stand-in for Mandrill on a loopback socket: records each request and answers as told.
pub struct FakeMandrill {
    pub url: String,
    state: State,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct State {
    requests: Arc<Mutex<Vec<(String, Value)>>>,
    reply: Arc<Mutex<FakeReply>>,
    /// TLS handshakes that failed: a client that refused the certificate, say.
    refused_handshakes: Arc<AtomicUsize>,
}

/// How the fake answers `messages/send`.
#[derive(Debug, Clone)]
pub enum FakeReply {
    /// 200 with this status for every recipient (`sent`, `queued`, `rejected`, ...).
    Recipients(&'static str),
    /// HTTP 500 with Mandrill's error body.
    ErrorBody,
    /// This HTTP status with an empty JSON array.
    Http(u16),
    /// Waits this long, then answers `sent`.
    Slow(Duration),
}

impl FakeMandrill {
    /// Over plain HTTP (the functions allow `http://` to loopback for local use).
    pub async fn start(reply: FakeReply) -> FakeMandrill {
        FakeMandrill::listen(reply, None).await
    }

    /// Over HTTPS with `identity`'s certificate, as the real Mandrill: the client's TLS path.
    pub async fn start_tls(reply: FakeReply, identity: &ServerIdentity) -> FakeMandrill {
        FakeMandrill::listen(reply, Some(identity.acceptor())).await
    }

    async fn listen(reply: FakeReply, tls: Option<TlsAcceptor>) -> FakeMandrill {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}/api/1.0", listener.local_addr().unwrap());
        let state = State {
            requests: Arc::new(Mutex::new(Vec::new())),
            reply: Arc::new(Mutex::new(reply)),
            refused_handshakes: Arc::new(AtomicUsize::new(0)),
        };
        let shared = state.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (state, tls) = (shared.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => state.serve(stream).await,
                        Some(tls) => match tls.accept(stream).await {
                            Ok(stream) => state.serve(stream).await,
                            Err(_) => {
                                state.refused_handshakes.fetch_add(1, Ordering::SeqCst);
                            }
                        },
                    }
                });
            }
        });
        FakeMandrill { url, state, server }
    }

    pub fn set_reply(&self, reply: FakeReply) {
        *self.state.reply.lock().unwrap() = reply;
    }

    /// Every request so far: path and JSON body.
    pub fn requests(&self) -> Vec<(String, Value)> {
        self.state.requests.lock().unwrap().clone()
    }

    /// How many TLS handshakes failed (the HTTPS fake only).
    pub fn refused_handshakes(&self) -> usize {
        self.state.refused_handshakes.load(Ordering::SeqCst)
    }

    /// Waits until `count` TLS handshakes have failed here. A client that refuses the
    /// certificate answers its caller as soon as it has sent its alert, which can be before this
    /// server's task has read the alert and counted it. After 10 s, fails showing `context`.
    pub fn wait_for_refused_handshakes(&self, count: usize, context: impl Fn() -> String) {
        let what = format!("{count} TLS handshake(s) refused at {}", self.url);
        wait::until(&what, Duration::from_secs(10), context, || (self.refused_handshakes() >= count).then_some(()))
    }

    /// A Mandrill notifier that sends here with `key`.
    pub fn notifier(&self, key: &str) -> Arc<app::notify::mandrill::MandrillNotifier> {
        use app::notify::mandrill::{MandrillConfig, MandrillNotifier};
        use app::notify::secret::KeySource;
        let config = MandrillConfig { api_url: self.url.clone(), ..MandrillConfig::default() };
        Arc::new(MandrillNotifier::new(config, KeySource::Static(key.to_string())))
    }
}

impl Drop for FakeMandrill {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl State {
    /// Answers `messages/send` requests on one connection as told, recording each.
    async fn serve(self, io: impl AsyncRead + AsyncWrite + Unpin + Send + 'static) {
        let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let state = self.clone();
            async move { Ok::<_, std::convert::Infallible>(state.answer(req).await) }
        });
        let io = hyper_util::rt::TokioIo::new(io);
        let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
    }

    async fn answer(&self, req: hyper::Request<hyper::body::Incoming>) -> hyper::Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let recipients: Vec<String> = json["message"]["to"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t["email"].as_str().unwrap_or("").to_string())
            .collect();
        self.requests.lock().unwrap().push((path, json));
        let reply = self.reply.lock().unwrap().clone();
        let results = |status: &str| {
            Value::from(
                recipients.iter().map(|r| json!({"email": r, "status": status, "_id": "abc"})).collect::<Vec<_>>(),
            )
        };
        let (code, body) = match reply {
            FakeReply::Recipients(status) => (200, results(status)),
            FakeReply::ErrorBody => {
                (500, json!({"status": "error", "code": -1, "name": "Invalid_Key", "message": "Invalid API key"}))
            }
            FakeReply::Http(code) => (code, json!([])),
            FakeReply::Slow(pause) => {
                tokio::time::sleep(pause).await;
                (200, results("sent"))
            }
        };
        hyper::Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    }
}
