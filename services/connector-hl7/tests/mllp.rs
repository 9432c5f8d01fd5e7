//! Integration tests of the MLLP connector against the real broker (`HUB_TEST_KAFKA`), each with
//! its own random topics, the connector in-process on port 0.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

#[path = "mllp/access.rs"]
mod access;
#[path = "mllp/behaviour.rs"]
mod behaviour;
#[path = "mllp/fixtures.rs"]
mod fixtures;
#[path = "mllp/interop.rs"]
mod interop;
#[path = "mllp/malformed.rs"]
mod malformed;
#[path = "mllp/outage.rs"]
mod outage;
#[path = "mllp/shutdown.rs"]
mod shutdown;
#[path = "mllp/support.rs"]
mod support;
