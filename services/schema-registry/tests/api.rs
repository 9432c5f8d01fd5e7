//! Integration tests of the registry's REST API against real PostgreSQL: each test starts the
//! service in-process on `127.0.0.1:0` with its own fresh database, and drives it over HTTP as a
//! Confluent client would.

#[path = "api/compatibility.rs"]
mod compatibility;
#[path = "api/config.rs"]
mod config;
#[path = "api/deletion.rs"]
mod deletion;
#[path = "api/errors.rs"]
mod errors;
#[path = "api/lifecycle.rs"]
mod lifecycle;
#[path = "api/registration.rs"]
mod registration;
#[path = "api/support.rs"]
mod support;
