//! Start-up (validate, bind, create topics), readiness, and the graceful stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_telemetry::Telemetry;
use tokio::net::TcpListener;
use tracing::{info, warn};

use hub_ingress::auth::{SenderError, Senders};
use hub_ingress::dropfolder::prepare;
use hub_ingress::inflight::InFlight;
use hub_ingress::lifecycle::{PushConnector, ServeError};
use hub_ingress::tls::TlsError;
use hub_kafka::resettable::{ProducerError, ResettableProducer};

use crate::SERVICE;
use crate::dropfolder::{DropFolder, Scanner};
use crate::http::{ApiState, router};
use crate::ingest::Ingest;
use crate::metrics::Metrics;
use crate::settings::Settings;

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The sender list is unusable.
    #[error("invalid senders: {0}")]
    Senders(#[from] SenderError),
    /// The TLS files are unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The producer cannot be set up.
    #[error("cannot create the Kafka producer: {0}")]
    Producer(#[from] ProducerError),
    /// The metrics cannot be registered.
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// A listener cannot be bound or failed, or a drop folder cannot be created.
    #[error("{what}: {source}")]
    Io {
        /// The address or folder.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

impl From<ServeError> for RunError {
    fn from(e: ServeError) -> Self {
        match e {
            ServeError::Tls(e) => Self::Tls(e),
            ServeError::Io { what, source } => Self::Io { what, source },
        }
    }
}

fn io_error(what: &str) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        what: what.to_owned(),
        source,
    }
}

/// A connector with its listeners bound.
#[derive(Debug)]
pub struct Connector {
    settings: Settings,
    api: TcpListener,
    admin: TcpListener,
    telemetry: Telemetry,
    state: ApiState,
    folders: Vec<DropFolder>,
}

impl Connector {
    /// Validates `settings`, creates the producer, prepares drop folders and binds the API and
    /// admin listeners.
    ///
    /// # Errors
    /// Invalid settings or TLS files, a folder that cannot be created, an address in use.
    pub async fn bind(mut settings: Settings) -> Result<Self, RunError> {
        if settings.senders.is_empty() {
            return Err(RunError::Config("no senders configured".into()));
        }
        if settings.max_in_flight_requests == 0 {
            return Err(RunError::Config(
                "max_in_flight_requests must be at least 1".into(),
            ));
        }
        let senders = Arc::new(Senders::from_settings(&settings.senders)?);
        // A whole body or a file's first bytes may go to the DLQ: the producer must take them.
        let needed = settings
            .max_body_bytes
            .max(settings.drop_folder.dlq_max_bytes)
            .saturating_add(64 * 1024)
            .clamp(1_000_000, 1_000_000_000);
        let options = &mut settings.kafka.librdkafka_options;
        options
            .entry("message.max.bytes".into())
            .or_insert_with(|| needed.to_string());
        options
            .entry("reconnect.backoff.max.ms".into())
            .or_insert_with(|| "1000".into());
        let telemetry = Telemetry::new(SERVICE);
        let metrics = Metrics::register(telemetry.registry())?;
        let producer = Arc::new(ResettableProducer::new(
            settings.kafka.clone(),
            SERVICE,
            telemetry.registry(),
        )?);
        let ingest = Arc::new(Ingest {
            topic: settings.topic.clone(),
            dlq_topic: settings.dlq_topic.clone(),
            producer,
            metrics,
        });
        let mut folders = Vec::new();
        for s in &settings.senders {
            let Some(dir) = &s.drop_dir else { continue };
            prepare(dir).map_err(io_error(&dir.display().to_string()))?;
            let sender = senders
                .get(&s.code)
                .ok_or_else(|| RunError::Config(format!("sender {} vanished", s.code)))?;
            folders.push(DropFolder {
                sender,
                dir: dir.clone(),
            });
        }
        let state = ApiState {
            senders,
            ingest,
            max_body_bytes: settings.max_body_bytes,
            max_instances: settings.max_instances_per_request,
            retry_after: Duration::from_secs(settings.retry_after_secs),
            in_flight: InFlight::new(settings.max_in_flight_requests),
        };
        let api = TcpListener::bind(&settings.api_listen)
            .await
            .map_err(io_error(&settings.api_listen))?;
        let admin = TcpListener::bind(&settings.admin_listen)
            .await
            .map_err(io_error(&settings.admin_listen))?;
        Ok(Self {
            settings,
            api,
            admin,
            telemetry,
            state,
            folders,
        })
    }

    /// The API listener's address.
    ///
    /// # Errors
    /// The socket has no local address.
    pub fn api_addr(&self) -> std::io::Result<SocketAddr> {
        self.api.local_addr()
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

    /// Serves until `shutdown` completes: then stops taking requests and files, lets open
    /// requests and the file being read finish, flushes the producer.
    ///
    /// # Errors
    /// TLS files are unusable, or a listener failed.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RunError> {
        let Self {
            settings,
            api,
            admin,
            telemetry,
            state,
            folders,
        } = self;
        if settings.create_topics {
            create_topics(&settings).await;
        }
        info!(address = %settings.api_listen, tls = settings.tls.is_some(),
            folders = folders.len(), topic = %settings.topic, "Imaging connector ready.");
        let ingest = Arc::clone(&state.ingest);
        let scanner = Scanner::new(folders, Arc::clone(&ingest), settings.drop_folder.clone());
        PushConnector {
            api,
            api_listen: settings.api_listen.clone(),
            tls: settings.tls.clone(),
            admin,
            telemetry,
            router: router(state),
            producer: Arc::clone(&ingest.producer),
            grace: Duration::from_secs(settings.shutdown_grace_secs),
            items: "Instances",
        }
        .run(|stop| scanner.run(stop), shutdown)
        .await?;
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
    let specs = [&settings.topic, &settings.dlq_topic]
        .map(|name| TopicSpec::new(name.clone(), settings.topic_partitions));
    match tokio::time::timeout(
        Duration::from_secs(15),
        ensure_topics(&settings.kafka, &specs),
    )
    .await
    {
        Ok(Ok(())) => {}
        // Not fatal: senders get 503 and files wait until the broker and topics are there.
        Ok(Err(e)) => warn!(error = %e, "Cannot create topics at start-up."),
        Err(_) => warn!("Creating topics timed out at start-up."),
    }
}
