//! The API's rules, with no IO: records and their timestamps, the route catalogue, statuses and
//! the envelope, request decoding, params and the client-field table, views, credentials, the
//! notification emails, the fixture format. Every other crate imports it; it imports none of
//! them (docs/architecture.md#crates).

pub mod client_fields;
pub mod clock;
pub mod credentials;
pub mod email;
pub mod envelope;
pub mod error_chain;
pub mod fixture;
pub mod model;
pub mod params;
pub mod request;
pub mod routes;
pub mod unique;
pub mod view_names;
pub mod views;

pub use envelope::{Outcome, ParamError, Status};
pub use routes::RouteId;
