//! Loading a fixture: the shared [plan](crate::seed) applied item by item, each record's
//! stale guards deleted and its guards put before the record itself.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};

use super::item::{corrupt, to_item};
use super::keys::{self, Key};
use super::txn::{self, Transaction, TxError};
use super::{entities, sessions, DynamoStore};
use crate::error::{StoreError, StoreResult};
use crate::seed;
use crate::seed::{Record, SeedMode};
use domain::fixture::Fixture;
use domain::model::{Client, Entity};
use domain::unique::Guard;

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

#[derive(Debug, Clone, Copy, PartialEq)]
enum SeedRole {
    Record,
    Guard,
    StaleGuard,
}

/// Each record with its guards in one transaction: with `KeepExisting`, the record only if it is
/// missing (an existing one is left as it is) and its guards only if free; with `Overwrite`, the
/// record replaced and its guards moved.
pub async fn load(store: &DynamoStore, fixture: &Fixture, mode: SeedMode) -> StoreResult<()> {
    let plan = seed::plan(fixture);
    for record in plan.records {
        let guards = record.guards();
        let mut txn = Transaction::new();
        let stale = match mode {
            SeedMode::Overwrite => seed::released(previous_guards(store, record).await?, &guards),
            SeedMode::KeepExisting => Vec::new(),
        };
        for guard in stale {
            let delete = Delete::builder().table_name(&store.table).set_key(Some(keys::guard_key(&guard)));
            txn.push(
                SeedRole::StaleGuard,
                TransactWriteItem::builder().delete(delete.build().map_err(corrupt)?).build(),
            );
        }
        for (guard, owner) in &guards {
            txn.push(SeedRole::Guard, put(store, keys::guard(keys::guard_key(guard), *owner), mode)?);
        }
        txn.push(SeedRole::Record, put(store, item(record)?, mode)?);
        match txn::write(&store.client, txn).await {
            Ok(()) => {}
            // It exists: left as it is.
            Err(TxError::Cancelled(c)) if c.failed(SeedRole::Record) => {}
            Err(TxError::Cancelled(c)) if c.failed(SeedRole::Guard) => {
                let guard = guards.first().map(|(g, _)| g.clone()).expect("a guard failed");
                return Err(seed::held_elsewhere(record, &guard));
            }
            Err(TxError::Cancelled(c)) => {
                return Err(StoreError::Unavailable(format!("seed transaction cancelled: {c:?}").into()))
            }
            Err(TxError::Store(e)) => return Err(e),
        }
    }
    entities::raise_counter(store, plan.entity_counter_floor).await
}

/// A put of `item`; with `KeepExisting`, only where nothing is.
fn put(store: &DynamoStore, item: Key, mode: SeedMode) -> StoreResult<TransactWriteItem> {
    let mut put = Put::builder().table_name(&store.table).set_item(Some(item));
    if mode == SeedMode::KeepExisting {
        put = put.condition_expression("attribute_not_exists(PK)");
    }
    Ok(TransactWriteItem::builder().put(put.build().map_err(corrupt)?).build())
}
