//! kubectl-svcdiscover: can a pod reach this Service by name, by which name
//! forms, from which namespaces, and if not, why and what to fix?
//!
//! Flow, one direction: [`cli`] → [`app`] → [`source`] (live or snapshot,
//! both yielding [`model::ClusterState`]) → [`analysis`] (pure) → [`render`].
//! Every room shares [`model`] and [`error`].

pub mod analysis;
pub mod app;
pub mod cli;
pub mod error;
pub mod exit;
pub mod model;
pub mod plan;
pub mod probe;
pub mod render;
pub mod source;
pub mod wait;
