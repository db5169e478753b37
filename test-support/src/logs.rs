//! The functions' JSON log lines, captured for tests that read them.

use std::sync::Arc;

use serde_json::Value;

/// Log lines captured as the functions write them (JSON), for tests that read the logs.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    /// Captures this thread's logs until the guard drops (use a current-thread runtime).
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt().json().with_writer(move || sink.clone()).finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("UTF-8 log lines")
    }

    /// Every line, parsed; a line that is not JSON fails the test.
    pub fn lines(&self) -> Vec<Value> {
        self.text().lines().map(|l| serde_json::from_str(l).expect("every log line is JSON")).collect()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
