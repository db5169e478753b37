//! Stages 8–10 (docs/api.md#authentication): the token's owner looked up in the store and
//! checked with [`domain::credentials`]; password hashing off the async threads.

use std::collections::HashMap;
use std::sync::Mutex;

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

/// An authenticated caller and, for a session last used a minute ago or more, that its
/// `last_used_at` is due to move to now (already moved in `caller`): the pipeline writes it
/// alongside the route's own calls ([`Store::touch_session`]), not as a step before them.
#[derive(Debug)]
pub struct Authenticated {
    pub caller: Caller,
    pub touch_due: bool,
}

/// Stages 8–10: the token names a live session of a user with a role, or an active application.
///
/// The session and its user are read on every request (a revocation or a role change shows on
/// the next one). A token seen before has its user read at the same time as the token: a
/// session's user never changes ([`remembered_user`]). That user is looked at only once the
/// session is known to be the one of that user and not expired; otherwise it is dropped unseen.
pub async fn authenticate(store: &dyn Store, token: &str, now: OffsetDateTime) -> Result<Authenticated, AuthFailure> {
    let hash = token_hash(token);
    let (owner, early_user) = match remembered_user(&hash) {
        Some(user_id) => {
            let (owner, user) = tokio::join!(store.token(&hash), store.user(user_id));
            (owner?, Some((user_id, user)))
        }
        None => (store.token(&hash).await?, None),
    };
    if let Some(TokenOwner::Session(mut session)) = owner {
        remember_user(&hash, session.user_id);
        if is_expired(&session, now) {
            return Err(AuthFailure::SessionExpired);
        }
        let user = match early_user {
            Some((user_id, read)) if user_id == session.user_id => read?,
            _ => store.user(session.user_id).await?,
        };
        let user = user.ok_or(AuthFailure::InvalidToken)?;
        if is_revoked(&session, &user) {
            return Err(AuthFailure::InvalidToken);
        }
        let touch_due = now - session.last_used_at >= TOUCH_INTERVAL;
        if touch_due {
            session.last_used_at = now;
        }
        if !has_role(&user) {
            if touch_due {
                store.touch_session(&session, now).await?;
            }
            return Err(AuthFailure::ClientRequired { session, user });
        }
        return Ok(Authenticated { caller: Caller::Session { session, user }, touch_due });
    }
    match owner {
        Some(TokenOwner::Application(app)) if app.active => {
            Ok(Authenticated { caller: Caller::Application(app), touch_due: false })
        }
        _ => Err(AuthFailure::InvalidToken),
    }
}

/// The token hashes of the sessions this process has authenticated, with their users' ids (the
/// hashes the table keys sessions by, never a token). Bounded: forgotten all at once when full.
static SESSION_USERS: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);
const REMEMBERED_SESSIONS: usize = 4096;

/// The user of the session `hash`, if this process has read that session before.
fn remembered_user(hash: &str) -> Option<u64> {
    SESSION_USERS.lock().ok()?.as_ref()?.get(hash).copied()
}

fn remember_user(hash: &str, user_id: u64) {
    let Ok(mut memo) = SESSION_USERS.lock() else { return };
    let memo = memo.get_or_insert_with(HashMap::new);
    if memo.len() >= REMEMBERED_SESSIONS && !memo.contains_key(hash) {
        memo.clear();
    }
    memo.insert(hash.to_string(), user_id);
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
