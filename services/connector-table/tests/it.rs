//! Integration tests of `connector-table` against real servers: PostgreSQL and MariaDB sources
//! with concurrent writers committing out of order, the broker (`HUB_TEST_KAFKA`), the hub's
//! PostgreSQL for the state, and the binary killed mid-batch.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

#[path = "it/kill.rs"]
mod kill;
#[path = "it/support.rs"]
mod support;
#[path = "it/writers.rs"]
mod writers;
