//! What a route's handler fails with, and how each failure becomes a status
//! (docs/api.md#statuses). Handlers use `?` only: the store's typed errors convert here, with
//! their unique-key refusals turned into the param errors users see. The stages before the
//! handler refuse with their own statuses (docs/architecture.md#invariants).

use serde_json::Value;

use crate::notify::NotifyError;
use domain::envelope::{Outcome, ParamError, Status};
use domain::routes::RouteId;
use store::error::StoreError;
use store::seam::{CreateError, PatchError};

/// A Clients Update of a client the caller may not see answers exactly as a missing one.
pub const NO_SUCH_CLIENT: &str = "No client with this id exists.";

/// A wrong `current_password`, also when the password changed after it was checked.
pub const NOT_THE_CURRENT_PASSWORD: &str = "This is not the current password.";

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// The request is refused: a 4xx status and its param errors; nothing was written.
    #[error("request refused: {}", .0.status.slug())]
    Refused(Outcome),
    /// The store failed or did not answer: `application-crash`.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The change was saved, then a notification failed: `mandrill-email-failed` with the saved
    /// record in `data`.
    #[error("the change was saved but a notification failed")]
    NotificationFailed {
        data: Value,
        #[source]
        source: NotifyError,
    },
}

/// The result of a route's handler: the record for `data`, or why not.
pub type RouteResult = Result<Value, RouteError>;

impl RouteError {
    /// A saved record `data` after its emails: the record, or `mandrill-email-failed` with it.
    pub fn after_notify(sent: Result<(), NotifyError>, data: Value) -> RouteResult {
        match sent {
            Ok(()) => Ok(data),
            Err(source) => Err(RouteError::NotificationFailed { data, source }),
        }
    }

    /// A refusal naming one param.
    pub fn param(status: Status, param: &str, message: &str) -> RouteError {
        RouteError::Refused(Outcome::param(status, param, message))
    }

    /// The outcome users see; failures are logged here, once, without their details in the answer.
    pub fn into_outcome(self, route: RouteId, request_id: &str) -> Outcome {
        match self {
            RouteError::Refused(outcome) => outcome,
            RouteError::Store(e) => {
                tracing::error!(request_id = %request_id, route = route.name(), error = %e, "store failure");
                Outcome::status(Status::ApplicationCrash)
            }
            RouteError::NotificationFailed { data, source } => {
                tracing::error!(
                    event = "mandrill-email-failed",
                    route = route.name(),
                    request_id = %request_id,
                    error = %source,
                    "notification email failed; the change was saved"
                );
                Outcome { data, ..Outcome::status(Status::MandrillEmailFailed) }
            }
        }
    }
}

/// A param-stage refusal (unknown, missing or invalid params).
impl From<Outcome> for RouteError {
    fn from(outcome: Outcome) -> Self {
        RouteError::Refused(outcome)
    }
}

impl From<PatchError> for RouteError {
    fn from(e: PatchError) -> Self {
        match e {
            PatchError::ClientNotFound => RouteError::param(Status::InvalidParam, "id", NO_SUCH_CLIENT),
            PatchError::EmailTaken => {
                RouteError::param(Status::InvalidParam, "email", "This email is already used by another client.")
            }
            PatchError::PasswordChanged => {
                RouteError::param(Status::InvalidParam, "current_password", NOT_THE_CURRENT_PASSWORD)
            }
            PatchError::Store(e) => RouteError::Store(e),
        }
    }
}

impl From<CreateError> for RouteError {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::IntegrationNotFound => {
                RouteError::param(Status::InvalidParam, "integration_id", "No integration with this id exists.")
            }
            CreateError::Taken { slug_taken, email_taken } => {
                let mut errors = Vec::new();
                if slug_taken {
                    errors.push(ParamError::new("entity_slug", "This slug is already used by another entity."));
                }
                if email_taken {
                    errors.push(ParamError::new("email", "This email is already used by another entity."));
                }
                RouteError::Refused(Outcome::params(Status::InvalidParam, errors))
            }
            CreateError::Store(e) => RouteError::Store(e),
        }
    }
}
