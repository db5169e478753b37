//! Environment → dependencies, built once per container.

use std::sync::Arc;

use crate::pipeline::Deps;
use crate::registry;
use crate::store::memory::MemoryStore;

/// The function binaries' dependencies.
///
/// Until the DynamoDB store lands (issue 5), a function holds an empty in-memory store with its
/// routes registered: every token is then `invalid-token`, which is the truth for a store with
/// no sessions.
pub async fn function_deps() -> Deps {
    let store = Arc::new(MemoryStore::new());
    if let Err(e) = registry::sync(store.as_ref(), false).await {
        tracing::error!(error = %e, "route registry could not be synced");
    }
    Deps::new(store)
}
