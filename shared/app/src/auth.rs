//! Stages 8–10 (docs/api.md#authentication): the token's owner looked up in the store and
//! checked with [`domain::credentials`]; password hashing off the async threads.

use time::OffsetDateTime;

use domain::credentials::{
    has_role, hash_password, is_expired, is_revoked, token_hash, verify_password, Caller, TOUCH_INTERVAL,
};
use domain::model::{Session, User};
use store::error::StoreError;
use store::seam::{Store, TokenOwner};

/// Why authentication stopped (stages 8–10).
#[derive(Debug)]
pub enum AuthFailure {
    InvalidToken,
    SessionExpired,
    /// The session is valid but its user has no role; the response carries the session.
    ClientRequired {
        session: Session,
        user: User,
    },
    Store(StoreError),
}

impl From<StoreError> for AuthFailure {
    fn from(e: StoreError) -> Self {
        AuthFailure::Store(e)
    }
}

/// Stages 8–10: the token names a live session of a user with a role, or an active application.
/// A session that passes has its `last_used_at` moved to `now` (written at most once a minute).
pub async fn authenticate(store: &dyn Store, token: &str, now: OffsetDateTime) -> Result<Caller, AuthFailure> {
    let hash = token_hash(token);
    let owner = store.token(&hash).await?;
    if let Some(TokenOwner::Session(mut session)) = owner {
        if is_expired(&session, now) {
            return Err(AuthFailure::SessionExpired);
        }
        let user = store.user(session.user_id).await?.ok_or(AuthFailure::InvalidToken)?;
        if is_revoked(&session, &user) {
            return Err(AuthFailure::InvalidToken);
        }
        if now - session.last_used_at >= TOUCH_INTERVAL {
            store.touch_session(&session, now).await?;
            session.last_used_at = now;
        }
        if !has_role(&user) {
            return Err(AuthFailure::ClientRequired { session, user });
        }
        return Ok(Caller::Session { session, user });
    }
    match owner {
        Some(TokenOwner::Application(app)) if app.active => Ok(Caller::Application(app)),
        _ => Err(AuthFailure::InvalidToken),
    }
}

/// [`hash_password`] off the async threads (Argon2 takes tens of milliseconds and 19 MiB).
pub async fn hash_password_off_thread(password: String) -> String {
    blocking(move || hash_password(&password)).await
}

/// [`verify_password`] off the async threads.
pub async fn verify_password_off_thread(password: String, phc: String) -> bool {
    blocking(move || verify_password(&password, &phc)).await
}

/// Runs `f` on tokio's blocking threads; a panic in it resumes here.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
