//! How a fixture is written, the same for every store: an ordered plan of records, each with the
//! unique guards it holds, and a floor for the entity counter. Each store applies the plan its
//! own way.

use crate::error::StoreError;
use domain::fixture::Fixture;
use domain::model::{Application, Client, Entity, Integration, Session, User};
use domain::unique::Guard;

#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    Integration(&'a Integration),
    Application(&'a Application),
    User(&'a User),
    Session(&'a Session),
    Client(&'a Client),
    Entity(&'a Entity),
}

impl Record<'_> {
    /// The unique values this record holds, each owned by the record's id.
    pub fn guards(&self) -> Vec<(Guard, u64)> {
        match self {
            Record::Client(c) => Guard::of_client(c).into_iter().map(|g| (g, c.id)).collect(),
            Record::Entity(e) => Guard::of_entity(e).into_iter().map(|g| (g, e.id)).collect(),
            _ => Vec::new(),
        }
    }
}

/// Writes the fixture: integrations, applications, users, sessions, clients, entities in this
/// order (each record replaces any record of the same key), then the counter raised to the floor.
#[derive(Debug)]
pub struct SeedPlan<'a> {
    pub records: Vec<Record<'a>>,
    /// The entity counter is raised to at least this (never lowered): new ids follow the fixture's.
    pub entity_counter_floor: u64,
}

pub fn plan(fixture: &Fixture) -> SeedPlan<'_> {
    let records = (fixture.integrations.iter().map(Record::Integration))
        .chain(fixture.applications.iter().map(Record::Application))
        .chain(fixture.users.iter().map(Record::User))
        .chain(fixture.sessions.iter().map(Record::Session))
        .chain(fixture.clients.iter().map(Record::Client))
        .chain(fixture.entities.iter().map(Record::Entity))
        .collect();
    SeedPlan { records, entity_counter_floor: fixture.max_entity_id() }
}

/// What seeding does with a record that already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedMode {
    /// Leaves it as it is (a live table keeps its users' passwords, sessions and records); only
    /// missing records are written. A missing record whose unique value another record holds
    /// is an error.
    KeepExisting,
    /// Replaces it with the fixture's, moving its guards (`planocore seed --overwrite`).
    Overwrite,
}

/// A missing record whose unique value another record holds: seeding it would break uniqueness.
pub fn held_elsewhere(record: Record<'_>, guard: &Guard) -> StoreError {
    StoreError::Corrupt(format!("{record}: its unique value {guard:?} is held by another record").into())
}

impl std::fmt::Display for Record<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Record::Integration(i) => write!(f, "integration {}", i.id),
            Record::Application(a) => write!(f, "application {}", a.id),
            Record::User(u) => write!(f, "user {}", u.id),
            Record::Session(s) => write!(f, "a session of user {}", s.user_id),
            Record::Client(c) => write!(f, "client {}", c.id),
            Record::Entity(e) => write!(f, "entity {}", e.id),
        }
    }
}

/// The guards the replaced version of a record held that the new version no longer holds: they
/// are released, so a fixture that changes a value moves its guard.
pub fn released(previous: Vec<(Guard, u64)>, new: &[(Guard, u64)]) -> Vec<Guard> {
    previous.into_iter().map(|(g, _)| g).filter(|g| !new.iter().any(|(n, _)| n == g)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn records_come_in_dependency_order_with_their_guards_and_the_counter_floor() {
        let text = include_str!("../../../tools/planocore/demo-fixture.json");
        let fx = domain::fixture::parse(text, datetime!(2026-11-23 12:00 UTC)).unwrap();
        let plan = plan(&fx);
        let rank = |r: &Record<'_>| match r {
            Record::Integration(_) => 0,
            Record::Application(_) => 1,
            Record::User(_) => 2,
            Record::Session(_) => 3,
            Record::Client(_) => 4,
            Record::Entity(_) => 5,
        };
        assert!(plan.records.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])));
        let plain = fx.integrations.len() + fx.applications.len() + fx.users.len() + fx.sessions.len();
        assert_eq!(plan.records.len(), plain + fx.clients.len() + fx.entities.len());
        assert_eq!(plan.entity_counter_floor, fx.max_entity_id());
        let client = &fx.clients[0];
        assert_eq!(Record::Client(client).guards(), [(Guard::client_email(&client.email), client.id)]);
        assert!(Record::User(&fx.users[0]).guards().is_empty());
    }

    #[test]
    fn only_guards_the_new_version_gave_up_are_released() {
        let (a, b) = (Guard::client_email("a@x.io"), Guard::client_email("b@x.io"));
        assert_eq!(released(vec![(a.clone(), 1)], &[(Guard::client_email("A@X.IO"), 1)]), Vec::<Guard>::new());
        assert_eq!(released(vec![(a.clone(), 1)], &[(b, 1)]), [a]);
        assert!(released(Vec::new(), &[]).is_empty());
    }
}
