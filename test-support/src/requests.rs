//! Requests as API Gateway hands them over, and handlers' answers parsed.

use base64::Engine;
use lambda_http::http::{HeaderMap, Method};
use lambda_http::{Body, Request, Response};
use serde_json::Value;

/// A request as API Gateway would hand it over.
pub fn request(method: Method, path: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request {
    let mut builder = lambda_http::http::Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(body.into()).expect("valid test request")
}

pub fn base64(json: &Value) -> String {
    base64::engine::general_purpose::STANDARD.encode(json.to_string())
}

/// A handler's answer, parsed.
#[derive(Debug)]
pub struct Reply {
    pub code: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn from_response(resp: Response<Body>) -> Reply {
        let code = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body: Value = serde_json::from_slice(resp.body().as_ref()).expect("the response body is JSON");
        Reply { code, headers, body }
    }

    pub fn status(&self) -> &str {
        self.body["status"].as_str().unwrap_or("")
    }

    /// The params named in `errors`, in order.
    pub fn error_params(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errs| errs.iter().map(|e| e["param"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    }

    /// The keys of `data`, sorted.
    pub fn data_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> =
            self.body["data"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        keys.sort();
        keys
    }
}
