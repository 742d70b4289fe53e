//! E-mail delivery through lettre: real SMTP, or `.eml` files for local dev.

use std::path::PathBuf;
use std::time::Duration;

use domain::mail::{MailError, Mailer, OutgoingMail};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::file::FileTransport;
use lettre::transport::smtp::SmtpTransport;
use lettre::{Message, Transport};

enum Inner {
    Smtp(SmtpTransport),
    File(FileTransport),
}

/// [`Mailer`] backed by lettre.
pub struct LettreMailer {
    from: Mailbox,
    inner: Inner,
}

impl LettreMailer {
    /// Plain SMTP (no TLS) to a relay on `host:port`, e.g. a local MTA or the
    /// test suite's in-process server.
    pub fn smtp(from: &str, host: &str, port: u16) -> Result<Self, MailError> {
        let transport = SmtpTransport::builder_dangerous(host)
            .port(port)
            .timeout(Some(Duration::from_secs(10)))
            .build();
        Ok(Self {
            from: parse_mailbox(from)?,
            inner: Inner::Smtp(transport),
        })
    }

    /// Writes each message as an `.eml` file into `dir`.
    pub fn file(from: &str, dir: PathBuf) -> Result<Self, MailError> {
        std::fs::create_dir_all(&dir).map_err(|e| MailError::Transport(e.to_string()))?;
        Ok(Self {
            from: parse_mailbox(from)?,
            inner: Inner::File(FileTransport::new(dir)),
        })
    }
}

fn parse_mailbox(raw: &str) -> Result<Mailbox, MailError> {
    raw.parse::<Mailbox>()
        .map_err(|e| MailError::Invalid(format!("address {raw:?}: {e}")))
}

impl Mailer for LettreMailer {
    fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        // 8bit keeps Chinese text readable on the wire; every relay we target
        // advertises 8BITMIME. Fall back to lettre's choice for odd bodies.
        let body = |text: &str| {
            Body::new_with_encoding(text.to_owned(), ContentTransferEncoding::EightBit)
                .unwrap_or_else(|_| Body::new(text.to_owned()))
        };
        let builder = Message::builder()
            .from(self.from.clone())
            .to(parse_mailbox(&mail.to)?)
            .subject(mail.subject.clone());
        let message = match &mail.html_body {
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(body(&mail.text_body)),
            Some(html) => builder.multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(body(&mail.text_body)),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(body(html)),
                    ),
            ),
        }
        .map_err(|e| MailError::Invalid(e.to_string()))?;
        match &self.inner {
            Inner::Smtp(t) => t
                .send(&message)
                .map(|_| ())
                .map_err(|e| MailError::Transport(e.to_string())),
            Inner::File(t) => t
                .send(&message)
                .map(|_| ())
                .map_err(|e| MailError::Transport(e.to_string())),
        }
    }
}
