//! A stand-in for Mandrill's API on a loopback socket.

use std::sync::Arc;

use serde_json::Value;

/// A stand-in for Mandrill on a loopback socket: records each request and answers as told.
pub struct FakeMandrill {
    pub url: String,
    requests: Arc<std::sync::Mutex<Vec<(String, Value)>>>,
    reply: Arc<std::sync::Mutex<FakeReply>>,
    server: tokio::task::JoinHandle<()>,
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
    Slow(std::time::Duration),
}

impl FakeMandrill {
    pub async fn start(reply: FakeReply) -> FakeMandrill {
        use http_body_util::{BodyExt, Full};
        use hyper::body::Bytes;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("http://{}/api/1.0", listener.local_addr().unwrap());
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let reply = Arc::new(std::sync::Mutex::new(reply));
        let (seen, answer) = (requests.clone(), reply.clone());
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (seen, answer) = (seen.clone(), answer.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (seen, answer) = (seen.clone(), answer.clone());
                        async move {
                            let path = req.uri().path().to_string();
                            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            let recipients: Vec<String> = json["message"]["to"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|t| t["email"].as_str().unwrap_or("").to_string())
                                .collect();
                            seen.lock().unwrap().push((path, json));
                            let reply = answer.lock().unwrap().clone();
                            let results = |status: &str| {
                                Value::from(
                                    recipients
                                        .iter()
                                        .map(|r| serde_json::json!({"email": r, "status": status, "_id": "abc"}))
                                        .collect::<Vec<_>>(),
                                )
                            };
                            let (code, body) = match reply {
                                FakeReply::Recipients(status) => (200, results(status)),
                                FakeReply::ErrorBody => (
                                    500,
                                    serde_json::json!({"status": "error", "code": -1, "name": "Invalid_Key", "message": "Invalid API key"}),
                                ),
                                FakeReply::Http(code) => (code, serde_json::json!([])),
                                FakeReply::Slow(pause) => {
                                    tokio::time::sleep(pause).await;
                                    (200, results("sent"))
                                }
                            };
                            let response = hyper::Response::builder()
                                .status(code)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(body.to_string())))
                                .unwrap();
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        FakeMandrill { url, requests, reply, server }
    }

    pub fn set_reply(&self, reply: FakeReply) {
        *self.reply.lock().unwrap() = reply;
    }

    /// Every request so far: path and JSON body.
    pub fn requests(&self) -> Vec<(String, Value)> {
        self.requests.lock().unwrap().clone()
    }

    /// A Mandrill notifier that sends here with `key`.
    pub fn notifier(&self, key: &str) -> Arc<shared::notify::mandrill::MandrillNotifier> {
        use shared::notify::mandrill::{MandrillConfig, MandrillNotifier};
        use shared::notify::secret::KeySource;
        let config = MandrillConfig { api_url: self.url.clone(), ..MandrillConfig::default() };
        Arc::new(MandrillNotifier::new(config, KeySource::Static(key.to_string())))
    }
}

impl Drop for FakeMandrill {
    fn drop(&mut self) {
        self.server.abort();
    }
}
