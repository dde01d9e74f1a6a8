//! The shared model: cluster state in (`state`), report out (`report`).

pub mod netpol;
pub mod observed;
pub mod report;
pub mod selector;
pub mod state;

pub use netpol::*;
pub use observed::*;
pub use report::*;
pub use selector::{LabelSelector, SelectorError};
pub use state::*;
