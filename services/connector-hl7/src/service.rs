//! Start-up (validate, bind, create topics), readiness, and the graceful stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_telemetry::Telemetry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::SERVICE;
use crate::access::{AllowList, InvalidEntry};
use crate::charset::Charset;
use crate::connection::Limits;
use crate::dedup::RecentKeys;
use crate::ingest::{AckIds, Ingest};
use crate::metrics::Metrics;
use crate::producer::{ProducerError, SharedProducer};
use crate::server::MllpListener;
use crate::settings::Settings;
use crate::tls::{TlsError, acceptor};

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An allow-list entry is invalid.
    #[error("invalid allowed_sources: {0}")]
    AllowList(#[from] InvalidEntry),
    /// A listener's TLS files are unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The producer cannot be set up.
    #[error("cannot create the Kafka producer: {0}")]
    Producer(#[from] ProducerError),
    /// The metrics cannot be registered.
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// A listener cannot be bound, or the admin server failed.
    #[error("listener {address}: {source}")]
    Io {
        /// The address.
        address: String,
        /// The error.
        source: std::io::Error,
    },
}

/// A connector with every listener bound.
#[derive(Debug)]
pub struct Connector {
    settings: Settings,
    listeners: Vec<MllpListener>,
    admin: TcpListener,
    telemetry: Telemetry,
    producer: Arc<SharedProducer>,
}

fn io_error(address: &str) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        address: address.to_owned(),
        source,
    }
}

impl Connector {
    /// Validates `settings`, creates the producer and binds the admin and MLLP listeners.
    ///
    /// # Errors
    /// Invalid settings, unusable TLS files, or an address that cannot be bound.
    pub async fn bind(mut settings: Settings) -> Result<Self, RunError> {
        if settings.listeners.is_empty() {
            return Err(RunError::Config("no listeners configured".into()));
        }
        let largest = settings.listeners.iter().map(|l| l.max_message_bytes).max();
        // The producer must accept the largest message plus headers (librdkafka's default is 1 MB).
        let needed = largest
            .unwrap_or(0)
            .saturating_add(64 * 1024)
            .min(1_000_000_000);
        settings
            .kafka
            .librdkafka_options
            .entry("message.max.bytes".into())
            .or_insert_with(|| needed.max(1_000_000).to_string());
        // Reconnect quickly after a broker restart; this also bounds how late librdkafka notices
        // that records timed out while the broker was unreachable (so senders get AR on time).
        settings
            .kafka
            .librdkafka_options
            .entry("reconnect.backoff.max.ms".into())
            .or_insert_with(|| "1000".into());
        let telemetry = Telemetry::new(SERVICE);
        let metrics = Metrics::register(telemetry.registry())?;
        let producer = Arc::new(SharedProducer::new(
            settings.kafka.clone(),
            SERVICE,
            telemetry.registry(),
        )?);
        let recent = Arc::new(RecentKeys::new(
            Duration::from_secs(settings.duplicate_window_secs),
            settings.duplicate_window_keys,
        ));
        let ack_ids = Arc::new(AckIds::default());
        let budget = crate::budget::ByteBudget::new(settings.max_in_flight_bytes);
        let mut listeners = Vec::with_capacity(settings.listeners.len());
        for l in &settings.listeners {
            if l.facility.is_empty() || l.facility.contains(':') {
                return Err(RunError::Config(format!(
                    "listener {}: facility must be non-empty and without ':'",
                    l.bind
                )));
            }
            let default_charset = Charset::from_hl7(&l.default_charset).ok_or_else(|| {
                RunError::Config(format!("listener {}: unknown default_charset", l.bind))
            })?;
            let ingest = Ingest {
                facility: l.facility.clone(),
                source: l.source.as_str(),
                topic: l.topic(),
                dlq_topic: settings.dlq_topic.clone(),
                default_charset: Some(default_charset),
                synthetic: l.synthetic,
                max_message_bytes: l.max_message_bytes,
                producer: Arc::clone(&producer),
                recent: Arc::clone(&recent),
                metrics: metrics.listener(&l.facility, l.source.as_str()),
                ack_ids: Arc::clone(&ack_ids),
                budget: budget.clone(),
            };
            let tcp = TcpListener::bind(&l.bind)
                .await
                .map_err(io_error(&l.bind))?;
            listeners.push(MllpListener {
                tcp,
                ingest: Arc::new(ingest),
                allow: AllowList::parse(&l.allowed_sources)?,
                tls: l
                    .tls
                    .as_ref()
                    .map(|t| acceptor(t, &l.facility))
                    .transpose()?,
                limits: Limits {
                    read_timeout: Duration::from_secs(l.read_timeout_secs),
                    idle_timeout: Duration::from_secs(l.idle_timeout_secs),
                    write_timeout: Duration::from_secs(l.write_timeout_secs),
                    max_in_flight: l.max_in_flight,
                    max_message_bytes: l.max_message_bytes,
                },
                max_connections: l.max_connections,
            });
        }
        let admin = TcpListener::bind(&settings.admin_listen)
            .await
            .map_err(io_error(&settings.admin_listen))?;
        Ok(Self {
            settings,
            listeners,
            admin,
            telemetry,
            producer,
        })
    }

    /// The MLLP listeners' addresses, in configuration order.
    pub fn mllp_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// The admin listener's address.
    ///
    /// # Errors
    /// The socket has no local address.
    pub fn admin_addr(&self) -> std::io::Result<SocketAddr> {
        self.admin.local_addr()
    }

    /// The metrics registry and readiness.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Serves until `shutdown` completes, then drains and flushes.
    ///
    /// # Errors
    /// The admin server failed.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RunError> {
        let Self {
            settings,
            listeners,
            admin,
            telemetry,
            producer,
        } = self;
        if settings.create_topics {
            create_topics(&settings).await;
        }
        let stop = CancellationToken::new();
        let admin_stop = CancellationToken::new();
        let admin_address = settings.admin_listen.clone();
        let admin_task = tokio::spawn(hub_telemetry::serve(
            admin,
            telemetry.router(),
            admin_stop.clone().cancelled_owned(),
        ));
        let readiness = tokio::spawn(
            Arc::clone(&producer).watch_broker(telemetry.health().clone(), stop.clone()),
        );
        let tracker = TaskTracker::new();
        for listener in listeners {
            info!(address = ?listener.local_addr().ok(), facility = %listener.ingest.facility,
                source = listener.ingest.source, topic = %listener.ingest.topic, "MLLP listener ready.");
            tracker.spawn(listener.accept_loop(stop.clone(), tracker.clone()));
        }

        shutdown.await;
        info!("Stopping: no new connections; finishing in-flight messages.");
        telemetry.health().set_ready(false);
        stop.cancel();
        tracker.close();
        let grace = Duration::from_secs(settings.shutdown_grace_secs);
        if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
            warn!(
                grace_secs = settings.shutdown_grace_secs,
                "Connections still busy after the grace period."
            );
        }
        let flushing = producer.get();
        let flushed = tokio::task::spawn_blocking(move || flushing.flush(grace)).await;
        if !matches!(flushed, Ok(Ok(()))) {
            error!("Records were still queued at exit; their senders got no AA and will resend.");
        }
        let _ = readiness.await;
        admin_stop.cancel();
        match admin_task.await {
            Ok(result) => result.map_err(io_error(&admin_address))?,
            Err(e) => error!(error = %e, "Admin server task failed."),
        }
        info!("Connector stopped.");
        Ok(())
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
    let mut names: Vec<String> = settings.listeners.iter().map(|l| l.topic()).collect();
    names.push(settings.dlq_topic.clone());
    names.sort();
    names.dedup();
    let specs: Vec<TopicSpec> = names
        .iter()
        .map(|n| TopicSpec::new(n.clone(), settings.topic_partitions))
        .collect();
    match tokio::time::timeout(
        Duration::from_secs(15),
        ensure_topics(&settings.kafka, &specs),
    )
    .await
    {
        Ok(Ok(())) => {}
        // Not fatal: senders get AR until the broker and topics are there.
        Ok(Err(e)) => warn!(error = %e, "Cannot create topics at start-up."),
        Err(_) => warn!("Creating topics timed out at start-up."),
    }
}
