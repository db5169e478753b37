//! The PUT of the answer to the request's presigned `ResponseURL`.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

use app::https::HttpsClient;

use crate::event::Answer;

/// PUTs `answer` to `url` within `limit`. The body is sent with an empty `Content-Type`: the
/// URL is a presigned S3 URL whose signature covers the content type it was signed for (none).
pub async fn put_answer(https: &HttpsClient, url: &str, answer: &Answer, limit: Duration) -> Result<(), String> {
    let body = serde_json::to_vec(answer).map_err(|e| format!("answer not serialisable: {e}"))?;
    let request = hyper::Request::put(url)
        .header("content-type", "")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("the ResponseURL is not a URL: {e}"))?;
    let send = async {
        let response = https.request(request).await.map_err(|e| format!("PUT failed: {e}"))?;
        let status = response.status();
        // Read to the end, so the connection closes cleanly.
        let _ = response.into_body().collect().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the ResponseURL answered HTTP {}", status.as_u16()))
        }
    };
    tokio::time::timeout(limit, send)
        .await
        .map_err(|_| format!("no answer to the PUT within {} ms", limit.as_millis()))?
}

/// The URL's scheme and host, for the logs: the rest is a signature.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or("")
}
