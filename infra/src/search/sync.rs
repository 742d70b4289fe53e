//! Keeps the engine current: a thread builds the index from every active
//! listing, marks it ready, then polls the listings' change stamps every
//! `interval` (and at once when a handler asks, after a write of its own).
//!
//! A stamp is the time its transaction started, so a transaction that
//! commits late can carry a stamp older than one already seen: every poll
//! re-reads the last `margin` of stamps and skips what it has applied. It
//! reads stamps from an index first and listings only for what is new, so
//! seeing an import again (one stamp for all its rows, re-read until a later
//! change moves the floor past it) costs an index range scan, not the rows.

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::catalog::ListingId;
use tokio::sync::oneshot;

use super::source::PgSearchSource;
use super::TantivyIndex;

const BUILD_BATCH: i64 = 10_000;
const CHANGES_BATCH: i64 = 2_000;

#[derive(Clone, Copy)]
pub struct SyncSettings {
    pub interval: Duration,
    pub margin: Duration,
    /// Indexing threads for the initial build.
    pub build_threads: usize,
}

/// Handle to the sync thread.
#[derive(Clone)]
pub struct SearchSync {
    wake: mpsc::Sender<oneshot::Sender<()>>,
}

impl SearchSync {
    pub fn start(
        index: Arc<TantivyIndex>,
        source: Arc<PgSearchSource>,
        settings: SyncSettings,
    ) -> std::io::Result<Self> {
        let (wake, requests) = mpsc::channel::<oneshot::Sender<()>>();
        std::thread::Builder::new()
            .name("search-sync".into())
            .spawn(move || run(&index, &source, settings, &requests))?;
        Ok(Self { wake })
    }

    /// Waits until the engine has applied every change committed before
    /// this call (false after `timeout` or if the engine is not running).
    pub async fn caught_up(&self, timeout: Duration) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.wake.send(tx).is_err() {
            return false;
        }
        matches!(tokio::time::timeout(timeout, rx).await, Ok(Ok(())))
    }
}

struct Follower {
    /// Highest stamp applied.
    high: DateTime<Utc>,
    /// Listings applied within the margin, with their stamps.
    recent: HashMap<ListingId, DateTime<Utc>>,
    margin: chrono::Duration,
}

fn run(
    index: &TantivyIndex,
    source: &PgSearchSource,
    settings: SyncSettings,
    requests: &mpsc::Receiver<oneshot::Sender<()>>,
) {
    let margin =
        chrono::Duration::from_std(settings.margin).unwrap_or(chrono::Duration::seconds(3));
    let mut follower = loop {
        match build(index, source, settings.build_threads) {
            Ok(high) => {
                break Follower {
                    high,
                    recent: HashMap::new(),
                    margin,
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "search index build failed; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    };
    let mut writer = loop {
        match index.writer(1) {
            Ok(w) => break w,
            Err(e) => {
                tracing::error!(error = %e, "search writer unavailable; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    };
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        match requests.recv_timeout(settings.interval) {
            Ok(r) => waiting.push(r),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        waiting.extend(requests.try_iter());
        if !waiting.is_empty() {
            // a writer waits for its write: on a replica, replay it first
            match source.wait_for_replica(Duration::from_millis(900)) {
                Ok(true) => {}
                Ok(false) => tracing::warn!("read replica did not replay a write within 900 ms"),
                Err(e) => tracing::warn!(error = %e, "read replica position unknown"),
            }
        }
        match poll(index, source, &mut writer, &mut follower) {
            Ok(_) => {
                for w in waiting.drain(..) {
                    let _ = w.send(());
                }
            }
            Err(e) => {
                // Postgres away: keep serving the last state, answer no one
                // (they time out), try again next round.
                tracing::warn!(error = %e, "search refresh failed");
                waiting.clear();
            }
        }
    }
}

/// Indexes every active listing; returns the stamp to follow from.
fn build(
    index: &TantivyIndex,
    source: &PgSearchSource,
    threads: usize,
) -> anyhow::Result<DateTime<Utc>> {
    let started = Instant::now();
    let since = source.now()?;
    let mut writer = index.writer(threads)?;
    writer.delete_all_documents()?;
    let mut after = uuid::Uuid::nil();
    let mut n = 0usize;
    loop {
        let (docs, last) = source.active_after(after, BUILD_BATCH)?;
        for d in &docs {
            index.stage(&writer, d.id, Some(d))?;
        }
        n += docs.len();
        match last {
            Some(l) => after = l,
            None => break,
        }
    }
    index.publish(&mut writer)?;
    // one segment: every search pays per segment (weights, term lookups)
    let segments = index.index.searchable_segment_ids()?;
    if segments.len() > 1 {
        writer.merge(&segments).wait()?;
        index.publish(&mut writer)?;
    }
    writer.wait_merging_threads()?;
    index.set_ready();
    tracing::info!(
        listings = n,
        segments_before_merge = segments.len(),
        ms = started.elapsed().as_millis() as u64,
        "search index built"
    );
    Ok(since)
}

fn poll(
    index: &TantivyIndex,
    source: &PgSearchSource,
    writer: &mut tantivy::IndexWriter<tantivy::TantivyDocument>,
    f: &mut Follower,
) -> anyhow::Result<usize> {
    let floor = f.high - f.margin;
    let (mut stamp, mut id) = (floor, uuid::Uuid::nil());
    let mut applied = 0usize;
    loop {
        // the stamps first (index only), then the rows of what is new: the
        // margin's listings are seen again by every poll, and after an
        // import that is the whole import
        let stamps = source.stamps_after(stamp, id, CHANGES_BATCH)?;
        let full = stamps.len() as i64 == CHANGES_BATCH;
        if let Some(&(s, i)) = stamps.last() {
            (stamp, id) = (s, i.0);
        }
        let new: Vec<ListingId> = stamps
            .into_iter()
            .filter(|(s, i)| f.recent.get(i) != Some(s))
            .map(|(_, i)| i)
            .collect();
        for c in source.changes_of(&new)? {
            if f.recent.get(&c.id) == Some(&c.stamp) {
                continue;
            }
            index.stage(writer, c.id, c.doc.as_ref())?;
            f.recent.insert(c.id, c.stamp);
            f.high = f.high.max(c.stamp);
            applied += 1;
        }
        if !full {
            break;
        }
    }
    if applied > 0 {
        index.publish(writer)?;
    }
    let floor = f.high - f.margin;
    f.recent.retain(|_, s| *s >= floor);
    Ok(applied)
}
