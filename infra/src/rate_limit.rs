//! Fixed-window rate limiting shared across API instances through Redis,
//! with an in-process fallback while Redis is unreachable (limits then hold
//! per instance instead of globally).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cache::RedisCache;

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; retry after this many seconds.
    Limited {
        retry_after_secs: u64,
    },
}

pub struct RateLimiter {
    cache: Arc<RedisCache>,
    window: Duration,
    local: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(cache: Arc<RedisCache>, window: Duration) -> Self {
        Self {
            cache,
            window,
            local: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request against `key` and decides with `limit` per window.
    pub async fn hit(&self, key: &str, limit: u32) -> Decision {
        match self
            .cache
            .incr_window(&format!("rl:{key}"), self.window)
            .await
        {
            Ok((count, ttl_ms)) => decide(count, limit, u64::try_from(ttl_ms).unwrap_or(0)),
            Err(_) => self.hit_local(key, limit),
        }
    }

    fn hit_local(&self, key: &str, limit: u32) -> Decision {
        let Ok(mut map) = self.local.lock() else {
            return Decision::Allowed;
        };
        let now = Instant::now();
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = map.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        let left = self.window.saturating_sub(now.duration_since(entry.0));
        decide(
            i64::from(entry.1),
            limit,
            u64::try_from(left.as_millis()).unwrap_or(0),
        )
    }
}

fn decide(count: i64, limit: u32, ttl_ms: u64) -> Decision {
    if count <= i64::from(limit) {
        Decision::Allowed
    } else {
        Decision::Limited {
            retry_after_secs: ttl_ms.div_ceil(1000).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decides_at_the_limit() {
        assert_eq!(decide(3, 3, 500), Decision::Allowed);
        assert_eq!(
            decide(4, 3, 500),
            Decision::Limited {
                retry_after_secs: 1
            }
        );
        assert_eq!(
            decide(4, 3, 2_001),
            Decision::Limited {
                retry_after_secs: 3
            }
        );
    }
}
