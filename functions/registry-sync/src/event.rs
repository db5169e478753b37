//! A CloudFormation custom resource request and the answer CloudFormation waits for
//! (the custom resource request and response objects of the CloudFormation user guide).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The fields of a request this function reads. Every one but `ResponseURL` may be missing or
/// malformed and still get an answer: only a request without a URL cannot be answered.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "PascalCase")]
pub struct CustomResourceRequest {
    /// `Create`, `Update` or `Delete`.
    pub request_type: String,
    /// A presigned S3 URL: a credential for the answer, never logged.
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    /// Absent on `Create`; on `Update` and `Delete`, the id the `Create` answered.
    pub physical_resource_id: Option<String>,
}

impl CustomResourceRequest {
    /// The request in `payload`, or why there is no one to answer.
    pub fn parse(payload: &Value) -> Result<CustomResourceRequest, String> {
        // A field of the wrong type: keep what can be read, so that the answer still goes out.
        let request = serde_json::from_value(payload.clone()).unwrap_or_else(|_| {
            let text = |key: &str| payload.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
            CustomResourceRequest {
                response_url: text("ResponseURL"),
                stack_id: text("StackId"),
                request_id: text("RequestId"),
                logical_resource_id: text("LogicalResourceId"),
                ..CustomResourceRequest::default()
            }
        });
        if request.response_url.is_empty() {
            return Err("not a CloudFormation custom resource request: no ResponseURL to answer".to_string());
        }
        Ok(request)
    }

    /// The id this resource answers with: the one CloudFormation already holds, else one per
    /// table (the same on every `Create`, so a re-created resource is not a different one).
    pub fn physical_id(&self, table: &str) -> String {
        match self.physical_resource_id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => id.to_string(),
            None => format!("{table}-route-registry"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AnswerStatus {
    Success,
    Failed,
}

/// The JSON body PUT to the `ResponseURL` (at most 4096 bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Answer {
    pub status: AnswerStatus,
    /// Required with `FAILED`; CloudFormation shows it in the stack's events.
    pub reason: String,
    pub physical_resource_id: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    /// `!GetAtt RouteRegistry.RecordsWritten` after a sync.
    pub data: BTreeMap<String, String>,
}

/// Reasons are cut here, well inside the 4096-byte limit of the whole answer.
const MAX_REASON: usize = 1000;

impl Answer {
    /// The answer to `request` for `outcome` (the reason on success or on failure), echoing the
    /// ids CloudFormation matches it by.
    pub fn to(request: &CustomResourceRequest, physical_id: String, outcome: Result<Outcome, String>) -> Answer {
        let (status, reason, data) = match outcome {
            Ok(Outcome { reason, written }) => {
                let data = written.map(|n| ("RecordsWritten".to_string(), n.to_string())).into_iter().collect();
                (AnswerStatus::Success, reason, data)
            }
            Err(reason) => (AnswerStatus::Failed, reason, BTreeMap::new()),
        };
        Answer {
            status,
            reason: cut(reason),
            physical_resource_id: physical_id,
            stack_id: request.stack_id.clone(),
            request_id: request.request_id.clone(),
            logical_resource_id: request.logical_resource_id.clone(),
            data,
        }
    }
}

/// What a request did, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub reason: String,
    /// Records the sync wrote; `None` when nothing ran (a `Delete`).
    pub written: Option<usize>,
}

fn cut(mut reason: String) -> String {
    if reason.len() > MAX_REASON {
        let mut end = MAX_REASON;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push('…');
    }
    reason
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_request_without_a_url_cannot_be_answered_and_a_malformed_one_still_is() {
        assert!(CustomResourceRequest::parse(&json!({"RequestType": "Create"})).is_err());
        assert!(CustomResourceRequest::parse(&json!("text")).is_err());
        let odd = json!({"RequestType": 7, "ResponseURL": "https://x.example/a", "StackId": "s", "RequestId": "r"});
        let request = CustomResourceRequest::parse(&odd).unwrap();
        assert_eq!((request.request_type.as_str(), request.stack_id.as_str()), ("", "s"));
    }

    #[test]
    fn the_answer_echoes_the_ids_and_keeps_the_physical_id() {
        let request = CustomResourceRequest::parse(&json!({
            "RequestType": "Update", "ResponseURL": "https://x.example/a", "StackId": "arn:stack",
            "RequestId": "r-1", "LogicalResourceId": "RouteRegistry", "PhysicalResourceId": "held-id"}))
        .unwrap();
        assert_eq!(request.physical_id("t"), "held-id");
        let answer = Answer::to(&request, request.physical_id("t"), Err("x".repeat(5000)));
        let body = serde_json::to_value(&answer).unwrap();
        assert_eq!(body["Status"], "FAILED");
        assert_eq!((body["StackId"].as_str(), body["RequestId"].as_str()), (Some("arn:stack"), Some("r-1")));
        assert_eq!(body["LogicalResourceId"], "RouteRegistry");
        assert!(serde_json::to_vec(&answer).unwrap().len() < 4096);
        let create = CustomResourceRequest { physical_resource_id: None, ..request };
        assert_eq!(create.physical_id("planocore"), "planocore-route-registry");
    }
}
