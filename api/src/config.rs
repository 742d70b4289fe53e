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
    /// Base URL clients (and the payment sandbox) use to reach this API;
    /// the bound address when unset.
    pub public_base_url: Option<String>,
    pub database_url: SecretString,
    /// Replica for listing reads and search; the primary when unset.
    pub database_read_url: Option<SecretString>,
    pub database_pool_size: u32,
    pub database_connect_timeout: Duration,
    /// Bound on every statement of the pools (None: the server's).
    pub database_statement_timeout: Option<Duration>,
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
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    /// Cache listing reads in Redis.
    pub listing_cache: bool,
    /// Add the 1-second in-process tier in front of Redis.
    pub listing_cache_local: bool,
    pub orders: OrderSettings,
    pub outbox: OutboxSettings,
    pub stats: StatsSettings,
    pub search: SearchSettings,
    /// Exact origins (`scheme://host[:port]`) browsers may call the API
    /// from; empty: no CORS headers at all.
    pub cors_allowed_origins: Vec<String>,
}

/// The notification outbox's worker (every instance runs one).
#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// Run the worker in this process.
    pub enabled: bool,
    /// How often it looks for events and due deliveries.
    pub poll_interval: Duration,
    /// A delivery that failed this many times is dead (re-drivable).
    pub max_attempts: u32,
    /// First retry after about this long, doubling up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// A claimed delivery is another worker's to retry after this.
    pub lease: Duration,
    pub webhook_timeout: Duration,
    /// Let webhooks target loopback, private and link-local addresses
    /// (tests; never in production).
    pub webhook_allow_private: bool,
}

#[derive(Debug, Clone)]
pub struct OrderSettings {
    /// Only `sandbox` is built in.
    pub payment_provider: String,
    /// HMAC key of the sandbox provider's notifications.
    pub sandbox_secret: SecretString,
    /// Unpaid orders expire (and return their stock) after this.
    pub payment_ttl: Duration,
    /// How often each instance sweeps for expired and auto-completing orders.
    pub sweep_interval: Duration,
    /// How often units sold are added to the listings' `sold_qty`.
    pub sales_count_interval: Duration,
    /// Delivered seller orders complete by themselves after this.
    pub auto_complete_after: Duration,
    /// The buyer may ask for an after-sales refund this long after delivery.
    pub after_sales_window: Duration,
}

/// Sales statistics and unsalable alerts (docs/stats.md).
#[derive(Debug, Clone)]
pub struct StatsSettings {
    /// An hour is sealed into the rollup this long after it ended.
    pub seal_margin: Duration,
    /// How often the sweep looks for days to seal.
    pub seal_interval: Duration,
    /// Listings with less stock are never unsalable.
    pub unsalable_min_stock: i32,
    /// Sell-through over 14 days below this (basis points) is unsalable.
    pub unsalable_threshold_bp: u32,
}

/// The search engine's sync with Postgres.
#[derive(Debug, Clone)]
pub struct SearchSettings {
    /// How often the engine polls for changed listings.
    pub refresh_interval: Duration,
    /// How far back each poll looks again (transactions that commit late).
    pub refresh_margin: Duration,
    /// Indexing threads for the build at start.
    pub build_threads: usize,
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// Key ring `kid:secret` (HS256, secrets ≥ 32 bytes).
    pub jwt_keys: Vec<(String, SecretString)>,
    /// The key new tokens are signed with.
    pub jwt_active_kid: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub bootstrap_admin_email: Option<String>,
    pub bootstrap_admin_password: Option<SecretString>,
}

#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    pub window: Duration,
    /// Requests per window per client IP on each limited endpoint.
    pub per_ip: u32,
    /// Requests per window per account (username / client_id) on the token endpoint.
    pub per_account: u32,
    /// Take the client IP from the first `X-Forwarded-For` entry (only
    /// behind a proxy that sets it).
    pub trust_forwarded_for: bool,
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

/// `CORS_ALLOWED_ORIGINS=https://shop.example,http://127.0.0.1:3000`: each
/// an exact origin, without path or trailing slash.
fn parse_origins(r: &mut Reader<'_>) -> Vec<String> {
    let raw = r.string("CORS_ALLOWED_ORIGINS", "");
    let mut origins = Vec::new();
    for o in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let scheme_ok = o.starts_with("http://") || o.starts_with("https://");
        let rest = o.split_once("://").map_or("", |(_, r)| r);
        if scheme_ok && !rest.is_empty() && !rest.contains('/') && o != "*" {
            origins.push(o.to_owned());
        } else {
            r.errors.push(format!(
                "CORS_ALLOWED_ORIGINS: {o:?} is not an origin (scheme://host[:port])"
            ));
        }
    }
    origins
}

/// `JWT_KEYS=kid1:secret1,kid2:secret2`. The dev default is a fixed key that
/// must never be used in production.
fn parse_key_ring(r: &mut Reader<'_>) -> Vec<(String, SecretString)> {
    let raw = r.string(
        "JWT_KEYS",
        "dev-1:dev-only-signing-key-change-me-0123456789abcdef",
    );
    let mut keys = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once(':') {
            Some((kid, secret)) if !kid.is_empty() && secret.len() >= 32 => {
                keys.push((kid.to_owned(), SecretString::from(secret.to_owned())));
            }
            _ => r.errors.push(
                "JWT_KEYS: each entry must be kid:secret with a secret of at least 32 bytes".into(),
            ),
        }
    }
    keys
}

impl Settings {
    /// Reads `.env` (when present) and then the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(ConfigError(vec![format!(".env: {e}")])),
        }
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
            public_base_url: r.raw("PUBLIC_BASE_URL"),
            database_url: r.required_secret("DATABASE_URL"),
            database_read_url: r.raw("DATABASE_READ_URL").map(SecretString::from),
            database_pool_size: r.parse("DATABASE_POOL_SIZE", 10),
            database_connect_timeout: r.millis("DATABASE_CONNECT_TIMEOUT_MS", 3_000),
            database_statement_timeout: Some(r.millis("DATABASE_STATEMENT_TIMEOUT_MS", 30_000))
                .filter(|d| !d.is_zero()),
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
            auth: AuthSettings {
                jwt_issuer: r.string("JWT_ISSUER", "coopmart"),
                jwt_audience: r.string("JWT_AUDIENCE", "coopmart-api"),
                jwt_keys: parse_key_ring(&mut r),
                jwt_active_kid: r.string("JWT_ACTIVE_KID", "dev-1"),
                access_token_ttl: Duration::from_secs(r.parse("ACCESS_TOKEN_TTL_SECS", 900)),
                refresh_token_ttl: Duration::from_secs(
                    r.parse::<u64>("REFRESH_TOKEN_TTL_DAYS", 30) * 86_400,
                ),
                bootstrap_admin_email: r.raw("BOOTSTRAP_ADMIN_EMAIL"),
                bootstrap_admin_password: r.raw("BOOTSTRAP_ADMIN_PASSWORD").map(SecretString::from),
            },
            orders: OrderSettings {
                payment_provider: {
                    let p = r.string("PAYMENT_PROVIDER", "sandbox");
                    if p != "sandbox" {
                        r.errors
                            .push(format!("PAYMENT_PROVIDER {p:?} is not supported (sandbox)"));
                    }
                    p
                },
                sandbox_secret: SecretString::from(
                    r.string("PAYMENT_SANDBOX_SECRET", "dev-only-sandbox-notify-secret"),
                ),
                payment_ttl: Duration::from_secs(r.parse("ORDER_PAYMENT_TTL", 900)),
                sweep_interval: r.millis("ORDER_SWEEP_INTERVAL_MS", 5_000),
                sales_count_interval: r.millis("SALES_COUNT_INTERVAL_MS", 30_000),
                auto_complete_after: {
                    let days: u64 = r.parse("ORDER_AUTO_COMPLETE_DAYS", 10);
                    Duration::from_secs(r.parse("ORDER_AUTO_COMPLETE_SECS", days * 86_400))
                },
                after_sales_window: {
                    let days: u64 = r.parse("AFTER_SALES_WINDOW_DAYS", 7);
                    Duration::from_secs(days * 86_400)
                },
            },
            stats: StatsSettings {
                seal_margin: Duration::from_secs(r.parse("SALES_SEAL_MARGIN_SECS", 300)),
                seal_interval: r.millis("SALES_SEAL_INTERVAL_MS", 60_000),
                unsalable_min_stock: r.parse("UNSALABLE_MIN_STOCK", 100),
                unsalable_threshold_bp: {
                    let bp: u32 = r.parse("UNSALABLE_SELL_THROUGH_BP", 1_000);
                    if bp > 10_000 {
                        r.errors
                            .push("UNSALABLE_SELL_THROUGH_BP is at most 10000".to_owned());
                    }
                    bp
                },
            },
            search: SearchSettings {
                refresh_interval: r.millis("SEARCH_REFRESH_MS", 200),
                refresh_margin: r.millis("SEARCH_REFRESH_MARGIN_MS", 3_000),
                build_threads: r.parse("SEARCH_BUILD_THREADS", 2),
            },
            outbox: OutboxSettings {
                enabled: r.parse("OUTBOX_WORKER", true),
                poll_interval: r.millis("OUTBOX_POLL_MS", 500),
                max_attempts: r.parse("OUTBOX_MAX_ATTEMPTS", 8),
                retry_base: r.millis("OUTBOX_RETRY_BASE_MS", 5_000),
                retry_max: Duration::from_secs(r.parse("OUTBOX_RETRY_MAX_SECS", 3_600)),
                lease: Duration::from_secs(r.parse("OUTBOX_LEASE_SECS", 60)),
                webhook_timeout: r.millis("WEBHOOK_TIMEOUT_MS", 10_000),
                webhook_allow_private: r.parse("WEBHOOK_ALLOW_PRIVATE", false),
            },
            listing_cache: r.parse("LISTING_CACHE", true),
            listing_cache_local: r.parse("LISTING_CACHE_LOCAL", true),
            cors_allowed_origins: parse_origins(&mut r),
            rate_limit: RateLimitSettings {
                window: Duration::from_secs(r.parse("RATE_LIMIT_WINDOW_SECS", 60)),
                per_ip: r.parse("RATE_LIMIT_PER_IP", 30),
                per_account: r.parse("RATE_LIMIT_PER_ACCOUNT", 10),
                trust_forwarded_for: r.parse("TRUST_X_FORWARDED_FOR", false),
            },
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
    fn cors_origins_are_exact_origins() {
        let ok = Settings::from_lookup(&lookup(&[
            ("DATABASE_URL", "postgres://u:p@127.0.0.1/db"),
            (
                "CORS_ALLOWED_ORIGINS",
                " https://shop.example , http://127.0.0.1:3000",
            ),
        ]))
        .map(|s| s.cors_allowed_origins)
        .map_err(|e| e.0);
        assert_eq!(
            ok,
            Ok(vec![
                "https://shop.example".to_owned(),
                "http://127.0.0.1:3000".to_owned()
            ])
        );
        for bad in ["*", "shop.example", "https://shop.example/", "https://"] {
            let err = Settings::from_lookup(&lookup(&[
                ("DATABASE_URL", "postgres://u:p@127.0.0.1/db"),
                ("CORS_ALLOWED_ORIGINS", bad),
            ]))
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
            assert_eq!(err.len(), 1, "{bad}: {err:?}");
        }
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
