//! The one error type of the library. The binary maps each variant to an
//! exit code (see `exit`): input problems are 2, cluster access problems 3.

use std::path::PathBuf;

/// Everything that can stop a diagnosis before it produces a report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad flag value or argument that clap cannot catch by itself.
    #[error("{0}")]
    Usage(String),

    /// A snapshot file or directory that cannot be read.
    #[error("cannot read snapshot {}: {source}", path.display())]
    SnapshotIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A snapshot document that does not parse, with its position.
    #[error("malformed snapshot {}{}: {message}", path.display(), position.map(|(l, c)| format!(" at line {l}, column {c}")).unwrap_or_default())]
    SnapshotParse {
        path: PathBuf,
        /// Line and column, 1-based.
        position: Option<(usize, usize)>,
        message: String,
    },

    /// The kubeconfig cannot be loaded or used.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),

    /// The cluster cannot be reached at all (before any read).
    #[error("cannot connect to the cluster: {0}")]
    Connect(String),

    /// The snapshot reader's task ended without a result (it panicked or was cancelled).
    #[error("the snapshot reader stopped: {0}")]
    SnapshotTask(#[source] tokio::task::JoinError),

    /// The report cannot be encoded in the requested format.
    #[error("cannot encode the report as {format}: {message}")]
    Encode {
        format: &'static str,
        message: String,
    },

    /// The report cannot be written to stdout.
    #[error("cannot write the report: {0}")]
    Output(#[source] std::io::Error),
    /// The server answers, but not as a Kubernetes API server would (a web
    /// page, a proxy's error page, a 404 for every path).
    #[error(
        "cannot reach the Kubernetes API: this does not look like a Kubernetes API server: {0}"
    )]
    NotApiServer(String),

    /// Interrupted by the user.
    #[error("interrupted")]
    Interrupted,
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
