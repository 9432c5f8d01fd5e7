//! `POST /v1/settlements`: a batch of settlement records, answered per record after every
//! accepted record is durable (commit-then-answer).
//!
//! Answers (always JSON):
//! - 200: every record is where it belongs. `records[i].status` is `accepted` (with its
//!   `message_id`) or `rejected` (with `error_code` and `errors`: field names and reasons, never
//!   values). Rejected records are also in the DLQ; fix and resend them.
//! - 503 + `Retry-After`: the broker did not confirm some records. `accepted` ones are durable;
//!   `not_stored` ones are not. Resending the whole batch is safe (deterministic keys, and
//!   downstream de-duplicates by event id).
//! - 503 + `Retry-After` + `{"error": "busy"}`: `max_in_flight_requests` requests are already
//!   under way ([`hub_ingress::inflight`]); the body was not read, nothing is stored.
//! - 400: the body is not a batch (not UTF-8, not JSON, wrong shape); the body is in the DLQ.
//! - 401 (no or unknown bearer token), 403 (the sender may not use HTTP), 413 (body larger than
//!   `max_body_bytes`; not read, not kept: the sender still has it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hub_ingress::inflight::{BUSY, InFlight, busy};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use crate::auth::{AuthOutcome, Senders};
use crate::ingest::{Ingest, Outcome, RecordOutcome, now_rfc3339};
use crate::metrics::Channel;
use crate::records::split_body;

/// What the API handler needs.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// Known senders.
    pub senders: Arc<Senders>,
    /// The ingest path.
    pub ingest: Arc<Ingest>,
    /// Largest body read.
    pub max_body_bytes: usize,
    /// `Retry-After` of a 503.
    pub retry_after: Duration,
    /// Requests under way at once (`max_in_flight_requests`).
    pub in_flight: InFlight,
}

/// The API router (`POST /v1/settlements`).
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/settlements", post(settlements))
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

/// One record's entry in the answer.
pub fn report(outcome: &RecordOutcome, position_name: &str) -> Value {
    let mut entry = match &outcome.outcome {
        Outcome::Stored { message_id } => json!({ "status": "accepted", "message_id": message_id }),
        Outcome::NotStored { message_id } => {
            json!({ "status": "not_stored", "message_id": message_id })
        }
        Outcome::Rejected {
            error_code,
            errors,
            dead_lettered,
        } => json!({
            "status": "rejected",
            "error_code": error_code,
            "errors": errors,
            "dead_lettered": dead_lettered,
        }),
    };
    entry[position_name] = json!(outcome.position);
    entry
}

async fn settlements(State(state): State<ApiState>, request: Request) -> Response {
    let started = Instant::now();
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let sender = match state.senders.authenticate(authorization) {
        AuthOutcome::Allowed(sender) => sender,
        AuthOutcome::Unauthenticated => {
            state.ingest.metrics.request(
                "unknown",
                "unauthorized",
                started.elapsed().as_secs_f64(),
            );
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid bearer token is required",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"settlements\""),
            );
            return response;
        }
        AuthOutcome::Forbidden(sender) => {
            let seconds = started.elapsed().as_secs_f64();
            state
                .ingest
                .metrics
                .request(&sender.code, "forbidden", seconds);
            return error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this sender delivers through its drop folder only",
            );
        }
    };
    let metrics = &state.ingest.metrics;
    // The permit is taken after the token check and before the body is read. The check reads
    // one header and hashes it (about what the 503 itself costs), so a flood pays little more
    // for it, and without a valid token nobody can take the permits real senders need. Held
    // until the answer is produced, i.e. through the broker's confirmation.
    let Some(_admitted) = state.in_flight.try_admit() else {
        metrics.request(&sender.code, BUSY, started.elapsed().as_secs_f64());
        debug!(sender = %sender.code, limit = state.in_flight.limit(), "Busy; answering 503.");
        return busy(state.retry_after);
    };
    let body: Body = request.into_body();
    let Ok(bytes) = to_bytes(body, state.max_body_bytes).await else {
        // Too large (or the client went away mid-body): nothing was read, so nothing is kept.
        metrics.request(&sender.code, "too_large", started.elapsed().as_secs_f64());
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            &format!(
                "the body exceeds {} bytes; split the batch",
                state.max_body_bytes
            ),
        );
    };
    metrics.bytes(&sender.code, Channel::Http, bytes.len());
    let records = match split_body(&bytes) {
        Ok(records) => records,
        Err(e) => {
            let detail = e.to_string();
            let kept = state
                .ingest
                .dead_letter_whole(&sender, &bytes, "application/json", e.code(), &detail)
                .await;
            if !kept {
                metrics.request(&sender.code, "unavailable", started.elapsed().as_secs_f64());
                return unavailable(&state, json!({ "error": e.code(), "message": detail }));
            }
            metrics.request(&sender.code, "bad_request", started.elapsed().as_secs_f64());
            return error(StatusCode::BAD_REQUEST, e.code(), &detail);
        }
    };
    let outcomes = state
        .ingest
        .ingest(&sender, Channel::Http, &records, &now_rfc3339())
        .await;
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(&o.outcome)).count();
    let accepted = count(|o| matches!(o, Outcome::Stored { .. }));
    let rejected = count(|o| matches!(o, Outcome::Rejected { .. }));
    let durable = outcomes.iter().all(RecordOutcome::is_durable);
    let body = json!({
        "status": if durable { "stored" } else { "incomplete" },
        "received": outcomes.len(),
        "accepted": accepted,
        "rejected": rejected,
        "not_stored": outcomes.len() - accepted - rejected,
        "records": outcomes.iter().map(|o| report(o, "index")).collect::<Vec<_>>(),
    });
    let outcome = match (durable, rejected) {
        (false, _) => "unavailable",
        (true, 0) => "accepted",
        (true, _) => "partially_rejected",
    };
    let seconds = started.elapsed().as_secs_f64();
    metrics.request(&sender.code, outcome, seconds);
    info!(sender = %sender.code, records = outcomes.len(), accepted, rejected, outcome,
        elapsed_ms = started.elapsed().as_millis() as u64, "Settlement batch answered.");
    if durable {
        answer(StatusCode::OK, &body)
    } else {
        warn!(sender = %sender.code, "Batch not fully durable; answering 503.");
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
