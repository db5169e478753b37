//! The sweep of outboxes (docs/api.md#idempotency): the emails of a request that died after its
//! commit are sent by a retry with its key, or, if none comes, by the next request that finds
//! them due. Once a minute per container, from a minute after its first request on, a request
//! looks up a few outboxes whose holder has surely stopped, takes each over and sends it.
//!
//! It runs alongside the request's own work and is done before the answer: Lambda may freeze
//! the container once the answer is sent, so nothing is left running after it. If it is cut
//! short anyway (the deadline, a killed process), each step it took is safe to abandon: an
//! outbox handed over and not cleared falls due again when the new holder's lease is over.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use time::{Duration, OffsetDateTime};

use crate::deps::Deps;
use crate::idempotency::send_outbox;
use crate::request_id::REQUEST_DEADLINE;

/// How long after its holder's lease an outbox is swept: by then the request that held it has
/// reached its own deadline, so it can no longer be sending (a retry, which must fit in its own
/// deadline, takes it over as soon as the lease is over).
pub const SWEEP_AFTER: Duration = Duration::new(REQUEST_DEADLINE.as_secs() as i64, 0);
/// Outboxes taken over by one sweep, at most: a few emails, sent at once.
const SWEEP_LIMIT: usize = 5;

/// Sweeps if it is this container's turn, within `deadline`; nothing otherwise. Never fails the
/// request: what it could not send is logged and left due.
pub async fn sweep(deps: &Deps, deadline: Instant) {
    let now = deps.clock.now();
    if !deps.outbox_sweep.take_turn(now) {
        return;
    }
    let work = AssertUnwindSafe(send_due(deps, now, deadline)).catch_unwind();
    match tokio::time::timeout_at(deadline.into(), work).await {
        Ok(Ok(())) => {}
        Ok(Err(_panic)) => tracing::error!(event = "outbox-sweep-failed", "the outbox sweep panicked"),
        Err(_elapsed) => {
            tracing::warn!(event = "outbox-sweep-failed", "the outbox sweep was cut short by the deadline")
        }
    }
}

/// Takes over and sends the outboxes due [`SWEEP_AFTER`] before `now`, all at once.
async fn send_due(deps: &Deps, now: OffsetDateTime, deadline: Instant) {
    let due = match deps.store.due_outboxes(now - SWEEP_AFTER, SWEEP_LIMIT).await {
        Ok(due) => due,
        Err(e) => return tracing::error!(event = "outbox-sweep-failed", error = %e, "the due outboxes were not read"),
    };
    let sends = due.iter().map(|outbox| send_outbox(deps, &outbox.scope, &outbox.holder, deadline));
    for (outbox, sent) in due.iter().zip(futures_util::future::join_all(sends).await) {
        match sent {
            Ok(Some(emails)) => tracing::info!(
                event = "outbox-swept",
                route = outbox.scope.route.name(),
                emails,
                "sent the emails of a request that died after its commit"
            ),
            Ok(None) => {} // sent or taken over meanwhile
            Err(failure) => tracing::error!(
                event = "outbox-not-sent",
                route = outbox.scope.route.name(),
                error = %failure,
                "the emails of a request that died after its commit are left for the next retry or sweep"
            ),
        }
    }
}
