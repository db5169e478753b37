//! Sending notification emails (docs/api.md#notifications; the messages are `domain::email`)
//! behind the `Notifier` seam: the log-only mode (no Mandrill key configured: recipient and subject are logged and the email
//! counts as sent), and the Mandrill client with its key source.

pub mod mandrill;
pub mod secret;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use domain::email::Email;

use self::mandrill::{MandrillConfig, MandrillNotifier};
use self::secret::KeySource;
use crate::settings::Settings;
use crate::telemetry;

#[derive(Debug, thiserror::Error)]
#[error("notification failed: {0}")]
pub struct NotifyError(pub String);

#[async_trait]
pub trait Notifier: Send + Sync {
    async fn send(&self, email: &Email) -> Result<(), NotifyError>;
}

/// The log-only mode: recipient and subject go to the log; nothing else (no body, no key).
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn send(&self, email: &Email) -> Result<(), NotifyError> {
        let (to, subject) = (&email.to, &email.subject);
        tracing::info!(event = "email-logged", to = %to, subject = %subject, "email not sent: no Mandrill key configured");
        Ok(())
    }
}

/// The notifier the settings configure: Mandrill with the key from `MANDRILL_SECRET_ID`
/// (Secrets Manager) or `MANDRILL_API_KEY`, else the log-only mode. Builds no client: that
/// waits for the first email.
pub fn from_settings(settings: &Settings) -> Arc<dyn Notifier> {
    let m = settings.mandrill.clone();
    // Its own endpoint: DynamoDB Local has no Secrets Manager (moto serves one locally).
    match KeySource::choose(m.secret_id, m.api_key, settings) {
        None => Arc::new(LogNotifier),
        Some(key) => {
            let defaults = MandrillConfig::default();
            let config = MandrillConfig {
                api_url: m.api_url.map_or(defaults.api_url, |u| u.trim_end_matches('/').to_string()),
                from_email: m.from_email.unwrap_or(defaults.from_email),
                from_name: m.from_name.unwrap_or(defaults.from_name),
                deadline: defaults.deadline,
                ssl_cert_file: settings.ssl_cert_file.clone(),
            };
            Arc::new(MandrillNotifier::new(config, key))
        }
    }
}

/// All of a request's emails share this, and never the last of the request's own deadline:
/// a saved change is answered `mandrill-email-failed`, never `application-crash`.
pub const NOTIFY_DEADLINE: Duration = Duration::from_secs(3);
const ANSWER_RESERVE: Duration = Duration::from_millis(500);
/// Sends `emails` at once through `notifier`, within `NOTIFY_DEADLINE` and never the last of
/// `deadline`; every email is attempted, a failure of any reported (one error for them all).
pub async fn send_all(notifier: &dyn Notifier, emails: &[Email], deadline: Instant) -> Result<(), NotifyError> {
    if emails.is_empty() {
        return Ok(());
    }
    let left = deadline.saturating_duration_since(Instant::now()).saturating_sub(ANSWER_RESERVE);
    let limit = NOTIFY_DEADLINE.min(left);
    let sends = futures_util::future::join_all(emails.iter().map(|e| notifier.send(e)));
    let results = tokio::time::timeout(limit, sends).await.map_err(|_| {
        telemetry::count_emails_failed(emails.len());
        NotifyError(format!("no answer within {} ms for {} email(s)", limit.as_millis(), emails.len()))
    })?;
    let failed: Vec<String> = results.into_iter().filter_map(Result::err).map(|e| e.to_string()).collect();
    telemetry::count_emails_failed(failed.len());
    match failed.len() {
        0 => Ok(()),
        n => Err(NotifyError(format!("{n} of {} email(s) failed: {}", emails.len(), failed.join("; ")))),
    }
}
