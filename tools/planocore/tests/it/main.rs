//! The planocore crate's integration tests: the CLI, the local server, the template, the docs, and the API's behaviour across routes.
//!
//! One test binary for the crate (each file a module): one link instead of one per file.

mod catalogue;
mod cli;
mod docs;
mod early_reads;
mod first_deploy;
mod idempotency;
mod killed_after_commit;
mod large_lists;
mod layers;
mod logs;
mod openapi;
mod operations;
mod properties;
mod round_trips;
mod sam_template;
mod serve;
mod template;
