//! `monitor`: the county medical-community indicators, live, and clinical alerts.
//!
//! - [`consumer`]: canonical encounter, settlement, referral, lab, imaging and identity-link
//!   topics (`read_committed`), and the headers of the other stages' dead letters, reduced to
//!   [`facts`] and upserted into PostgreSQL ([`store`]), offsets stored after the commit;
//!   critical lab values ([`alerts`], [`rules`]) and critical imaging findings produced as
//!   `canonical.clinical-alert.v1` events before the offset is stored.
//! - [`query`] (SQL aggregates over the facts) and [`indicators`] (the pure formulas, targets,
//!   small-cell suppression) make a [`report`] per county and [`period`], with the [`outflow`]
//!   by ICD-10 [`chapter`] and the data [`quality`] per facility; [`trend`] gives twelve months,
//!   [`health`] the pipeline as seen from the facts. Nothing is counted in memory: a restart or
//!   a second instance reads the same numbers from the same rows.
//! - Exposure: [`api`] (JSON), [`dashboard`] (HTML at `/`), and the gauges of [`metrics`],
//!   refreshed from the database every `refresh_secs`.
//!
//! Formulas and data sources: `INDICATORS.md` next to this crate.

pub mod alerts;
pub mod api;
pub mod chapter;
pub mod consumer;
pub mod dashboard;
pub mod facts;
pub mod health;
pub mod indicators;
pub mod metrics;
pub mod outflow;
pub mod period;
pub mod quality;
pub mod query;
pub mod report;
pub mod rules;
pub mod settings;
pub mod store;
pub mod trend;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hub_avro::{CanonicalCodecs, RegistryClient};
use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::dlq::DlqPublisher;
use hub_kafka::{EventProducer, KafkaFailure, ProducerProfile};
use hub_telemetry::Telemetry;
use hub_terminology::Terminology;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tracing::{info, warn};

pub use settings::Settings;

use metrics::Metrics;
use period::{Month, Scope};
use report::ReportConfig;

/// The service name (metrics label, client id, DLQ stage).
pub const SERVICE: &str = "monitor";

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(#[from] hub_config::ConfigError),
    /// Targets or critical values are unusable.
    #[error(transparent)]
    Rules(#[from] rules::RulesError),
    /// The terminology cannot be loaded.
    #[error("terminology: {0}")]
    Terminology(#[from] hub_terminology::TerminologyError),
    /// PostgreSQL cannot be reached.
    #[error("PostgreSQL: {0}")]
    Database(#[from] sqlx::Error),
    /// The migrations failed.
    #[error("cannot migrate the monitor database: {0}")]
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
    /// The consumer stopped.
    #[error(transparent)]
    Consumer(#[from] consumer::ConsumerError),
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

/// Connects (creating and migrating the database), serves the dashboard and API on `listener`,
/// refreshes the gauges and runs the consumer until `shutdown` completes.
///
/// # Errors
/// Any [`RunError`].
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let telemetry = Telemetry::new(SERVICE);
    let metrics = Metrics::register(telemetry.registry())?;
    let terminology = Arc::new(Terminology::load(&settings.terminology_dir)?);
    let targets = rules::Targets::load(&settings.targets_file)?;
    let critical = rules::CriticalValues::load(&settings.critical_values_file)?;
    let url = match &settings.database_url_file {
        Some(path) => hub_config::read_secret_file(path)?,
        None => settings.database_url.clone(),
    };
    let pool = hub_postgres::connect(url.expose_secret(), settings.max_connections).await?;
    migrate(&pool).await?;
    store::sync_facilities(&pool, &terminology).await?;

    let config = Arc::new(ReportConfig {
        targets,
        min_cell: settings.min_cell.max(1),
        utc_offset_hours: settings.utc_offset_hours,
        silent_after_secs: i64::try_from(settings.silent_after_secs).unwrap_or(i64::MAX),
    });
    let state = api::AppState {
        pool: pool.clone(),
        config: config.clone(),
        default_county: settings
            .counties
            .first()
            .cloned()
            .unwrap_or_else(|| "210281".to_owned()),
    };
    let app = api::router(state).merge(telemetry.router());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut api_stop = stop_rx.clone();
    let server = tokio::spawn(hub_telemetry::serve(listener, app, async move {
        let _ = api_stop.wait_for(|stop| *stop).await;
    }));
    let refresher = tokio::spawn(refresh_loop(
        pool.clone(),
        config,
        settings.counties.clone(),
        Duration::from_secs(settings.refresh_secs.max(1)),
        metrics.clone(),
        stop_rx,
    ));

    let consumer = start_consumer(
        &settings,
        pool.clone(),
        terminology,
        critical,
        metrics,
        &telemetry,
    )
    .await?;
    let lag = hub_kafka::lag::spawn(
        &settings.kafka,
        "monitor-lag",
        &settings.group_id,
        &settings
            .topics()
            .into_iter()
            .map(|(t, _)| t)
            .collect::<Vec<_>>(),
        hub_kafka::lag::register_gauge(telemetry.registry())?,
        settings.lag_interval_secs,
    );
    telemetry.health().set_ready(true);
    info!(counties = ?settings.counties, "Monitor running.");
    let result = consumer.run(shutdown).await.map_err(RunError::from);
    telemetry.health().set_ready(false);
    if let Some(lag) = lag {
        lag.abort();
    }
    let _ = stop_tx.send(true);
    let _ = refresher.await;
    if let Ok(Err(e)) = server.await {
        return Err(RunError::Serve(e));
    }
    pool.close().await;
    info!("Monitor stopped.");
    result
}

async fn start_consumer(
    settings: &Settings,
    pool: PgPool,
    terminology: Arc<Terminology>,
    critical: rules::CriticalValues,
    metrics: Metrics,
    telemetry: &Telemetry,
) -> Result<consumer::Consumer, RunError> {
    let registry = RegistryClient::new(&settings.registry_url)?;
    let codecs = Arc::new(CanonicalCodecs::register(&registry).await?);
    let topics = settings.topics();
    let mut specs: Vec<TopicSpec> = topics
        .iter()
        .map(|(t, _)| TopicSpec::new(t.clone(), hub_schemas::topics::DATA_PARTITIONS))
        .collect();
    specs.push(TopicSpec::new(
        settings.alert_topic(),
        hub_schemas::topics::DATA_PARTITIONS,
    ));
    specs.push(TopicSpec::new(hub_schemas::topics::dlq_topic(SERVICE), 1));
    ensure_topics(&settings.kafka, &specs).await?;
    let producer = EventProducer::new(&settings.kafka, SERVICE, ProducerProfile::LowLatency)?;
    let dlq = DlqPublisher::new(producer.clone(), SERVICE, telemetry.registry())?;
    let names: Vec<&str> = topics.iter().map(|(t, _)| t.as_str()).collect();
    let consumer = HubConsumer::subscribe(
        &settings.kafka,
        SERVICE,
        &settings.group_id,
        &names,
        Isolation::ReadCommitted,
    )?;
    Ok(consumer::Consumer {
        consumer,
        pool,
        codecs,
        producer,
        dlq,
        topics: topics.into_iter().collect(),
        terminology,
        critical,
        alert_topic: settings.alert_topic(),
        alert_max_age: (settings.alert_max_age_secs > 0)
            .then(|| Duration::from_secs(settings.alert_max_age_secs)),
        metrics,
        max_records: settings.batch_max_records.max(1),
        max_wait: Duration::from_millis(settings.batch_max_wait_ms),
    })
}

/// Recomputes the gauges of every county (current month and year to date) from the database.
///
/// # Errors
/// The database fails; the gauges keep their previous values.
pub async fn refresh(
    pool: &PgPool,
    config: &ReportConfig,
    counties: &[String],
    metrics: &Metrics,
) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    let now = chrono::Utc::now().timestamp_millis();
    let Some(month) = Month::containing(now, config.utc_offset_hours) else {
        return Ok(());
    };
    let mut reports = Vec::new();
    for county in counties.iter().filter(|c| report::valid_county(c)) {
        for scope in [Scope::Month, Scope::YearToDate] {
            reports.push(report::build(pool, config, county, month, scope).await?);
        }
    }
    // Reset first: a value that became suppressed must disappear, not linger.
    metrics.indicator.reset();
    metrics.facility_indicator.reset();
    metrics.target.reset();
    for r in &reports {
        for ind in &r.indicators {
            if let Some(target) = ind.target {
                metrics
                    .target
                    .with_label_values(&[r.county.as_str(), ind.id.as_str()])
                    .set(target);
            }
            let Some(value) = ind.value else { continue };
            match &ind.facility {
                Some(f) => metrics
                    .facility_indicator
                    .with_label_values(&[r.county.as_str(), f.as_str(), ind.id.as_str(), r.scope])
                    .set(value),
                None => metrics
                    .indicator
                    .with_label_values(&[r.county.as_str(), ind.id.as_str(), r.scope])
                    .set(value),
            }
        }
    }
    let mut health = Vec::new();
    for county in counties.iter().filter(|c| report::valid_county(c)) {
        health.push(health::read(pool, county, now, config.silent_after_secs).await?);
    }
    metrics.publish_details(&reports, &health);
    metrics
        .unknown_facility_events
        .set(query::unknown_facility_events(pool).await?);
    metrics
        .refresh_seconds
        .observe(started.elapsed().as_secs_f64());
    Ok(())
}

async fn refresh_loop(
    pool: PgPool,
    config: Arc<ReportConfig>,
    counties: Vec<String>,
    every: Duration,
    metrics: Metrics,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if let Err(e) = refresh(&pool, &config, &counties, &metrics).await {
            warn!(error = %e, "Refreshing the indicator gauges failed; keeping the last values.");
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
