//! The unique values the stores guard (a client's email, an entity's slug and email) and the rule
//! that makes two emails one value.

use crate::model::{Client, Entity};

/// The form under which an email is unique: addresses that differ only in ASCII case are one.
pub fn email_key(email: &str) -> String {
    email.to_ascii_lowercase()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuardKind {
    ClientEmail,
    EntitySlug,
    EntityEmail,
}

/// One unique value in its key form, which at most one record may hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Guard {
    kind: GuardKind,
    value: String,
}

impl Guard {
    pub fn client_email(email: &str) -> Guard {
        Guard { kind: GuardKind::ClientEmail, value: email_key(email) }
    }

    pub fn entity_slug(slug: &str) -> Guard {
        Guard { kind: GuardKind::EntitySlug, value: slug.to_string() }
    }

    pub fn entity_email(email: &str) -> Guard {
        Guard { kind: GuardKind::EntityEmail, value: email_key(email) }
    }

    pub fn kind(&self) -> GuardKind {
        self.kind
    }

    /// The value in its key form (an email already through [`email_key`]).
    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn of_client(client: &Client) -> Vec<Guard> {
        vec![Guard::client_email(&client.email)]
    }

    pub fn of_entity(entity: &Entity) -> Vec<Guard> {
        vec![Guard::entity_slug(&entity.entity_slug), Guard::entity_email(&entity.email)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_differing_in_ascii_case_are_one_value_and_slugs_are_kept_as_written() {
        assert_eq!(email_key("Ada@Example.COM"), "ada@example.com");
        assert_eq!(Guard::client_email("ADA@x.io"), Guard::client_email("ada@X.IO"));
        assert_ne!(Guard::client_email("ada@x.io"), Guard::entity_email("ada@x.io"));
        assert_ne!(Guard::entity_slug("Acme"), Guard::entity_slug("acme"));
    }
}
