//! The composition root: the only code that reads the environment ([`settings`]), and the one
//! place the functions' dependencies are built from it, once per container
//! (docs/api.md#environment-variables lists the variables).

use std::sync::Arc;

use store::dynamodb::DynamoStore;

use crate::aws::{dynamodb_client, SdkTimeouts};
use crate::deps::Deps;
use crate::settings::Settings;

/// The settings of this process, from its environment.
pub fn settings() -> Settings {
    Settings::from_env()
}

/// The DynamoDB store from `TABLE_NAME`, `DYNAMODB_ENDPOINT` and the AWS environment.
pub async fn dynamodb_store(settings: &Settings) -> DynamoStore {
    let endpoint = settings.dynamodb_endpoint.as_deref();
    let client = dynamodb_client(settings, endpoint, SdkTimeouts::for_endpoint(endpoint)).await;
    DynamoStore::new(client, settings.table_name.clone())
}

/// The function binaries' dependencies, built once per container from the environment and
/// warmed ([`Deps::prewarm`]); a setting that must stop the function at start is an error
/// (logged, then init fails).
pub async fn function_deps(settings: &Settings) -> Result<Deps, String> {
    if let Err(e) = settings.check() {
        tracing::error!(error = %e, "refusing to start");
        return Err(e);
    }
    let deps = Deps::new(Arc::new(dynamodb_store(settings).await), settings);
    deps.prewarm().await;
    Ok(deps)
}
