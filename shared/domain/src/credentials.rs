//! Credentials without IO (docs/api.md#authentication): token hashes, session expiry and
//! revocation, the authenticated caller and its roles, Argon2id passwords. The store lookups that
//! find a token's owner are the app's (`app::auth`).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::model::{Actor, ActorKind, Application, Session, User};
use crate::routes::RouteId;

pub const SESSION_MAX_AGE: Duration = Duration::days(7);
pub const SESSION_MAX_IDLE: Duration = Duration::hours(72);
/// `last_used_at` is written at most this often per session.
pub const TOUCH_INTERVAL: Duration = Duration::minutes(1);

/// Tokens are stored and looked up only as their SHA-256, in lowercase hex.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// The SHA-256 of `bytes`, in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    hex
}

/// A fresh random token (256 bits, URL-safe).
pub fn new_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The earlier of the two expiry instants; `None` for a `remember_me` session.
pub fn expires_at(session: &Session) -> Option<OffsetDateTime> {
    if session.remember_me {
        return None;
    }
    Some((session.created_at + SESSION_MAX_AGE).min(session.last_used_at + SESSION_MAX_IDLE))
}

/// Expired when older than 7 days or idle for more than 72 hours (strictly), unless `remember_me`.
pub fn is_expired(session: &Session, now: OffsetDateTime) -> bool {
    expires_at(session).is_some_and(|at| now > at)
}

/// Revoked by the user's last password change: created at or before it (the same second too,
/// since timestamps have whole seconds) and not the session that made it. `last_used_at` plays
/// no part, so a session touched during the change is revoked all the same.
pub fn is_revoked(session: &Session, user: &User) -> bool {
    user.revocation.as_ref().is_some_and(|r| {
        session.created_at <= r.sessions_valid_after && r.kept_session.as_deref() != Some(session.token_hash.as_str())
    })
}

/// An authenticated caller: a session's user, or an application.
#[derive(Debug, Clone)]
pub enum Caller {
    Session { session: Session, user: User },
    Application(Application),
}

impl Caller {
    /// Who this caller is, as records and idempotency keys name it.
    pub fn actor(&self) -> Actor {
        Actor { kind: self.actor_kind(), id: self.actor_id() }
    }

    pub fn actor_kind(&self) -> ActorKind {
        match self {
            Caller::Session { .. } => ActorKind::User,
            Caller::Application(_) => ActorKind::Application,
        }
    }

    /// The user's or the application's id.
    pub fn actor_id(&self) -> u64 {
        match self {
            Caller::Session { user, .. } => user.id,
            Caller::Application(app) => app.id,
        }
    }

    pub fn user(&self) -> Option<&User> {
        match self {
            Caller::Session { user, .. } => Some(user),
            Caller::Application(_) => None,
        }
    }

    pub fn is_employee(&self) -> bool {
        self.user().is_some_and(|u| u.employee_id.is_some())
    }

    pub fn application(&self) -> Option<&Application> {
        match self {
            Caller::Application(app) => Some(app),
            Caller::Session { .. } => None,
        }
    }

    /// An application holding the route permission (e.g. `clients.update`).
    pub fn application_may(&self, route: RouteId) -> bool {
        self.application().is_some_and(|app| app.permissions.iter().any(|p| p == route.name()))
    }
}

pub fn has_role(user: &User) -> bool {
    user.client_id.is_some() || user.employee_id.is_some() || user.liaison_id.is_some()
}

fn argon2() -> Argon2<'static> {
    // m = 19456 KiB, t = 2, p = 1: the documented parameters (docs/api.md#clients-update-rules).
    let params = Params::new(19_456, 2, 1, None).expect("static Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// An Argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> String {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes is a valid salt length");
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 hashing with valid parameters cannot fail")
        .to_string()
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| argon2().verify_password(password.as_bytes(), &hash).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Revocation;
    use time::macros::datetime;

    fn session(created: OffsetDateTime, used: OffsetDateTime, remember_me: bool) -> Session {
        Session { token_hash: "h".into(), user_id: 1, created_at: created, last_used_at: used, remember_me }
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_ne!(new_token(), new_token());
        assert!(new_token().len() >= 22);
    }

    #[test]
    fn seven_day_boundary() {
        let created = datetime!(2026-01-01 0:00 UTC);
        let now = created + SESSION_MAX_AGE;
        let s = session(created, now, false);
        assert!(!is_expired(&s, now), "exactly 7 days is still valid");
        assert!(is_expired(&s, now + Duration::seconds(1)));
        assert!(!is_expired(&session(created, now, true), now + Duration::days(400)));
        assert_eq!(expires_at(&s), Some(now));
    }

    #[test]
    fn seventy_two_hour_idle_boundary() {
        let created = datetime!(2026-01-01 0:00 UTC);
        let used = created + Duration::hours(1);
        let s = session(created, used, false);
        assert!(!is_expired(&s, used + SESSION_MAX_IDLE));
        assert!(is_expired(&s, used + SESSION_MAX_IDLE + Duration::seconds(1)));
        assert!(!is_expired(&session(created, used, true), used + Duration::hours(73)));
        assert_eq!(expires_at(&s), Some(used + SESSION_MAX_IDLE));
        assert_eq!(expires_at(&session(created, used, true)), None);
    }

    #[test]
    fn a_password_change_revokes_sessions_up_to_its_second_but_the_kept_one() {
        let at = datetime!(2026-01-01 12:00 UTC);
        let mut user = User {
            id: 1,
            client_id: Some(1),
            employee_id: None,
            liaison_id: None,
            liaison_entity_ids: Vec::new(),
            password_hash: None,
            revocation: None,
        };
        let older = session(at - Duration::hours(1), at, false);
        assert!(!is_revoked(&older, &user), "no change yet");
        user.revocation = Some(Revocation { sessions_valid_after: at, kept_session: Some("kept".into()) });
        assert!(is_revoked(&older, &user));
        assert!(is_revoked(&session(at, at, true), &user), "the same second is revoked");
        assert!(!is_revoked(&session(at + Duration::seconds(1), at, false), &user));
        let kept = Session { token_hash: "kept".into(), ..older };
        assert!(!is_revoked(&kept, &user));
    }

    #[test]
    fn passwords_hash_as_argon2id() {
        let phc = hash_password("correct horse");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("x", "not a hash"));
    }
}
