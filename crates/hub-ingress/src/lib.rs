//! What the hub's push connectors (`connector-insurance`, `connector-imaging`) share, so that
//! each one keeps only its own format:
//! - [`auth`]: per-sender bearer tokens configured as SHA-256 hashes, looked up by the hash of
//!   the presented token;
//! - [`tls`]: an HTTPS listener for `axum::serve` from PEM files (rustls, aws-lc-rs provider);
//! - [`dropfolder`]: the drop-folder mechanics: `incoming/`, `done/`, `failed/`, a file read
//!   only once it stopped changing, atomic moves that never overwrite, error sidecars;
//! - [`inflight`]: the cap on API requests under way at once (`max_in_flight_requests`): a
//!   permit taken before the body is read, a 503 `busy` answer when none is free;
//! - [`lifecycle`]: the run of a bound connector (admin listener, readiness, API, scanner) and
//!   its graceful stop.

pub mod auth;
pub mod dropfolder;
pub mod inflight;
pub mod lifecycle;
pub mod tls;
