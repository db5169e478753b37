//! Files of the repository the tests read.

use std::path::PathBuf;

/// The repository's root (where `events/` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("test-support/ sits in the repo root").to_path_buf()
}

pub fn demo_fixture_text() -> String {
    std::fs::read_to_string(repo_root().join("tools/planocore/demo-fixture.json")).expect("demo fixture")
}
