//! The request's id (docs/api.md#envelope) and its deadline (docs/api.md#stages).

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// Every request is answered within this, whatever the store does (docs/api.md#stages).
pub const REQUEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(8);

/// The envelope's request id (docs/api.md#envelope): API Gateway's, else Lambda's, else a fresh
/// UUID (local server).
pub fn request_id(req: &Request) -> String {
    #[allow(irrefutable_let_patterns)]
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some(id) = ctx.request_id.as_deref().filter(|id| !id.is_empty()) {
            return id.to_string();
        }
    }
    if let Some(ctx) = req.lambda_context_ref() {
        if !ctx.request_id.is_empty() {
            return ctx.request_id.clone();
        }
    }
    new_request_id()
}

/// A fresh UUID v4 from the thread's userspace generator (no system call per request).
pub fn new_request_id() -> String {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid().to_string()
}
