//! The route registry at deploy: the function behind the template's `RouteRegistry` custom
//! resource. On `Create` and `Update` it runs the same sync as `planocore routes sync`
//! ([`app::registry::sync`]: missing records created as deployed, existing ones, a disabled
//! route included, left as they are); on `Delete` it does nothing (the table is retained). It
//! always answers CloudFormation, within the invocation's time, so a failure never hangs a stack.

mod answer;
mod event;

use std::time::{Duration, Instant};

use app::https::HttpsClient;
use serde_json::Value;
use store::seam::Store;

pub use answer::{put_answer, url_host};
pub use event::{Answer, AnswerStatus, CustomResourceRequest, Outcome};

/// Kept back from the invocation's deadline for the answer's PUT, whatever the store does.
pub const ANSWER_RESERVE: Duration = Duration::from_secs(3);

/// Runs `request` against `store` until `until`: a store failure or a store that does not
/// answer in time is a `FAILED` answer, never a hung stack.
pub async fn outcome(store: &dyn Store, request_type: &str, until: Instant) -> Result<Outcome, String> {
    match request_type {
        "Create" | "Update" => {
            let sync = app::registry::sync(store, false);
            match tokio::time::timeout_at(until.into(), sync).await {
                Ok(Ok(written)) => Ok(Outcome {
                    reason: format!("{written} route registry record(s) created"),
                    written: Some(written),
                }),
                Ok(Err(e)) => Err(format!("route registry sync failed: {e}")),
                Err(_) => Err("route registry sync failed: the store did not answer in time".to_string()),
            }
        }
        "Delete" => {
            Ok(Outcome { reason: "nothing to do: the records stay with the retained table".into(), written: None })
        }
        other => Err(format!("unknown RequestType '{other}'")),
    }
}

/// The whole invocation: reads the request in `payload`, runs it, answers CloudFormation.
/// `Err` only when there is no one to answer or the answer could not be delivered: an invocation
/// error, which Lambda retries (CloudFormation invokes asynchronously) and the `Errors` alarm sees.
pub async fn handle(
    store: &dyn Store,
    https: &HttpsClient,
    table: &str,
    payload: &Value,
    deadline: Instant,
) -> Result<Answer, String> {
    let request = CustomResourceRequest::parse(payload)?;
    let until = deadline.checked_sub(ANSWER_RESERVE).unwrap_or_else(Instant::now);
    let result = outcome(store, &request.request_type, until).await;
    let answer = Answer::to(&request, request.physical_id(table), result);
    tracing::info!(
        event = "custom-resource",
        request_type = %request.request_type,
        logical_resource_id = %request.logical_resource_id,
        physical_resource_id = %answer.physical_resource_id,
        status = ?answer.status,
        reason = %answer.reason,
        response_host = url_host(&request.response_url),
    );
    let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(1));
    put_answer(https, &request.response_url, &answer, left).await.map_err(|e| {
        tracing::error!(event = "custom-resource-answer-failed", error = %e);
        e
    })?;
    Ok(answer)
}
