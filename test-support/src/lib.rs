//! The tests' helpers, a crate of their own so that nothing here can reach a shipped binary:
//! every crate takes it as a dev-dependency (`app`'s integration tests too; cargo allows that
//! cycle through dev-dependencies). The binaries in `src/bin` exist for this crate's own tests.

mod anchors;
mod call_fault;
mod catcher;
pub mod clock;
mod commit_hold;
pub mod emulator;
mod events;
mod faulty;
mod http;
mod logs;
mod mandrill;
mod notifier;
mod proxy;
mod race;
mod recorder;
mod repo;
mod requests;
pub mod rie;
mod settings;
mod stall;
mod tables;
mod test_app;
mod tls;
pub mod wait;

pub use anchors::{line_of, rust_line_of};
pub use call_fault::{CallFault, FaultPoint};
pub use catcher::{CaughtRequest, RequestCatcher};
pub use commit_hold::CommitHold;
pub use events::{check_events, event, events_with_prefix, replays, PREFLIGHT};
pub use faulty::FaultyStore;
pub use http::{http, HttpReply, ServeProcess};
pub use logs::LogCapture;
pub use mandrill::{FakeMandrill, FakeReply};
pub use notifier::RecordingNotifier;
pub use proxy::TcpRelay;
pub use race::at_once;
pub use recorder::CallRecorder;
pub use repo::{demo_fixture_text, repo_root};
pub use requests::{base64, request, Reply};
pub use settings::{settings, settings_with};
pub use stall::StallAfterCommit;
pub use tables::{
    fresh_dynamodb_table, fresh_recorded_table, fresh_table_with, seeded_table, table_as_created, table_at, EntityIds,
};
pub use test_app::{TestApp, NOW, RACING_CLIENT_FIELDS};
pub use tls::{ServerIdentity, TestCa};

/// Runs each named `async fn(TestApp)` of a handler suite once per store, as
/// `memory::<name>` and `dynamodb::<name>`: one suite, every store.
#[macro_export]
macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::TestApp::memory().await).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::TestApp::dynamodb().await).await
                }
            )*
        }
    };
}
