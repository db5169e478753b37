//! The status catalogue (docs/api.md#statuses) and the one JSON envelope every response carries
//! (docs/api.md#envelope).

use http::{header, HeaderValue, Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

/// Every status this API can answer with; the HTTP code and message follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    ActionSuccessful,
    InvalidToken,
    SessionExpired,
    ClientRequired,
    PermissionDenied,
    MissingParam,
    InvalidParam,
    InvalidContentType,
    NoParamsDecoded,
    InvalidEncodedParams,
    ApplicationCrash,
    MandrillEmailFailed,
    RouteNonExistent,
    RouteNotFound,
    ServiceNotFound,
    IdentifyRequestError,
    IdempotencyKeyReused,
    RequestInProgress,
}

impl Status {
    pub const ALL: [Status; 18] = [
        Status::ActionSuccessful,
        Status::InvalidToken,
        Status::SessionExpired,
        Status::ClientRequired,
        Status::PermissionDenied,
        Status::MissingParam,
        Status::InvalidParam,
        Status::InvalidContentType,
        Status::NoParamsDecoded,
        Status::InvalidEncodedParams,
        Status::ApplicationCrash,
        Status::MandrillEmailFailed,
        Status::RouteNonExistent,
        Status::RouteNotFound,
        Status::ServiceNotFound,
        Status::IdentifyRequestError,
        Status::IdempotencyKeyReused,
        Status::RequestInProgress,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Status::ActionSuccessful => "action-successful",
            Status::InvalidToken => "invalid-token",
            Status::SessionExpired => "session-expired",
            Status::ClientRequired => "client-required",
            Status::PermissionDenied => "permission-denied",
            Status::MissingParam => "missing-param",
            Status::InvalidParam => "invalid-param",
            Status::InvalidContentType => "invalid-content-type",
            Status::NoParamsDecoded => "no-params-decoded",
            Status::InvalidEncodedParams => "invalid-encoded-params",
            Status::ApplicationCrash => "application-crash",
            Status::MandrillEmailFailed => "mandrill-email-failed",
            Status::RouteNonExistent => "route-non-existent",
            Status::RouteNotFound => "route-not-found",
            Status::ServiceNotFound => "service-not-found",
            Status::IdentifyRequestError => "identify-request-error",
            Status::IdempotencyKeyReused => "idempotency-key-reused",
            Status::RequestInProgress => "request-in-progress",
        }
    }

    pub fn http_code(self) -> u16 {
        match self {
            Status::ActionSuccessful => 200,
            Status::InvalidToken | Status::SessionExpired | Status::ClientRequired => 401,
            Status::PermissionDenied => 403,
            Status::RequestInProgress => 409,
            Status::IdempotencyKeyReused => 422,
            Status::MissingParam
            | Status::InvalidParam
            | Status::InvalidContentType
            | Status::NoParamsDecoded
            | Status::InvalidEncodedParams => 400,
            Status::ApplicationCrash
            | Status::MandrillEmailFailed
            | Status::RouteNonExistent
            | Status::RouteNotFound
            | Status::ServiceNotFound
            | Status::IdentifyRequestError => 500,
        }
    }

    /// The fixed sentence; the three param statuses name their first param instead.
    pub fn message(self, first_param: Option<&str>) -> String {
        let fixed = match self {
            Status::ActionSuccessful => "The request was successful.",
            Status::InvalidToken => "The token is not valid.",
            Status::SessionExpired => "The session has expired; sign in again.",
            Status::ClientRequired => "This session's user has no client, employee or liaison record.",
            Status::InvalidContentType => "The content type must be application/json.",
            Status::NoParamsDecoded => "The request body holds no params.",
            Status::InvalidEncodedParams => "The request body could not be decoded.",
            Status::ApplicationCrash => "An internal error occurred; the request could not be completed.",
            Status::MandrillEmailFailed => {
                "The change was saved, but its notification email could not be sent; do not retry the request."
            }
            Status::RouteNonExistent => "No route exists for this method and path.",
            Status::RouteNotFound => "This route is not available.",
            Status::ServiceNotFound => "This route's service is not available.",
            Status::IdentifyRequestError => "The request could not be identified.",
            Status::IdempotencyKeyReused => "This Idempotency-Key was already used for a request with other params.",
            Status::RequestInProgress => "A request with this Idempotency-Key is still running; retry in a moment.",
            Status::PermissionDenied => {
                return format!("Permission denied for param '{}'.", first_param.unwrap_or("token"))
            }
            Status::MissingParam => return format!("The param '{}' is missing.", first_param.unwrap_or("")),
            Status::InvalidParam => return format!("The param '{}' is invalid.", first_param.unwrap_or("")),
        };
        fixed.to_string()
    }

    pub fn from_slug(slug: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.slug() == slug)
    }
}

/// Slugs exist only at the JSON edge.
impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.slug())
    }
}

/// One problem with one param, as listed in `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamError {
    pub param: String,
    pub message: String,
}

impl ParamError {
    pub fn new(param: impl Into<String>, message: impl Into<String>) -> Self {
        ParamError { param: param.into(), message: message.into() }
    }
}

/// What a stage or a handler decided: the status, the record and the param errors.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub data: Value,
    pub errors: Vec<ParamError>,
    /// Seconds until a refused request may succeed: the `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl Outcome {
    pub fn status(status: Status) -> Self {
        Outcome::params(status, Vec::new())
    }

    pub fn success(data: Value) -> Self {
        Outcome { data, ..Outcome::status(Status::ActionSuccessful) }
    }

    pub fn params(status: Status, errors: Vec<ParamError>) -> Self {
        Outcome { status, data: Value::Null, errors, retry_after: None }
    }

    pub fn param(status: Status, param: &str, message: &str) -> Self {
        Outcome::params(status, vec![ParamError::new(param, message)])
    }
}

/// The body of every response (docs/api.md#envelope).
#[derive(Debug, Serialize)]
pub struct Envelope {
    pub status: Status,
    pub message: String,
    pub data: Value,
    pub errors: Vec<ParamError>,
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<Value>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
    /// A stored answer sent again for a retried `Idempotency-Key`: the `idempotent-replayed` header.
    #[serde(skip)]
    pub replayed: bool,
}

impl Envelope {
    pub fn new(outcome: Outcome, request_id: &str) -> Self {
        let message = outcome.status.message(outcome.errors.first().map(|e| e.param.as_str()));
        Envelope {
            status: outcome.status,
            message,
            data: outcome.data,
            errors: outcome.errors,
            request_id: request_id.to_string(),
            session: None,
            application: None,
            retry_after: outcome.retry_after,
            replayed: false,
        }
    }

    pub fn http_code(&self) -> u16 {
        self.status.http_code()
    }

    /// The HTTP answer: the envelope as the JSON body, its status's code, and its headers.
    pub fn into_response(self) -> Response<String> {
        let code = StatusCode::from_u16(self.http_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&self).unwrap_or_else(|_| {
            // Serialising plain JSON values cannot fail; keep the envelope shape regardless.
            format!(
                r#"{{"status":"application-crash","message":"{}","data":null,"errors":[],"request_id":"{}"}}"#,
                Status::ApplicationCrash.message(None),
                self.request_id
            )
        });
        let mut response = Response::new(body);
        *response.status_mut() = code;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
        if let Ok(id) = HeaderValue::from_str(&self.request_id) {
            headers.insert("x-request-id", id);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.replayed {
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_eighteen_distinct_slugs() {
        let mut slugs: Vec<_> = Status::ALL.iter().map(|s| s.slug()).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), 18);
        for s in Status::ALL {
            assert_eq!(Status::from_slug(s.slug()), Some(s));
        }
    }

    #[test]
    fn param_statuses_name_the_first_param() {
        let env = Envelope::new(
            Outcome::params(
                Status::InvalidParam,
                vec![ParamError::new("email", "bad"), ParamError::new("phone", "bad")],
            ),
            "r1",
        );
        assert_eq!(env.message, "The param 'email' is invalid.");
        let resp = env.into_response();
        assert_eq!(resp.status(), 400);
        assert_eq!(resp.headers()["x-request-id"], "r1");
        assert_eq!(resp.headers()["cache-control"], "no-store");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        assert_eq!(resp.headers()["content-type"], "application/json; charset=utf-8");
        assert!(resp.headers().get("retry-after").is_none());
    }

    #[test]
    fn a_refusal_with_a_wait_carries_retry_after_in_seconds() {
        let outcome =
            Outcome { retry_after: Some(840), ..Outcome::param(Status::InvalidParam, "current_password", "x") };
        let resp = Envelope::new(outcome, "r2").into_response();
        assert_eq!((resp.status().as_u16(), &resp.headers()["retry-after"]), (400, &HeaderValue::from_static("840")));
    }
}
