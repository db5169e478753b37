//! Token items (sessions and applications under one `TOKEN#` key): reading a token, moving a
//! session's `last_used_at` and TTL forward. Revocation is on the user item (`clients`).

use aws_sdk_dynamodb::types::AttributeValue;
use time::{Duration, OffsetDateTime};

use super::item::{condition_failed, from_item, s, to_item, unavailable, ItemExt};
use super::keys::{self, Key};
use super::DynamoStore;
use crate::error::{StoreError, StoreResult};
use crate::seam::TokenOwner;
use domain::credentials::expires_at;
use domain::model::{timestamp, Application, Session};

/// Session items are deleted by the table's TTL this long after they expire.
const TTL_GRACE: Duration = Duration::days(30);

fn ttl_of(session: &Session) -> Option<AttributeValue> {
    expires_at(session).map(|at| AttributeValue::N((at + TTL_GRACE).unix_timestamp().to_string()))
}

/// A session's item: its token key, its user's index entry and, unless it never expires, its TTL.
pub fn session_item(session: &Session) -> StoreResult<Key> {
    let mut item = to_item(session, keys::token(&session.token_hash))?;
    item.insert(keys::TOKEN_KIND.to_string(), s("session"));
    item.extend(keys::session_gsi(session.user_id, &session.token_hash));
    if let Some(ttl) = ttl_of(session) {
        item.insert(keys::TTL_ATTRIBUTE.to_string(), ttl);
    }
    Ok(item)
}

pub fn application_item(application: &Application) -> StoreResult<Key> {
    let mut item = to_item(application, keys::token(&application.token_hash))?;
    item.insert(keys::TOKEN_KIND.to_string(), s("application"));
    Ok(item)
}

pub async fn token(store: &DynamoStore, token_hash: &str) -> StoreResult<Option<TokenOwner>> {
    let Some(item) = store.get(keys::token(token_hash)).await? else { return Ok(None) };
    match item.string(keys::TOKEN_KIND) {
        Some("session") => Ok(Some(TokenOwner::Session(from_item(item)?))),
        Some("application") => Ok(Some(TokenOwner::Application(from_item(item)?))),
        _ => Err(StoreError::Corrupt("a token item of unknown kind".into())),
    }
}

/// Moves `last_used_at` (and the TTL with it) to `now`, never backward.
pub async fn touch(store: &DynamoStore, session: &Session, now: OffsetDateTime) -> StoreResult<()> {
    let session = Session { last_used_at: now, ..session.clone() };
    let mut update = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(keys::token(&session.token_hash)))
        .condition_expression("attribute_exists(PK) AND last_used_at < :now")
        .expression_attribute_values(":now", s(timestamp::format(now)));
    update = match ttl_of(&session) {
        Some(ttl) => update
            .update_expression("SET last_used_at = :now, #ttl = :ttl")
            .expression_attribute_names("#ttl", keys::TTL_ATTRIBUTE)
            .expression_attribute_values(":ttl", ttl),
        None => update.update_expression("SET last_used_at = :now"),
    };
    match update.send().await {
        Ok(_) => Ok(()),
        // Another request moved it first, or the session is gone: nothing to do.
        Err(e) if condition_failed(&e) => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}
