//! The `clients-update` binary itself (main.rs: config from the environment, the Lambda runtime, JSON
//! logs) under AWS's Runtime Interface Emulator, against a freshly seeded table on DynamoDB Local:
//! every `events/clients-update.*.json` answers the status its file name gives.

use test_support::rie::check_events_on_binary;

#[test]
fn the_binary_answers_every_event_under_the_runtime_interface_emulator() {
    let count = check_events_on_binary("clients-update", env!("CARGO_BIN_EXE_clients-update"), true);
    assert!(count >= 10, "only {count} events");
}
