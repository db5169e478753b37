//! What every handler needs, built once per container by the composition root (`config`) or
//! per `planocore serve`, and warmed before the first request.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use domain::clock::{Clock, SystemClock};
use store::seam::Store;

use crate::notify;

use crate::notify::Notifier;
use crate::outbox_schedule::OutboxSweep;
use crate::registry::RegistryCache;
use crate::settings::Settings;

/// What every handler needs, built once per container (or per `planocore serve`).
pub struct Deps {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub notifier: Arc<dyn Notifier>,
    pub registry: RegistryCache,
    /// When this container next sweeps the outboxes of requests that died after their commit.
    pub outbox_sweep: OutboxSweep,
    /// Whether this container has answered a request: until then its store pool holds only the
    /// connection init opened, and the first request makes its calls one after another rather
    /// than open a second connection, a TLS handshake, while its caller waits
    /// (docs/performance.md#store-round-trips).
    pub served: AtomicBool,
}

impl Deps {
    /// The wall clock, and the notifier and registry cache `settings` configure.
    pub fn new(store: Arc<dyn Store>, settings: &Settings) -> Self {
        Deps {
            store,
            clock: Arc::new(SystemClock),
            notifier: notify::from_settings(settings),
            registry: RegistryCache::new(settings.registry_cache),
            outbox_sweep: OutboxSweep::default(),
            served: AtomicBool::new(false),
        }
    }

    /// Warms a new container before its first request (docs/architecture.md#cold-starts): reads
    /// the route registry into the cache, which opens the store's connection, TLS handshake
    /// included. Lambda runs this during init, at full CPU and before anyone waits; otherwise the
    /// first request would pay both. Bounded by [`PREWARM_DEADLINE`]; a failure is logged and
    /// left to the first request, which reads the registry itself as it always could.
    pub async fn prewarm(&self) {
        self.prewarm_within(PREWARM_DEADLINE).await
    }

    /// [`Deps::prewarm`] bounded by `limit`: a container's tests that need the registry read
    /// whatever the machine's load give it more than Lambda's init can afford.
    pub async fn prewarm_within(&self, limit: Duration) {
        match tokio::time::timeout(limit, self.registry.load(&*self.store)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "init: the route registry could not be read; the first request will")
            }
            Err(_) => tracing::warn!(
                deadline_ms = limit.as_millis() as u64,
                "init: the route registry was not read in time; the first request will"
            ),
        }
    }
}

/// The most a container's start waits for [`Deps::prewarm`]: a healthy DynamoDB answers in
/// tens of milliseconds with the handshake; a store that is down must not hold init longer.
pub const PREWARM_DEADLINE: Duration = Duration::from_millis(500);
