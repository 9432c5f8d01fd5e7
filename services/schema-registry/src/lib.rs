//! `schema-registry`: a Confluent-compatible Schema Registry for the hub's Avro topics, backed by
//! PostgreSQL.
//!
//! Any Kafka client that speaks to Confluent's registry (Java serialisers, `confluent-kafka` for
//! Python, librdkafka-based tools) can register and resolve schemas here, so the hub's
//! `canonical.*` topics (Confluent wire format: magic byte 0, 4-byte schema id) decode anywhere.
//! Only Avro is supported, without schema references.
//!
//! Layout:
//! - [`settings`]: configuration and the command line;
//! - [`avro`]: parsing untrusted schema texts (panic-safe), identity and canonical forms;
//! - [`compat`]: compatibility levels and checks;
//! - [`model`]: validated subjects and version selectors; [`error`]: Confluent error codes;
//! - [`store`]: PostgreSQL tables and the transactional registration (advisory lock per
//!   subject); [`db`]: connecting, creating the database, migrating;
//! - [`http`]: the REST API; [`metrics`]: `hub_registry_*` metrics; [`seed`]: the canonical
//!   subjects, registered with `FULL_TRANSITIVE` at start-up.
//!
//! [`run`] serves until its shutdown future completes; `main.rs` only loads settings and waits
//! for SIGINT/SIGTERM.

pub mod avro;
pub mod compat;
pub mod db;
pub mod error;
pub mod http;
pub mod metrics;
pub mod model;
pub mod seed;
pub mod settings;
pub mod store;

use std::future::Future;

use axum::Router;
use hub_telemetry::Telemetry;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tracing::info;

pub use http::AppState;
pub use settings::Settings;

/// The service name, used as the `service` label of every metric.
pub const SERVICE: &str = "schema-registry";

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(#[from] hub_config::ConfigError),
    /// PostgreSQL cannot be reached, or the database cannot be created.
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[source] sqlx::Error),
    /// The migrations failed.
    #[error("cannot migrate the registry database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The metrics cannot be registered.
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The canonical schemas cannot be seeded.
    #[error(transparent)]
    Seed(#[from] seed::SeedError),
    /// The listener failed.
    #[error("HTTP server failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// The full router: the registry API plus `/metrics`, `/healthz` and `/readyz`.
pub fn app(state: AppState, telemetry: &Telemetry) -> Router {
    http::router(state).merge(telemetry.router())
}

/// Connects to (and if needed creates and migrates) the database, seeds the canonical subjects
/// if configured, then serves on `listener` until `shutdown` completes and open requests drain.
///
/// # Errors
/// Any [`RunError`]: the service cannot start, or the listener fails.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let (ready, _) = tokio::sync::oneshot::channel();
    run_with_ready(settings, listener, shutdown, ready).await
}

/// [`run`], reporting on `ready` once the service serves (or why it could not start).
async fn run_with_ready(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: tokio::sync::oneshot::Sender<Result<(), RunError>>,
) -> Result<(), RunError> {
    let started = start(&settings).await;
    let (telemetry, store, state) = match started {
        Ok(parts) => parts,
        Err(e) => {
            // The caller gets the error through `ready` when it waits there, else here.
            let message = e.to_string();
            return match ready.send(Err(e)) {
                Ok(()) => Err(RunError::Serve(std::io::Error::other(message))),
                Err(Err(e)) => Err(e),
                Err(Ok(())) => Err(RunError::Serve(std::io::Error::other(message))),
            };
        }
    };
    info!(address = %listener.local_addr()?, "Schema registry listening.");
    let _ = ready.send(Ok(()));
    hub_telemetry::serve(listener, app(state, &telemetry), shutdown).await?;
    store.pool().close().await;
    info!("Schema registry stopped.");
    Ok(())
}

async fn start(settings: &Settings) -> Result<(Telemetry, store::Store, AppState), RunError> {
    let telemetry = Telemetry::new(SERVICE);
    let database_url = match &settings.database_url_file {
        Some(path) => hub_config::read_secret_file(path)?,
        None => settings.database_url.clone(),
    };
    let store = connect(&database_url, settings.max_connections).await?;
    let state = AppState::new(
        store.clone(),
        metrics::Metrics::register(telemetry.registry())?,
    );
    if settings.seed_canonical {
        seed::seed_canonical(&store).await?;
    }
    state.refresh_schema_gauge().await;
    telemetry.health().set_ready(true);
    Ok((telemetry, store, state))
}

/// A store on a migrated database.
///
/// # Errors
/// [`RunError::Connect`] or [`RunError::Migrate`].
pub async fn connect(url: &SecretString, max_connections: u32) -> Result<store::Store, RunError> {
    let pool = hub_postgres::connect(url.expose_secret(), max_connections)
        .await
        .map_err(RunError::Connect)?;
    db::migrate(&pool).await?;
    Ok(store::Store::new(pool))
}

/// A registry started with [`spawn`]: its URL, and a handle that stops it when dropped.
#[derive(Debug)]
pub struct Running {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts a registry with `settings` on a free loopback port in the background and waits until
/// it is ready (for tests and embedding; `main` uses [`run`]).
///
/// # Errors
/// The listener cannot be bound, or the service fails to start.
pub async fn spawn(settings: Settings) -> Result<Running, RunError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<(), RunError>>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        let outcome = run_with_ready(settings, listener, shutdown, ready_tx).await;
        if let Err(e) = outcome {
            tracing::error!(error = %e, "Registry stopped with an error.");
        }
    });
    match ready_rx.await {
        Ok(Ok(())) => Ok(Running { url, _stop: stop }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(RunError::Serve(std::io::Error::other(
            "the registry task ended",
        ))),
    }
}
