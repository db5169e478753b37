//! Where the Mandrill key comes from: the Secrets Manager secret `MANDRILL_SECRET_ID` (JSON
//! `{"mandrill_api_key": "..."}`, cached per container), else `MANDRILL_API_KEY`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use aws_sdk_secretsmanager::Client as SecretsClient;
use tokio::sync::OnceCell;

use super::NotifyError;
use crate::aws::{sdk_config, SdkTimeouts};
use crate::settings::Settings;

/// How long a key read from Secrets Manager is reused.
pub const KEY_CACHE: Duration = Duration::from_secs(300);

pub enum KeySource {
    /// `MANDRILL_API_KEY`, for local use.
    Static(String),
    Secret(SecretKey),
}

impl KeySource {
    /// The secret wins when both are set; with neither there is no key (log-only mode).
    /// `settings` give Secrets Manager's endpoint and the SDK's own settings.
    pub fn choose(secret_id: Option<String>, api_key: Option<String>, settings: &Settings) -> Option<KeySource> {
        match (secret_id, api_key) {
            (Some(id), _) => Some(KeySource::Secret(SecretKey::new(id, settings.clone(), KEY_CACHE))),
            (None, Some(key)) => Some(KeySource::Static(key)),
            (None, None) => None,
        }
    }

    pub async fn get(&self) -> Result<String, NotifyError> {
        match self {
            KeySource::Static(key) => Ok(key.clone()),
            KeySource::Secret(secret) => secret.get().await,
        }
    }
}

pub struct SecretKey {
    id: String,
    /// Where Secrets Manager is (`SECRETSMANAGER_ENDPOINT`, else AWS's) and the SDK's settings.
    settings: Box<Settings>,
    ttl: Duration,
    /// Built on the first email: a function that sends nothing never builds it.
    client: OnceCell<SecretsClient>,
    cached: Mutex<Option<(Instant, String)>>,
}

impl SecretKey {
    pub fn new(id: String, settings: Settings, ttl: Duration) -> Self {
        SecretKey { id, settings: Box::new(settings), ttl, client: OnceCell::new(), cached: Mutex::new(None) }
    }

    /// A key source over a ready client (tests give the emulator's).
    pub fn with_client(id: String, client: SecretsClient, ttl: Duration) -> Self {
        let settings = Box::new(Settings::from_lookup(|_| None));
        SecretKey { id, settings, ttl, client: OnceCell::new_with(Some(client)), cached: Mutex::new(None) }
    }

    async fn client(&self) -> &SecretsClient {
        let endpoint = self.settings.secretsmanager_endpoint.as_deref();
        let config = || sdk_config(&self.settings, endpoint, SdkTimeouts::for_endpoint(endpoint));
        self.client.get_or_init(|| async { SecretsClient::new(&config().await) }).await
    }

    pub async fn get(&self) -> Result<String, NotifyError> {
        if let Some((at, key)) = self.cached.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if at.elapsed() < self.ttl {
                return Ok(key.clone());
            }
        }
        let out = self.client().await.get_secret_value().secret_id(&self.id).send().await.map_err(|e| {
            NotifyError(format!("the Mandrill key could not be read from Secrets Manager: {}", DisplayErrorContext(e)))
        })?;
        let key = out
            .secret_string()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .and_then(|v| v.get("mandrill_api_key").and_then(|k| k.as_str()).map(str::to_string))
            .filter(|k| !k.is_empty())
            .ok_or_else(|| NotifyError(format!("secret '{}' holds no mandrill_api_key", self.id)))?;
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), key.clone()));
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_settings() -> Settings {
        Settings::from_lookup(|_| None)
    }

    #[test]
    fn the_secret_wins_over_the_plain_key() {
        let some = |s: &str| Some(s.to_string());
        assert!(matches!(
            KeySource::choose(some("prod/mandrill"), some("local-key"), &no_settings()),
            Some(KeySource::Secret(_))
        ));
        assert!(
            matches!(KeySource::choose(None, some("local-key"), &no_settings()), Some(KeySource::Static(k)) if k == "local-key")
        );
        assert!(KeySource::choose(None, None, &no_settings()).is_none());
    }
}
