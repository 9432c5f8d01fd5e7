//! `record`: the unified county health record.
//!
//! - [`sink`]: every canonical topic (`read_committed`) into PostgreSQL, batched, idempotent
//!   (UNNEST upserts by event id, de-duplicated first), one transaction per batch, offsets stored
//!   after the commit; corrections, cancellations, reversals and merges resolved from the stored
//!   events so that arrival order never matters; bad records to `dlq.record`.
//! - [`api`]: the query API behind bearer tokens, stated purposes and an append-only audit log,
//!   plus `/openapi.json` and FHIR R4.
//! - [`settings`], [`metrics`].
//!
//! [`run`] serves the API (with `/metrics`, `/healthz`, `/readyz`) on one listener and runs the
//! sink until its shutdown future completes; `main.rs` only loads settings.

pub mod api;
pub mod metrics;
pub mod settings;
pub mod sink;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hub_avro::RegistryClient;
use hub_kafka::KafkaFailure;
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::dlq::DlqPublisher;
use hub_kafka::{EventProducer, ProducerProfile};
use hub_telemetry::Telemetry;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tracing::info;

pub use settings::Settings;

/// The service name (metrics label, client id, DLQ stage).
pub const SERVICE: &str = "record";

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(#[from] hub_config::ConfigError),
    /// The token configuration is unusable.
    #[error(transparent)]
    Tokens(#[from] api::auth::TokenConfigError),
    /// PostgreSQL cannot be reached.
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[from] sqlx::Error),
    /// The migrations failed.
    #[error("cannot migrate the record database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Metrics cannot be registered.
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The registry refused or is unreachable.
    #[error("schema registry: {0}")]
    Registry(#[from] hub_avro::CodecError),
    /// The registry URL is invalid.
    #[error("schema registry: {0}")]
    RegistryUrl(#[from] hub_avro::RegistryError),
    /// Kafka refused the configuration or topics.
    #[error(transparent)]
    Kafka(#[from] KafkaFailure),
    /// The sink stopped.
    #[error(transparent)]
    Sink(#[from] sink::SinkError),
    /// The listener failed.
    #[error("HTTP server failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// Applies the embedded migrations (`migrations/*.sql`).
///
/// # Errors
/// A migration fails.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!().run(pool).await
}

/// Connects (creating and migrating the database), then serves the API on `listener` and runs
/// the sink until `shutdown` completes.
///
/// # Errors
/// Any [`RunError`].
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let telemetry = Telemetry::new(SERVICE);
    let metrics = metrics::Metrics::register(telemetry.registry())?;
    let tokens = api::auth::Tokens::new(&settings.tokens)?;
    let url = match &settings.database_url_file {
        Some(path) => hub_config::read_secret_file(path)?,
        None => settings.database_url.clone(),
    };
    let pool = hub_postgres::connect(url.expose_secret(), settings.max_connections).await?;
    migrate(&pool).await?;

    let state = api::AppState {
        pool: pool.clone(),
        tokens: Arc::new(tokens),
        metrics: metrics.clone(),
        insurance_oid: settings.insurance_oid.as_str().into(),
    };
    let app = api::router(state).merge(telemetry.router());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut api_stop = stop_rx.clone();
    let server = tokio::spawn(hub_telemetry::serve(listener, app, async move {
        let _ = api_stop.wait_for(|stop| *stop).await;
    }));

    let sink = if settings.sink_enabled {
        Some(start_sink(&settings, pool.clone(), metrics, &telemetry).await?)
    } else {
        None
    };
    let lag = match sink {
        Some(_) => hub_kafka::lag::spawn(
            &settings.kafka,
            "record-lag",
            &settings.group_id,
            &settings
                .topics()
                .into_iter()
                .map(|(t, _)| t)
                .collect::<Vec<_>>(),
            hub_kafka::lag::register_gauge(telemetry.registry())?,
            settings.lag_interval_secs,
        ),
        None => None,
    };
    telemetry.health().set_ready(true);
    info!(sink = settings.sink_enabled, "Record service running.");

    let result = match sink {
        Some(sink) => sink.run(shutdown).await.map_err(RunError::from),
        None => {
            shutdown.await;
            Ok(())
        }
    };
    telemetry.health().set_ready(false);
    if let Some(lag) = lag {
        lag.abort();
    }
    let _ = stop_tx.send(true);
    if let Ok(Err(e)) = server.await {
        return Err(RunError::Serve(e));
    }
    pool.close().await;
    info!("Record service stopped.");
    result
}

async fn start_sink(
    settings: &Settings,
    pool: PgPool,
    metrics: metrics::Metrics,
    telemetry: &Telemetry,
) -> Result<sink::Sink, RunError> {
    let registry = RegistryClient::new(&settings.registry_url)?;
    let codecs = sink::codecs::Codecs::register(&registry).await?;
    let topics = settings.topics();
    let mut specs: Vec<TopicSpec> = topics
        .iter()
        .map(|(t, _)| TopicSpec::new(t.clone(), hub_schemas::topics::DATA_PARTITIONS))
        .collect();
    specs.push(TopicSpec::new(hub_schemas::topics::dlq_topic(SERVICE), 1));
    ensure_topics(&settings.kafka, &specs).await?;
    let producer = EventProducer::new(&settings.kafka, SERVICE, ProducerProfile::LowLatency)?;
    let dlq = DlqPublisher::new(producer, SERVICE, telemetry.registry())?;
    let names: Vec<&str> = topics.iter().map(|(t, _)| t.as_str()).collect();
    let consumer = HubConsumer::subscribe(
        &settings.kafka,
        SERVICE,
        &settings.group_id,
        &names,
        Isolation::ReadCommitted,
    )?;
    Ok(sink::Sink {
        consumer,
        pool,
        codecs,
        dlq,
        topics: topics.into_iter().collect(),
        metrics,
        max_records: settings.batch_max_records.max(1),
        max_wait: Duration::from_millis(settings.batch_max_wait_ms),
    })
}
