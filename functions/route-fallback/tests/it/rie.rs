//! The `route-fallback` binary itself (main.rs: config from the environment, the Lambda runtime, JSON
//! logs) under AWS's Runtime Interface Emulator, (it reads no store):
//! every `events/route-fallback.*.json` answers the status its file name gives.

use test_support::rie::check_events_on_binary;

#[test]
fn the_binary_answers_every_event_under_the_runtime_interface_emulator() {
    let count = check_events_on_binary("route-fallback", env!("CARGO_BIN_EXE_route-fallback"), false);
    assert!(count >= 1, "no events for route-fallback");
}
