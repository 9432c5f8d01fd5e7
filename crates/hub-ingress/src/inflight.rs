//! A cap on the API requests a connector works on at once (`max_in_flight_requests`).
//!
//! Each admitted request reads its whole body (up to `max_body_bytes`) and keeps it until the
//! broker confirmed it (commit-then-answer). Without a cap, a slow broker lets memory grow with
//! the number of clients. A request takes a permit with [`InFlight::try_admit`] *before* its body
//! is read and keeps it until its answer is produced; when none is free it is answered at once
//! with [`busy`] (503, `Retry-After`, `{"error": "busy", ...}`), its body unread, so the sender
//! keeps it and retries. Refusing beats queueing: a queued request holds its connection and,
//! once admitted, its body, so a queue only moves the unbounded growth elsewhere.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default of `max_in_flight_requests`: with 8-16 MiB bodies, at most 0.5-1 GiB of bodies held.
pub const DEFAULT_MAX_IN_FLIGHT_REQUESTS: usize = 64;

/// The `error` code of the answer, and the `outcome` label of the request metric.
pub const BUSY: &str = "busy";

/// The permits of one API (cheap to clone: clones share the permits).
#[derive(Debug, Clone)]
pub struct InFlight {
    permits: Arc<Semaphore>,
    limit: usize,
}

/// An admitted request's permit, given back when dropped (after the answer is produced).
#[derive(Debug)]
#[must_use = "the request is admitted only while the permit is held"]
pub struct Admitted {
    _permit: OwnedSemaphorePermit,
}

impl InFlight {
    /// At most `limit` requests at once; `limit` is at least 1 (a 0 is taken as 1, which would
    /// otherwise refuse everything: the connectors refuse 0 in their settings).
    pub fn new(limit: usize) -> Self {
        let limit = limit.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// A permit if one is free, else `None` (never waits).
    pub fn try_admit(&self) -> Option<Admitted> {
        Arc::clone(&self.permits)
            .try_acquire_owned()
            .ok()
            .map(|permit| Admitted { _permit: permit })
    }

    /// The cap.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Requests admitted now.
    pub fn in_use(&self) -> usize {
        self.limit - self.permits.available_permits()
    }
}

/// The answer to a request refused for want of a permit: 503, `Retry-After: <retry_after>`,
/// `{"error": "busy", "message": ...}`.
pub fn busy(retry_after: Duration) -> Response {
    let body = json!({
        "error": BUSY,
        "message": "too many requests under way; retry after the Retry-After delay",
    });
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after.as_secs()),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_capped_and_given_back_on_drop() {
        let in_flight = InFlight::new(2);
        let first = in_flight.try_admit().unwrap();
        let second = in_flight.clone().try_admit().unwrap();
        assert_eq!(in_flight.in_use(), 2);
        assert!(in_flight.try_admit().is_none(), "a third is refused");
        drop(first);
        let third = in_flight.try_admit().unwrap();
        assert!(in_flight.try_admit().is_none());
        drop((second, third));
        assert_eq!(in_flight.in_use(), 0);
        assert_eq!(InFlight::new(0).limit(), 1);
    }

    #[tokio::test]
    async fn the_busy_answer_is_503_with_retry_after_and_the_error_shape() {
        let response = busy(Duration::from_secs(7));
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"], BUSY);
        assert!(body["message"].is_string());
    }
}
