//! When a container sweeps the outboxes (`outbox_sweep`, docs/api.md#idempotency): once a
//! minute, from a minute after its first request on. Apart from the sweep so that `Deps` can
//! hold it.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// How often a container sweeps, at most.
pub const SWEEP_EVERY: Duration = Duration::minutes(1);

/// When this container sweeps next: `None` until its first request.
#[derive(Default)]
pub struct OutboxSweep {
    next: Mutex<Option<OffsetDateTime>>,
}

impl OutboxSweep {
    /// Whether a sweep is due at `now`; if it is, the next one is [`SWEEP_EVERY`] later (one
    /// request of the container's concurrent ones gets the turn). A container's first request
    /// only starts the count: a cold start's first answer makes no call beyond its own, and
    /// opens no second connection to the store, beside the one init opened.
    pub(crate) fn take_turn(&self, now: OffsetDateTime) -> bool {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let due = next.is_some_and(|next| next <= now);
        if due || next.is_none() {
            *next = Some(now + SWEEP_EVERY);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_container_sweeps_once_a_minute_from_a_minute_after_its_first_request() {
        let sweep = OutboxSweep::default();
        let at = datetime!(2026-01-01 12:00 UTC);
        assert!(!sweep.take_turn(at), "the first request starts the count");
        assert!(!sweep.take_turn(at + Duration::seconds(59)));
        assert!(sweep.take_turn(at + SWEEP_EVERY), "a minute later");
        assert!(!sweep.take_turn(at + SWEEP_EVERY), "not a concurrent one too");
        assert!(!sweep.take_turn(at + SWEEP_EVERY + Duration::seconds(59)));
        assert!(sweep.take_turn(at + SWEEP_EVERY * 3), "nor more than once after a pause");
        assert!(!sweep.take_turn(at + SWEEP_EVERY * 3 + Duration::seconds(1)));
    }
}
