//! Integration tests: the built binary on snapshot fixtures captured from the
//! test cluster (tests/fixtures/scenario.json), as-is and edited per case.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state expectations with unwrap

mod capture;
mod cli;
mod coverage;
mod findings;
#[path = "../common/fix.rs"]
mod fix;
mod fix_parser;
mod fixes;
mod fixtures;
mod fuzz;
mod generated;
mod hostile;
mod input;
mod junit;
mod name_forms;
mod output;
mod policy;
#[path = "../common/run.rs"]
mod run;
mod scan;
mod server;
mod verdict;
#[path = "../common/junit.rs"]
mod xsd;
