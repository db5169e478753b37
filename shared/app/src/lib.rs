//! The request pipeline and everything around it: authentication, idempotency, notifications,
//! the route registry, telemetry and metrics, settings, and the composition root (`config`)
//! that builds the functions' dependencies from the environment. Imports `domain` and `store`
//! (docs/architecture.md#crates). See docs/architecture.md for how a request travels.

pub mod auth;
pub mod aws;
pub mod config;
pub mod deps;
pub mod emf;
pub mod error;
pub mod https;
pub mod idempotency;
pub mod logging;
pub mod notify;
pub mod outbox_schedule;
pub mod outbox_sweep;
pub mod pipeline;
pub mod registry;
pub mod request_id;
pub mod settings;
pub mod telemetry;

pub use deps::Deps;
pub use error::{RouteError, RouteResult};
pub use pipeline::Context;
