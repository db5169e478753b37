//! Notification emails (docs/api.md#notifications) behind the `Notifier` seam: the messages, the
//! log-only mode (no Mandrill key configured: recipient and subject are logged and the email
//! counts as sent), and the Mandrill client with its key source.

pub mod mandrill;
pub mod secret;

use crate::settings::Settings;
use std::sync::Arc;

use async_trait::async_trait;

use self::mandrill::{MandrillConfig, MandrillNotifier};
use self::secret::KeySource;

use crate::model::{Client, Entity};

/// One email to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

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
    match KeySource::choose(m.secret_id, m.api_key, settings.secretsmanager_endpoint.clone()) {
        None => Arc::new(LogNotifier),
        Some(key) => {
            let defaults = MandrillConfig::default();
            let config = MandrillConfig {
                api_url: m.api_url.map_or(defaults.api_url, |u| u.trim_end_matches('/').to_string()),
                from_email: m.from_email.unwrap_or(defaults.from_email),
                from_name: m.from_name.unwrap_or(defaults.from_name),
                deadline: defaults.deadline,
            };
            Arc::new(MandrillNotifier::new(config, key))
        }
    }
}

/// Escapes text for an HTML body.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const DISPUTE: &str =
    "If you did not make this change, contact PlanOmatic support right away at support@planomatic.com.";

fn email(to: &str, subject: &str, lines: &[String]) -> Email {
    let text = format!("{}\n\n{DISPUTE}\n", lines.join("\n\n"));
    let paragraphs: String = lines.iter().map(|l| format!("<p>{}</p>", html_escape(l))).collect();
    let html = format!("<html><body>{paragraphs}<p>{}</p></body></html>", html_escape(DISPUTE));
    Email { to: to.to_string(), subject: subject.to_string(), text, html }
}

/// To the client's old address when its email changed.
pub fn client_email_changed(client: &Client, old_email: &str) -> Email {
    email(
        old_email,
        "Your PlanOmatic email address was changed",
        &[
            format!("Hello {},", client.first_name),
            format!("The email address of your PlanOmatic account was changed from {old_email} to {}.", client.email),
        ],
    )
}

/// To the client's (new) email when its password changed. Never includes the password.
pub fn client_password_changed(client: &Client) -> Email {
    email(
        &client.email,
        "Your PlanOmatic password was changed",
        &[format!("Hello {},", client.first_name), "The password of your PlanOmatic account was changed.".to_string()],
    )
}

/// To a new entity's email.
pub fn entity_created(entity: &Entity) -> Email {
    email(
        &entity.email,
        "Your company was created on PlanOmatic",
        &[
            format!("Hello {},", entity.name),
            format!(
                "The company \"{}\" ({}) was created on PlanOmatic with this email address.",
                entity.name, entity.entity_slug
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_bodies_escape_request_values() {
        let e = email("a@b.co", "s", &["<script>alert('x')</script> & co".to_string()]);
        assert!(e.html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
        assert!(!e.html.contains("<script>"));
        assert!(e.text.contains("<script>"), "the text body is not HTML");
        assert!(e.text.contains("support@planomatic.com"));
    }
}
