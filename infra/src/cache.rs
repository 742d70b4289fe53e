//! Redis adapter. Redis is a cache and a coordination aid, never the system
//! of record: every operation is bounded by a short timeout and failures are
//! reported as [`CacheError::Unavailable`] so callers can fall back to
//! Postgres. The connection is (re)established lazily, at most once per
//! `retry_after`, so a Redis outage costs callers almost nothing and a Redis
//! that comes back is used again without a restart.

use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis unavailable: {0}")]
    Unavailable(String),
}

fn unavailable(e: impl std::fmt::Display) -> CacheError {
    CacheError::Unavailable(e.to_string())
}

/// Lua scripts are hashed once; Redis runs them by SHA (EVALSHA).
static INCR_WINDOW: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local n = redis.call('INCR', KEYS[1])
          if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
          local ttl = redis.call('PTTL', KEYS[1])
          if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
          return {n, ttl}",
    )
});

static SET_IF_GENERATION: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local g = redis.call('GET', KEYS[2]) or ''
          if g == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end
          return 0",
    )
});

pub struct RedisCache {
    client: Option<redis::Client>,
    prefix: String,
    op_timeout: Duration,
    retry_after: Duration,
    conn: Mutex<Option<ConnectionManager>>,
    last_attempt: Mutex<Option<Instant>>,
}

impl RedisCache {
    /// `prefix` namespaces every key (tests give each test its own).
    pub fn new(url: &SecretString, prefix: impl Into<String>, op_timeout: Duration) -> Self {
        let client = redis::Client::open(url.expose_secret())
            .inspect_err(
                |e| tracing::error!(error = %e, "invalid REDIS_URL; running without cache"),
            )
            .ok();
        Self {
            client,
            prefix: prefix.into(),
            op_timeout,
            retry_after: Duration::from_millis(500),
            conn: Mutex::new(None),
            last_attempt: Mutex::new(None),
        }
    }

    /// The namespaced form of `key`.
    pub fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    async fn connection(&self) -> Result<ConnectionManager, CacheError> {
        if let Some(conn) = self.conn.lock().map_err(unavailable)?.as_ref() {
            return Ok(conn.clone());
        }
        let client = self
            .client
            .clone()
            .ok_or_else(|| unavailable("no valid REDIS_URL"))?;
        {
            let mut last = self.last_attempt.lock().map_err(unavailable)?;
            if let Some(at) = *last {
                if at.elapsed() < self.retry_after {
                    return Err(unavailable("reconnect back-off"));
                }
            }
            *last = Some(Instant::now());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.op_timeout)
            .set_response_timeout(self.op_timeout)
            .set_number_of_retries(1);
        let manager = tokio::time::timeout(
            self.op_timeout * 2,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(unavailable)?
        .map_err(unavailable)?;
        *self.conn.lock().map_err(unavailable)? = Some(manager.clone());
        Ok(manager)
    }

    async fn run<T, F, Fut>(&self, f: F) -> Result<T, CacheError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.connection().await?;
        match tokio::time::timeout(self.op_timeout, f(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if e.is_connection_dropped() || e.is_io_error() || e.is_connection_refusal() {
                    self.reset();
                }
                Err(unavailable(e))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    fn reset(&self) {
        if let Ok(mut c) = self.conn.lock() {
            *c = None;
        }
    }

    pub async fn ping(&self) -> Result<(), CacheError> {
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(|_| ())
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let key = self.key(key);
        self.run(|mut c| async move { c.get::<_, Option<Vec<u8>>>(key).await })
            .await
    }

    pub async fn set_ex(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let key = self.key(key);
        let secs = ttl.as_secs().max(1);
        let value = value.to_vec();
        self.run(|mut c| async move { c.set_ex::<_, _, ()>(key, value, secs).await })
            .await
    }

    pub async fn del(&self, keys: &[String]) -> Result<(), CacheError> {
        if keys.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        self.run(|mut c| async move { c.del::<_, ()>(keys).await })
            .await
    }

    /// Atomically increments a counter and sets its expiry on first use;
    /// returns the new count and the remaining time to live in milliseconds.
    pub async fn incr_window(&self, key: &str, window: Duration) -> Result<(i64, i64), CacheError> {
        let key = self.key(key);
        let ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        self.run(|mut c| async move {
            INCR_WINDOW
                .key(key)
                .arg(ms)
                .invoke_async::<(i64, i64)>(&mut c)
                .await
        })
        .await
    }

    /// Values of several keys in one round trip.
    pub async fn mget(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, CacheError> {
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        self.run(|mut c| async move {
            redis::cmd("MGET")
                .arg(keys)
                .query_async::<Vec<Option<Vec<u8>>>>(&mut c)
                .await
        })
        .await
    }

    /// Sets `key` only while `gen_key` still holds `expected_gen` (absent
    /// counts as `None`): a fill computed from a read that raced with a
    /// write is dropped instead of caching stale data.
    pub async fn set_if_generation(
        &self,
        key: &str,
        gen_key: &str,
        expected_gen: Option<&[u8]>,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let (key, gen_key) = (self.key(key), self.key(gen_key));
        let expected = expected_gen.map(<[u8]>::to_vec).unwrap_or_default();
        let value = value.to_vec();
        let secs = ttl.as_secs().max(1);
        self.run(|mut c| async move {
            SET_IF_GENERATION
                .key(key)
                .key(gen_key)
                .arg(expected)
                .arg(value)
                .arg(secs)
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await
        .map(|n| n == 1)
    }

    /// Atomically bumps `gen_keys`, deletes `keys` and publishes `message`
    /// on `channel` (all namespaced).
    pub async fn invalidate(
        &self,
        keys: &[String],
        gen_keys: &[String],
        channel: &str,
        message: &str,
    ) -> Result<(), CacheError> {
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let gens: Vec<String> = gen_keys.iter().map(|k| self.key(k)).collect();
        let channel = self.key(channel);
        let message = message.to_owned();
        self.run(|mut c| async move {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for g in &gens {
                pipe.cmd("INCR").arg(g).ignore();
                pipe.cmd("EXPIRE").arg(g).arg(86_400).ignore();
            }
            if !keys.is_empty() {
                pipe.cmd("DEL").arg(&keys).ignore();
            }
            pipe.cmd("PUBLISH").arg(&channel).arg(&message).ignore();
            pipe.query_async::<()>(&mut c).await
        })
        .await
    }

    /// A client for a dedicated pub/sub connection, and the namespaced channel.
    pub fn pubsub_target(&self, channel: &str) -> Option<(redis::Client, String)> {
        self.client.clone().map(|c| (c, self.key(channel)))
    }

    pub fn op_timeout(&self) -> Duration {
        self.op_timeout
    }
}
