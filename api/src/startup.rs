//! Wiring: builds adapters from settings, applies migrations and returns a
//! running-ready HTTP server bound to the configured address.

use domain::delivery::DeliveryService;
use infra::delivery::{PgFreightTemplates, PgShipmentStore};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use domain::mail::Mailer;
use infra::cache::RedisCache;
use infra::mail::LettreMailer;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use domain::catalog::CatalogService;
use domain::coop::CoopService;
use domain::identity::IdentityService;
use domain::orders::OrderService;
use infra::catalog::PgListingRepository;
use infra::coop::{PgMembershipRepository, PgOrgRepository};
use infra::identity::{
    Argon2Hasher, JwtCodec, PgAuditRepository, PgPartnerRepository, PgRefreshTokenRepository,
    PgUserRepository, Sha256Secrets,
};
use infra::listing_cache::ListingCache;
use infra::orders::PgOrderRepository;
use infra::payments::SandboxGateway;
use infra::rate_limit::RateLimiter;
use secrecy::ExposeSecret;

use crate::config::{MailTransport, Settings};
use crate::error::{form_error, json_error, path_error, query_error};
use crate::fallback::{no_route, RouteTable};
use crate::openapi::ApiDoc;
use crate::state::AppState;

/// A server ready to be awaited, and the address it listens on.
pub struct Application {
    pub server: Server,
    pub addr: SocketAddr,
    pub state: web::Data<AppState>,
}

/// Builds every adapter from `settings`; `addr` is where the server listens.
pub fn build_state(settings: Settings, addr: SocketAddr) -> anyhow::Result<AppState> {
    let pool = infra::db::build_pool(
        &settings.database_url,
        settings.database_pool_size,
        settings.database_connect_timeout,
        settings.database_statement_timeout,
    );
    let read_pool = match &settings.database_read_url {
        Some(url) => infra::db::build_replica_pool(
            url,
            &pool,
            settings.database_pool_size,
            settings.database_statement_timeout,
        ),
        None => pool.clone(),
    };
    let cache = Arc::new(RedisCache::new(
        &settings.redis_url,
        settings.redis_key_prefix.clone(),
        settings.redis_timeout,
    ));
    let mailer: Arc<dyn Mailer> = match &settings.mail.transport {
        MailTransport::Smtp { host, port } => {
            Arc::new(LettreMailer::smtp(&settings.mail.from, host, *port)?)
        }
        MailTransport::File { dir } => {
            Arc::new(LettreMailer::file(&settings.mail.from, dir.clone())?)
        }
    };
    let auth = &settings.auth;
    let codec = JwtCodec::new(
        &auth.jwt_issuer,
        &auth.jwt_audience,
        chrono::Duration::seconds(i64::try_from(auth.access_token_ttl.as_secs()).unwrap_or(900)),
        &auth.jwt_keys,
        &auth.jwt_active_kid,
    )?;
    let identity = IdentityService {
        users: Arc::new(PgUserRepository { pool: pool.clone() }),
        refresh_tokens: Arc::new(PgRefreshTokenRepository { pool: pool.clone() }),
        partners: Arc::new(PgPartnerRepository { pool: pool.clone() }),
        audit: Arc::new(PgAuditRepository { pool: pool.clone() }),
        hasher: Arc::new(Argon2Hasher::new()?),
        secrets: Arc::new(Sha256Secrets),
        codec: Arc::new(codec),
        refresh_ttl: chrono::Duration::seconds(
            i64::try_from(auth.refresh_token_ttl.as_secs()).unwrap_or(86_400),
        ),
    };
    let coop = CoopService {
        orgs: Arc::new(PgOrgRepository { pool: pool.clone() }),
        members: Arc::new(PgMembershipRepository { pool: pool.clone() }),
        users: identity.users.clone(),
        audit: identity.audit.clone(),
    };
    let delivery = DeliveryService {
        templates: Arc::new(PgFreightTemplates { pool: pool.clone() }),
        shipments: Arc::new(PgShipmentStore { pool: pool.clone() }),
        orgs: coop.orgs.clone(),
    };
    let ledger = domain::ledger::LedgerService {
        reader: Arc::new(infra::ledger::PgLedger { pool: pool.clone() }),
        orgs: coop.orgs.clone(),
    };
    let trace_store: Arc<dyn domain::trace::TraceStore> =
        Arc::new(infra::trace::PgTraceStore { pool: pool.clone() });
    let catalog = CatalogService {
        listings: Arc::new(PgListingRepository::new(pool.clone(), read_pool.clone())),
        orgs: coop.orgs.clone(),
        members: coop.members.clone(),
        templates: delivery.templates.clone(),
        trace: trace_store.clone(),
    };
    let trace = domain::trace::TraceService {
        store: trace_store,
        orgs: coop.orgs.clone(),
        members: coop.members.clone(),
    };
    let search_source = Arc::new(infra::search::source::PgSearchSource::new(
        read_pool.clone(),
    ));
    let search_index = Arc::new(infra::search::TantivyIndex::new()?);
    let search = Arc::new(domain::search::SearchService::new(
        search_index.clone(),
        Arc::new(infra::search::source::PgSynonymStore { pool: pool.clone() }),
        search_source.clone(),
    ));
    let listing_cache = Arc::new(ListingCache::new(
        cache.clone(),
        settings.listing_cache,
        settings.listing_cache_local,
    ));
    let sandbox = Arc::new(SandboxGateway::new(settings.orders.sandbox_secret.clone()));
    let to_chrono = |d: std::time::Duration| {
        chrono::Duration::seconds(i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 1000))
    };
    let commission_rules = Arc::new(infra::commission::PgCommissionRules::new(pool.clone()));
    let commission = domain::settlement::CommissionService {
        rules: commission_rules.clone(),
        categories: catalog.listings.clone(),
    };
    let settlement = domain::settlement::SettlementService {
        store: Arc::new(infra::settlement::PgSettlements { pool: pool.clone() }),
        orgs: coop.orgs.clone(),
    };
    let stats = domain::stats::StatsService {
        store: Arc::new(infra::stats::PgSales { pool: pool.clone() }),
        orgs: coop.orgs.clone(),
        alert_rule: domain::stats::AlertRule {
            min_stock: settings.stats.unsalable_min_stock,
            threshold_bp: settings.stats.unsalable_threshold_bp,
        },
        seal_margin: to_chrono(settings.stats.seal_margin),
    };
    let orders = OrderService {
        orders: Arc::new(PgOrderRepository { pool: pool.clone() }),
        orgs: coop.orgs.clone(),
        members: coop.members.clone(),
        gateway: sandbox.clone(),
        commission: commission_rules,
        payment_ttl: to_chrono(settings.orders.payment_ttl),
        auto_complete_after: to_chrono(settings.orders.auto_complete_after),
    };
    let after_sales = domain::after_sales::AfterSalesService {
        store: Arc::new(infra::after_sales::PgRefunds { pool: pool.clone() }),
        orgs: coop.orgs.clone(),
        gateway: sandbox.clone(),
        window: to_chrono(settings.orders.after_sales_window),
    };
    let public_base_url = settings
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_owned();
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let webhook_http = reqwest::Client::builder()
        .timeout(settings.outbox.webhook_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let outbox = Arc::new(infra::notifications::PgOutbox { pool: pool.clone() });
    let webhooks = domain::notifications::WebhookService {
        store: Arc::new(infra::webhooks::PgWebhooks { pool: pool.clone() }),
    };
    let use_sandbox = settings.orders.payment_provider == "sandbox";
    let rate_limiter = RateLimiter::new(cache.clone(), settings.rate_limit.window);
    Ok(AppState {
        settings,
        pool,
        read_pool,
        cache,
        mailer,
        identity,
        coop,
        delivery,
        ledger,
        commission,
        settlement,
        catalog,
        trace,
        stats,
        listing_cache,
        search,
        search_index,
        search_source,
        search_sync: std::sync::OnceLock::new(),
        orders,
        after_sales,
        sandbox: use_sandbox.then_some(sandbox),
        public_base_url,
        http,
        rate_limiter,
        outbox,
        webhooks,
        webhook_http,
    })
}

/// Applies migrations (when configured) and binds the server.
pub fn build(settings: Settings) -> anyhow::Result<Application> {
    if settings.migrate_on_start {
        let mut conn =
            infra::db::connect(&settings.database_url).context("connecting to Postgres")?;
        let applied = infra::db::run_migrations(&mut conn).context("applying migrations")?;
        tracing::info!(applied, "migrations up to date");
    }
    let listener = TcpListener::bind(settings.bind_addr)
        .with_context(|| format!("binding {}", settings.bind_addr))?;
    let addr = listener.local_addr()?;
    let state = web::Data::new(build_state(settings, addr)?);
    bootstrap_admin(&state)?;
    state.listing_cache.spawn_maintenance();
    let sync = infra::search::sync::SearchSync::start(
        state.search_index.clone(),
        state.search_source.clone(),
        infra::search::sync::SyncSettings {
            interval: state.settings.search.refresh_interval,
            margin: state.settings.search.refresh_margin,
            build_threads: state.settings.search.build_threads,
        },
    )?;
    let _ = state.search_sync.set(sync);
    crate::workers::spawn(state.clone());
    crate::outbox::spawn(state.clone());
    let server = serve(state.clone(), listener)?;
    Ok(Application {
        server,
        addr,
        state,
    })
}

/// Creates the platform admin from BOOTSTRAP_ADMIN_EMAIL/PASSWORD when no
/// admin exists yet.
pub fn bootstrap_admin(state: &AppState) -> anyhow::Result<()> {
    let auth = &state.settings.auth;
    let (Some(email), Some(password)) =
        (&auth.bootstrap_admin_email, &auth.bootstrap_admin_password)
    else {
        return Ok(());
    };
    match state
        .identity
        .bootstrap_admin(email, password.expose_secret())
    {
        Ok(Some(id)) => tracing::info!(user_id = %id, "platform admin bootstrapped"),
        Ok(None) => {}
        Err(e) => {
            // Postgres may be down at start; the server still starts and
            // /readyz reports it. Bad bootstrap settings are fatal.
            if let domain::identity::RegisterError::Validation(v) = &e {
                anyhow::bail!("bootstrap admin: {v:?}");
            }
            tracing::warn!(error = %e, "could not bootstrap the platform admin");
        }
    }
    Ok(())
}

fn serve(state: web::Data<AppState>, listener: TcpListener) -> anyhow::Result<Server> {
    let settings = &state.settings;
    let body_limit = settings.body_limit_bytes;
    let workers = settings.workers.max(1);
    let shutdown = settings.shutdown_timeout.as_secs();
    let doc = crate::openapi::document();
    let routes = web::Data::new(RouteTable::from_doc(&doc));
    let served_doc = crate::openapi::served_json(&doc)?;
    let origins = settings.cors_allowed_origins.clone();
    let server = HttpServer::new(move || {
        // The routes are registered here; their documentation (the same
        // registrations, plus the shared responses) is `served_doc`.
        let (app, _) = App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi_base())
            .configure(crate::routes::configure)
            .split_for_parts();
        app.app_data(state.clone())
            .app_data(routes.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(body_limit)
                    .error_handler(json_error),
            )
            .app_data(
                web::FormConfig::default()
                    .limit(body_limit)
                    .error_handler(form_error),
            )
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(web::PathConfig::default().error_handler(path_error))
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .service(
                SwaggerUi::new("/docs/{_:.*}")
                    .external_urls_from_iter_unchecked([("/openapi.json", served_doc.clone())]),
            )
            .default_service(web::to(no_route))
            // No allow-list, no CORS layer at all (nothing to do per request).
            .wrap(actix_web::middleware::Condition::new(
                !origins.is_empty(),
                from_fn({
                    let policy = crate::cors::CorsPolicy::new(&origins);
                    move |req, next| crate::cors::cors(policy.clone(), req, next)
                }),
            ))
            .wrap(from_fn(crate::middleware::request_context))
    })
    .workers(workers)
    .shutdown_timeout(shutdown)
    .listen(listener)?
    .run();
    Ok(server)
}
