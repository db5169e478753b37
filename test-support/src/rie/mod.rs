//! The real function binaries under AWS's Lambda Runtime Interface Emulator (RIE), the emulator
//! `sam local` runs inside its containers, here without Docker: `aws-lambda-rie-x86_64` from the
//! pinned `aws-sam-cli` package that `scripts/test` installs into `.venv-sam`. The tests run
//! `main.rs` too (config from the environment, the Lambda runtime client, JSON logs on stdout),
//! not only the handler.

mod events;
mod function;

pub use events::check_events_on_binary;
pub use function::*;
