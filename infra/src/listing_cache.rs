//! Two-tier cache for listing reads.
//!
//! * Redis holds listing details (`listing:{id}`, 60 s TTL) and hot lists
//!   (`hot:{catalog generation}:{region}`, 30 s TTL). Every write bumps the
//!   listing's generation and the catalog generation, deletes the detail and
//!   publishes an invalidation — after the database commit. Fills are
//!   compare-and-set on the generation read before the database read, so a
//!   read that raced with a write never caches the old state.
//! * An in-process tier (1 s TTL) in front of Redis serves hot ids without a
//!   network round trip. It is used only while this instance is subscribed
//!   to the invalidation channel; invalidations evict it at once, and the
//!   TTL bounds how long a stock figure can lag (≤ 1 s).
//!
//! Redis down: reads go to Postgres, writes keep working; invalidations that
//! could not reach Redis are remembered, those listings bypass the cache,
//! and the invalidations are replayed when Redis answers again.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LockResult, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::cache::RedisCache;

const DETAIL_TTL: Duration = Duration::from_secs(60);
const HOT_TTL: Duration = Duration::from_secs(30);
const LOCAL_TTL: Duration = Duration::from_secs(1);
const CHANNEL: &str = "listing-invalidations";
const CATALOG_GEN: &str = "catalog:gen";

fn detail_key(id: &str) -> String {
    format!("listing:{id}")
}

fn gen_key(id: &str) -> String {
    format!("listing:{id}:gen")
}

/// Where a cached read came from (reported as `X-Cache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Local,
    Redis,
}

/// What a miss needs to fill the cache safely afterwards.
#[derive(Debug, Clone, Default)]
pub struct FillToken(Option<Vec<u8>>, bool);

struct Local {
    entries: Mutex<Entries>,
    /// Hot lists apart, so evicting all of them is cheap.
    hot: Mutex<Entries>,
    subscribed: AtomicBool,
}

type Entries = HashMap<String, (Instant, Arc<Vec<u8>>)>;

/// An entry younger than the in-process TTL.
fn fresh(map: &Entries, key: &str) -> Option<Arc<Vec<u8>>> {
    map.get(key)
        .filter(|(at, _)| at.elapsed() < LOCAL_TTL)
        .map(|(_, v)| v.clone())
}

impl Local {
    fn get(&self, key: &str) -> Option<Arc<Vec<u8>>> {
        if !self.subscribed.load(Ordering::Acquire) {
            return None;
        }
        fresh(&*self.entries.lock().ok()?, key)
    }

    /// Several entries under one lock (search results).
    fn get_many(&self, keys: &[Option<String>]) -> Vec<Option<Arc<Vec<u8>>>> {
        match self.entries.lock() {
            Ok(map) if self.subscribed.load(Ordering::Acquire) => keys
                .iter()
                .map(|k| k.as_deref().and_then(|k| fresh(&map, k)))
                .collect(),
            _ => vec![None; keys.len()],
        }
    }

    fn put(&self, key: &str, value: Arc<Vec<u8>>) {
        if !self.subscribed.load(Ordering::Acquire) {
            return;
        }
        if let Ok(mut map) = self.entries.lock() {
            if map.len() > 50_000 {
                map.retain(|_, (at, _)| at.elapsed() < LOCAL_TTL);
            }
            map.insert(key.to_owned(), (Instant::now(), value));
        }
    }

    fn evict(&self, key: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(key);
        }
    }

    fn evict_hot(&self) {
        if let Ok(mut map) = self.hot.lock() {
            map.clear();
        }
    }

    fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
        self.evict_hot();
    }
}

pub struct ListingCache {
    redis: Arc<RedisCache>,
    enabled: bool,
    local: Option<Arc<Local>>,
    /// Listings whose invalidation has not reached Redis yet.
    pending: Mutex<HashSet<String>>,
}

impl ListingCache {
    /// `enabled = false` turns caching off (benchmarks of the uncached path);
    /// `local_tier` adds the in-process tier.
    pub fn new(redis: Arc<RedisCache>, enabled: bool, local_tier: bool) -> Self {
        Self {
            redis,
            enabled,
            local: (enabled && local_tier).then(|| {
                Arc::new(Local {
                    entries: Mutex::new(HashMap::new()),
                    hot: Mutex::new(HashMap::new()),
                    subscribed: AtomicBool::new(false),
                })
            }),
            pending: Mutex::new(HashSet::new()),
        }
    }

    fn bypass(&self, id: &str) -> bool {
        self.bypassed(&self.pending.lock(), id)
    }

    /// Is `id` not served from the cache (caching off, or its invalidation
    /// has not reached Redis)? `pending` is the locked set.
    fn bypassed(&self, pending: &LockResult<MutexGuard<'_, HashSet<String>>>, id: &str) -> bool {
        !self.enabled || pending.as_ref().map_or(true, |p| p.contains(id))
    }

    /// A cached listing detail, or the token to fill it after a miss.
    pub async fn detail(&self, id: &str) -> Result<(Arc<Vec<u8>>, Tier), FillToken> {
        if self.bypass(id) {
            return Err(FillToken(None, false));
        }
        let key = detail_key(id);
        if let Some(v) = self.local.as_ref().and_then(|l| l.get(&key)) {
            return Ok((v, Tier::Local));
        }
        match self.redis.mget(&[&key, &gen_key(id)]).await {
            Ok(mut values) if values.len() == 2 => {
                let generation = values.pop().flatten();
                match values.pop().flatten() {
                    Some(v) => {
                        let v = Arc::new(v);
                        if let Some(l) = &self.local {
                            l.put(&key, v.clone());
                        }
                        Ok((v, Tier::Redis))
                    }
                    None => Err(FillToken(generation, true)),
                }
            }
            _ => Err(FillToken(None, false)),
        }
    }

    /// Several details at once (search results): the in-process tier, then
    /// one Redis round trip for the rest; each miss carries its fill token.
    pub async fn details(&self, ids: &[String]) -> Vec<Result<Arc<Vec<u8>>, FillToken>> {
        let mut out: Vec<Result<Arc<Vec<u8>>, FillToken>> = Vec::with_capacity(ids.len());
        let mut wanted: Vec<usize> = Vec::new();
        // the cacheable ids' keys (None: bypassed), one lock for all
        let keys: Vec<Option<String>> = {
            let pending = self.pending.lock();
            ids.iter()
                .map(|id| (!self.bypassed(&pending, id)).then(|| detail_key(id)))
                .collect()
        };
        let local = match &self.local {
            Some(l) => l.get_many(&keys),
            None => vec![None; ids.len()],
        };
        for (i, (key, hit)) in keys.iter().zip(local).enumerate() {
            match (key, hit) {
                (None, _) => out.push(Err(FillToken(None, false))),
                (Some(_), Some(v)) => out.push(Ok(v)),
                (Some(_), None) => {
                    wanted.push(i);
                    out.push(Err(FillToken(None, false)));
                }
            }
        }
        if wanted.is_empty() {
            return out;
        }
        let keys: Vec<String> = wanted
            .iter()
            .flat_map(|i| [detail_key(&ids[*i]), gen_key(&ids[*i])])
            .collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        if let Ok(values) = self.redis.mget(&refs).await {
            for (pair, i) in values.chunks(2).zip(&wanted) {
                out[*i] = match pair {
                    [Some(v), _] => {
                        let v = Arc::new(v.clone());
                        if let Some(l) = &self.local {
                            l.put(&detail_key(&ids[*i]), v.clone());
                        }
                        Ok(v)
                    }
                    [None, generation] => Err(FillToken(generation.clone(), true)),
                    _ => Err(FillToken(None, false)),
                };
            }
        }
        out
    }

    /// Stores a detail read from Postgres, unless a write happened since
    /// `token` was taken.
    pub async fn fill_detail(&self, id: &str, token: FillToken, value: &[u8]) {
        if !token.1 || self.bypass(id) {
            return;
        }
        let _ = self
            .redis
            .set_if_generation(
                &detail_key(id),
                &gen_key(id),
                token.0.as_deref(),
                value,
                DETAIL_TTL,
            )
            .await;
    }

    /// A cached hot list for `region` ("" for all), or the key to fill.
    pub async fn hot(&self, region: &str) -> Result<Arc<Vec<u8>>, Option<String>> {
        if !self.enabled {
            return Err(None);
        }
        let generation = match self.redis.get(CATALOG_GEN).await {
            Ok(g) => g
                .map(|g| String::from_utf8_lossy(&g).into_owned())
                .unwrap_or_else(|| "0".into()),
            Err(_) => return Err(None),
        };
        let key = format!("hot:{generation}:{region}");
        if let Some(v) = self.local.as_ref().and_then(|l| l.get(&key)) {
            return Ok(v);
        }
        match self.redis.get(&key).await {
            Ok(Some(v)) => {
                let v = Arc::new(v);
                if let Some(l) = &self.local {
                    l.put(&key, v.clone());
                }
                Ok(v)
            }
            _ => Err(Some(key)),
        }
    }

    /// Fills a hot list under the generation-qualified key from `hot`.
    pub async fn fill_hot(&self, key: Option<String>, value: &[u8]) {
        if let Some(key) = key {
            let _ = self.redis.set_ex(&key, value, HOT_TTL).await;
        }
    }

    /// Call after every committed write to a listing (edit, status, stock).
    pub async fn invalidate(&self, id: &str) {
        if let Some(l) = &self.local {
            l.evict(&detail_key(id));
            l.evict_hot();
        }
        let ok = self
            .redis
            .invalidate(
                &[detail_key(id)],
                &[gen_key(id), CATALOG_GEN.to_owned()],
                CHANNEL,
                id,
            )
            .await
            .is_ok();
        if let Ok(mut p) = self.pending.lock() {
            if ok {
                p.remove(id);
            } else {
                tracing::warn!(
                    listing_id = id,
                    "listing invalidation deferred: redis unavailable"
                );
                p.insert(id.to_owned());
            }
        }
    }

    /// Replays invalidations that could not reach Redis.
    pub async fn flush_pending(&self) {
        let ids: Vec<String> = self
            .pending
            .lock()
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            self.invalidate(&id).await;
        }
    }

    /// Keeps the in-process tier coherent: subscribes to invalidations,
    /// enables the tier while subscribed, reconnects forever. Also replays
    /// deferred invalidations once Redis is back.
    pub fn spawn_maintenance(self: &Arc<Self>) {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                this.flush_pending().await;
                if let (Some(local), Some((client, channel))) =
                    (this.local.clone(), this.redis.pubsub_target(CHANNEL))
                {
                    this.listen(&local, client, &channel).await;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }

    async fn listen(&self, local: &Local, client: redis::Client, channel: &str) {
        let timeout = self.redis.op_timeout() * 4;
        let Ok(Ok(mut pubsub)) = tokio::time::timeout(timeout, client.get_async_pubsub()).await
        else {
            return;
        };
        if !matches!(
            tokio::time::timeout(timeout, pubsub.subscribe(channel)).await,
            Ok(Ok(()))
        ) {
            return;
        }
        local.clear();
        local.subscribed.store(true, Ordering::Release);
        let mut stream = pubsub.into_on_message();
        loop {
            // Wake up now and then to replay deferred invalidations.
            match tokio::time::timeout(Duration::from_secs(1), stream.next()).await {
                Ok(Some(msg)) => {
                    let id = String::from_utf8_lossy(msg.get_payload_bytes()).into_owned();
                    local.evict(&detail_key(&id));
                    local.evict_hot();
                }
                Ok(None) => break,
                Err(_) => {
                    if !self.pending.lock().map(|p| p.is_empty()).unwrap_or(true) {
                        self.flush_pending().await;
                    }
                }
            }
        }
        local.subscribed.store(false, Ordering::Release);
        local.clear();
    }
}
