//! The notification emails (docs/api.md#notifications): who gets which message, its subject and
//! its text and HTML bodies. Sending them is the app's (`app::notify`).

use crate::model::{Client, Entity};

/// One email to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
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
