//! The single-table key layout: the one place that knows how records map to DynamoDB keys.
//!
//! | record             | PK                       | SK                   | GSI1PK / GSI1SK          |
//! |--------------------|--------------------------|----------------------|--------------------------|
//! | session            | `TOKEN#<sha256>`         | `TOKEN`              | `USER#<id>` / `TOKEN#…`  |
//! | application        | `TOKEN#<sha256>`         | `TOKEN`              |                          |
//! | user               | `USER#<id>`              | `USER`               |                          |
//! | password checks    | `USER#<id>`              | `PASSWORD_ATTEMPTS`  |                          |
//! | client             | `CLIENT#<id>`            | `CLIENT`             |                          |
//! | client email guard | `CLIENT_EMAIL#<lower>`   | `GUARD`              |                          |
//! | entity             | `ENTITY#<id>`            | `ENTITY`             |                          |
//! | entity slug guard  | `ENTITY_SLUG#<slug>`     | `GUARD`              |                          |
//! | entity email guard | `ENTITY_EMAIL#<lower>`   | `GUARD`              |                          |
//! | integration        | `INTEGRATION#<id>`       | `INTEGRATION`        |                          |
//! | id counter         | `COUNTER#<kind>`         | `COUNTER`            |                          |
//! | registry record    | `REGISTRY`               | `ROUTE#<n>` / `SERVICE#<n>` |                   |
//! | idempotency key    | `REQUEST_KEY#<route>#<caller kind>#<id>#<key>` | `REQUEST_KEY` | `OUTBOX` / `<due>#<holder>` |
//!
//! Sessions and applications share the `TOKEN#` key so that a token is one read. The GSI
//! lists a user's sessions (for operators: revocation is the user item's `revocation`, read at
//! authentication). Session items carry `expires_ttl` (epoch seconds, 30 days past expiry) for
//! the table's TTL; expiry itself is decided in code. A user's count of own-password checks
//! carries `expires_ttl` at the end of its window; an idempotency key's record, at the instant
//! it stops counting (a claim's expiry, or 24 hours after its answer). While a key's record
//! holds emails not yet known to be sent (its outbox), it is in the GSI's `OUTBOX` partition,
//! sorted by when its holder's lease ends (epoch seconds, zero-padded), so that a sweep finds
//! the longest due first and hands each over without reading it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::idempotency::KeyScope;
use crate::seam::RecordKind;
use domain::unique::{email_key, Guard, GuardKind};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const TTL_ATTRIBUTE: &str = "expires_ttl";
/// The attribute that tells a session from an application under a `TOKEN#` key.
pub const TOKEN_KIND: &str = "token_kind";
/// The owner id on a guard item, and the value of a counter.
pub const OWNER: &str = "owner";
pub const COUNTER_VALUE: &str = "value";

pub type Key = HashMap<String, AttributeValue>;

fn key(pk: String, sk: &str) -> Key {
    HashMap::from([(PK.to_string(), AttributeValue::S(pk)), (SK.to_string(), AttributeValue::S(sk.to_string()))])
}

pub fn token(hash: &str) -> Key {
    key(format!("TOKEN#{hash}"), "TOKEN")
}

pub fn user_sessions_pk(user_id: u64) -> String {
    format!("USER#{user_id}")
}

pub fn session_gsi(user_id: u64, hash: &str) -> [(String, AttributeValue); 2] {
    [
        (GSI1PK.to_string(), AttributeValue::S(user_sessions_pk(user_id))),
        (GSI1SK.to_string(), AttributeValue::S(format!("TOKEN#{hash}"))),
    ]
}

pub fn user(id: u64) -> Key {
    key(format!("USER#{id}"), "USER")
}

pub fn password_attempts(user_id: u64) -> Key {
    key(format!("USER#{user_id}"), "PASSWORD_ATTEMPTS")
}

pub fn client(id: u64) -> Key {
    key(format!("CLIENT#{id}"), "CLIENT")
}

pub fn client_email(email: &str) -> Key {
    key(format!("CLIENT_EMAIL#{}", email_key(email)), "GUARD")
}

pub fn entity(id: u64) -> Key {
    key(format!("ENTITY#{id}"), "ENTITY")
}

pub fn entity_slug(slug: &str) -> Key {
    key(format!("ENTITY_SLUG#{slug}"), "GUARD")
}

pub fn entity_email(email: &str) -> Key {
    key(format!("ENTITY_EMAIL#{}", email_key(email)), "GUARD")
}

pub fn integration(id: u64) -> Key {
    key(format!("INTEGRATION#{id}"), "INTEGRATION")
}

pub fn entity_counter() -> Key {
    key("COUNTER#entity".to_string(), "COUNTER")
}

pub fn request_key(scope: &KeyScope) -> Key {
    key(format!("REQUEST_KEY#{}", scope.id()), "REQUEST_KEY")
}

/// The key's scope, read back from its item's `PK`.
pub fn request_key_scope(pk: &str) -> Option<KeyScope> {
    KeyScope::from_id(pk.strip_prefix("REQUEST_KEY#")?)
}

/// The GSI partition of the outboxes.
pub const OUTBOX_PK: &str = "OUTBOX";

/// An outbox's GSI sort key: due at `due_epoch`, held by `holder`.
pub fn outbox_sk(due_epoch: u64, holder: &str) -> String {
    format!("{due_epoch:012}#{holder}")
}

/// The GSI sort key below which every outbox is due at or before `due_epoch`.
pub fn outboxes_due_by(due_epoch: u64) -> String {
    format!("{:012}", due_epoch + 1)
}

/// The holder an outbox's GSI sort key names.
pub fn outbox_holder(sk: &str) -> Option<&str> {
    sk.split_once('#').map(|(_, holder)| holder)
}

pub const REGISTRY_PK: &str = "REGISTRY";

pub fn registry(kind: RecordKind, name: &str) -> Key {
    let prefix = match kind {
        RecordKind::Route => "ROUTE",
        RecordKind::Service => "SERVICE",
    };
    key(REGISTRY_PK.to_string(), &format!("{prefix}#{name}"))
}

/// Which registry record a sort key names.
pub fn registry_kind(sk: &str) -> Option<(RecordKind, &str)> {
    if let Some(name) = sk.strip_prefix("ROUTE#") {
        Some((RecordKind::Route, name))
    } else {
        sk.strip_prefix("SERVICE#").map(|name| (RecordKind::Service, name))
    }
}

/// The key of the guard item that holds a unique value.
pub fn guard_key(guard: &Guard) -> Key {
    match guard.kind() {
        GuardKind::ClientEmail => client_email(guard.value()),
        GuardKind::EntitySlug => entity_slug(guard.value()),
        GuardKind::EntityEmail => entity_email(guard.value()),
    }
}

/// A guard item: the unique value's key plus the id that owns it.
pub fn guard(key: Key, owner: u64) -> Key {
    let mut item = key;
    item.insert(OWNER.to_string(), AttributeValue::N(owner.to_string()));
    item
}
