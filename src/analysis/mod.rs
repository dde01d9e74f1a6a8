//! Pure analysis: cluster state in, report out. No I/O, no clock.
//!
//! Two steps. [`Facts::compute`] reads what does not depend on the Service
//! (the cluster DNS, the zone CoreDNS serves, reads that failed) once;
//! [`diagnose_with`] diagnoses one Service with those facts. [`diagnose`]
//! does both for a single Service, so a scan of many Services and the
//! single-Service path run the same code.
//!
//! One file per family of checks. Every family has the one signature
//! `fn check(&Ctx, &Facts, &mut Out)`: the Service diagnosed (`Ctx`), the
//! cluster's [`Facts`], and an [`Out`] to add findings, `not_checked`
//! entries and name-form rows to. A new check goes into the file of its
//! family, or a new file listed in `CHECKS`; a new cluster-wide fact goes
//! into [`Facts`] (the cluster DNS is computed in `dns.rs`). `resolver.rs`
//! (a pod's resolver replayed), `pod_resolver.rs` (the resolver the kubelet
//! gives a real pod) and `zone.rs` (what CoreDNS answers) are no checks:
//! they are the models the name-form check (`forms.rs`) and the probe share.
//! `netpol.rs` is no check either: it evaluates NetworkPolicies for a pair
//! of pods (docs/netpol.md).

mod connect;
mod corefile;
mod dns;
mod endpoints;
mod external_name;
mod facts;
mod forms;
mod index;
pub mod netpol;
mod observe;
mod observe_scan;
mod pod_resolver;
mod pods;
mod policy;
mod ports;
mod resolver;
mod scan;
mod service;
mod statefulset;
mod text;
mod verdict;
mod zone;

pub use connect::{ConnectPlan, MAX_ENDPOINTS_PER_PORT, address_key, plan_connects};
pub use corefile::Corefile;
pub use facts::Facts;
pub use observe::{Observations, ProbeProblem, ProblemKind, Reach, View, ViewPlan, plan_views};
pub use observe_scan::{SeenConnections, merge_views, observations_for};
pub use pod_resolver::PodResolver;
pub use resolver::{Resolution, ResolverConf, replay};
pub use scan::{scan, scan_of, scan_targets};
pub use zone::{PodsMode, Zone};

use crate::model::{
    ClusterState, EndpointSummary, Finding, Kind, NameForm, NotChecked, ObjectRef, Pod, Report,
    Service, ServiceSummary, Severity,
};

/// What to diagnose.
#[derive(Debug, Clone)]
pub struct Target {
    pub namespace: String,
    pub name: String,
}

/// Knobs of a diagnosis that do not come from the cluster.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Client namespaces to explain name resolution for; empty = the
    /// Service's own namespace plus a hypothetical other one.
    pub from_namespaces: Vec<String>,
    /// Overrides the cluster domain found in the Corefile.
    pub cluster_domain: Option<String>,
    /// The existing pod observed from (`--from`): its rows carry
    /// `from_pod`.
    pub from_pod: Option<PodRef>,
}

/// A pod named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for PodRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// What the checks collect: findings, gaps and the name-form rows.
#[derive(Debug, Default)]
pub struct Out {
    pub findings: Vec<Finding>,
    pub not_checked: Vec<NotChecked>,
    pub name_forms: Vec<NameForm>,
}

impl Out {
    fn finding(
        &mut self,
        code: crate::model::Code,
        severity: Severity,
        message: String,
        fix: String,
        objects: Vec<ObjectRef>,
    ) {
        self.findings.push(Finding {
            code,
            severity,
            message,
            fix,
            objects,
        });
    }

    fn not_checked(&mut self, check: &str, reason: String, needs: String) {
        self.add_not_checked(NotChecked {
            check: check.to_owned(),
            reason,
            needs,
        });
    }

    /// Adds `entry` unless an equal one is there already, or one that asks
    /// for the same permission (one forbidden read, named once).
    fn add_not_checked(&mut self, entry: NotChecked) {
        let same_permission =
            |n: &NotChecked| entry.needs.starts_with("RBAC: ") && n.needs == entry.needs;
        if !self.not_checked.contains(&entry) && !self.not_checked.iter().any(same_permission) {
            self.not_checked.push(entry);
        }
    }
}

/// The one signature of a family of checks: the Service diagnosed, the
/// cluster's facts, and where to put what it finds.
pub(crate) type Check = fn(&Ctx<'_>, &Facts, &mut Out);

/// The families of per-Service checks, in the order they run. Their
/// `not_checked` entries come in that order, after the cluster DNS's and
/// before the failed reads' (see [`Facts`]).
const CHECKS: [Check; 10] = [
    service::check,
    external_name::check,
    statefulset::check,
    pods::check,
    ports::check,
    endpoints::check,
    forms::check,
    // After the name forms: it compares them with the probe's answers.
    observe::check,
    connect::check,
    // NetworkPolicies: marks the name-form rows of a client whose DNS is blocked.
    policy::check,
];

/// The subject of the checks: one Service and what belongs to it.
pub(crate) struct Ctx<'a> {
    pub state: &'a ClusterState,
    /// Where the state's objects are (from [`Facts`]).
    pub index: &'a index::Index,
    pub target: &'a Target,
    pub opts: &'a Options,
    /// What a probe saw (empty when none ran).
    pub observations: &'a Observations,
    pub service: Option<&'a Service>,
    /// Pods the Service's selector matches, sorted by name.
    pub pods: Vec<&'a Pod>,
    /// The Service's endpoints; `None` when its slices were not read.
    pub endpoints: Option<EndpointSummary>,
    /// At least one endpoint of the Service is ready (or, when the slices
    /// could not be read, at least one selected pod is Ready).
    pub any_ready: bool,
}

impl<'a> Ctx<'a> {
    fn new(
        state: &'a ClusterState,
        facts: &'a Facts,
        target: &'a Target,
        opts: &'a Options,
        observations: &'a Observations,
    ) -> Ctx<'a> {
        let index = &facts.index;
        let service = index.service(state, &target.namespace, &target.name);
        let mut pods: Vec<&Pod> = match service.and_then(|s| s.selector.as_ref()) {
            Some(sel) if !sel.is_empty() => index
                .pods_in(state, &target.namespace)
                .filter(|p| p.matches(sel))
                .collect(),
            _ => Vec::new(),
        };
        pods.sort_by(|a, b| a.name.cmp(&b.name));
        let endpoints = service.and_then(|svc| endpoints::summary(state, index, svc));
        let any_ready = match &endpoints {
            Some(e) => e.ready > 0,
            None => pods.iter().any(|p| p.is_ready()),
        };
        Ctx {
            state,
            index,
            target,
            opts,
            observations,
            service,
            pods,
            endpoints,
            any_ready,
        }
    }

    /// Severity for a pod-level cause: an error while nothing serves, else a warning.
    pub fn pod_severity(&self) -> Severity {
        if self.any_ready {
            Severity::Warning
        } else {
            Severity::Error
        }
    }

    /// Whether every `kind` in `namespace` was read; if not, records why in `out`.
    pub fn require(&self, out: &mut Out, check: &str, kind: Kind, namespace: &str) -> bool {
        require(self.state, out, check, kind, namespace)
    }

    /// Whether the presence of one object is known; if not, records why.
    pub fn require_object(
        &self,
        out: &mut Out,
        check: &str,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> bool {
        require_object(self.state, out, check, kind, namespace, name)
    }
}

/// Whether every `kind` in `namespace` was read; if not, records why in `out`.
fn require(state: &ClusterState, out: &mut Out, check: &str, kind: Kind, namespace: &str) -> bool {
    state.coverage.covers(kind, namespace) || gap(state, out, check, kind, namespace)
}

/// Whether the presence of one object is known; if not, records why.
fn require_object(
    state: &ClusterState,
    out: &mut Out,
    check: &str,
    kind: Kind,
    namespace: &str,
    name: &str,
) -> bool {
    state.coverage.covers_object(kind, namespace, name) || gap(state, out, check, kind, namespace)
}

/// Records in `out` why `kind` in `namespace` is unknown; returns false.
fn gap(state: &ClusterState, out: &mut Out, check: &str, kind: Kind, namespace: &str) -> bool {
    // The read of that namespace itself first, else a cluster-wide one.
    let failure = state
        .failures
        .iter()
        .find(|f| f.kind == kind && f.namespace.as_deref() == Some(namespace))
        .or_else(|| {
            state
                .failures
                .iter()
                .find(|f| f.kind == kind && f.namespace.is_none())
        });
    if let Some(f) = failure
        && shared_cause(state, f)
    {
        out.not_checked(SHARED_CHECK, f.reason.clone(), shared_needs(state, f));
        return false;
    }
    // A skipped snapshot object leaves its kind incomplete in its namespace.
    let skipped = state.skipped.iter().find(|s| {
        s.kind == kind.name() && s.namespace.as_deref().unwrap_or("default") == namespace
    });
    let (reason, needs) = match (failure, skipped) {
        (Some(f), _) if f.forbidden => (
            format!("forbidden: {}", f.reason),
            format!("RBAC: {}", f.what()),
        ),
        (Some(f), _) => (f.reason.clone(), f.what()),
        (None, Some(s)) => (
            format!(
                "{} could not be read, so the {} of namespace {namespace} are incomplete",
                s.what(),
                kind.resource()
            ),
            skipped_needs(s),
        ),
        // An empty `kubectl get networkpolicies` List names no namespace:
        // only a capture records that a namespace has none.
        (None, None) if kind == Kind::NetworkPolicy => (
            format!("the input holds no NetworkPolicies for namespace {namespace}"),
            format!(
                "a capture made with `--save-snapshot` (it records the list as read even when empty); `kubectl get networkpolicies -n {namespace} -o json` added to the snapshot counts only when it lists some"
            ),
        ),
        (None, None) => (
            format!(
                "the input holds no {} for namespace {namespace}",
                kind.resource()
            ),
            format!(
                "add `kubectl get {} -n {namespace} -o json` to the snapshot",
                kind.resource()
            ),
        ),
    };
    out.not_checked(check, reason, needs);
    false
}

/// Diagnose one Service: [`Facts::compute`], then [`diagnose_with`].
pub fn diagnose(state: &ClusterState, target: &Target, opts: &Options) -> Report {
    diagnose_with(state, &Facts::compute(state, opts), target, opts)
}

/// Diagnose one Service with facts computed once for the cluster: a scan
/// computes [`Facts`] once and calls this for each Service. `facts` must come
/// from the same `state` and `opts`. The cluster-wide findings and gaps are
/// part of every report, placed as if the Service's own checks had found
/// them.
pub fn diagnose_with(
    state: &ClusterState,
    facts: &Facts,
    target: &Target,
    opts: &Options,
) -> Report {
    diagnose_observed(state, facts, target, opts, &Observations::default())
}

/// [`diagnose_with`], with what a probe observed: each name-form row gets
/// its `observed` object, and every difference is explained.
pub fn diagnose_observed(
    state: &ClusterState,
    facts: &Facts,
    target: &Target,
    opts: &Options,
    observations: &Observations,
) -> Report {
    let ctx = Ctx::new(state, facts, target, opts, observations);
    let mut out = Out::default();
    out.findings.extend(facts.findings.iter().cloned());
    for entry in &facts.not_checked {
        out.add_not_checked(entry.clone());
    }
    for check in CHECKS {
        check(&ctx, facts, &mut out);
    }
    for entry in &facts.read_gaps {
        out.add_not_checked(entry.clone());
    }
    collapse_unread_service(state, target, &mut out);
    out.findings
        .sort_by(|a, b| (a.severity, a.code, &a.message).cmp(&(b.severity, b.code, &b.message)));

    let (verdict, verdict_reason) = verdict::decide(&ctx, &out);
    // The selected pods, when they were read (a selectorless Service selects
    // none); those that were read when the read was incomplete (a skipped
    // snapshot object), whose gap not_checked names.
    let backends_read = match ctx.service.and_then(|s| s.selector.as_ref()) {
        Some(sel) => {
            !ctx.pods.is_empty()
                || state
                    .coverage
                    .covers_selection(Kind::Pod, &target.namespace, sel)
        }
        None => true,
    };
    Report {
        api_version: crate::model::API_VERSION,
        kind: crate::model::KIND,
        verdict,
        verdict_reason,
        service: summary(state, ctx.index, target, ctx.service),
        backends: backends_read.then(|| ctx.pods.iter().map(|p| pods::backend(p)).collect()),
        endpoints: ctx.endpoints,
        dns: facts.dns.clone(),
        findings: out.findings,
        name_forms: out.name_forms,
        not_checked: out.not_checked,
        probe: observations.summary.clone(),
        connections: observations.connections.clone(),
    }
}

/// The `check` of the one entry that stands for reads that failed alike.
const SHARED_CHECK: &str = "cluster reads";

/// Whether `f` failed for a cause other reads share (the server unreachable,
/// a TLS error, a timeout, rejected credentials): such reads get one entry
/// between them. A 403 names one verb and resource, so it keeps its own.
fn shared_cause(state: &ClusterState, f: &crate::model::ReadFailure) -> bool {
    !f.forbidden
        && state
            .failures
            .iter()
            .filter(|o| !o.forbidden && o.reason == f.reason)
            .nth(1)
            .is_some()
}

fn shared_needs(state: &ClusterState, f: &crate::model::ReadFailure) -> String {
    let n = state
        .failures
        .iter()
        .filter(|o| !o.forbidden && o.reason == f.reason)
        .count();
    format!(
        "an API server that answers: {n} reads failed alike (check the server address, the network and the credentials; `kubectl cluster-info` tries the same connection)"
    )
}

/// When the Service itself was not read for a shared cause, nothing was
/// checked: the entry for that cause says it all, beside any 403s.
fn collapse_unread_service(state: &ClusterState, target: &Target, out: &mut Out) {
    let unread =
        state.failures.iter().any(|f| {
            f.kind == Kind::Service
                && f.namespace.as_deref().is_none_or(|n| n == target.namespace)
                && shared_cause(state, f)
        }) && !state
            .coverage
            .covers_object(Kind::Service, &target.namespace, &target.name);
    if unread {
        out.not_checked
            .retain(|n| n.check == SHARED_CHECK || n.needs.starts_with("RBAC: "));
    }
}

/// What it takes to read a skipped snapshot object.
fn skipped_needs(s: &crate::model::SkippedObject) -> String {
    let get = match (&s.name, &s.namespace) {
        (Some(name), Some(ns)) => format!(
            " (`kubectl get {} {name} -n {ns} -o json`)",
            s.kind.to_lowercase()
        ),
        _ => String::new(),
    };
    format!(
        "a {} that matches the Kubernetes API: correct it or capture it again{get}",
        s.kind
    )
}

fn summary(
    state: &ClusterState,
    index: &index::Index,
    target: &Target,
    svc: Option<&Service>,
) -> ServiceSummary {
    ServiceSummary {
        namespace: target.namespace.clone(),
        name: target.name.clone(),
        found: if svc.is_some() {
            Some(true)
        } else {
            index
                .service_presence_known(state, &target.namespace, &target.name)
                .then_some(false)
        },
        type_: svc.map(|s| s.type_),
        cluster_ips: svc.map(|s| s.cluster_ips.clone()).unwrap_or_default(),
        headless: svc.is_some_and(|s| s.headless),
        external_name: svc.and_then(|s| s.external_name.clone()),
        selector: svc.and_then(|s| s.selector.clone()),
        ports: svc
            .map(|s| {
                s.ports
                    .iter()
                    .map(|p| crate::model::PortSummary {
                        name: p.name.clone(),
                        port: p.port,
                        target_port: p.target_port.clone(),
                        protocol: p.protocol.clone(),
                        node_port: p.node_port,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        publish_not_ready_addresses: svc.is_some_and(|s| s.publish_not_ready_addresses),
    }
}

/// Turn a list of pods into `ObjectRef`s.
fn pod_refs<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> Vec<ObjectRef> {
    pods.into_iter()
        .map(|p| ObjectRef::new("Pod", &p.namespace, &p.name))
        .collect()
}

/// `a, b and 3 more`
fn name_list<'a>(names: impl IntoIterator<Item = &'a str>, max: usize) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    if names.len() <= max {
        names.join(", ")
    } else {
        format!("{} and {} more", names[..max].join(", "), names.len() - max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Code, Endpoint, EndpointSlice, ReadFailure};

    fn failure(verb: &'static str, kind: Kind, ns: Option<&str>, required: bool) -> ReadFailure {
        ReadFailure {
            verb,
            kind,
            namespace: ns.map(str::to_owned),
            reason: "cannot reach the API server: Connection refused (os error 111)".to_owned(),
            forbidden: false,
            required,
        }
    }

    fn target() -> Target {
        Target {
            namespace: "default".to_owned(),
            name: "web".to_owned(),
        }
    }

    #[test]
    fn an_unreachable_server_is_one_not_checked_entry() {
        let state = ClusterState {
            origin: crate::model::Origin::Live,
            failures: vec![
                failure("list", Kind::Service, None, false),
                failure("get", Kind::Service, Some("default"), true),
                failure("list", Kind::EndpointSlice, Some("default"), true),
                failure("list", Kind::Event, Some("default"), false),
                failure("list", Kind::Namespace, None, false),
                failure("get", Kind::Service, Some("kube-system"), false),
                failure("list", Kind::EndpointSlice, Some("kube-system"), false),
                failure("list", Kind::Pod, Some("kube-system"), false),
                failure("get", Kind::ConfigMap, Some("kube-system"), false),
                failure("get", Kind::DaemonSet, Some("kube-system"), false),
            ],
            ..ClusterState::default()
        };
        let report = diagnose(&state, &target(), &Options::default());
        assert_eq!(report.not_checked.len(), 1, "{:#?}", report.not_checked);
        let entry = &report.not_checked[0];
        assert_eq!(entry.check, SHARED_CHECK);
        assert!(entry.reason.contains("Connection refused"));
        assert!(
            entry.needs.contains("10 reads failed alike"),
            "{}",
            entry.needs
        );
        assert!(!entry.needs.contains("RBAC"));
    }

    #[test]
    fn forbidden_reads_keep_one_entry_each() {
        let forbidden = |verb, kind, ns: Option<&str>| ReadFailure {
            reason: format!("{kind:?} is forbidden: User \"dev\" cannot {verb} it"),
            forbidden: true,
            ..failure(verb, kind, ns, false)
        };
        let mut state = crate::model::ClusterState {
            origin: crate::model::Origin::Live,
            failures: vec![
                forbidden("list", Kind::Service, None),
                forbidden("list", Kind::Namespace, None),
                forbidden("get", Kind::ConfigMap, Some("kube-system")),
            ],
            ..ClusterState::default()
        };
        state.coverage.add_object(Kind::Service, "default", "web");
        let report = diagnose(&state, &target(), &Options::default());
        let rbac: Vec<&str> = report
            .not_checked
            .iter()
            .filter(|n| n.needs.starts_with("RBAC: "))
            .map(|n| n.needs.as_str())
            .collect();
        assert!(
            rbac.contains(&"RBAC: list services (cluster-wide)"),
            "{rbac:?}"
        );
        assert!(
            rbac.contains(&"RBAC: list namespaces (cluster-wide)"),
            "{rbac:?}"
        );
        assert!(
            rbac.contains(&"RBAC: get configmaps in namespace kube-system"),
            "{rbac:?}"
        );
        assert!(report.not_checked.iter().all(|n| n.check != SHARED_CHECK));
    }

    /// Each report, diagnosed alone and with one `Facts` for all, as JSON.
    fn alone_and_shared(
        state: &ClusterState,
        targets: &[Target],
        opts: &Options,
    ) -> Vec<(String, String)> {
        let facts = Facts::compute(state, opts);
        let json = |r: Report| serde_json::to_string_pretty(&r).unwrap();
        targets
            .iter()
            .map(|t| {
                (
                    json(diagnose(state, t, opts)),
                    json(diagnose_with(state, &facts, t, opts)),
                )
            })
            .collect()
    }

    #[test]
    fn two_services_with_one_facts_get_the_reports_each_gets_alone() {
        let web = |ns: &str| Service {
            namespace: ns.into(),
            name: "web".into(),
            cluster_ips: vec![format!("10.96.1.{}", ns.len())],
            selector: Some([("app".to_owned(), "web".to_owned())].into()),
            ..Service::default()
        };
        let slice = |ns: &str, ready: bool| EndpointSlice {
            namespace: ns.into(),
            name: "web-x".into(),
            service_name: Some("web".into()),
            endpoints: vec![Endpoint {
                addresses: vec!["10.244.0.9".into()],
                ready: Some(ready),
                serving: Some(ready),
                terminating: Some(false),
                hostname: None,
                pod: None,
                node_name: None,
            }],
            ..EndpointSlice::default()
        };
        let mut state = ClusterState {
            // kube-dns with no endpoint: a cluster-wide error in both reports.
            services: vec![
                web("default"),
                web("shop"),
                Service {
                    namespace: crate::model::KUBE_SYSTEM.into(),
                    name: crate::model::KUBE_DNS.into(),
                    cluster_ips: vec!["10.96.0.10".into()],
                    ..Service::default()
                },
            ],
            endpoint_slices: vec![slice("default", true), slice("shop", false)],
            failures: vec![failure("list", Kind::Event, Some("default"), false)],
            ..ClusterState::default()
        };
        for kind in [
            Kind::Service,
            Kind::EndpointSlice,
            Kind::Pod,
            Kind::Namespace,
        ] {
            state.coverage.add_all(kind);
        }
        state.namespaces = ["default", "shop", "kube-system"].map(String::from).into();
        let targets = ["default", "shop"].map(|ns| Target {
            namespace: ns.to_owned(),
            name: "web".to_owned(),
        });
        for opts in [
            Options::default(),
            Options {
                from_namespaces: vec!["shop".into(), "default".into()],
                cluster_domain: Some("corp.example".into()),
                from_pod: None,
            },
        ] {
            let reports = alone_and_shared(&state, &targets, &opts);
            for (alone, shared) in &reports {
                assert_eq!(alone, shared);
            }
            // The two reports differ, and share the cluster-wide parts.
            assert_ne!(reports[0].0, reports[1].0);
            let facts = Facts::compute(&state, &opts);
            assert!(
                facts
                    .findings
                    .iter()
                    .any(|f| f.code == Code::DnsNoReadyEndpoints)
            );
            for t in &targets {
                let r = diagnose_with(&state, &facts, t, &opts);
                for f in &facts.findings {
                    assert!(
                        r.findings
                            .iter()
                            .any(|g| (g.code, &g.message) == (f.code, &f.message)),
                        "{t:?}: {f:?}"
                    );
                }
                assert!(r.not_checked.iter().any(|n| n.check == "read events"));
            }
        }
    }

    #[test]
    fn every_service_of_the_scenario_with_one_facts_gets_the_report_it_gets_alone() {
        let state = crate::source::snapshot::from_bytes(
            std::path::Path::new("scenario.json"),
            include_bytes!("../../tests/fixtures/scenario.json").to_vec(),
        )
        .unwrap();
        let mut targets: Vec<Target> = state
            .services
            .iter()
            .map(|s| Target {
                namespace: s.namespace.clone(),
                name: s.name.clone(),
            })
            .collect();
        targets.push(Target {
            namespace: "default".into(),
            name: "no-such-service".into(),
        });
        assert!(targets.len() > 5);
        for opts in [
            Options::default(),
            Options {
                from_namespaces: vec!["trouble".into()],
                cluster_domain: Some("corp.example".into()),
                from_pod: None,
            },
        ] {
            for (alone, shared) in alone_and_shared(&state, &targets, &opts) {
                assert_eq!(alone, shared);
            }
        }
    }

    /// docs/findings.md names, in its headings, the file that emits each code.
    #[test]
    fn each_finding_is_emitted_in_the_file_its_heading_names() {
        let sources = [
            ("connect.rs", include_str!("connect.rs")),
            ("dns.rs", include_str!("dns.rs")),
            ("endpoints.rs", include_str!("endpoints.rs")),
            ("external_name.rs", include_str!("external_name.rs")),
            ("forms.rs", include_str!("forms.rs")),
            ("observe.rs", include_str!("observe.rs")),
            ("pods.rs", include_str!("pods.rs")),
            ("policy.rs", include_str!("policy.rs")),
            ("ports.rs", include_str!("ports.rs")),
            ("service.rs", include_str!("service.rs")),
            ("statefulset.rs", include_str!("statefulset.rs")),
        ];
        // The file in a heading: `## Pods (`pods.rs`)`, `### `x` — error (`x.rs`)`.
        fn file_in(heading: &str) -> Option<&str> {
            let (_, rest) = heading.rsplit_once("(`")?;
            rest.strip_suffix("`)").filter(|f| f.ends_with(".rs"))
        }
        let mut section = None;
        let mut seen = 0;
        for line in include_str!("../../docs/findings.md").lines() {
            if line.starts_with("## ") {
                section = file_in(line);
            }
            let Some(code) = line
                .strip_prefix("### `")
                .and_then(|l| l.split_once('`'))
                .map(|(code, _)| code)
            else {
                continue;
            };
            let code = crate::model::Code::ALL
                .iter()
                .find(|c| c.as_str() == code)
                .unwrap_or_else(|| panic!("unknown code {code}"));
            let file = file_in(line).or(section).expect("a file in the heading");
            let (_, text) = sources
                .iter()
                .find(|(name, _)| *name == file)
                .unwrap_or_else(|| panic!("{file} is no family of checks"));
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            assert!(
                text.contains(&format!("Code::{code:?},")),
                "{code} is not emitted in {file}"
            );
            seen += 1;
        }
        assert_eq!(seen, crate::model::Code::ALL.len());
    }
}
