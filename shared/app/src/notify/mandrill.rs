//! Mandrill's `messages/send` (docs/api.md#notifications): one POST per email, one deadline for
//! the whole send, key lookup included. Nothing here logs or returns the key or an email's body.

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Value};

use super::secret::KeySource;
use super::{Email, Notifier, NotifyError};
use crate::https::HttpsClient;

pub const DEFAULT_API_URL: &str = "https://mandrillapp.com/api/1.0";
pub const DEFAULT_FROM_EMAIL: &str = "no-reply@planomatic.com";
pub const DEFAULT_FROM_NAME: &str = "PlanOmatic";
/// One deadline for a whole send, key lookup included.
pub const SEND_DEADLINE: Duration = Duration::from_secs(3);

/// Recipient results Mandrill counts as delivered or on their way.
const ACCEPTED: &[&str] = &["sent", "queued", "scheduled"];

#[derive(Debug, Clone)]
pub struct MandrillConfig {
    /// `MANDRILL_API_URL`, without a trailing `/`.
    pub api_url: String,
    pub from_email: String,
    pub from_name: String,
    pub deadline: Duration,
    /// The CA bundle to trust (`SSL_CERT_FILE`), else the system's ([`crate::https::ca_bundle`]).
    pub ssl_cert_file: Option<String>,
}

impl Default for MandrillConfig {
    fn default() -> Self {
        MandrillConfig {
            api_url: DEFAULT_API_URL.to_string(),
            from_email: DEFAULT_FROM_EMAIL.to_string(),
            from_name: DEFAULT_FROM_NAME.to_string(),
            deadline: SEND_DEADLINE,
            ssl_cert_file: None,
        }
    }
}

pub struct MandrillNotifier {
    config: MandrillConfig,
    key: KeySource,
    /// Built on the first email, so a cold start or a request that sends nothing pays nothing.
    http: OnceLock<HttpsClient>,
}

impl MandrillNotifier {
    pub fn new(config: MandrillConfig, key: KeySource) -> Self {
        MandrillNotifier { config, key, http: OnceLock::new() }
    }

    fn http(&self) -> &HttpsClient {
        // http:// only for a local stand-in; the default URL is https.
        self.http.get_or_init(|| crate::https::client(self.config.ssl_cert_file.as_deref()))
    }

    /// The JSON body of `messages/send` for one email.
    pub fn request_body(&self, key: &str, email: &Email) -> Value {
        json!({
            "key": key,
            "message": {
                "to": [{"email": email.to, "type": "to"}],
                "subject": email.subject,
                "text": email.text,
                "html": email.html,
                "from_email": self.config.from_email,
                "from_name": self.config.from_name,
            }
        })
    }

    async fn send_now(&self, email: &Email) -> Result<(), NotifyError> {
        let key = self.key.get().await?;
        let body = serde_json::to_vec(&self.request_body(&key, email)).map_err(|e| NotifyError(e.to_string()))?;
        let request = hyper::Request::post(format!("{}/messages/send", self.config.api_url))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| NotifyError(format!("bad Mandrill URL: {e}")))?;
        let response = self.http().request(request).await.map_err(|e| NotifyError(format!("transport error: {e}")))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| NotifyError(format!("transport error reading the answer: {e}")))?
            .to_bytes();
        if status != hyper::StatusCode::OK {
            return Err(NotifyError(format!("Mandrill answered HTTP {}", status.as_u16())));
        }
        check_answer(&bytes)
    }
}

/// 200 with a result for every recipient, each `sent`, `queued` or `scheduled`.
fn check_answer(bytes: &[u8]) -> Result<(), NotifyError> {
    let answer: Value =
        serde_json::from_slice(bytes).map_err(|_| NotifyError("Mandrill answered with no JSON".into()))?;
    if answer.get("status").and_then(Value::as_str) == Some("error") {
        let name = answer.get("name").and_then(Value::as_str).unwrap_or("unknown");
        return Err(NotifyError(format!("Mandrill error {name}")));
    }
    let results = answer
        .as_array()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| NotifyError("Mandrill answered with no results".into()))?;
    for result in results {
        let status = result.get("status").and_then(Value::as_str).unwrap_or("");
        if !ACCEPTED.contains(&status) {
            let reason = result.get("reject_reason").and_then(Value::as_str).unwrap_or("");
            return Err(NotifyError(format!("recipient {status} {reason}").trim_end().to_string()));
        }
    }
    Ok(())
}

#[async_trait]
impl Notifier for MandrillNotifier {
    async fn send(&self, email: &Email) -> Result<(), NotifyError> {
        match tokio::time::timeout(self.config.deadline, self.send_now(email)).await {
            Ok(result) => result,
            Err(_) => Err(NotifyError(format!("no answer within {} ms", self.config.deadline.as_millis()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert!(check_answer(br#"[{"email":"a@b.co","status":"sent"}]"#).is_ok());
        assert!(check_answer(br#"[{"status":"queued"},{"status":"scheduled"}]"#).is_ok());
        let err =
            check_answer(br#"[{"status":"sent"},{"status":"rejected","reject_reason":"hard-bounce"}]"#).unwrap_err();
        assert_eq!(err.0, "recipient rejected hard-bounce");
        assert!(check_answer(br#"[{"status":"invalid"}]"#).is_err());
        assert!(check_answer(br#"[]"#).is_err());
        assert!(
            check_answer(br#"{"status":"error","code":-1,"name":"Invalid_Key","message":"Invalid API key"}"#).is_err()
        );
        assert!(check_answer(b"<html>").is_err());
    }
}
