//! Integration tests of the imaging connector against the real broker (`HUB_TEST_KAFKA`), each
//! with its own random topics and folders, the connector in-process on port 0, and real DICOM
//! Part-10 files written by the tests with dicom-object.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

#[path = "it/busy.rs"]
mod busy;
#[path = "it/dicom_files.rs"]
mod dicom_files;
#[path = "it/files.rs"]
mod files;
#[path = "it/http.rs"]
mod http;
#[path = "it/support.rs"]
mod support;
