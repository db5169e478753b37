//! The DynamoDB administration commands: table, seed, routes, services.

use std::path::Path;

use app::config;
use app::registry;
use app::settings::Settings;
use domain::routes::{services, RouteId};
use store::dynamodb::{create_table, DynamoStore};
use store::error::StoreError;
use store::seam::{RecordKind, Store};
use store::seed::SeedMode;

fn describe(e: StoreError, settings: &Settings) -> String {
    crate::failure::explain(&e, settings)
}

async fn store(settings: &Settings) -> DynamoStore {
    config::dynamodb_store(settings).await
}

pub async fn table_create(settings: &Settings) -> Result<(), String> {
    let store = store(settings).await;
    let created = create_table(store.client(), store.table()).await.map_err(|e| describe(e, settings))?;
    println!("table '{}' {}", store.table(), if created { "created" } else { "already exists" });
    Ok(())
}

/// Reads and checks a fixture file, then writes it to `store` and syncs the routes.
pub async fn load_seed(settings: &Settings, store: &dyn Store, file: &Path, mode: SeedMode) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let fixture = domain::fixture::parse(&text, time::OffsetDateTime::now_utc()).map_err(|e| e.to_string())?;
    store.load_fixture(&fixture, mode).await.map_err(|e| describe(e, settings))?;
    registry::sync(store, false).await.map_err(|e| describe(e, settings))?;
    Ok(())
}

pub async fn seed(settings: &Settings, file: &Path, overwrite: bool) -> Result<(), String> {
    let store = store(settings).await;
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
    load_seed(settings, &store, file, mode).await?;
    println!("seeded '{}' from {}", store.table(), file.display());
    Ok(())
}

pub async fn routes_sync(settings: &Settings, force: bool) -> Result<(), String> {
    let store = store(settings).await;
    let written = registry::sync(&store, force).await.map_err(|e| describe(e, settings))?;
    println!("{written} registry record(s) written");
    Ok(())
}

pub async fn routes_list(settings: &Settings) -> Result<(), String> {
    let store = store(settings).await;
    let snapshot = store.registry().await.map_err(|e| describe(e, settings))?;
    let state = |records: &[domain::model::RegistryRecord], name: &str| match records.iter().find(|r| r.name == name) {
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

async fn set(
    settings: &Settings,
    store: &DynamoStore,
    kind: RecordKind,
    name: &str,
    deployed: bool,
) -> Result<(), String> {
    registry::set_deployed(store, kind, name, deployed).await.map_err(|e| describe(e, settings))?;
    println!("{name} {}", if deployed { "enabled" } else { "disabled" });
    Ok(())
}

pub async fn set_route(settings: &Settings, name: &str, deployed: bool) -> Result<(), String> {
    if RouteId::from_name(name).is_none() {
        let known: Vec<_> = RouteId::ALL.iter().map(|r| r.name()).collect();
        return Err(format!("unknown route '{name}'; routes: {}", known.join(", ")));
    }
    set(settings, &store(settings).await, RecordKind::Route, name, deployed).await
}

pub async fn set_service(settings: &Settings, name: &str, deployed: bool) -> Result<(), String> {
    if !services().contains(&name) {
        return Err(format!("unknown service '{name}'; services: {}", services().join(", ")));
    }
    set(settings, &store(settings).await, RecordKind::Service, name, deployed).await
}
