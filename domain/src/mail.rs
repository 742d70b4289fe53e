//! Outgoing e-mail and the port that delivers it.

/// An e-mail ready to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text_body: String,
    /// Sent as the HTML alternative of the text, when present.
    pub html_body: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The address or message could not be built; retrying will not help.
    #[error("invalid mail: {0}")]
    Invalid(String),
    /// The transport failed; the caller may retry later.
    #[error("mail transport failed: {0}")]
    Transport(String),
}

/// Delivers e-mail. Implementations block (call them off the async
/// executor) and are safe to share between threads.
pub trait Mailer: Send + Sync {
    /// Sends one message. `Err(MailError::Transport)` means nothing is known
    /// to have been delivered and the message may be retried.
    fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}
