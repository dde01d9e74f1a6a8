//! End-to-end tests: the built binary against the real mini cluster
//! (kube-apiserver, controllers, kwok, CoreDNS) that `tests/run` starts.
//!
//! They need the environment `tests/run` exports (SVCDISCOVER_E2E_*) and
//! must run inside the cluster's network namespace. Without it they fail in
//! CI and are skipped, loudly, elsewhere.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state expectations with unwrap

mod cluster;
mod diagnose;
mod dns;
#[path = "../common/fix.rs"]
mod fix;
mod fixes;
mod negative;
#[path = "../common/run.rs"]
mod run;
