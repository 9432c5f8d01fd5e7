//! Start-up (validate, connect, create topics), one task per table, and the graceful stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::resettable::{ProducerError, ResettableProducer};
use hub_telemetry::Telemetry;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::SERVICE;
use crate::cursor::StateStore;
use crate::metrics::Metrics;
use crate::poller::{PollSettings, TablePoller};
use crate::publish::{Route, raw_topic};
use crate::settings::{Settings, TableSettings, validate};
use crate::source::{Db, SourceError, SourceTable};

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A source URL is unusable.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The state database is unreachable.
    #[error("state database: {0}")]
    State(#[from] sqlx::Error),
    /// The producer cannot be set up.
    #[error("cannot create the Kafka producer: {0}")]
    Producer(#[from] ProducerError),
    /// The metrics cannot be registered.
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The admin listener cannot be bound.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// A table waiting for its source's catalogue.
#[derive(Debug)]
struct Pending {
    db: Db,
    table: TableSettings,
    route: Route,
}

/// A connector with its admin listener bound.
#[derive(Debug)]
pub struct Connector {
    settings: Settings,
    admin: TcpListener,
    telemetry: Telemetry,
    metrics: Metrics,
    state: StateStore,
    producer: Arc<ResettableProducer>,
    tables: Vec<Pending>,
}

impl Connector {
    /// Validates `settings`, opens the state database, creates the producer and binds the
    /// admin listener. Sources are connected by each table's task (a source that is down
    /// delays its own tables only).
    ///
    /// # Errors
    /// Invalid settings, an unreachable state database, an address in use.
    pub async fn bind(settings: Settings) -> Result<Self, RunError> {
        validate(&settings).map_err(RunError::Config)?;
        let telemetry = Telemetry::new(SERVICE);
        let metrics = Metrics::register(telemetry.registry())?;
        let producer = Arc::new(ResettableProducer::new(
            settings.kafka.clone(),
            SERVICE,
            telemetry.registry(),
        )?);
        let state_url = match &settings.state_database_url_file {
            Some(path) => {
                hub_config::read_secret_file(path).map_err(|e| RunError::Config(e.to_string()))?
            }
            None => settings.state_database_url.clone(),
        };
        let state = StateStore::open(state_url.expose_secret()).await?;
        let mut tables = Vec::new();
        for source in &settings.sources {
            let db = Db::connect(source)?;
            for table in &source.tables {
                let route = Route {
                    facility: source.facility.clone(),
                    source: source.source.clone(),
                    topic: raw_topic(&source.source),
                    dlq_topic: settings.dlq_topic.clone(),
                    table: table.name.clone(),
                    kind: table.kind,
                    fields: table.columns.keys().cloned().collect(),
                    synthetic: source.synthetic,
                };
                tables.push(Pending {
                    db: db.clone(),
                    table: table.clone(),
                    route,
                });
            }
        }
        let admin = TcpListener::bind(&settings.admin_listen)
            .await
            .map_err(|e| RunError::Io(settings.admin_listen.clone(), e))?;
        Ok(Self {
            settings,
            admin,
            telemetry,
            metrics,
            state,
            producer,
            tables,
        })
    }

    /// The admin listener's address.
    ///
    /// # Errors
    /// The socket has no local address.
    pub fn admin_addr(&self) -> std::io::Result<SocketAddr> {
        self.admin.local_addr()
    }

    /// The state store (cursors, ledger).
    pub fn state(&self) -> &StateStore {
        &self.state
    }

    /// Polls until `shutdown` completes, then lets each table finish its batch and flushes.
    ///
    /// # Errors
    /// The admin server failed.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RunError> {
        let Self {
            settings,
            admin,
            telemetry,
            metrics,
            state,
            producer,
            tables,
        } = self;
        if settings.create_topics {
            create_topics(&settings).await;
        }
        let stop = CancellationToken::new();
        let admin_stop = CancellationToken::new();
        let admin_task = tokio::spawn(hub_telemetry::serve(
            admin,
            telemetry.router(),
            admin_stop.clone().cancelled_owned(),
        ));
        let readiness = tokio::spawn(
            Arc::clone(&producer).watch_broker(telemetry.health().clone(), stop.clone()),
        );
        let poll = PollSettings {
            batch_size: settings.batch_size,
            safety_window: Duration::from_millis(settings.safety_window_ms),
            poll_interval: Duration::from_millis(settings.poll_interval_ms),
            reconcile: settings.reconcile.clone(),
        };
        info!(tables = tables.len(), "Table connector ready.");
        let mut tasks = Vec::new();
        for pending in tables {
            let poller_state = state.clone();
            let producer = Arc::clone(&producer);
            let metrics = metrics.clone();
            let poll = poll.clone();
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                let Some(source) = prepare(&pending, &stop).await else {
                    return;
                };
                TablePoller {
                    route: pending.route,
                    source,
                    state: poller_state,
                    producer,
                    metrics,
                    settings: poll,
                }
                .run(stop)
                .await;
            }));
        }

        shutdown.await;
        info!("Stopping: finishing the batches under way.");
        telemetry.health().set_ready(false);
        stop.cancel();
        let grace = Duration::from_secs(settings.shutdown_grace_secs);
        if tokio::time::timeout(grace, futures::future::join_all(tasks))
            .await
            .is_err()
        {
            warn!("Batches still under way after the grace period; they are read again at start.");
        }
        let flushing = producer.get();
        let _ = tokio::task::spawn_blocking(move || flushing.flush(grace)).await;
        let _ = readiness.await;
        admin_stop.cancel();
        match admin_task.await {
            Ok(Err(e)) => error!(error = %e, "Admin server failed."),
            Err(e) => error!(error = %e, "Admin server task failed."),
            Ok(Ok(())) => {}
        }
        info!("Connector stopped.");
        Ok(())
    }
}

/// Reads the table's catalogue, retrying every few seconds until it works or `stop`.
async fn prepare(pending: &Pending, stop: &CancellationToken) -> Option<SourceTable> {
    loop {
        match SourceTable::prepare(pending.db.clone(), &pending.table).await {
            Ok(table) => return Some(table),
            Err(SourceError::Config(problem)) => {
                error!(table = %pending.route.table, problem = %problem,
                    "The table does not match its configuration; not polling it.");
            }
            Err(e) => warn!(table = %pending.route.table, error = %e,
                "Cannot read the source's catalogue; retrying."),
        }
        tokio::select! {
            () = stop.cancelled() => return None,
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

/// Binds and runs `settings` until `shutdown` completes.
///
/// # Errors
/// As [`Connector::bind`] and [`Connector::run`].
pub async fn run(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    Connector::bind(settings).await?.run(shutdown).await
}

async fn create_topics(settings: &Settings) {
    let mut names: Vec<String> = settings
        .sources
        .iter()
        .map(|s| raw_topic(&s.source))
        .collect();
    names.push(settings.dlq_topic.clone());
    names.sort();
    names.dedup();
    let specs: Vec<TopicSpec> = names
        .into_iter()
        .map(|n| TopicSpec::new(n, settings.topic_partitions))
        .collect();
    match tokio::time::timeout(
        Duration::from_secs(15),
        ensure_topics(&settings.kafka, &specs),
    )
    .await
    {
        Ok(Ok(())) => {}
        // Not fatal: batches are retried until the broker and topics are there.
        Ok(Err(e)) => warn!(error = %e, "Cannot create topics at start-up."),
        Err(_) => warn!("Creating topics timed out at start-up."),
    }
}
