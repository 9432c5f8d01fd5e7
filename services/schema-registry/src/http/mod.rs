//! The Confluent Schema Registry REST API (Avro only).
//!
//! | route | handler |
//! |---|---|
//! | `GET /subjects`, `GET/POST /subjects/{s}/versions`, `POST/DELETE /subjects/{s}` | [`subjects`] |
//! | `GET/DELETE /subjects/{s}/versions/{v}`, `GET .../{v}/schema` | [`versions`] |
//! | `GET /schemas/ids/{id}[/schema\|/versions\|/subjects]`, `GET /schemas/types` | [`schemas`] |
//! | `POST /compatibility/subjects/{s}/versions[/{v}]` | [`compat`] |
//! | `GET/PUT/DELETE /config[/{s}]` | [`config`] |
//!
//! Responses are `application/vnd.schemaregistry.v1+json`; errors are `{"error_code", "message"}`
//! with the status Confluent uses, for unknown routes and malformed bodies too.

mod compat;
mod config;
mod extract;
mod schemas;
mod subjects;
mod versions;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tracing::{debug, warn};

use crate::error::RegistryError;
use crate::metrics::{Metrics, UNMATCHED_ROUTE};
use crate::store::Store;

pub use extract::CONTENT_TYPE;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    store: Store,
    metrics: Metrics,
}

impl AppState {
    /// Bundles the store and the metrics.
    pub fn new(store: Store, metrics: Metrics) -> Self {
        Self { store, metrics }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Refreshes the schema-count gauge; a failure only leaves it stale.
    pub async fn refresh_schema_gauge(&self) {
        match self.store.schema_count().await {
            Ok(count) => self.metrics.set_schemas(count),
            Err(e) => warn!(error = %e, "Could not count the stored schemas."),
        }
    }
}

/// The API router (without the telemetry endpoints).
pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    Router::new()
        .route("/", get(|| async { extract::Vnd(serde_json::json!({})) }))
        .route("/subjects", get(subjects::list))
        .route(
            "/subjects/{subject}",
            post(subjects::lookup).delete(subjects::delete),
        )
        .route(
            "/subjects/{subject}/versions",
            get(subjects::versions).post(subjects::register),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(versions::get).delete(versions::delete),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(versions::schema),
        )
        .route("/schemas/types", get(schemas::types))
        .route("/schemas/ids/{id}", get(schemas::by_id))
        .route("/schemas/ids/{id}/schema", get(schemas::raw_by_id))
        .route("/schemas/ids/{id}/versions", get(schemas::versions))
        .route("/schemas/ids/{id}/subjects", get(schemas::subjects))
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(compat::against_versions),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(compat::against_version),
        )
        .route(
            "/config",
            get(config::get_global)
                .put(config::put_global)
                .delete(config::delete_global),
        )
        .route(
            "/config/{subject}",
            get(config::get_subject)
                .put(config::put_subject)
                .delete(config::delete_subject),
        )
        .fallback(|| async { RegistryError::NotFound })
        .method_not_allowed_fallback(|| async { RegistryError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(metrics, track))
        .with_state(state)
}

/// Counts and logs each request by route template and status (never the raw path: subjects
/// would make the label unbounded).
async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || UNMATCHED_ROUTE.to_owned(),
        |path| path.as_str().to_owned(),
    );
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics.request(&route, status);
    debug!(route, status, "Request served.");
    response
}
