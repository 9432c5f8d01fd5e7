//! Integration tests of the settlement connector against the real broker (`HUB_TEST_KAFKA`),
//! each with its own random topics and folders, the connector in-process on port 0.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

#[path = "it/busy.rs"]
mod busy;
#[path = "it/dropfolder.rs"]
mod dropfolder;
#[path = "it/http.rs"]
mod http;
#[path = "it/support.rs"]
mod support;
