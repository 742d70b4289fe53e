//! Background work every API instance runs: expiring unpaid orders (stock
//! returns), auto-completing delivered seller orders, and counting sales
//! for hot lists. Instances
//! coordinate through Postgres (`FOR UPDATE SKIP LOCKED`), so any number of
//! them can run the same loop.

use actix_web::web;
use chrono::Utc;

use crate::state::AppState;

pub fn spawn(state: web::Data<AppState>) {
    let interval = state.settings.orders.sweep_interval;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            sweep(&state).await;
        }
    });
}

async fn sweep(state: &web::Data<AppState>) {
    let s = state.clone();
    let result = web::block(move || {
        let now = Utc::now();
        let mut changed = s.orders.expire_due(now)?;
        let completed = s.orders.auto_complete_due(now)?;
        let restocked = changed.len();
        changed.extend(s.orders.count_sales()?);
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
