//! The route registry (docs/api.md#route-registry): route and service records with `deployed`
//! flags, cached per container so that a warm function reads the store at most once per cache
//! period.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::envelope::{Outcome, Status};
use domain::model::RegistryRecord;
use domain::routes::{services, RouteId};
use store::error::StoreResult;
use store::seam::{RecordKind, RegistrySnapshot, Store};

pub struct RegistryCache {
    ttl: Duration,
    cached: Mutex<Option<(Instant, Arc<RegistrySnapshot>)>>,
}

impl RegistryCache {
    pub fn new(ttl: Duration) -> Self {
        RegistryCache { ttl, cached: Mutex::new(None) }
    }

    async fn snapshot(&self, store: &dyn Store) -> StoreResult<Arc<RegistrySnapshot>> {
        if let Some((at, snap)) = self.cached.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if at.elapsed() < self.ttl {
                return Ok(snap.clone());
            }
        }
        self.refresh(store).await
    }

    async fn refresh(&self, store: &dyn Store) -> StoreResult<Arc<RegistrySnapshot>> {
        let fresh = Arc::new(store.registry().await?);
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// Reads the registry now, whatever the cache holds (a container's init).
    pub async fn load(&self, store: &dyn Store) -> StoreResult<()> {
        self.refresh(store).await.map(|_| ())
    }

    /// Stage 2: the route's record, then its service's, must exist and be deployed.
    pub async fn check(&self, store: &dyn Store, route: RouteId) -> Result<(), Outcome> {
        let snap = self.snapshot(store).await.map_err(|e| {
            tracing::error!(error = %e, "route registry could not be read");
            Outcome::status(Status::IdentifyRequestError)
        })?;
        let deployed = |records: &[RegistryRecord], name: &str| records.iter().any(|r| r.name == name && r.deployed);
        if !deployed(&snap.routes, route.name()) {
            return Err(Outcome::status(Status::RouteNotFound));
        }
        if !deployed(&snap.services, route.service()) {
            return Err(Outcome::status(Status::ServiceNotFound));
        }
        Ok(())
    }
}

/// Creates the missing route and service records as deployed; with `force`, resets every
/// record to deployed. Returns how many records were written.
pub async fn sync(store: &dyn Store, force: bool) -> StoreResult<usize> {
    let mut written = 0;
    for route in RouteId::ALL {
        let record = RegistryRecord { name: route.name().to_string(), deployed: true };
        written += usize::from(store.put_registry_record(RecordKind::Route, &record, !force).await?);
    }
    for service in services() {
        let record = RegistryRecord { name: service.to_string(), deployed: true };
        written += usize::from(store.put_registry_record(RecordKind::Service, &record, !force).await?);
    }
    Ok(written)
}

/// The kill switch: flips one route's or service's `deployed` flag.
pub async fn set_deployed(store: &dyn Store, kind: RecordKind, name: &str, deployed: bool) -> StoreResult<()> {
    let record = RegistryRecord { name: name.to_string(), deployed };
    store.put_registry_record(kind, &record, false).await.map(|_| ())
}
