//! Entities Create's integration tests: the handler on both stores, its events, Mandrill, the binary under the Runtime Interface Emulator.
//!
//! One test binary for the crate (each file a module): one link instead of one per file.

mod events;
mod handler;
mod mandrill;
mod rie;
