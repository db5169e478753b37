//! Stage 10a (docs/api.md#idempotency): the optional `Idempotency-Key` header. A keyed request
//! claims its key, runs once, and writes its answer and its emails (an outbox) in the same
//! transaction as its change, or releases the key if it wrote nothing; a retry is answered from
//! the record without running, and sends the emails of a request that died after its commit
//! (as the sweep of `outbox_sweep` does when no retry comes).
//!
//! Without the header none of this runs and the store is not called.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lambda_http::http::HeaderMap;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use domain::client_fields::ClientField;
use domain::credentials::sha256_hex;
use domain::email::Email;
use domain::envelope::{Envelope, Outcome, ParamError, Status};
use store::error::StoreError;
use store::idempotency::{Claim, KeyClaim, KeyCommit, KeyRecord, KeyScope, Outbox, StoredAnswer, ANSWER_KEPT};

use crate::auth::{hash_password_off_thread, verify_password_off_thread};
use crate::deps::Deps;
use crate::notify::send_all;
use crate::request_id::{new_request_id, REQUEST_DEADLINE};

pub const HEADER: &str = "idempotency-key";
/// How the header is named in `errors`.
pub const PARAM: &str = "Idempotency-Key";
const MAX_KEY: usize = 255;

/// A claim outlives its request's deadline by this much: a request still running never loses
/// its key, and one that died frees it soon after.
const CLAIM_MARGIN: time::Duration = time::Duration::seconds(2);
/// The part of the request's deadline kept for writing the answer (or releasing the key) after
/// the handler.
pub const RECORD_RESERVE: Duration = Duration::from_secs(1);
/// How long after its commit a request may still be sending its emails (`NOTIFY_DEADLINE` and a
/// second for clearing the outbox): a retry that finds them not yet sent waits until then before
/// it takes them over, which its own deadline leaves room for.
pub const OUTBOX_LEASE: time::Duration = time::Duration::seconds(4);

/// The header's key: `None` without the header; `invalid-param` unless it is 1 to 255 visible
/// ASCII characters (sent once).
pub fn requested_key(headers: &HeaderMap) -> Result<Option<String>, Outcome> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(value) = values.next() else { return Ok(None) };
    let bytes = value.as_bytes();
    let visible = bytes.iter().all(|b| b.is_ascii_graphic());
    if values.next().is_some() || bytes.is_empty() || bytes.len() > MAX_KEY || !visible {
        let why = "This header must be sent once, as 1 to 255 visible ASCII characters.";
        return Err(Outcome::param(Status::InvalidParam, PARAM, why));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// The SHA-256 of a request's decoded params in canonical form (keys sorted, no whitespace),
/// without `token`: a retry after a token refresh is the same request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    hex: String,
    /// The params hold a password: see [`Fingerprint::stored`].
    secret: bool,
}

impl Fingerprint {
    pub fn of(params: &Map<String, Value>) -> Fingerprint {
        let without_token = params.iter().filter(|(name, _)| name.as_str() != "token");
        let canonical = canonical(&Value::Object(without_token.map(|(k, v)| (k.clone(), v.clone())).collect()));
        // Serialising a `Value` cannot fail.
        let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
        let secret = params.keys().any(|name| ClientField::named(name).is_some_and(ClientField::is_secret));
        Fingerprint { hex: sha256_hex(&bytes), secret }
    }

    /// As kept in the record: the digest, or for params holding a password its Argon2id hash,
    /// so that the record offers no fast test of password guesses.
    pub async fn stored(&self) -> String {
        if !self.secret {
            return self.hex.clone();
        }
        hash_password_off_thread(self.hex.clone()).await
    }

    /// Whether a record's fingerprint, as [`Fingerprint::stored`] made it, is this one.
    pub async fn matches(&self, stored: &str) -> bool {
        if !stored.starts_with("$argon2") {
            return stored == self.hex;
        }
        verify_password_off_thread(self.hex.clone(), stored.to_string()).await
    }
}

/// `value` with every object's keys in sorted order (serialised compactly, that is the
/// canonical form).
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut names: Vec<&String> = map.keys().collect();
            names.sort_unstable();
            Value::Object(names.into_iter().map(|name| (name.clone(), canonical(&map[name]))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        scalar => scalar.clone(),
    }
}

/// A request sent with a key: its scope and fingerprint, and what it needs to claim, keep or
/// release the key.
pub struct KeyedRequest<'a> {
    deps: &'a Deps,
    scope: KeyScope,
    fingerprint: Fingerprint,
    request_id: &'a str,
    now: OffsetDateTime,
    deadline: Instant,
}

/// A key this request holds: what its handler needs to write the answer with its change.
pub struct HeldKey {
    scope: KeyScope,
    claim_id: String,
    /// The fingerprint as the record keeps it.
    fingerprint: String,
    request_id: String,
    now: OffsetDateTime,
    /// The answer last handed to the store with a write: the one committed if the write was.
    committed: Mutex<Option<StoredAnswer>>,
}

impl HeldKey {
    /// The key's answer for the route's write of a `T`: `render` gives the record's `data` and
    /// its emails, as the handler will send them.
    pub fn commit<'a, T>(
        &'a self,
        deps: &'a Deps,
        render: &'a (dyn Fn(&T) -> (Value, Vec<Email>) + Send + Sync),
    ) -> KeyCommit<'a, T> {
        let answer = move |record: &T| {
            let (data, emails) = render(record);
            let envelope = Envelope::new(Outcome::success(data), &self.request_id);
            let outbox = (!emails.is_empty()).then(|| Outbox {
                holder: self.claim_id.clone(),
                due_at: deps.clock.now() + OUTBOX_LEASE,
                emails,
            });
            let answer = StoredAnswer { outbox, ..self.answer(&envelope)? };
            *self.committed.lock().unwrap_or_else(|e| e.into_inner()) = Some(answer.clone());
            Ok(answer)
        };
        KeyCommit { scope: &self.scope, claim_id: &self.claim_id, answer: Box::new(answer) }
    }

    /// `envelope` as the record keeps it.
    fn answer(&self, envelope: &Envelope) -> Result<StoredAnswer, StoreError> {
        Ok(StoredAnswer {
            fingerprint: self.fingerprint.clone(),
            status: envelope.status.slug().to_string(),
            http_code: envelope.http_code(),
            body: serde_json::to_string(envelope).map_err(|e| StoreError::Corrupt(Box::new(e)))?,
            expires_at: self.now + ANSWER_KEPT,
            outbox: None,
        })
    }
}

impl<'a> KeyedRequest<'a> {
    /// An authenticated request with params `body`, sent with the key of `scope`.
    pub fn new(
        deps: &'a Deps,
        scope: KeyScope,
        body: &Map<String, Value>,
        request_id: &'a str,
        now: OffsetDateTime,
        deadline: Instant,
    ) -> Self {
        KeyedRequest { deps, scope, fingerprint: Fingerprint::of(body), request_id, now, deadline }
    }

    /// Claims the key; if a live record holds it, the answer instead: the kept one replayed,
    /// `idempotency-key-reused` or `request-in-progress`.
    pub async fn claim(&self) -> Result<HeldKey, Envelope> {
        let claim =
            KeyClaim { id: new_request_id(), at: self.now, expires_at: self.now + REQUEST_DEADLINE + CLAIM_MARGIN };
        // The fingerprint as kept (a slow hash for a password) is made while the claim is sent.
        let (claimed, fingerprint) =
            tokio::join!(self.deps.store.claim_key(&self.scope, &claim), self.fingerprint.stored());
        let held = match claimed {
            Ok(Claim::Ours) => {
                return Ok(HeldKey {
                    scope: self.scope.clone(),
                    claim_id: claim.id,
                    fingerprint,
                    request_id: self.request_id.to_string(),
                    now: self.now,
                    committed: Mutex::new(None),
                })
            }
            Ok(Claim::Held(record)) => record,
            Err(e) => return Err(self.crashed(&e)),
        };
        let answer = match held {
            KeyRecord::InProgress { .. } => Envelope::new(
                Outcome { retry_after: Some(1), ..Outcome::status(Status::RequestInProgress) },
                self.request_id,
            ),
            KeyRecord::Completed(kept) if self.fingerprint.matches(&kept.fingerprint).await => {
                let answer = replay(&kept).unwrap_or_else(|e| self.crashed(&e));
                if let Some(outbox) = &kept.outbox {
                    self.take_over(outbox).await;
                }
                answer
            }
            KeyRecord::Completed(_) => {
                let why = "This key was used for a request with other params.";
                Envelope::new(Outcome::param(Status::IdempotencyKeyReused, PARAM, why), self.request_id)
            }
        };
        Err(answer)
    }

    /// After the handler, within the request's `deadline`: for a request whose write kept its
    /// answer, the outbox settled (its emails sent, or their failure made the kept answer); for
    /// one that wrote nothing, the key released; for a success that wrote nothing (nothing to
    /// change), its answer kept. If that write fails, the answer is sent as it is: a kept outbox
    /// is sent again by a retry, a claim held until it expires (retries meanwhile are
    /// `request-in-progress`, never a second write).
    pub async fn finish(&self, key: HeldKey, envelope: &Envelope, deadline: Instant) {
        let answered = matches!(envelope.status, Status::ActionSuccessful | Status::MandrillEmailFailed);
        let committed = key.committed.lock().unwrap_or_else(|e| e.into_inner()).take();
        let store = &self.deps.store;
        let write = async {
            match committed {
                // Written with the change: the outbox is this request's to settle.
                Some(kept) if answered => {
                    if kept.outbox.is_none() {
                        return Ok(true);
                    }
                    let failed = envelope.status == Status::MandrillEmailFailed;
                    let replaced = if failed { Some(key.answer(envelope)?) } else { None };
                    store.settle_outbox(&self.scope, &key.claim_id, replaced.as_ref()).await
                }
                None if answered => store.complete_key(&self.scope, &key.claim_id, &key.answer(envelope)?).await,
                // Refused, or cut short: a key whose change committed keeps its answer (the
                // release is conditioned on the claim, which the commit replaced).
                _ => store.release_key(&self.scope, &key.claim_id, self.now).await.map(|()| true),
            }
        };
        let failure = match tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), write).await {
            Ok(Ok(true)) => return,
            Ok(Ok(false)) => "the key or its outbox was no longer this request's".to_string(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer before the request deadline".to_string(),
        };
        tracing::error!(
            event = "idempotency-record-failed",
            request_id = %self.request_id,
            answered,
            error = %failure,
            "the key's record was not written; a retry replays what the store kept"
        );
    }

    /// A retry that found the emails of a request that committed not yet sent: once the holder's
    /// lease is over, it takes them over and sends them (at least once: docs/api.md#idempotency).
    /// If they fail, they stay for the next retry or sweep.
    async fn take_over(&self, outbox: &Outbox) {
        let wait = (outbox.due_at - self.deps.clock.now()).clamp(time::Duration::ZERO, OUTBOX_LEASE);
        tokio::time::sleep(wait.unsigned_abs()).await;
        if let Err(failure) = send_outbox(self.deps, &self.scope, &outbox.holder, self.deadline).await {
            tracing::error!(
                event = "outbox-not-sent",
                request_id = %self.request_id,
                emails = outbox.emails.len(),
                error = %failure,
                "the emails of a request that died after its commit are left for the next retry or sweep"
            );
        }
    }

    fn crashed(&self, e: &StoreError) -> Envelope {
        tracing::error!(request_id = %self.request_id, error = %e, "store failure on the idempotency key");
        Envelope::new(Outcome::status(Status::ApplicationCrash), self.request_id)
    }
}

/// Takes over the outbox `holder` holds under `scope` (a conditional write: of two that try,
/// one gets it), sends its emails within `deadline` and removes it. `Ok(None)` if `holder` no
/// longer held it (sent meanwhile, or taken by another); else how many were sent, or why they
/// were not sent or not cleared: then the outbox is due again once the new holder's lease is
/// over, as it is if this stops half-way.
pub(crate) async fn send_outbox(
    deps: &Deps,
    scope: &KeyScope,
    holder: &str,
    deadline: Instant,
) -> Result<Option<usize>, String> {
    let me = new_request_id();
    let due_at = deps.clock.now() + OUTBOX_LEASE;
    let store = &deps.store;
    let emails = match store.hand_over_outbox(scope, holder, &me, due_at).await {
        Ok(None) => return Ok(None),
        Ok(Some(emails)) => emails,
        Err(e) => return Err(e.to_string()),
    };
    send_all(&*deps.notifier, &emails, deadline).await.map_err(|e| e.to_string())?;
    match store.settle_outbox(scope, &me, None).await {
        Ok(_) => Ok(Some(emails.len())),
        Err(e) => Err(format!("sent, but the outbox was not cleared: {e}")),
    }
}

/// The envelope as it was first sent (its `request_id` included), without a caller object.
fn replay(kept: &StoredAnswer) -> Result<Envelope, StoreError> {
    let unreadable = || StoreError::Corrupt(format!("an unreadable kept answer ({})", kept.status).into());
    let status = Status::from_slug(&kept.status).ok_or_else(unreadable)?;
    let Ok(Value::Object(mut body)) = serde_json::from_str::<Value>(&kept.body) else { return Err(unreadable()) };
    let mut text = |name: &str| match body.remove(name) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(unreadable()),
    };
    let (message, request_id) = (text("message")?, text("request_id")?);
    let errors = match body.remove("errors") {
        Some(Value::Array(errors)) => {
            errors.iter().map(|e| ParamError::new(text_of(e, "param"), text_of(e, "message"))).collect()
        }
        _ => return Err(unreadable()),
    };
    let data = body.remove("data").unwrap_or(Value::Null);
    let mut envelope = Envelope::new(Outcome { data, errors, ..Outcome::status(status) }, &request_id);
    envelope.message = message;
    envelope.replayed = true;
    Ok(envelope)
}

fn text_of(value: &Value, name: &str) -> String {
    value[name].as_str().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;
    use serde_json::json;

    fn key(value: &[u8]) -> Result<Option<String>, Outcome> {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_bytes(value).unwrap());
        requested_key(&headers)
    }

    #[test]
    fn a_key_is_1_to_255_visible_ascii_characters() {
        assert_eq!(requested_key(&HeaderMap::new()), Ok(None));
        assert_eq!(key(b"a"), Ok(Some("a".into())));
        assert_eq!(key(&[b'k'; 255]), Ok(Some("k".repeat(255))));
        for bad in [&b""[..], &[b'k'; 256], b"two words", b"caf\xc3\xa9", b"tab\there"] {
            let refused = key(bad).unwrap_err();
            assert_eq!((refused.status, refused.errors[0].param.as_str()), (Status::InvalidParam, PARAM), "{bad:?}");
        }
        let mut twice = HeaderMap::new();
        twice.append(HEADER, HeaderValue::from_static("a"));
        twice.append(HEADER, HeaderValue::from_static("b"));
        assert!(requested_key(&twice).is_err());
    }

    fn params(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_fingerprint_ignores_the_token_and_key_order_but_not_values() {
        let a = Fingerprint::of(&params(json!({"token": "t1", "id": 1, "address": {"city": "c", "state": "s"}})));
        let b = Fingerprint::of(&params(json!({"address": {"state": "s", "city": "c"}, "id": 1, "token": "t2"})));
        assert_eq!(a, b);
        assert_ne!(
            a,
            Fingerprint::of(&params(json!({"token": "t1", "id": "1", "address": {"city": "c", "state": "s"}})))
        );
        assert_ne!(a, Fingerprint::of(&params(json!({"token": "t1", "id": 1}))));
    }

    #[tokio::test]
    async fn a_fingerprint_with_a_password_is_kept_only_as_a_slow_hash() {
        let plain = Fingerprint::of(&params(json!({"id": 1, "phone": "1"})));
        assert_eq!(plain.stored().await, plain.hex);
        let secret = Fingerprint::of(&params(json!({"id": 1, "password": "a new secret"})));
        let kept = secret.stored().await;
        assert!(kept.starts_with("$argon2id$") && !kept.contains(&secret.hex), "{kept}");
        assert!(secret.matches(&kept).await);
        let other = Fingerprint::of(&params(json!({"id": 1, "password": "another secret"})));
        assert!(!other.matches(&kept).await);
        assert!(!plain.matches(&kept).await);
    }
}
