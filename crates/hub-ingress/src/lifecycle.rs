//! The run of a push connector once it is bound: the admin listener, the broker readiness
//! watch, the API (HTTPS when configured), the drop-folder scanner, and the graceful stop (no
//! new requests or files, those under way finish within the grace period, the producer is
//! flushed, the admin listener closes last).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hub_kafka::resettable::ResettableProducer;
use hub_telemetry::Telemetry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::tls::{TlsError, TlsListener, TlsSettings, acceptor};

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The TLS files are unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The API listener failed.
    #[error("{what}: {source}")]
    Io {
        /// The API's address.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

/// A bound push connector, ready to serve.
#[derive(Debug)]
pub struct PushConnector {
    /// The API listener and its configured address (for errors).
    pub api: TcpListener,
    /// The API's configured address.
    pub api_listen: String,
    /// HTTPS settings, if any.
    pub tls: Option<TlsSettings>,
    /// The admin listener (`/metrics`, `/healthz`, `/readyz`).
    pub admin: TcpListener,
    /// Metrics and readiness.
    pub telemetry: Telemetry,
    /// The API's routes.
    pub router: Router,
    /// The producer the API and the scanner write with.
    pub producer: Arc<ResettableProducer>,
    /// How long requests and the file under way get after the stop, and the flush after them.
    pub grace: Duration,
    /// What the connector carries, in the flush error (e.g. `Records`, `Instances`).
    pub items: &'static str,
}

impl PushConnector {
    /// Serves until `shutdown` completes; `scan` runs the drop folders until its token is
    /// cancelled (it is started after the API).
    ///
    /// # Errors
    /// The TLS files are unusable, or the API listener failed.
    pub async fn run<F>(
        self,
        scan: impl FnOnce(CancellationToken) -> F,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Self {
            api,
            api_listen,
            tls,
            admin,
            telemetry,
            router,
            producer,
            grace,
            items,
        } = self;
        let io_error = |source| ServeError::Io {
            what: api_listen.clone(),
            source,
        };
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
        let api_stop = stop.clone().cancelled_owned();
        let api_task = match &tls {
            Some(tls) => {
                let listener = TlsListener::new(api, acceptor(tls)?).map_err(io_error)?;
                tokio::spawn(async move {
                    axum::serve(listener, router)
                        .with_graceful_shutdown(api_stop)
                        .await
                })
            }
            None => tokio::spawn(hub_telemetry::serve(api, router, api_stop)),
        };
        let scan_task = tokio::spawn(scan(stop.clone()));

        shutdown.await;
        info!("Stopping: no new requests or files; finishing those under way.");
        telemetry.health().set_ready(false);
        stop.cancel();
        let drained = tokio::time::timeout(grace, async {
            let api = api_task.await;
            let _ = scan_task.await;
            api
        })
        .await;
        let api_result = match drained {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => {
                error!(error = %e, "API task failed.");
                Ok(())
            }
            Err(_) => {
                warn!(
                    grace_secs = grace.as_secs(),
                    "Requests still open after the grace period."
                );
                Ok(())
            }
        };
        let flushing = producer.get();
        let flushed = tokio::task::spawn_blocking(move || flushing.flush(grace)).await;
        if !matches!(flushed, Ok(Ok(()))) {
            error!("{items} were still queued at exit; they were not acknowledged to anyone.");
        }
        let _ = readiness.await;
        admin_stop.cancel();
        if let Ok(Err(e)) = admin_task.await {
            error!(error = %e, "Admin server failed.");
        }
        api_result.map_err(io_error)?;
        info!("Connector stopped.");
        Ok(())
    }
}
