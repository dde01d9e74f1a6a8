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

    /// A snapshot path that is not a regular file (a FIFO, socket or device):
    /// reading it could block for ever, so it is refused before it is opened.
    #[error("cannot read snapshot {}: it is {what}, not a regular file; give a file, a directory, or `-` to read a pipe from stdin", path.display())]
    SnapshotNotFile {
        path: PathBuf,
        /// What it is instead, e.g. `a FIFO (named pipe)`.
        what: &'static str,
    },

    /// A snapshot input larger than `--max-snapshot-size`.
    #[error("snapshot {} is {}, over the {} limit; raise the limit with --max-snapshot-size (e.g. --max-snapshot-size {})", path.display(), size.map_or_else(|| format!("more than {}", crate::source::snapshot::format_size(*limit)), crate::source::snapshot::format_size), crate::source::snapshot::format_size(*limit), crate::source::snapshot::suggest_size(*size, *limit))]
    SnapshotTooLarge {
        path: PathBuf,
        /// The file's size; `None` for stdin (only known to exceed the limit).
        size: Option<u64>,
        limit: u64,
    },

    /// A snapshot that parses but holds no Kubernetes object, with what it
    /// looks like instead (kubectl's table output, an error message, …).
    #[error("snapshot {} holds no Kubernetes object: {message}", path.display())]
    SnapshotNoObject { path: PathBuf, message: String },

    /// The `--save-snapshot` file cannot be written.
    #[error("cannot write the capture {}: {source}", path.display())]
    SaveSnapshot {
        path: PathBuf,
        #[source]
        source: std::io::Error,
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

    /// The API server refused the credentials (HTTP 401).
    #[error(
        "cannot read the cluster: Unauthorized: the API server rejected the credentials (HTTP 401 for GET {path}): a token that expired or was revoked, or a client certificate it does not trust; log in again or refresh the kubeconfig"
    )]
    Unauthorized {
        /// The path of the read refused.
        path: String,
    },

    /// Interrupted by the user.
    #[error("interrupted")]
    Interrupted,
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
