//! The route registry's records: all of them in one partition, read with one (paginated) query.

use super::item::{condition_failed, to_item, unavailable, ItemExt};
use super::keys;
use super::DynamoStore;
use crate::error::StoreResult;
use crate::seam::{RecordKind, RegistrySnapshot};
use domain::model::RegistryRecord;

pub async fn read(store: &DynamoStore) -> StoreResult<RegistrySnapshot> {
    let mut snapshot = RegistrySnapshot::default();
    for item in store.query_partition(None, keys::PK, keys::REGISTRY_PK).await? {
        let Some((kind, name)) = item.string(keys::SK).and_then(keys::registry_kind) else { continue };
        let record = RegistryRecord { name: name.to_string(), deployed: item.boolean("deployed") == Some(true) };
        match kind {
            RecordKind::Route => snapshot.routes.push(record),
            RecordKind::Service => snapshot.services.push(record),
        }
    }
    Ok(snapshot)
}

/// Writes one record; with `only_if_missing` an existing one is kept. Returns whether it wrote.
pub async fn put(
    store: &DynamoStore,
    kind: RecordKind,
    record: &RegistryRecord,
    only_if_missing: bool,
) -> StoreResult<bool> {
    let item = to_item(record, keys::registry(kind, &record.name))?;
    let mut put = store.client.put_item().table_name(&store.table).set_item(Some(item));
    if only_if_missing {
        put = put.condition_expression("attribute_not_exists(PK)");
    }
    match put.send().await {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(unavailable(e)),
    }
}
