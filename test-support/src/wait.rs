//! The one way a test waits: poll a probe until it sees the event, within a deadline, and fail
//! saying what never happened, with what the process under test printed so far. Every polling
//! wait of this crate (ports, logs, counters, processes, requests caught) goes through here.

use std::future::Future;
use std::time::{Duration, Instant};

/// The longest pause between two probes: short enough that a test goes on soon after its
/// event, long enough not to steal a core from what it waits for.
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// Calls `probe` until it returns `Some`, and returns that. After `within`, panics with
/// "`what` never happened …" and `context()` (a process's output, say), so that a timed-out test
/// names its event and shows what it has.
pub fn until<T>(what: &str, within: Duration, context: impl Fn() -> String, probe: impl FnMut() -> Option<T>) -> T {
    poll(within, probe).unwrap_or_else(|| never(what, within, &context()))
}

/// Calls `probe` until it returns `Some`, and returns that; `None` once `within` has passed, for
/// a caller that has to clean up (stop a process) before it fails with [`never`].
pub fn poll<T>(within: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let mut pauses = Pauses::new(within);
    loop {
        if let Some(seen) = probe() {
            return Some(seen);
        }
        std::thread::sleep(pauses.next()?);
    }
}

/// [`until`] for a test running on tokio: the probe may await, and the pauses yield the thread
/// to the tasks the test waits for.
pub async fn until_async<T, F>(
    what: &str,
    within: Duration,
    context: impl Fn() -> String,
    mut probe: impl FnMut() -> F,
) -> T
where
    F: Future<Output = Option<T>>,
{
    let mut pauses = Pauses::new(within);
    loop {
        if let Some(seen) = probe().await {
            return seen;
        }
        match pauses.next() {
            Some(pause) => tokio::time::sleep(pause).await,
            None => never(what, within, &context()),
        }
    }
}

/// No context to show beyond `what`.
pub fn nothing() -> String {
    String::new()
}

/// The failure of a wait: what never happened within `within`, and the output there is.
pub fn never(what: &str, within: Duration, context: &str) -> ! {
    let context = if context.is_empty() { String::new() } else { format!("\n--- output so far ---\n{context}") };
    panic!("waited {within:?} and this never happened: {what}{context}")
}

/// 1 ms, then doubling up to [`MAX_PAUSE`], until the deadline: `None` once it has passed.
struct Pauses {
    deadline: Instant,
    next: Duration,
}

impl Pauses {
    fn new(within: Duration) -> Pauses {
        Pauses { deadline: Instant::now() + within, next: Duration::from_millis(1) }
    }
}

impl Iterator for Pauses {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let left = self.deadline.checked_duration_since(Instant::now())?;
        let pause = self.next.min(left);
        self.next = (self.next * 2).min(MAX_PAUSE);
        Some(pause)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn returns_what_the_probe_saw_once_it_sees_it() {
        let calls = AtomicUsize::new(0);
        let seen = until("the third probe", Duration::from_secs(10), nothing, || {
            (calls.fetch_add(1, Ordering::SeqCst) == 2).then_some("seen")
        });
        assert_eq!((seen, calls.load(Ordering::SeqCst)), ("seen", 3));
    }

    #[test]
    fn a_wait_that_times_out_names_its_event_and_shows_the_output() {
        let failure = std::panic::catch_unwind(|| {
            until("the server listened", Duration::from_millis(30), || "starting...\nport taken".into(), || None::<()>)
        })
        .expect_err("never seen");
        let message = failure.downcast_ref::<String>().expect("a message");
        assert!(message.contains("this never happened: the server listened"), "{message}");
        assert!(message.contains("port taken"), "{message}");
    }

    #[tokio::test]
    async fn the_async_wait_lets_the_awaited_task_run() {
        let flag = std::sync::Arc::new(AtomicUsize::new(0));
        let setter = flag.clone();
        tokio::spawn(async move { setter.store(1, Ordering::SeqCst) });
        until_async("the task ran", Duration::from_secs(10), nothing, || {
            let flag = flag.clone();
            async move { (flag.load(Ordering::SeqCst) == 1).then_some(()) }
        })
        .await;
    }
}
