//! Tables on DynamoDB Local: fresh (named uniquely so tests never share data), recorded, seeded.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveSpecification};
use store::dynamodb::{create_table, keys, DynamoStore};
use store::seam::Store;

use crate::call_fault::CallFault;
use crate::emulator;
use crate::recorder::CallRecorder;
use crate::repo::demo_fixture_text;

/// A new, empty table on the local emulator.
pub async fn fresh_dynamodb_table() -> DynamoStore {
    fresh_recorded_table(None).await
}

/// Like [`fresh_dynamodb_table`], with every DynamoDB call the store makes noted by `recorder`.
pub async fn fresh_recorded_table(recorder: Option<CallRecorder>) -> DynamoStore {
    fresh_table_with(recorder, None).await
}

/// Like [`fresh_recorded_table`], with the calls `fault` names failing while it is armed.
pub async fn fresh_table_with(recorder: Option<CallRecorder>, fault: Option<CallFault>) -> DynamoStore {
    let store = table_as_created(recorder, fault).await;
    // DynamoDB Local deletes an item within seconds once its TTL instant has passed, and the
    // tests' fixed clock (`NOW`, 2026-11-23) puts every such instant in the real past: a kept
    // answer or a claim would vanish in the middle of a test. The code decides expiry itself,
    // never by TTL (docs/api.md#idempotency), so the tests' tables have TTL turned off. (A
    // client of its own: no recorder or fault sees this call.)
    let setup = client_at(emulator::endpoint(), None, None).await;
    let off = TimeToLiveSpecification::builder().enabled(false).attribute_name(keys::TTL_ATTRIBUTE).build();
    let off = off.expect("a TTL specification");
    setup
        .update_time_to_live()
        .table_name(store.table())
        .time_to_live_specification(off)
        .send()
        .await
        .expect("TTL off");
    store
}

/// A fresh emulator table exactly as `create_table` makes it, TTL on: for the test that reads
/// the table back against template.yaml.
pub async fn table_as_created(recorder: Option<CallRecorder>, fault: Option<CallFault>) -> DynamoStore {
    let client = client_at(emulator::endpoint(), recorder, fault).await;
    let table = format!("test-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await.expect("test table created on the emulator");
    DynamoStore::new(client, table)
}

/// The store of an existing `table`, reached through `endpoint` (a relay in front of the
/// emulator, say), with every call noted by `recorder`.
pub async fn table_at(endpoint: &str, table: &str, recorder: CallRecorder) -> DynamoStore {
    DynamoStore::new(client_at(endpoint, Some(recorder), None).await, table.to_string())
}

async fn client_at(
    endpoint: &str,
    recorder: Option<CallRecorder>,
    fault: Option<CallFault>,
) -> aws_sdk_dynamodb::Client {
    let limits = app::aws::SdkTimeouts::for_endpoint(Some(endpoint));
    let sdk = app::aws::sdk_config(&crate::settings::settings(), Some(endpoint), limits).await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&sdk);
    if let Some(recorder) = recorder {
        config = config.interceptor(recorder);
    }
    if let Some(fault) = fault {
        config = config.interceptor(fault);
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// A fresh emulator table with the demo fixture loaded *now* and the routes synced: for a
/// function binary or `planocore serve`, which run on the wall clock.
pub async fn seeded_table() -> DynamoStore {
    let store = fresh_dynamodb_table().await;
    let now = domain::clock::Clock::now(&domain::clock::SystemClock);
    let fixture = domain::fixture::parse(&demo_fixture_text(), now).expect("demo fixture loads");
    store.load_fixture(&fixture, store::seed::SeedMode::KeepExisting).await.expect("fixture written");
    app::registry::sync(&store, false).await.expect("routes synced");
    store
}

/// Every entity's id, sorted: for tests that check nothing was created. A trait so that the
/// store itself carries no test-only scan.
#[async_trait]
pub trait EntityIds {
    async fn entity_ids(&self) -> Vec<u64>;
}

#[async_trait]
impl EntityIds for DynamoStore {
    /// Read with a consistent scan, through the store's public client and table name.
    async fn entity_ids(&self) -> Vec<u64> {
        let pages = self
            .client()
            .scan()
            .table_name(self.table())
            .consistent_read(true)
            .filter_expression("begins_with(#pk, :entity) AND #sk = :record")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":entity", AttributeValue::S("ENTITY#".into()))
            .expression_attribute_values(":record", AttributeValue::S("ENTITY".into()))
            .into_paginator()
            .items()
            .send();
        let items: Vec<_> = pages.collect::<Result<_, _>>().await.expect("the table scans");
        let mut ids: Vec<u64> = items
            .iter()
            .filter_map(|item| item.get(keys::PK)?.as_s().ok()?.strip_prefix("ENTITY#")?.parse().ok())
            .collect();
        ids.sort_unstable();
        ids
    }
}
