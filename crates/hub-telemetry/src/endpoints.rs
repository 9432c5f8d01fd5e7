//! `/metrics`, `/healthz` and `/readyz`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;

/// Whether the service is ready to do its job (its broker, database, registry answer).
#[derive(Debug, Clone, Default)]
pub struct Health {
    ready: Arc<AtomicBool>,
}

impl Health {
    /// Marks the service ready or not; `/readyz` answers 200 or 503 accordingly.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Whether the service is ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// A service's metrics registry and health state.
#[derive(Clone)]
pub struct Telemetry {
    registry: Registry,
    health: Health,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("health", &self.health)
            .finish_non_exhaustive()
    }
}

impl Telemetry {
    /// A fresh registry whose every metric carries the constant label `service`.
    ///
    /// # Panics
    /// Never for a service name made of printable characters (the label value is not validated
    /// by Prometheus beyond that).
    pub fn new(service: &str) -> Self {
        let labels = std::iter::once(("service".to_owned(), service.to_owned())).collect();
        #[allow(clippy::expect_used)]
        let registry = Registry::new_custom(None, Some(labels)).expect("constant labels are valid");
        Self {
            registry,
            health: Health::default(),
        }
    }

    /// The registry to register the service's metrics in.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The readiness state.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The operational endpoints, to merge into the service's own router or serve alone.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(ready))
            .with_state(self.clone())
    }
}

async fn metrics(State(telemetry): State<Telemetry>) -> impl IntoResponse {
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    match encoder.encode(&telemetry.registry.gather(), &mut body) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, encoder.format_type().to_owned())],
            body,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn ready(State(telemetry): State<Telemetry>) -> impl IntoResponse {
    if telemetry.health.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains open requests.
///
/// # Errors
/// The listener fails.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_metrics_health_and_readiness() {
        let telemetry = Telemetry::new("test-service");
        let counter =
            prometheus::IntCounter::new("hub_test_events_total", "Events seen by the test.")
                .unwrap();
        telemetry
            .registry()
            .register(Box::new(counter.clone()))
            .unwrap();
        counter.inc_by(3);

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, telemetry.router(), async {
            let _ = stopped.await;
        }));
        let base = format!("http://{addr}");
        let get = |path: &str| reqwest::get(format!("{base}{path}"));

        let body = get("/metrics").await.unwrap().text().await.unwrap();
        assert!(
            body.contains("hub_test_events_total{service=\"test-service\"} 3"),
            "{body}"
        );
        assert_eq!(get("/healthz").await.unwrap().status(), 200);
        assert_eq!(get("/readyz").await.unwrap().status(), 503);
        telemetry.health().set_ready(true);
        assert_eq!(get("/readyz").await.unwrap().status(), 200);

        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }
}
