//! `TransactWriteItems` with retries on `TransactionConflict`, the items of a transaction named by
//! the role each plays, and the mapping from cancellation reasons (read by role) to what the
//! routes answer.

use std::fmt;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_dynamodb::Client;

use super::item::unavailable;
use crate::error::StoreError;

/// How long a transaction keeps retrying conflicts: well inside the request's deadline.
const CONFLICT_BUDGET: Duration = Duration::from_millis(2500);

const CONDITION_FAILED: &str = "ConditionalCheckFailed";
const CONFLICT: &str = "TransactionConflict";

/// A transaction's items, each with its role, so that a cancellation is read by role, not index.
pub struct Transaction<R> {
    items: Vec<TransactWriteItem>,
    roles: Vec<R>,
}

impl<R: Copy + PartialEq> Transaction<R> {
    pub fn new() -> Self {
        Transaction { items: Vec::new(), roles: Vec::new() }
    }

    pub fn push(&mut self, role: R, item: TransactWriteItem) {
        self.items.push(item);
        self.roles.push(role);
    }
}

/// The reason code the SDK gave for each item (`None` or `"None"` where it did not fail).
pub struct Cancelled<R> {
    reasons: Vec<(R, Option<String>)>,
}

impl<R: Copy + PartialEq> Cancelled<R> {
    /// The item playing `role` failed its condition (an absent role never fails).
    pub fn failed(&self, role: R) -> bool {
        self.reasons.iter().any(|(r, code)| *r == role && code.as_deref() == Some(CONDITION_FAILED))
    }
}

/// The codes in item order, as the SDK listed them.
impl<R> fmt::Debug for Cancelled<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.reasons.iter().map(|(_, code)| code)).finish()
    }
}

pub enum TxError<R> {
    Cancelled(Cancelled<R>),
    Store(StoreError),
}

fn conflicted(codes: &[Option<String>]) -> bool {
    codes.iter().any(|c| c.as_deref() == Some(CONFLICT))
        && !codes.iter().any(|c| c.as_deref() == Some(CONDITION_FAILED))
}

/// Writes the transaction atomically. Real DynamoDB cancels overlapping transactions with
/// `TransactionConflict`; those are retried with jittered exponential backoff, so that of N
/// racing writers the conditions (not the timing) decide who wins.
pub async fn write<R: Copy>(client: &Client, txn: Transaction<R>) -> Result<(), TxError<R>> {
    let started = Instant::now();
    let mut attempt: u32 = 0;
    loop {
        let result = client.transact_write_items().set_transact_items(Some(txn.items.clone())).send().await;
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
            // The SDK lists one reason per item, in the order the items were sent.
            return Err(TxError::Cancelled(Cancelled { reasons: txn.roles.iter().copied().zip(codes).collect() }));
        }
        attempt += 1;
        let ceiling = 10u64 << attempt.min(6); // 20 ms, 40 ms, … 640 ms
        let pause = rand::random_range(ceiling / 2..=ceiling);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

/// The items of an entity create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateRole {
    /// The check that the integration exists.
    Integration,
    Entity,
    SlugGuard,
    EmailGuard,
    /// The idempotency key's answer, conditioned on the request's claim.
    Key,
}

/// Why an entity create was cancelled.
#[derive(Debug, PartialEq, Eq)]
pub enum CreateFailure {
    IntegrationNotFound,
    Taken {
        slug_taken: bool,
        email_taken: bool,
    },
    /// The new id's record already exists: take the next id.
    IdTaken,
    /// The idempotency key is no longer the request's.
    ClaimLost,
    Other,
}

pub fn create_failure(cancelled: &Cancelled<CreateRole>) -> CreateFailure {
    if cancelled.failed(CreateRole::Key) {
        return CreateFailure::ClaimLost;
    }
    if cancelled.failed(CreateRole::Integration) {
        return CreateFailure::IntegrationNotFound;
    }
    let (slug_taken, email_taken) = (cancelled.failed(CreateRole::SlugGuard), cancelled.failed(CreateRole::EmailGuard));
    if slug_taken || email_taken {
        return CreateFailure::Taken { slug_taken, email_taken };
    }
    if cancelled.failed(CreateRole::Entity) {
        return CreateFailure::IdTaken;
    }
    CreateFailure::Other
}

/// The items of a client update: the client (conditioned on the email read before), with an
/// email move the new guard and the old guard's delete, with a password change the user, with
/// an idempotency key its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchRole {
    Client,
    NewEmailGuard,
    OldEmailGuard,
    User,
    Key,
}

/// Why a client update transaction was cancelled.
#[derive(Debug, PartialEq, Eq)]
pub enum PatchFailure {
    /// The client changed (or vanished) since it was read: read again.
    RecordChanged,
    /// The old email's guard belongs to another client: write again without releasing it.
    OldGuardNotOurs,
    EmailTaken,
    /// The user is gone or, with a checked hash, its password changed.
    UserChanged,
    /// The idempotency key is no longer the request's.
    ClaimLost,
    Other,
}

pub fn patch_failure(cancelled: &Cancelled<PatchRole>) -> PatchFailure {
    if cancelled.failed(PatchRole::Key) {
        return PatchFailure::ClaimLost;
    }
    if cancelled.failed(PatchRole::NewEmailGuard) {
        return PatchFailure::EmailTaken;
    }
    if cancelled.failed(PatchRole::Client) {
        return PatchFailure::RecordChanged;
    }
    if cancelled.failed(PatchRole::OldEmailGuard) {
        return PatchFailure::OldGuardNotOurs;
    }
    if cancelled.failed(PatchRole::User) {
        return PatchFailure::UserChanged;
    }
    PatchFailure::Other
}

#[cfg(test)]
mod tests;
