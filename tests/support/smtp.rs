//! A real, minimal SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA,
//! RSET, NOOP, QUIT) that keeps every message it receives, so tests can read
//! the mails the API sends through lettre over a real TCP connection.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The whole message as received (headers and body), dot-unstuffed.
    pub data: String,
}

impl ReceivedMail {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        // unfold continuation lines (RFC 5322 2.2.3)
        let head = self
            .data
            .split("\r\n\r\n")
            .next()?
            .replace("\r\n ", " ")
            .replace("\r\n\t", " ");
        head.split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    pub fn body(&self) -> String {
        self.data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default()
    }

    /// The body as text: each part of a multipart message (the plain text
    /// and the HTML alternative) decoded from its transfer encoding (base64
    /// or quoted-printable) and joined.
    pub fn text(&self) -> String {
        let boundary = self.header("content-type").and_then(|ct| {
            ct.split(';')
                .find_map(|p| p.trim().strip_prefix("boundary="))
                .map(|b| b.trim_matches('"').to_owned())
        });
        let Some(boundary) = boundary else {
            return decode_part(&self.header("content-transfer-encoding"), &self.body());
        };
        self.body()
            .split(&format!("--{boundary}"))
            .filter_map(|part| {
                let (head, body) = part.split_once("\r\n\r\n")?;
                let cte = head
                    .split("\r\n")
                    .find(|l| {
                        l.to_ascii_lowercase()
                            .starts_with("content-transfer-encoding:")
                    })
                    .map(|l| l["content-transfer-encoding:".len()..].trim().to_owned());
                Some(decode_part(&cte, body))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn decode_part(cte: &Option<String>, body: &str) -> String {
    use base64::Engine;
    match cte.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("base64") => {
            let joined: String = body.split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(joined.trim_end_matches('.'))
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_else(|| body.to_owned())
        }
        Some("quoted-printable") => {
            let soft = body.replace("=\r\n", "");
            let bytes = soft.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'=' && i + 2 < bytes.len() {
                    if let Ok(b) = u8::from_str_radix(&soft[i + 1..i + 3], 16) {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                }
                out.push(bytes[i]);
                i += 1;
            }
            String::from_utf8(out).unwrap_or_else(|_| body.to_owned())
        }
        _ => body.to_owned(),
    }
}

#[derive(Clone)]
pub struct SmtpSink {
    port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    /// While set, every recipient is refused with a temporary failure (451).
    refusing: Arc<std::sync::atomic::AtomicBool>,
}

impl SmtpSink {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind smtp");
        let port = listener.local_addr().expect("smtp addr").port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let refusing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let store = mails.clone();
        let refuse = refusing.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = store.clone();
                let refuse = refuse.clone();
                std::thread::spawn(move || {
                    let _ = session(stream, &store, &refuse);
                });
            }
        });
        Self {
            port,
            mails,
            refusing,
        }
    }

    /// Refuse (451, try again later) every recipient while `on`.
    pub fn refuse(&self, on: bool) {
        self.refusing.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.mails.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Waits (up to `timeout`) for a mail to `to`.
    pub async fn wait_for(&self, to: &str, timeout: Duration) -> Option<ReceivedMail> {
        self.wait_for_text(to, "", timeout).await
    }

    /// Waits (up to `timeout`) for a mail to `to` whose text contains
    /// `needle`.
    pub async fn wait_for_text(
        &self,
        to: &str,
        needle: &str,
        timeout: Duration,
    ) -> Option<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self
                .mails()
                .into_iter()
                .find(|m| m.to.iter().any(|t| t == to) && m.text().contains(needle))
            {
                return Some(m);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn addr_arg(line: &str) -> String {
    let start = line.find('<').map(|i| i + 1).unwrap_or(0);
    let end = line.rfind('>').unwrap_or(line.len());
    line.get(start..end).unwrap_or_default().to_owned()
}

fn session(
    stream: TcpStream,
    store: &Mutex<Vec<ReceivedMail>>,
    refusing: &std::sync::atomic::AtomicBool,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    out.write_all(b"220 localhost ESMTP coopmart-test\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            out.write_all(b"250-localhost\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 OK\r\n")?;
        } else if upper.starts_with("HELO") {
            out.write_all(b"250 localhost\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = addr_arg(&cmd);
            to.clear();
            out.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            if refusing.load(std::sync::atomic::Ordering::SeqCst) {
                out.write_all(b"451 4.3.0 try again later\r\n")?;
            } else {
                to.push(addr_arg(&cmd));
                out.write_all(b"250 OK\r\n")?;
            }
        } else if upper == "DATA" {
            out.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            if let Ok(mut m) = store.lock() {
                m.push(ReceivedMail {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                });
            }
            out.write_all(b"250 OK queued\r\n")?;
        } else if upper == "RSET" || upper == "NOOP" {
            out.write_all(b"250 OK\r\n")?;
        } else if upper == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"502 command not implemented\r\n")?;
        }
    }
}
