//! Loading a fixture: the shared [plan](crate::store::seed) applied item by item, each record's
//! stale guards deleted and its guards put before the record itself.

use super::item::to_item;
use super::keys::{self, Key};
use super::{entities, sessions, DynamoStore};
use crate::fixture::Fixture;
use crate::model::{Client, Entity};
use crate::store::seed::{self, Record};
use crate::store::{Guard, StoreResult};

fn item(record: Record<'_>) -> StoreResult<Key> {
    match record {
        Record::Integration(i) => to_item(i, keys::integration(i.id)),
        Record::Application(a) => sessions::application_item(a),
        Record::User(u) => to_item(u, keys::user(u.id)),
        Record::Session(s) => sessions::session_item(s),
        Record::Client(c) => to_item(c, keys::client(c.id)),
        Record::Entity(e) => to_item(e, keys::entity(e.id)),
    }
}

/// The guards of the record this one replaces (only guarded kinds are read).
async fn previous_guards(store: &DynamoStore, record: Record<'_>) -> StoreResult<Vec<(Guard, u64)>> {
    Ok(match record {
        Record::Client(c) => {
            store.get_record::<Client>(keys::client(c.id)).await?.map(|old| Record::Client(&old).guards())
        }
        Record::Entity(e) => {
            store.get_record::<Entity>(keys::entity(e.id)).await?.map(|old| Record::Entity(&old).guards())
        }
        _ => None,
    }
    .unwrap_or_default())
}

pub async fn load(store: &DynamoStore, fixture: &Fixture) -> StoreResult<()> {
    let plan = seed::plan(fixture);
    for record in plan.records {
        let guards = record.guards();
        for stale in seed::released(previous_guards(store, record).await?, &guards) {
            store.delete(keys::guard_key(&stale)).await?;
        }
        for (guard, owner) in &guards {
            store.put(keys::guard(keys::guard_key(guard), *owner)).await?;
        }
        store.put(item(record)?).await?;
    }
    entities::raise_counter(store, plan.entity_counter_floor).await
}
