//! The DynamoDB administration commands: table, seed, routes, services.

use std::path::Path;

use shared::config;
use shared::registry;
use shared::routes::{services, RouteId};
use shared::settings::Settings;
use shared::store::dynamodb::{create_table, DynamoStore};
use shared::store::seed::SeedMode;
use shared::store::{RecordKind, Store, StoreError};

fn describe(e: StoreError) -> String {
    crate::failure::explain(&e)
}

async fn store() -> DynamoStore {
    config::dynamodb_store(&Settings::from_env()).await
}

pub async fn table_create() -> Result<(), String> {
    let store = store().await;
    let created = create_table(store.client(), store.table()).await.map_err(describe)?;
    println!("table '{}' {}", store.table(), if created { "created" } else { "already exists" });
    Ok(())
}

/// Reads and checks a fixture file, then writes it to `store` and syncs the routes.
pub async fn load_seed(store: &dyn Store, file: &Path, mode: SeedMode) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let fixture = shared::fixture::parse(&text, time::OffsetDateTime::now_utc()).map_err(|e| e.to_string())?;
    store.load_fixture(&fixture, mode).await.map_err(describe)?;
    registry::sync(store, false).await.map_err(describe)?;
    Ok(())
}

pub async fn seed(file: &Path, overwrite: bool) -> Result<(), String> {
    let store = store().await;
    let mode = if overwrite {
        eprintln!(
            "planocore: --overwrite: records of '{}' with the fixture's keys are REPLACED (passwords, sessions, \
             records made through the API)",
            store.table()
        );
        SeedMode::Overwrite
    } else {
        SeedMode::KeepExisting
    };
    load_seed(&store, file, mode).await?;
    println!("seeded '{}' from {}", store.table(), file.display());
    Ok(())
}

pub async fn routes_sync(force: bool) -> Result<(), String> {
    let store = store().await;
    let written = registry::sync(&store, force).await.map_err(describe)?;
    println!("{written} registry record(s) written");
    Ok(())
}

pub async fn routes_list() -> Result<(), String> {
    let store = store().await;
    let snapshot = store.registry().await.map_err(describe)?;
    let state = |records: &[shared::model::RegistryRecord], name: &str| match records.iter().find(|r| r.name == name) {
        Some(r) if r.deployed => "deployed",
        Some(_) => "disabled",
        None => "missing",
    };
    for route in RouteId::ALL {
        println!(
            "{:<18} {:<8} {:<24} service {:<10} route {}, service {}",
            route.name(),
            route.method(),
            route.path(),
            route.service(),
            state(&snapshot.routes, route.name()),
            state(&snapshot.services, route.service()),
        );
    }
    Ok(())
}

async fn set(store: &DynamoStore, kind: RecordKind, name: &str, deployed: bool) -> Result<(), String> {
    registry::set_deployed(store, kind, name, deployed).await.map_err(describe)?;
    println!("{name} {}", if deployed { "enabled" } else { "disabled" });
    Ok(())
}

pub async fn set_route(name: &str, deployed: bool) -> Result<(), String> {
    if RouteId::from_name(name).is_none() {
        let known: Vec<_> = RouteId::ALL.iter().map(|r| r.name()).collect();
        return Err(format!("unknown route '{name}'; routes: {}", known.join(", ")));
    }
    set(&store().await, RecordKind::Route, name, deployed).await
}

pub async fn set_service(name: &str, deployed: bool) -> Result<(), String> {
    if !services().contains(&name) {
        return Err(format!("unknown service '{name}'; services: {}", services().join(", ")));
    }
    set(&store().await, RecordKind::Service, name, deployed).await
}
