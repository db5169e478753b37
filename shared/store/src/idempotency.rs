//! Idempotency-key records (docs/api.md#idempotency), the same for every store: a key is
//! claimed by one request, then holds its answer or is released. Whether a record still counts
//! is decided here from its stored instant, never by when a store's TTL deletes it.

use time::{Duration, OffsetDateTime};

use domain::credentials::Caller;
use domain::email::Email;
use domain::model::{Actor, ActorKind};
use domain::routes::RouteId;

use crate::error::{StoreError, StoreResult};

/// How long a completed request's answer is kept for replays.
pub const ANSWER_KEPT: Duration = Duration::hours(24);

/// A key as one caller sent it on one route: the same key from another caller or on the other
/// route is another key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyScope {
    pub route: RouteId,
    /// The user (whichever of its sessions sent the key) or the application.
    pub caller: Actor,
    pub key: String,
}

impl KeyScope {
    pub fn new(route: RouteId, caller: &Caller, key: impl Into<String>) -> Self {
        KeyScope { route, caller: caller.actor(), key: key.into() }
    }

    /// One string naming the scope, e.g. `entities.create#application#1#<key>` (the key last:
    /// it may hold `#`).
    pub fn id(&self) -> String {
        format!("{}#{}#{}#{}", self.route.name(), self.caller.kind.name(), self.caller.id, self.key)
    }

    /// The scope [`KeyScope::id`] names.
    pub fn from_id(id: &str) -> Option<KeyScope> {
        let mut parts = id.splitn(4, '#');
        let route = RouteId::from_name(parts.next()?)?;
        let kind = parts.next()?;
        let kind = [ActorKind::User, ActorKind::Application].into_iter().find(|k| k.name() == kind)?;
        let caller = Actor { kind, id: parts.next()?.parse().ok()? };
        Some(KeyScope { route, caller, key: parts.next()?.to_string() })
    }
}

/// One request's claim on a key: in progress until `expires_at`, after which the request is
/// taken to have died and the key may be claimed anew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClaim {
    /// Random, so that only the request that claimed the key completes or releases it.
    pub id: String,
    /// The claim's instant: a record that expired at or before it is claimed over.
    pub at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// The answer of a request that wrote, kept for its retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// The request's fingerprint as stored (`idempotency::Fingerprint`).
    pub fingerprint: String,
    pub status: String,
    pub http_code: u16,
    /// The envelope as first sent, without the caller's `session` / `application` object.
    pub body: String,
    pub expires_at: OffsetDateTime,
    /// The request's emails while they are not known to be sent.
    pub outbox: Option<Outbox>,
}

/// The emails of a committed request, recorded with its change (docs/api.md#idempotency) and
/// removed once they are sent: a request that dies after its commit leaves them to a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbox {
    /// Who sends them: the request that committed (its claim id) or a retry that took them over.
    pub holder: String,
    /// Until then the holder may still be sending them; after it, a retry takes them over.
    pub due_at: OffsetDateTime,
    pub emails: Vec<Email>,
}

/// An outbox a sweep may take over (docs/api.md#idempotency): the key it is kept under and who
/// held it when it fell due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueOutbox {
    pub scope: KeyScope,
    pub holder: String,
}

/// A keyed request's answer, written in the same transaction as its change and conditioned on
/// the claim still being the request's: a committed change always has its answer kept.
pub struct KeyCommit<'a, T> {
    pub scope: &'a KeyScope,
    pub claim_id: &'a str,
    /// The answer for the record the write leaves, made before the commit (a store that retries
    /// its write asks again with the record it retries with).
    pub answer: AnswerFor<'a, T>,
}

/// How a [`KeyCommit`] makes its answer from the record its write leaves.
pub type AnswerFor<'a, T> = Box<dyn Fn(&T) -> StoreResult<StoredAnswer> + Send + Sync + 'a>;

/// A live record under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRecord {
    InProgress { expires_at: OffsetDateTime },
    Completed(StoredAnswer),
}

impl KeyRecord {
    pub fn expires_at(&self) -> OffsetDateTime {
        match self {
            KeyRecord::InProgress { expires_at } => *expires_at,
            KeyRecord::Completed(answer) => answer.expires_at,
        }
    }
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's: run it.
    Ours,
    /// A live record holds the key.
    Held(KeyRecord),
}

/// Why a keyed write wrote nothing: its claim expired and the key was claimed anew.
pub fn claim_lost() -> StoreError {
    StoreError::Unavailable("the idempotency key's claim expired before the write".into())
}

/// A record that expired at `expires_at` no longer holds its key at `now`.
pub fn expired(expires_at: OffsetDateTime, now: OffsetDateTime) -> bool {
    expires_at <= now
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_scope_is_read_back_from_its_id_its_key_holding_any_character() {
        let scope = KeyScope {
            route: RouteId::EntitiesCreate,
            caller: Actor { kind: ActorKind::User, id: 11 },
            key: "a#b#c".into(),
        };
        assert_eq!(KeyScope::from_id(&scope.id()), Some(scope));
        for bad in
            ["entities.create#robot#1#k", "nowhere#user#1#k", "entities.create#user#x#k", "entities.create#user#1"]
        {
            assert_eq!(KeyScope::from_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_record_holds_its_key_until_its_instant() {
        let at = datetime!(2026-01-01 12:00 UTC);
        assert!(!expired(at, at - Duration::seconds(1)));
        assert!(expired(at, at));
    }
}
