//! The fallback's integration tests: its events, and its binary under the Runtime Interface Emulator.
//!
//! One test binary for the crate (each file a module): one link instead of one per file.

mod events;
mod rie;
