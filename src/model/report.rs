//! The report: the contract with users and machines (`-o json|yaml`).
//!
//! Field names are snake_case, as documented in docs/report.md and pinned by
//! docs/report.schema.json. Adding a field is compatible; renaming is not.

use serde::Serialize;

use super::observed::{Connection, Observed, ProbeSummary};
use super::state::{ServiceType, TargetPort};

pub const API_VERSION: &str = "svcdiscover/v1alpha1";
pub const KIND: &str = "Diagnosis";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(rename = "apiVersion")]
    pub api_version: &'static str,
    pub kind: &'static str,
    /// The answer in one word: see [`Verdict`].
    pub verdict: Verdict,
    /// The main reason for the verdict, in a few words.
    pub verdict_reason: String,
    pub service: ServiceSummary,
    /// The selected pods; `None` when they could not be read.
    pub backends: Option<Vec<Backend>>,
    /// `None` when the EndpointSlices could not be read.
    pub endpoints: Option<EndpointSummary>,
    pub dns: DnsSummary,
    pub findings: Vec<Finding>,
    pub name_forms: Vec<NameForm>,
    pub not_checked: Vec<NotChecked>,
    /// Observations from inside the cluster; `None` until a probe ran.
    pub probe: Option<ProbeSummary>,
    /// The TCP connections `--connect` opened from inside the cluster;
    /// `None` when none was asked for or the probe could not run.
    pub connections: Option<Vec<Connection>>,
}

impl Report {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// Can pods reach the Service? Never `Reachable` without evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No error finding; the Service and its endpoints were read.
    Reachable,
    /// Warnings only: it serves, but something is off.
    Degraded,
    /// At least one error finding.
    Unreachable,
    /// What the verdict needs could not be read.
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Reachable => "reachable",
            Verdict::Degraded => "degraded",
            Verdict::Unreachable => "unreachable",
            Verdict::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceSummary {
    pub namespace: String,
    pub name: String,
    /// `None` when its presence is unknown (not read, not captured).
    pub found: Option<bool>,
    #[serde(rename = "type")]
    pub type_: Option<ServiceType>,
    pub cluster_ips: Vec<String>,
    pub headless: bool,
    pub external_name: Option<String>,
    /// `None` for a selectorless Service (or when the Service was not found).
    pub selector: Option<std::collections::BTreeMap<String, String>>,
    pub ports: Vec<PortSummary>,
    pub publish_not_ready_addresses: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PortSummary {
    pub name: Option<String>,
    pub port: i32,
    pub target_port: TargetPort,
    pub protocol: String,
    pub node_port: Option<i32>,
}

/// A pod the Service selects.
#[derive(Debug, Clone, Serialize)]
pub struct Backend {
    pub pod: String,
    pub ready: bool,
    pub phase: Option<String>,
    /// The most telling state: a waiting reason, `Terminating`, `Running`, …
    pub status: String,
    pub ip: Option<String>,
    pub node: Option<String>,
    pub restarts: i32,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointSummary {
    pub slices: usize,
    pub ready: usize,
    pub serving: usize,
    pub terminating: usize,
    pub not_ready: usize,
    /// The slices were converted from v1 Endpoints (a snapshot without slices).
    pub from_endpoints: bool,
    pub addresses: Vec<EndpointAddress>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointAddress {
    pub ip: String,
    pub pod: Option<String>,
    pub node: Option<String>,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DnsSummary {
    pub cluster_domain: String,
    /// Where the domain came from: `flag`, `corefile` or `default`.
    pub cluster_domain_source: DomainSource,
    /// `None` when kube-system could not be read.
    pub service_found: Option<bool>,
    pub cluster_ip: Option<String>,
    pub ready_endpoints: Option<usize>,
    pub pods: Vec<Backend>,
    pub corefile: Option<CorefileSummary>,
    pub node_local_dns: Option<bool>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DomainSource {
    Flag,
    Corefile,
    Default,
}

#[derive(Debug, Clone, Serialize)]
pub struct CorefileSummary {
    /// Zones of the `kubernetes` plugin (empty when it has none).
    pub kubernetes_zones: Vec<String>,
    pub forward: Vec<String>,
    pub loop_plugin: bool,
    /// The `pods` mode of the kubernetes plugin (`disabled` when absent).
    pub pods: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Defines [`Code`] and its one list, so a variant cannot be added without
/// its spelling and a place in [`Code::ALL`].
macro_rules! codes {
    ($($variant:ident => $text:literal,)*) => {
        /// A stable finding code; the catalogue in docs/findings.md explains each.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in catalogue order: the list docs/findings.md and
            /// the schema are checked against.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }
        }
    };
}

codes! {
    ServiceNotFound => "service-not-found",
    SelectorMatchesNoPods => "selector-matches-no-pods",
    SelectorExcludesPods => "selector-excludes-pods",
    PodsNotReady => "pods-not-ready",
    ImagePullFailure => "image-pull-failure",
    CrashLoop => "crash-loop",
    ContainerConfigError => "container-config-error",
    PodUnschedulable => "pod-unschedulable",
    PodRestarts => "pod-restarts",
    TargetPortMismatch => "target-port-mismatch",
    NoReadyEndpoints => "no-ready-endpoints",
    TerminatingEndpoints => "terminating-endpoints",
    EndpointsOutOfSync => "endpoints-out-of-sync",
    SelectorlessService => "selectorless-service",
    ExternalNameService => "external-name-service",
    ExternalNameUnresolvable => "external-name-unresolvable",
    HeadlessService => "headless-service",
    StatefulsetServiceMismatch => "statefulset-service-mismatch",
    PublishNotReadyAddresses => "publish-not-ready-addresses",
    DnsServiceMissing => "dns-service-missing",
    DnsNoReadyEndpoints => "dns-no-ready-endpoints",
    DnsCorefileMissing => "dns-corefile-missing",
    DnsCorefileNoKubernetes => "dns-corefile-no-kubernetes",
    ClusterDomainMismatch => "cluster-domain-mismatch",
    NodeLocalDns => "node-local-dns",
    NameShadowed => "name-shadowed",
    DnsMismatch => "dns-mismatch",
    SearchDomainWildcard => "search-domain-wildcard",
    ProbeImagePullFailed => "probe-image-pull-failed",
    ProbeForbidden => "probe-forbidden",
    ProbeRejected => "probe-rejected",
    ProbeTimeout => "probe-timeout",
    ProbeNotRun => "probe-not-run",
    ServiceProxyNotRouting => "service-proxy-not-routing",
    EndpointRefused => "endpoint-refused",
    DnsEgressBlocked => "dns-egress-blocked",
    EgressBlocked => "egress-blocked",
    IngressBlocked => "ingress-blocked",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &str, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            kind: kind.to_owned(),
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub fix: String,
    pub objects: Vec<ObjectRef>,
}

/// The four ways to type a Service's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Form {
    /// `svc`
    Short,
    /// `svc.ns`
    Namespaced,
    /// `svc.ns.svc`
    Svc,
    /// `svc.ns.svc.<domain>`
    Fqdn,
    /// `<hostname>.svc.ns.svc.<domain>`: one pod of a StatefulSet behind a headless Service.
    Pod,
}

/// What the cluster DNS answers for one absolute name (A/AAAA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "rcode")]
pub enum Answer {
    /// NOERROR with addresses.
    Address {
        addresses: Vec<String>,
    },
    /// A CNAME (ExternalName); addresses when CoreDNS can resolve the target in-cluster.
    Cname {
        target: String,
        addresses: Vec<String>,
        /// Whether the target resolves; `None` when it is outside the cluster.
        resolves: Option<bool>,
    },
    /// NOERROR without records.
    Nodata,
    Nxdomain,
    /// Outside the cluster zone: the upstream resolver answers.
    Upstream,
    /// Not known: the objects that decide it were not read.
    Unknown,
}

impl Answer {
    /// `→ 10.96.0.1`, `→ CNAME x`, `NODATA`, `NXDOMAIN`, `upstream`.
    pub fn short(&self) -> String {
        match self {
            Answer::Address { addresses } if addresses.is_empty() => "→ no address".to_owned(),
            Answer::Address { addresses } => format!("→ {}", addresses.join(", ")),
            Answer::Cname { target, .. } => format!("→ CNAME {target}"),
            Answer::Nodata => "NODATA".to_owned(),
            Answer::Nxdomain => "NXDOMAIN".to_owned(),
            Answer::Upstream => "upstream".to_owned(),
            Answer::Unknown => "unknown".to_owned(),
        }
    }
}

/// One absolute name the resolver tries, and the predicted answer.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub name: String,
    pub answer: Answer,
    /// Why CoreDNS answers so.
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NameForm {
    pub name: String,
    pub form: Form,
    pub from_namespace: Option<String>,
    pub hypothetical: bool,
    pub expected_resolves: Option<bool>,
    /// Whether the name reaches this Service: `false` when another Service
    /// answers (shadowing), `None` when unknown.
    pub reaches_target: Option<bool>,
    pub expected_addresses: Vec<String>,
    pub expected_cname: Option<String>,
    pub answered_by: Option<String>,
    pub why: String,
    /// The resolver's walk, in order, up to the candidate that answers.
    pub candidates: Vec<Candidate>,
    /// The `--from` pod (`NS/POD`) whose resolver this row models and
    /// observes; `None` for a namespace's default resolver.
    pub from_pod: Option<String>,
    /// What a probe saw; `None` when not probed.
    pub observed: Option<Observed>,
}

/// A check that could not run, and what would let it run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotChecked {
    pub check: String,
    pub reason: String,
    pub needs: String,
}

pub const SCAN_KIND: &str = "Scan";

/// Every Service of a namespace or of the cluster (`--all`, `-A`): one
/// document with a summary and each Service's full report.
#[derive(Debug, Clone, Serialize)]
pub struct Scan {
    #[serde(rename = "apiVersion")]
    pub api_version: &'static str,
    pub kind: &'static str,
    /// The worst verdict of the Services (`unknown` when no Service could
    /// be scanned).
    pub verdict: Verdict,
    pub verdict_reason: String,
    pub summary: ScanSummary,
    /// One report per Service, worst verdict first. Cluster-wide findings
    /// are in `summary.cluster_findings` only, not repeated here; each
    /// verdict still counts them.
    pub reports: Vec<Report>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanSummary {
    /// The namespace scanned; `None` for every namespace.
    pub namespace: Option<String>,
    /// The `-l` selector, as given.
    pub selector: Option<String>,
    pub services: usize,
    pub by_verdict: VerdictCounts,
    /// Findings about the cluster rather than one Service (the cluster DNS),
    /// reported once.
    pub cluster_findings: Vec<Finding>,
    /// How the name forms were observed (`--probe pod|local`, `--from`):
    /// every client the scan's probe ran in; `None` when the scan only
    /// predicted. Each report has its own `probe`, with its clients only.
    /// (Boxed: a scan is mostly predicted, and a `Document` stays small.)
    pub probe: Option<Box<ProbeSummary>>,
    /// What of the scope could not be read, and so was not scanned: the
    /// namespaces whose Services could not be listed (one entry each, or one
    /// for them all when there are many).
    pub not_checked: Vec<NotChecked>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct VerdictCounts {
    pub reachable: usize,
    pub degraded: usize,
    pub unreachable: usize,
    pub unknown: usize,
}

impl VerdictCounts {
    pub fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Reachable => self.reachable += 1,
            Verdict::Degraded => self.degraded += 1,
            Verdict::Unreachable => self.unreachable += 1,
            Verdict::Unknown => self.unknown += 1,
        }
    }
}

impl Verdict {
    /// How bad, for ordering a scan worst first and choosing its exit
    /// code: unreachable, then unknown, then degraded, then reachable.
    pub fn badness(self) -> u8 {
        match self {
            Verdict::Unreachable => 3,
            Verdict::Unknown => 2,
            Verdict::Degraded => 1,
            Verdict::Reachable => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_match_their_json_spelling() {
        for &code in Code::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    /// docs/findings.md has a heading for every code, and the schema's enum
    /// lists exactly the codes.
    #[test]
    fn every_code_is_documented_and_in_the_schema() {
        let catalogue = include_str!("../../docs/findings.md");
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../docs/report.schema.json")).unwrap();
        let in_schema: std::collections::BTreeSet<String> =
            schema["$defs"]["finding"]["properties"]["code"]["enum"]
                .as_array()
                .expect("the schema enumerates finding codes")
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
        for &code in Code::ALL {
            assert!(
                catalogue.contains(&format!("### `{code}`")),
                "docs/findings.md has no heading for {code}"
            );
            assert!(in_schema.contains(code.as_str()), "the schema lacks {code}");
        }
        assert_eq!(
            in_schema.len(),
            Code::ALL.len(),
            "the schema lists unknown codes"
        );
    }
}
