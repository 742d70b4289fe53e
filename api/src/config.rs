//! Typed configuration read from the environment (and `.env` in dev).
//! Every setting is documented in `.env.example`. Secrets are wrapped in
//! [`SecretString`] so they never appear in `Debug` output or logs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone)]
pub enum MailTransport {
    /// Plain SMTP to a relay (`SMTP_HOST`, `SMTP_PORT`).
    Smtp { host: String, port: u16 },
    /// `.eml` files in a directory, for local development.
    File { dir: PathBuf },
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    pub from: String,
    pub transport: MailTransport,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the HTTP server binds (loopback by default).
    pub bind_addr: SocketAddr,
    /// actix worker threads.
    pub workers: usize,
    /// Base URL clients use to reach this API (links in mails, QR codes).
    pub public_base_url: String,
    pub database_url: SecretString,
    /// Replica for listing reads and search; the primary when unset.
    pub database_read_url: Option<SecretString>,
    pub database_pool_size: u32,
    pub database_connect_timeout: Duration,
    pub redis_url: SecretString,
    /// Prefix of every Redis key, so several deployments (or tests) can
    /// share one Redis.
    pub redis_key_prefix: String,
    pub redis_timeout: Duration,
    pub mail: MailSettings,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    pub log_format: LogFormat,
    pub shutdown_timeout: Duration,
    /// Apply pending migrations at start.
    pub migrate_on_start: bool,
}

/// Every invalid or missing setting, reported together.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", .0.join("; "))]
pub struct ConfigError(pub Vec<String>);

struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<String>,
}

impl Reader<'_> {
    fn raw(&self, key: &str) -> Option<String> {
        (self.lookup)(key).filter(|v| !v.trim().is_empty())
    }

    fn string(&mut self, key: &str, default: &str) -> String {
        self.raw(key).unwrap_or_else(|| default.to_owned())
    }

    fn required_secret(&mut self, key: &str) -> SecretString {
        match self.raw(key) {
            Some(v) => SecretString::from(v),
            None => {
                self.errors.push(format!("{key} is required"));
                SecretString::from(String::new())
            }
        }
    }

    fn parse<T: FromStr>(&mut self, key: &str, default: T) -> T {
        match self.raw(key) {
            None => default,
            Some(v) => v.trim().parse().unwrap_or_else(|_| {
                self.errors.push(format!("{key}: cannot parse {v:?}"));
                default
            }),
        }
    }

    fn millis(&mut self, key: &str, default_ms: u64) -> Duration {
        Duration::from_millis(self.parse(key, default_ms))
    }
}

impl Settings {
    /// Reads `.env` (when present) and then the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// Builds settings from any key lookup (tests pass a map).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut r = Reader {
            lookup,
            errors: Vec::new(),
        };
        let default_bind: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080));
        let bind_addr = r.parse("BIND_ADDR", default_bind);
        let log_format = match r.string("LOG_FORMAT", "pretty").as_str() {
            "json" => LogFormat::Json,
            "pretty" => LogFormat::Pretty,
            other => {
                r.errors
                    .push(format!("LOG_FORMAT must be json or pretty, not {other:?}"));
                LogFormat::Pretty
            }
        };
        let mail_from = r.string("MAIL_FROM", "coopmart <noreply@coopmart.local>");
        let transport = match r.string("MAIL_TRANSPORT", "file").as_str() {
            "smtp" => MailTransport::Smtp {
                host: r.string("SMTP_HOST", "127.0.0.1"),
                port: r.parse("SMTP_PORT", 25),
            },
            "file" => MailTransport::File {
                dir: PathBuf::from(r.string("MAIL_FILE_DIR", ".dev/mail")),
            },
            other => {
                r.errors.push(format!(
                    "MAIL_TRANSPORT must be smtp or file, not {other:?}"
                ));
                MailTransport::File {
                    dir: PathBuf::from(".dev/mail"),
                }
            }
        };
        let settings = Settings {
            bind_addr,
            workers: r.parse("HTTP_WORKERS", 2),
            public_base_url: r.string("PUBLIC_BASE_URL", &format!("http://{bind_addr}")),
            database_url: r.required_secret("DATABASE_URL"),
            database_read_url: r.raw("DATABASE_READ_URL").map(SecretString::from),
            database_pool_size: r.parse("DATABASE_POOL_SIZE", 16),
            database_connect_timeout: r.millis("DATABASE_CONNECT_TIMEOUT_MS", 3_000),
            redis_url: SecretString::from(r.string("REDIS_URL", "redis://127.0.0.1:56379/0")),
            redis_key_prefix: r.string("REDIS_KEY_PREFIX", "coopmart:"),
            redis_timeout: r.millis("REDIS_TIMEOUT_MS", 250),
            mail: MailSettings {
                from: mail_from,
                transport,
            },
            body_limit_bytes: r.parse("BODY_LIMIT_BYTES", 256 * 1024),
            log_format,
            shutdown_timeout: Duration::from_secs(r.parse("SHUTDOWN_TIMEOUT_SECS", 30)),
            migrate_on_start: r.parse("MIGRATE_ON_START", true),
        };
        if r.errors.is_empty() {
            Ok(settings)
        } else {
            Err(ConfigError(r.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_loopback_and_secrets_do_not_print() {
        let s = Settings::from_lookup(&lookup(&[(
            "DATABASE_URL",
            "postgres://u:hunter2@127.0.0.1/db",
        )]))
        .map_err(|e| e.to_string());
        let s = s.as_ref().map_err(String::as_str);
        assert!(s.is_ok(), "{s:?}");
        let Ok(s) = s else { return };
        assert!(s.bind_addr.ip().is_loopback());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn reports_every_bad_setting() {
        let err = Settings::from_lookup(&lookup(&[("BIND_ADDR", "nope"), ("LOG_FORMAT", "xml")]))
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert_eq!(err.len(), 3, "{err:?}");
        assert!(err.iter().any(|e| e.contains("DATABASE_URL")));
        assert!(err.iter().any(|e| e.contains("BIND_ADDR")));
        assert!(err.iter().any(|e| e.contains("LOG_FORMAT")));
    }
}
