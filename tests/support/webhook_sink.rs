//! A real HTTP server that receives webhook deliveries (the partner's
//! side): it records every request and answers with the statuses a test
//! scripts (e.g. 500 twice, then 200), so retries can be observed.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The status it was answered with.
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone)]
pub struct WebhookSink {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer, in turn; when empty, `then`.
    script: Arc<Mutex<VecDeque<u16>>>,
    then: Arc<Mutex<u16>>,
}

impl WebhookSink {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind webhook sink");
        let port = listener.local_addr().expect("addr").port();
        let sink = Self {
            port,
            received: Arc::new(Mutex::new(Vec::new())),
            script: Arc::new(Mutex::new(VecDeque::new())),
            then: Arc::new(Mutex::new(200)),
        };
        let s = sink.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = s.serve(stream);
                });
            }
        });
        sink
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    /// Answer `first` to the next requests in turn, then `then`.
    pub fn script(&self, first: &[u16], then: u16) {
        if let Ok(mut s) = self.script.lock() {
            *s = first.iter().copied().collect();
        }
        if let Ok(mut t) = self.then.lock() {
            *t = then;
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn serve(&self, stream: std::net::TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body)?;
        let status = self
            .script
            .lock()
            .ok()
            .and_then(|mut s| s.pop_front())
            .unwrap_or_else(|| self.then.lock().map(|t| *t).unwrap_or(200));
        if let Ok(mut r) = self.received.lock() {
            r.push(Received {
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
                answered: status,
            });
        }
        let mut out = stream;
        write!(
            out,
            "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
        )?;
        out.flush()
    }
}
