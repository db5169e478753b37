//! A memory or DynamoDB Local app loaded with the demo fixture at a fixed time.

use crate::repo::demo_fixture_text;
use std::sync::Arc;

use crate::clock::FixedClock;
use app::deps::Deps;
use app::registry;
use app::registry::RegistryCache;
use store::dynamodb::DynamoStore;
use store::memory::MemoryStore;
use store::seam::Store;
use time::macros::datetime;
use time::OffsetDateTime;

use crate::notifier::RecordingNotifier;
use crate::tables::{fresh_dynamodb_table, EntityIds};

/// The instant the test fixture is loaded at; relative fixture times count from here.
pub const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

/// Sixteen free-text fields of a client that any employee may write: the race tests send one
/// request per field at once, and a lost update shows as a field that kept its old value.
pub const RACING_CLIENT_FIELDS: [&str; 16] = [
    "phone",
    "bio",
    "realtor_license",
    "assistant_phone",
    "display_phone",
    "branding_name",
    "branding_city",
    "assistant_first_name",
    "assistant_last_name",
    "employee_notes",
    "display_name",
    "branding_website",
    "branding_notes",
    "branding_phone",
    "branding_address",
    "branding_address2",
];

pub struct TestApp {
    pub deps: Deps,
    pub clock: Arc<FixedClock>,
    pub notifier: Arc<RecordingNotifier>,
    /// The same store as `deps.store` when it is DynamoDB, for raw reads of the table.
    pub dynamo: Option<Arc<DynamoStore>>,
    /// The same store as `deps.store` when it is the memory store.
    pub memory: Option<Arc<MemoryStore>>,
}

impl TestApp {
    /// The demo fixture on `store`, routes synced, clock fixed at [`NOW`], no registry cache.
    pub async fn on(store: Arc<dyn Store>) -> TestApp {
        let fixture = domain::fixture::parse(&demo_fixture_text(), NOW).expect("demo fixture loads");
        store.load_fixture(&fixture, store::seed::SeedMode::KeepExisting).await.expect("fixture written");
        registry::sync(store.as_ref(), false).await.expect("routes synced");
        let clock = Arc::new(FixedClock::new(NOW));
        let notifier = Arc::new(RecordingNotifier::default());
        let deps = Deps {
            store,
            clock: clock.clone(),
            notifier: notifier.clone(),
            registry: RegistryCache::new(std::time::Duration::ZERO),
            outbox_sweep: Default::default(),
            served: Default::default(),
        };
        TestApp { deps, clock, notifier, dynamo: None, memory: None }
    }

    pub async fn memory() -> TestApp {
        let store = Arc::new(MemoryStore::new());
        let mut app = TestApp::on(store.clone()).await;
        app.memory = Some(store);
        app
    }

    /// The id of every entity the store holds, whichever store it is, sorted.
    pub async fn entity_ids(&self) -> Vec<u64> {
        match (&self.memory, &self.dynamo) {
            (Some(memory), _) => memory.entity_ids(),
            (_, Some(dynamo)) => dynamo.entity_ids().await,
            _ => panic!("entity_ids needs TestApp::memory or TestApp::dynamodb"),
        }
    }

    /// One memory app with its own runtime for a whole test process, for synchronous callers
    /// (property tests, the fuzz target): loading the fixture hashes passwords, ~100 ms.
    pub fn shared_memory() -> &'static (tokio::runtime::Runtime, TestApp) {
        static APP: std::sync::OnceLock<(tokio::runtime::Runtime, TestApp)> = std::sync::OnceLock::new();
        APP.get_or_init(|| {
            let rt =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
            let app = rt.block_on(TestApp::memory());
            (rt, app)
        })
    }

    /// The demo fixture in a fresh table of the local DynamoDB emulator.
    pub async fn dynamodb() -> TestApp {
        let store = Arc::new(fresh_dynamodb_table().await);
        let mut app = TestApp::on(store.clone()).await;
        app.dynamo = Some(store);
        app
    }
}
