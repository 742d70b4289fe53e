//! Shared application state handed to every handler.

use std::sync::Arc;

use domain::catalog::CatalogService;
use domain::coop::CoopService;
use domain::delivery::DeliveryService;
use domain::identity::IdentityService;
use domain::mail::Mailer;
use domain::orders::OrderService;
use infra::cache::RedisCache;
use infra::db::PgPool;
use infra::listing_cache::ListingCache;
use infra::payments::SandboxGateway;
use infra::rate_limit::RateLimiter;

use crate::config::Settings;

pub struct AppState {
    pub settings: Settings,
    /// Primary: every write and every read that must see the latest state.
    pub pool: PgPool,
    /// Replica (or the primary when none is configured) for listing reads.
    pub read_pool: PgPool,
    pub cache: Arc<RedisCache>,
    pub mailer: Arc<dyn Mailer>,
    pub identity: IdentityService,
    pub coop: CoopService,
    pub delivery: DeliveryService,
    pub ledger: domain::ledger::LedgerService,
    pub commission: domain::settlement::CommissionService,
    pub settlement: domain::settlement::SettlementService,
    pub catalog: CatalogService,
    pub trace: domain::trace::TraceService,
    pub stats: domain::stats::StatsService,
    pub listing_cache: Arc<ListingCache>,
    /// Buyer search (rules in the domain, the engine in this process).
    pub search: Arc<domain::search::SearchService>,
    pub search_index: Arc<infra::search::TantivyIndex>,
    pub search_source: Arc<infra::search::source::PgSearchSource>,
    /// The engine's sync thread (started by `startup::build`, not by the
    /// one-shot commands).
    pub search_sync: std::sync::OnceLock<infra::search::sync::SearchSync>,
    pub orders: OrderService,
    pub after_sales: domain::after_sales::AfterSalesService,
    /// The built-in payment provider (PAYMENT_PROVIDER=sandbox).
    pub sandbox: Option<Arc<SandboxGateway>>,
    /// Where this API is reached (PUBLIC_BASE_URL, or the bound address).
    pub public_base_url: String,
    /// Outgoing HTTP (the sandbox provider's notifications).
    pub http: reqwest::Client,
    pub rate_limiter: RateLimiter,
    /// The notification outbox (events, deliveries).
    pub outbox: Arc<dyn domain::notifications::OutboxStore>,
    pub webhooks: domain::notifications::WebhookService,
    /// Webhook deliveries: no redirects followed, `WEBHOOK_TIMEOUT_MS`.
    pub webhook_http: reqwest::Client,
}

impl AppState {
    /// After a listing write: waits (at most a second) until this
    /// instance's search engine shows it, so the writer reads its own write.
    /// Other instances follow within `SEARCH_REFRESH_MS`.
    pub async fn search_caught_up(&self) {
        if let Some(sync) = self.search_sync.get() {
            if !sync.caught_up(std::time::Duration::from_secs(1)).await {
                tracing::warn!("search engine did not catch up within 1 s");
            }
        }
    }
}
