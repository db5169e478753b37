//! `TransactWriteItems` with retries on `TransactionConflict`, and the mapping from
//! cancellation reasons to what the routes answer.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_dynamodb::Client;

use super::unavailable;
use crate::store::StoreError;

/// How long a transaction keeps retrying conflicts: well inside the request's deadline.
const CONFLICT_BUDGET: Duration = Duration::from_millis(2500);

const CONDITION_FAILED: &str = "ConditionalCheckFailed";
const CONFLICT: &str = "TransactionConflict";

pub enum TxError {
    /// The reason code of each item, in order (`None` or `"None"` where it did not fail).
    Cancelled(Vec<Option<String>>),
    Store(StoreError),
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

fn failed(codes: &[Option<String>], index: usize) -> bool {
    codes.get(index).and_then(|c| c.as_deref()) == Some(CONDITION_FAILED)
}

fn conflicted(codes: &[Option<String>]) -> bool {
    codes.iter().any(|c| c.as_deref() == Some(CONFLICT))
        && !codes.iter().any(|c| c.as_deref() == Some(CONDITION_FAILED))
}

/// Writes `items` atomically. Real DynamoDB cancels overlapping transactions with
/// `TransactionConflict`; those are retried with jittered exponential backoff, so that of N
/// racing writers the conditions (not the timing) decide who wins.
pub async fn write(client: &Client, items: Vec<TransactWriteItem>) -> Result<(), TxError> {
    let started = Instant::now();
    let mut attempt: u32 = 0;
    loop {
        let result = client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
        let err = match result {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        let codes = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(ex)) => {
                ex.cancellation_reasons().iter().map(|r| r.code().map(str::to_string)).collect::<Vec<_>>()
            }
            _ => return Err(TxError::Store(unavailable(err))),
        };
        if !conflicted(&codes) || started.elapsed() > CONFLICT_BUDGET {
            return Err(TxError::Cancelled(codes));
        }
        attempt += 1;
        let ceiling = 10u64 << attempt.min(6); // 20 ms, 40 ms, … 640 ms
        let pause = rand::random_range(ceiling / 2..=ceiling);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

/// Why an entity create was cancelled. Items: 0 integration check, 1 entity, 2 slug, 3 email.
#[derive(Debug, PartialEq, Eq)]
pub enum CreateFailure {
    IntegrationNotFound,
    Taken { slug_taken: bool, email_taken: bool },
    /// The new id's record already exists: take the next id.
    IdTaken,
    Other,
}

pub fn create_failure(codes: &[Option<String>]) -> CreateFailure {
    if failed(codes, 0) {
        return CreateFailure::IntegrationNotFound;
    }
    let (slug_taken, email_taken) = (failed(codes, 2), failed(codes, 3));
    if slug_taken || email_taken {
        return CreateFailure::Taken { slug_taken, email_taken };
    }
    if failed(codes, 1) {
        return CreateFailure::IdTaken;
    }
    CreateFailure::Other
}

/// Why a client update transaction was cancelled. Items: 0 the client (conditioned on the
/// email read before), then with a guard move 1 the new guard and 2 the old guard's delete,
/// then the user's password.
#[derive(Debug, PartialEq, Eq)]
pub enum PatchFailure {
    /// The client changed (or vanished) since it was read: read again.
    RecordChanged,
    EmailTaken,
    UserMissing,
    Other,
}

pub fn patch_failure(codes: &[Option<String>], moves_guard: bool) -> PatchFailure {
    if moves_guard && failed(codes, 1) {
        return PatchFailure::EmailTaken;
    }
    if failed(codes, 0) {
        return PatchFailure::RecordChanged;
    }
    let user_index = if moves_guard { 3 } else { 1 };
    if failed(codes, user_index) {
        return PatchFailure::UserMissing;
    }
    PatchFailure::Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::CancellationReason;

    /// Reason codes as the SDK hands them over, from injected `CancellationReason`s.
    fn reasons(codes: &[&str]) -> Vec<Option<String>> {
        codes
            .iter()
            .map(|c| CancellationReason::builder().code(*c).build())
            .map(|r| r.code().map(str::to_string))
            .collect()
    }

    #[test]
    fn create_reasons_map_to_statuses() {
        use CreateFailure::*;
        assert_eq!(create_failure(&reasons(&["ConditionalCheckFailed", "None", "ConditionalCheckFailed", "None"])), IntegrationNotFound);
        assert_eq!(create_failure(&reasons(&["None", "None", "ConditionalCheckFailed", "None"])), Taken { slug_taken: true, email_taken: false });
        assert_eq!(create_failure(&reasons(&["None", "None", "None", "ConditionalCheckFailed"])), Taken { slug_taken: false, email_taken: true });
        assert_eq!(
            create_failure(&reasons(&["None", "None", "ConditionalCheckFailed", "ConditionalCheckFailed"])),
            Taken { slug_taken: true, email_taken: true }
        );
        assert_eq!(create_failure(&reasons(&["None", "ConditionalCheckFailed", "None", "None"])), IdTaken);
        assert_eq!(create_failure(&reasons(&["None", "ThrottlingError", "None", "None"])), Other);
    }

    #[test]
    fn patch_reasons_map_to_statuses() {
        use PatchFailure::*;
        assert_eq!(patch_failure(&reasons(&["None", "ConditionalCheckFailed", "None"]), true), EmailTaken);
        assert_eq!(patch_failure(&reasons(&["ConditionalCheckFailed", "None", "None"]), true), RecordChanged);
        assert_eq!(patch_failure(&reasons(&["None", "None", "None", "ConditionalCheckFailed"]), true), UserMissing);
        assert_eq!(patch_failure(&reasons(&["None", "ConditionalCheckFailed"]), false), UserMissing);
        assert_eq!(patch_failure(&reasons(&["None", "ValidationError"]), false), Other);
    }

    #[test]
    fn only_pure_conflicts_are_retried() {
        assert!(conflicted(&reasons(&["TransactionConflict", "None"])));
        assert!(!conflicted(&reasons(&["TransactionConflict", "ConditionalCheckFailed"])), "a failed condition is final");
        assert!(!conflicted(&reasons(&["None", "None"])));
    }
}
