//! The shared model: cluster state in (`state`), report out (`report`).

pub mod report;
pub mod state;

pub use report::*;
pub use state::*;
