//! Captures every log line the servers of this test process write, so tests
//! can assert what never appears in logs (passwords, secrets).

use std::io::Write;
use std::sync::{Mutex, OnceLock};

static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Sink;

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = BUFFER.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (debug level, JSON lines) once.
pub fn capture() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_env_filter("debug")
            .with_writer(|| Sink)
            .try_init();
    });
}

/// Everything logged so far.
pub fn text() -> String {
    BUFFER
        .lock()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}
