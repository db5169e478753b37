//! The store: the operations the routes need (`seam`), and their two implementations, in memory
//! (tests, `planocore serve`) and on DynamoDB (the functions). Imports `domain` only; knows
//! nothing of HTTP, Lambda or the request pipeline (docs/architecture.md#crates).

pub mod attempts;
pub mod dynamodb;
pub mod error;
pub mod idempotency;
pub mod memory;
pub mod seam;
pub mod seed;

// The whole seam at the crate's root, for the stores that wrap another (tests' fault injection).
pub use attempts::{PasswordAttempt, PASSWORD_ATTEMPTS, PASSWORD_WINDOW};
pub use error::{BoxError, StoreError, StoreResult};
pub use idempotency::{Claim, DueOutbox, KeyClaim, KeyCommit, KeyRecord, KeyScope, Outbox, StoredAnswer};
pub use seam::*;
