//! Where cluster state comes from: the API server ([`live`]) or files
//! ([`snapshot`]). Both produce the same [`crate::model::ClusterState`]
//! through the same conversions ([`convert`]).

pub mod convert;
pub mod live;
pub mod snapshot;
