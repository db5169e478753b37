//! Why a store call failed, for every operation of every store.

use domain::error_chain::chain;

/// Why a store call failed; the cause is kept as its source (an SDK error, a serde error, or a
/// sentence where there is no error value), and its whole chain is in the message for the logs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or did not answer in time.
    #[error("store unavailable: {}", chain(.0.as_ref()))]
    Unavailable(#[source] BoxError),
    /// The store answered with something this code cannot read.
    #[error("store returned an unreadable record: {}", chain(.0.as_ref()))]
    Corrupt(#[source] BoxError),
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub type StoreResult<T> = Result<T, StoreError>;
