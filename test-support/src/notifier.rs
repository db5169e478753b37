//! A notifier that records every email and fails on demand.

use app::notify::{Notifier, NotifyError};
use async_trait::async_trait;
use domain::email::Email;

#[derive(Default)]
pub struct RecordingNotifier {
    pub sent: std::sync::Mutex<Vec<Email>>,
    pub fail: std::sync::atomic::AtomicBool,
}

impl RecordingNotifier {
    pub fn emails(&self) -> Vec<Email> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn send(&self, email: &Email) -> Result<(), NotifyError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(NotifyError("the test notifier was told to fail".into()));
        }
        self.sent.lock().unwrap().push(email.clone());
        Ok(())
    }
}
