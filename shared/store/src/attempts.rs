//! The limit on own-password checks (docs/api.md#clients-update-rules), the same for every store:
//! a window opens at the first counted check, and the checks past the limit are refused until
//! it closes.

use time::{Duration, OffsetDateTime};

/// Checks of `current_password` allowed per user and window.
pub const PASSWORD_ATTEMPTS: u64 = 5;
/// How long a window stays open after its first counted check.
pub const PASSWORD_WINDOW: Duration = Duration::minutes(15);

/// Whether a check of `current_password` may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordAttempt {
    /// Counted; the check runs.
    Allowed,
    /// Past [`PASSWORD_ATTEMPTS`] in the open window: refused until it closes.
    Locked { until: OffsetDateTime },
}

impl PasswordAttempt {
    /// The verdict on the `count`th check of the window opened at `opened`.
    pub fn nth(count: u64, opened: OffsetDateTime) -> Self {
        if count <= PASSWORD_ATTEMPTS {
            PasswordAttempt::Allowed
        } else {
            PasswordAttempt::Locked { until: opened + PASSWORD_WINDOW }
        }
    }
}

/// A window opened at `opened` still counts at `now` (it closes exactly 15 minutes later).
pub fn window_open(opened: OffsetDateTime, now: OffsetDateTime) -> bool {
    now < opened + PASSWORD_WINDOW
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn five_checks_pass_and_the_sixth_waits_for_the_window_to_close() {
        let opened = datetime!(2026-01-01 12:00 UTC);
        assert_eq!(PasswordAttempt::nth(PASSWORD_ATTEMPTS, opened), PasswordAttempt::Allowed);
        let until = datetime!(2026-01-01 12:15 UTC);
        assert_eq!(PasswordAttempt::nth(PASSWORD_ATTEMPTS + 1, opened), PasswordAttempt::Locked { until });
        assert!(window_open(opened, until - Duration::seconds(1)));
        assert!(!window_open(opened, until));
    }
}
