//! What a probe observed from inside the cluster: the `observed` object of a
//! name-form row and the top-level `probe` object of a report
//! (docs/probe.md, docs/report.schema.json).

use serde::Serialize;

/// `status` of an observed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObservedStatus {
    /// The application view returned addresses.
    Resolved,
    /// Not found, and every candidate asked got NXDOMAIN (or none could be
    /// asked: getent alone cannot tell the failures apart).
    Nxdomain,
    /// Not found, at least one candidate got NOERROR without records.
    Nodata,
    /// Not found, at least one candidate got SERVFAIL (or REFUSED, NOTIMP…).
    Servfail,
    /// Not found, at least one candidate got no reply.
    Timeout,
    /// No tool could answer (none present, or each failed to run).
    Error,
}

impl ObservedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ObservedStatus::Resolved => "resolved",
            ObservedStatus::Nxdomain => "NXDOMAIN",
            ObservedStatus::Nodata => "NODATA",
            ObservedStatus::Servfail => "SERVFAIL",
            ObservedStatus::Timeout => "timeout",
            ObservedStatus::Error => "error",
        }
    }
}

/// A candidate's `rcode`, as glibc would treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ObservedRcode {
    /// NOERROR with data.
    Noerror,
    Nodata,
    Nxdomain,
    /// Also REFUSED, NOTIMP and other codes: glibc's `res_send` treats
    /// them all as "try the next server" and ends with TRY_AGAIN.
    Servfail,
    /// No reply, or no server reachable (connection refused).
    Timeout,
}

impl ObservedRcode {
    pub fn as_str(self) -> &'static str {
        match self {
            ObservedRcode::Noerror => "NOERROR",
            ObservedRcode::Nodata => "NODATA",
            ObservedRcode::Nxdomain => "NXDOMAIN",
            ObservedRcode::Servfail => "SERVFAIL",
            ObservedRcode::Timeout => "TIMEOUT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedCandidate {
    pub name: String,
    pub rcode: ObservedRcode,
}

/// The resolver as the client really had it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ResolverSeen {
    pub nameservers: Vec<String>,
    pub search: Vec<String>,
    pub ndots: usize,
}

/// How an observation was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// A probe Job the tool created in the client namespace.
    ProbePod,
    /// An exec into an existing pod (`--from`).
    Exec,
    /// An ephemeral debug container added to an existing pod (`--from`).
    Ephemeral,
    /// In-process, over a port-forward to a CoreDNS pod (`--probe local`).
    Local,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::ProbePod => "probe-pod",
            Via::Exec => "exec",
            Via::Ephemeral => "ephemeral",
            Via::Local => "local",
        }
    }
}

/// The observed fields of one name-form row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observed {
    pub status: ObservedStatus,
    pub addresses: Vec<String>,
    /// The absolute name (trailing dot) that answered, when known.
    pub answered_by: Option<String>,
    /// Every candidate asked, in search order; empty when no tool could
    /// ask per candidate.
    pub candidates: Vec<ObservedCandidate>,
    pub via: Via,
    pub resolver: ResolverSeen,
    /// Whether what was seen is what the row predicts (`false`: a
    /// `dns-mismatch` finding explains it); `None` when the prediction is
    /// unknown. Set by the analysis.
    pub as_predicted: Option<bool>,
    /// Caveats: a tool that failed, resolver differences, disagreements,
    /// and for rows observed under another search list, which one.
    pub notes: Vec<String>,
}

/// The top-level `probe` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeSummary {
    pub mode: ProbeMode,
    /// The probe image; `None` for `from` (the pod's own) and `local`.
    pub image: Option<String>,
    pub clients: Vec<ProbeClient>,
    pub cleanup: Cleanup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeMode {
    Pod,
    From,
    Local,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeClient {
    pub namespace: String,
    /// The pod the lookups ran in (the probe's, the `--from` pod, or for
    /// `local` the CoreDNS pod port-forwarded to); `None` when none started.
    pub pod: Option<String>,
    pub via: Via,
}

/// What became of what the probe created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cleanup {
    /// Everything the probe created was deleted.
    Deleted,
    /// Left in place on request (`--keep-probe`).
    Kept,
    /// A delete failed; the Job's deadline and TTL remove it later.
    Failed,
    /// Nothing was created (exec, local), or nothing could be.
    None,
}

/// What a `--connect` connection was made to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionTarget {
    /// The Service's ClusterIP, on the Service port.
    Service,
    /// One ready endpoint, on its target port.
    Endpoint,
}

impl ConnectionTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionTarget::Service => "service",
            ConnectionTarget::Endpoint => "endpoint",
        }
    }
}

/// How a TCP connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionResult {
    /// The handshake completed.
    Connected,
    /// The peer answered with a reset: nothing listens on that port.
    Refused,
    /// No answer within the per-connection timeout.
    Timeout,
    /// Anything else (no route to host, network unreachable, no tool to
    /// connect with): `detail` has the tool's words.
    Error,
}

impl ConnectionResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionResult::Connected => "connected",
            ConnectionResult::Refused => "refused",
            ConnectionResult::Timeout => "timeout",
            ConnectionResult::Error => "error",
        }
    }

    /// The word the probe script records.
    pub fn parse(word: &str) -> Option<ConnectionResult> {
        Some(match word {
            "connected" => ConnectionResult::Connected,
            "refused" => ConnectionResult::Refused,
            "timeout" => ConnectionResult::Timeout,
            "error" => ConnectionResult::Error,
            _ => return None,
        })
    }
}

/// One TCP connection the probe opened (`--connect`): an entry of the
/// report's `connections`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// Where it was opened from: the client namespace of a probe pod, or
    /// `NS/POD` for `--from`.
    pub from: String,
    pub address: String,
    pub port: u16,
    /// The Service port this connection stands for (its `port`).
    pub service_port: i32,
    pub target: ConnectionTarget,
    /// The endpoint's pod (its `targetRef`), when known; `None` for the
    /// ClusterIP.
    pub pod: Option<String>,
    pub result: ConnectionResult,
    /// The tool's words: its first line of output, or how it connected.
    pub detail: String,
}
