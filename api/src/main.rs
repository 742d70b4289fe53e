//! The `coopmart` binary.
//!
//! ```text
//! coopmart [serve]   run the HTTP API (default)
//! coopmart migrate   apply pending migrations and exit
//! coopmart seed      load demo data (idempotent)
//! coopmart seed-bench N   at least N listings for benchmarks
//! coopmart openapi   print the OpenAPI document (see openapi/openapi.json)
//! ```

use std::process::ExitCode;

use api::config::Settings;

/// jemalloc instead of glibc malloc: with many blocking threads glibc's
/// per-thread arenas fragmented and the RSS grew under the mixed soak
/// (213 → 294 MiB in 5 minutes); jemalloc's background threads return
/// freed pages (docs/performance.md, "Soak").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_owned());
    if command == "openapi" {
        return match api::openapi::document_json() {
            Ok(json) => {
                print!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot render the OpenAPI document: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    api::telemetry::init(settings.log_format);
    let result = match command.as_str() {
        "serve" => serve(settings),
        "migrate" => migrate(&settings),
        "seed" => seed(settings),
        "seed-bench" => seed_bench(settings),
        other => {
            eprintln!(
                "unknown command {other:?}; expected serve, migrate, seed, seed-bench or openapi"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "coopmart stopped with an error");
            ExitCode::FAILURE
        }
    }
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = infra::db::connect(&settings.database_url)?;
    let applied = infra::db::run_migrations(&mut conn)?;
    tracing::info!(applied, "migrations applied");
    Ok(())
}

fn seed(settings: Settings) -> anyhow::Result<()> {
    let addr = settings.bind_addr;
    let state = api::startup::build_state(settings, addr)?;
    api::startup::bootstrap_admin(&state)?;
    api::seed::run(&state)
}

/// `coopmart seed-bench N`: at least N active listings for benchmarks.
fn seed_bench(settings: Settings) -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let addr = settings.bind_addr;
    let state = api::startup::build_state(settings, addr)?;
    let written = api::seed::bench_listings(&state, n)?;
    tracing::info!(written, target = n, "benchmark listings ready");
    Ok(())
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let app = api::startup::build(settings)?;
        tracing::info!(addr = %app.addr, "coopmart listening; Swagger UI at /docs");
        // actix stops gracefully on SIGTERM / SIGINT: it stops accepting,
        // lets in-flight requests finish (SHUTDOWN_TIMEOUT_SECS), then exits.
        app.server.await?;
        tracing::info!("coopmart stopped");
        Ok(())
    })
}
