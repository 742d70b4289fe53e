//! Liveness and readiness.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::state::AppState;
use crate::telemetry::blocking;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: &'static str,
}

/// Liveness: answers without touching any dependency.
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "The process is alive", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ok`, or `degraded` when only Redis is unreachable (reads then come
    /// from Postgres).
    pub status: &'static str,
    /// `ok` or `down`.
    pub postgres: &'static str,
    /// `ok` or `degraded`.
    pub redis: &'static str,
    /// The search index: `ok` once built and following Postgres.
    pub search: SearchReadiness,
    /// The notification outbox's backlog (progress and lag).
    pub outbox: OutboxBacklog,
}

#[derive(Serialize, ToSchema)]
pub struct SearchReadiness {
    /// `ok`, or `building` (then the instance answers 503 until done).
    pub status: &'static str,
    /// Active listings in this instance's index.
    pub documents: u64,
}

#[derive(Serialize, ToSchema)]
pub struct OutboxBacklog {
    /// Events written but not yet fanned out to deliveries.
    pub undispatched_events: i64,
    /// E-mails and webhook calls waiting for their (next) attempt.
    pub pending_deliveries: i64,
    /// Deliveries that gave up (re-drivable).
    pub dead_deliveries: i64,
    /// Age of the oldest event or delivery still waiting, in seconds.
    pub oldest_pending_secs: i64,
}

/// Readiness: Postgres, Redis and the search index. Postgres down, or the
/// search index still being built after a start → 503 `not_ready` (keep
/// the instance out of the load balancer); only Redis down → 200 with
/// `redis: degraded`.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready (possibly degraded)", body = Readiness),
        (status = 503, description = "`not_ready`: Postgres is unreachable or the search index is being built (`checks` says which)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pool = state.pool.clone();
    let outbox = state.outbox.clone();
    let (pg, redis) = tokio::join!(
        blocking(move || {
            Ok::<_, ApiError>(
                infra::db::ping(&pool)
                    .ok()
                    .and_then(|_| outbox.backlog(chrono::Utc::now()).ok()),
            )
        }),
        state.cache.ping()
    );
    let backlog = pg.ok().flatten();
    let redis = if redis.is_ok() { "ok" } else { "degraded" };
    let search_ready = state.search.ready();
    let search = if search_ready { "ok" } else { "building" };
    let Some(b) = backlog.filter(|_| search_ready) else {
        let postgres = if backlog.is_some() { "ok" } else { "down" };
        let detail = if backlog.is_some() {
            "the search index is being built"
        } else {
            "postgres is unreachable"
        };
        return Err(ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            detail,
        )
        .with_extra(
            "checks",
            serde_json::json!({"postgres": postgres, "redis": redis, "search": search}),
        ));
    };
    Ok(HttpResponse::Ok().json(Readiness {
        status: if redis == "ok" { "ok" } else { "degraded" },
        postgres: "ok",
        redis,
        search: SearchReadiness {
            status: search,
            documents: state.search_index.len(),
        },
        outbox: OutboxBacklog {
            undispatched_events: b.undispatched_events,
            pending_deliveries: b.pending_deliveries,
            dead_deliveries: b.dead_deliveries,
            oldest_pending_secs: b.oldest_pending_secs,
        },
    }))
}
