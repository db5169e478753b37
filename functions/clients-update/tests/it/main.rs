//! Clients Update's integration tests: the handler on both stores, its events, Mandrill, the binary under the Runtime Interface Emulator.
//!
//! One test binary for the crate (each file a module): one link instead of one per file.

mod cold_start;
mod events;
mod handler;
mod mandrill;
mod mandrill_tls;
mod metrics;
mod password_attempts;
mod revocation;
mod rie;
