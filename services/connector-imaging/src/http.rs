//! `POST /v1/instances`: DICOM JSON (PS3.18 F.2) instance metadata, as a QIDO-RS search answer
//! shapes it (a JSON array of instance objects) or a single object, answered after every
//! instance is durable (commit-then-answer).
//!
//! A request is taken whole or not at all: one unreadable instance rejects the request, so a
//! sender never has to work out which half of a study arrived. Answers (always JSON):
//! - 200: every instance is in the raw topic; `instances[i]` has its `sop_instance_uid`.
//! - 400: the body is not JSON, not instances, or an instance lacks its UIDs; `error` is the
//!   code, `message` says which instance and why (tags, never values). The body is in the DLQ.
//! - 401 (no or unknown bearer token), 403 (the sender may not use HTTP), 413 (body larger than
//!   `max_body_bytes` or more than `max_instances_per_request` instances; not kept: the sender
//!   still has it).
//! - 503 + `Retry-After`: the broker did not confirm every instance; resend the request (same
//!   keys, and downstream de-duplicates by event id).
//! - 503 + `Retry-After` + `{"error": "busy"}`: `max_in_flight_requests` requests are already
//!   under way ([`hub_ingress::inflight`]); the body was not read, nothing is stored.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hub_ingress::auth::{AuthOutcome, Senders};
use hub_ingress::inflight::{BUSY, InFlight, busy};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use crate::ingest::{DICOM_JSON, Ingest, now_rfc3339};
use crate::instance::{Instance, Invalid, JSON_INVALID, from_json};
use crate::metrics::Channel;

/// What the API handler needs.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// Known senders.
    pub senders: Arc<Senders>,
    /// The ingest path.
    pub ingest: Arc<Ingest>,
    /// Largest body read.
    pub max_body_bytes: usize,
    /// Most instances in a request.
    pub max_instances: usize,
    /// `Retry-After` of a 503.
    pub retry_after: Duration,
    /// Requests under way at once (`max_in_flight_requests`).
    pub in_flight: InFlight,
}

/// The API router (`POST /v1/instances`).
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/instances", post(instances))
        .with_state(state)
}

fn answer(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    answer(status, &json!({ "error": code, "message": message }))
}

/// The instances of a body: an array of objects, or one object.
fn parse(bytes: &[u8]) -> Result<Vec<Instance>, Invalid> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| Invalid {
        code: JSON_INVALID,
        detail: format!(
            "the body is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
    })?;
    let items = match value {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => {
            return Err(Invalid {
                code: JSON_INVALID,
                detail: "the body is neither an array of instances nor an instance".into(),
            });
        }
    };
    if items.is_empty() {
        return Err(Invalid {
            code: JSON_INVALID,
            detail: "the body holds no instance".into(),
        });
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            from_json(item).map_err(|e| Invalid {
                code: e.code,
                detail: format!("instance {i}: {}", e.detail),
            })
        })
        .collect()
}

async fn instances(State(state): State<ApiState>, request: Request) -> Response {
    let started = Instant::now();
    let metrics = &state.ingest.metrics;
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let sender = match state.senders.authenticate(authorization) {
        AuthOutcome::Allowed(sender) => sender,
        AuthOutcome::Unauthenticated => {
            metrics.request("unknown", "unauthorized", started.elapsed().as_secs_f64());
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid bearer token is required",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"imaging\""),
            );
            return response;
        }
        AuthOutcome::Forbidden(sender) => {
            metrics.request(&sender.code, "forbidden", started.elapsed().as_secs_f64());
            return error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this sender delivers through its drop folder only",
            );
        }
    };
    // The permit is taken after the token check and before the body is read. The check reads
    // one header and hashes it (about what the 503 itself costs), so a flood pays little more
    // for it, and without a valid token nobody can take the permits real senders need. Held
    // until the answer is produced, i.e. through the broker's confirmation.
    let Some(_admitted) = state.in_flight.try_admit() else {
        metrics.request(&sender.code, BUSY, started.elapsed().as_secs_f64());
        debug!(sender = %sender.code, limit = state.in_flight.limit(), "Busy; answering 503.");
        return busy(state.retry_after);
    };
    let Ok(bytes) = to_bytes(request.into_body(), state.max_body_bytes).await else {
        metrics.request(&sender.code, "too_large", started.elapsed().as_secs_f64());
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            &format!(
                "the body exceeds {} bytes; send fewer instances per request",
                state.max_body_bytes
            ),
        );
    };
    metrics.bytes(&sender.code, Channel::Http, bytes.len() as u64);
    let instances = match parse(&bytes) {
        Ok(instances) => instances,
        Err(e) => {
            let kept = state
                .ingest
                .dead_letter(
                    &sender,
                    Channel::Http,
                    &bytes,
                    DICOM_JSON,
                    e.code,
                    &e.detail,
                )
                .await;
            let seconds = started.elapsed().as_secs_f64();
            if !kept {
                metrics.request(&sender.code, "unavailable", seconds);
                return unavailable(&state, json!({ "error": e.code, "message": e.detail }));
            }
            metrics.request(&sender.code, "bad_request", seconds);
            return error(StatusCode::BAD_REQUEST, e.code, &e.detail);
        }
    };
    if instances.len() > state.max_instances {
        metrics.request(&sender.code, "too_large", started.elapsed().as_secs_f64());
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_instances",
            &format!("more than {} instances in one request", state.max_instances),
        );
    }
    let stored = state
        .ingest
        .store(&sender, Channel::Http, &instances, &now_rfc3339())
        .await;
    let durable = stored.iter().all(|s| *s);
    let body = json!({
        "status": if durable { "stored" } else { "incomplete" },
        "received": instances.len(),
        "stored": stored.iter().filter(|s| **s).count(),
        "instances": instances.iter().zip(&stored).map(|(i, s)| json!({
            "sop_instance_uid": i.sop_instance_uid,
            "status": if *s { "stored" } else { "not_stored" },
        })).collect::<Vec<_>>(),
    });
    let outcome = if durable { "accepted" } else { "unavailable" };
    metrics.request(&sender.code, outcome, started.elapsed().as_secs_f64());
    info!(sender = %sender.code, instances = instances.len(), outcome,
        elapsed_ms = started.elapsed().as_millis() as u64, "DICOM JSON request answered.");
    if durable {
        answer(StatusCode::OK, &body)
    } else {
        warn!(sender = %sender.code, "Request not fully durable; answering 503.");
        unavailable(&state, body)
    }
}

fn unavailable(state: &ApiState, body: Value) -> Response {
    let mut response = answer(StatusCode::SERVICE_UNAVAILABLE, &body);
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(state.retry_after.as_secs()),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_arrays_of_instances_or_one_instance() {
        let one = br#"{"00080018":{"vr":"UI","Value":["1.2.3.4"]},"0020000D":{"vr":"UI","Value":["1.2.3"]}}"#;
        assert_eq!(parse(one).unwrap().len(), 1);
        let two = format!(
            "[{}, {}]",
            String::from_utf8_lossy(one),
            String::from_utf8_lossy(one)
        );
        assert_eq!(parse(two.as_bytes()).unwrap().len(), 2);
        assert_eq!(parse(b"[]").unwrap_err().code, JSON_INVALID);
        assert_eq!(parse(b"{oops").unwrap_err().code, JSON_INVALID);
        let bad = format!("[{}, {{}}]", String::from_utf8_lossy(one));
        let e = parse(bad.as_bytes()).unwrap_err();
        assert!(e.detail.starts_with("instance 1:"), "{}", e.detail);
    }
}
