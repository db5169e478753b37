//! The `clients-update` binary itself (main.rs: config from the environment, the Lambda runtime, JSON
//! logs) under a Lambda Runtime API on loopback, against a freshly seeded table on the local emulator:
//! every `events/clients-update.*.json` answers the status its file name gives.

use shared::testing::runtime_api::check_events_on_binary;

#[test]
fn the_binary_answers_every_event_under_the_runtime_api() {
    let count = check_events_on_binary("clients-update", env!("CARGO_BIN_EXE_clients-update"), true);
    assert!(count >= 10, "only {count} events");
}
