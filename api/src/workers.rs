//! Background work every API instance runs: expiring unpaid orders (stock
//! returns), auto-completing delivered seller orders, deciding group buys at
//! their deadline (refunding and cancelling the failed ones), and (every
//! `SALES_COUNT_INTERVAL_MS`) counting sales for hot lists and forgetting
//! expired Idempotency-Keys. Instances
//! coordinate through Postgres (`FOR UPDATE SKIP LOCKED`), so any number of
//! them can run the same loop.

use actix_web::web;
use std::time::Instant;

use chrono::Utc;

use crate::state::AppState;

pub fn spawn(state: web::Data<AppState>) {
    spawn_sealing(state.clone());
    spawn_synonyms(state.clone());
    let interval = state.settings.orders.sweep_interval;
    let count_every = state.settings.orders.sales_count_interval;
    tokio::spawn(async move {
        let mut last_count = Instant::now();
        loop {
            tokio::time::sleep(interval).await;
            let count_sales = last_count.elapsed() >= count_every;
            if count_sales {
                last_count = Instant::now();
            }
            sweep(&state, count_sales).await;
        }
    });
}

async fn sweep(state: &web::Data<AppState>, count_sales: bool) {
    let s = state.clone();
    let result = web::block(move || {
        let now = Utc::now();
        let mut changed = s.orders.expire_due(now)?;
        let completed = s.orders.auto_complete_due(now)?;
        changed.extend(s.orders.settle_group_buys(now)?);
        let restocked = changed.len();
        if count_sales {
            changed.extend(s.orders.count_sales()?);
            s.orders.purge_expired_keys(now)?;
        }
        Ok::<_, domain::orders::OrderError>((changed, restocked, completed))
    })
    .await;
    match result {
        Ok(Ok((changed, restocked, completed))) => {
            for id in &changed {
                state.listing_cache.invalidate(&id.to_string()).await;
            }
            if restocked > 0 || completed > 0 {
                tracing::info!(restocked, completed, "order sweep");
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "order sweep failed"),
        Err(e) => tracing::warn!(error = %e, "order sweep failed"),
    }
}

/// Seals closed days into the sales rollup (every `SALES_SEAL_INTERVAL_MS`;
/// instances take turns under an advisory lock, each day is sealed once).
fn spawn_sealing(state: web::Data<AppState>) {
    let interval = state.settings.stats.seal_interval;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let s = state.clone();
            match web::block(move || s.stats.seal(Utc::now())).await {
                Ok(Ok(0)) => {}
                Ok(Ok(days)) => tracing::info!(days, "sales days sealed"),
                Ok(Err(e)) => tracing::warn!(error = %e, "sealing sales days failed"),
                Err(e) => tracing::warn!(error = %e, "sealing sales days failed"),
            }
        }
    });
}

/// Follows the synonym groups: a replacement on any instance reaches this
/// one within a second.
fn spawn_synonyms(state: web::Data<AppState>) {
    tokio::spawn(async move {
        loop {
            let s = state.clone();
            if let Ok(Err(e)) = web::block(move || s.search.refresh_synonyms()).await {
                tracing::warn!(error = %e, "synonyms not refreshed");
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}
