//! The shared model: cluster state in (`state`), report out (`report`).

pub mod observed;
pub mod report;
pub mod state;

pub use observed::*;
pub use report::*;
pub use state::*;
