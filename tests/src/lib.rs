//! End-to-end tests of the county health hub. The tests live beside this file:
//! `interop/` (third-party clients decode what the hub writes) and `compose/` (the deployment
//! file describes the same stack as the local one). Run them with `scripts/hub test`.
