//! Predicted versus observed: put what the probe saw beside each name-form
//! row, explain every difference (`dns-mismatch`), and report a probe that
//! could not run or a wildcard record that swallows search candidates.
//!
//! Pure: the probe's I/O (src/probe) hands its results over as
//! [`Observations`]; this file only compares.

use std::collections::{BTreeMap, BTreeSet};

use super::{Ctx, Facts, Out, ResolverConf};
use crate::model::{
    Answer, Code, Connection, NameForm, ObjectRef, Observed, ObservedRcode, ObservedStatus,
    ProbeSummary, Severity,
};

/// What the probe brought back, for the analysis.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    /// The user asked for the probe (`--probe pod|local`, `--from`): when it
    /// could not run the verdict is `unknown`. The default probe that could
    /// not run is a warning.
    pub required: bool,
    pub summary: Option<ProbeSummary>,
    /// One view per client resolver observed.
    pub views: Vec<View>,
    /// Why (part of) the probe could not run.
    pub problems: Vec<ProbeProblem>,
    /// Probe Jobs left in place (`--keep-probe`), `NS/NAME`.
    pub kept: Vec<String>,
    /// The TCP connections opened (`--connect`); `None` when none was asked
    /// for or no probe ran.
    pub connections: Option<Vec<Connection>>,
    /// The `from` (client namespace, or `NS/POD`) of each probe whose
    /// connections ran, in order: what a scan needs to tell a Service whose
    /// connections ran without any (`Some([])`) from one whose did not run.
    pub connected_from: Vec<String>,
}

impl Observations {
    /// Whether a probe ran or was attempted at all.
    pub fn attempted(&self) -> bool {
        self.summary.is_some() || !self.problems.is_empty()
    }
}

/// The answers one client resolver gave.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// The rows' `from_namespace`: `None` for the hypothetical "any other
    /// namespace" rows.
    pub client: Option<String>,
    /// `NS/POD` when observed from an existing pod (`--from`).
    pub from_pod: Option<String>,
    /// The search list the probe was told to use instead of its own
    /// (`LOCALDOMAIN`), for the hypothetical rows; `None` otherwise.
    pub search_override: Option<Vec<String>>,
    /// The probe's own namespace, when it differs from `client`.
    pub observed_in: Option<String>,
    /// Observed per typed name.
    pub names: BTreeMap<String, Observed>,
    /// Names that cannot exist which got an answer with data: (name,
    /// addresses).
    pub wildcard_hits: Vec<(String, Vec<String>)>,
}

/// A probe, or the probe of one client, that could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeProblem {
    /// The client namespace concerned.
    pub namespace: String,
    pub kind: ProblemKind,
    /// The server's or the tool's words.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The probe image cannot be pulled.
    ImagePull { image: String },
    /// A verb the probe needs is forbidden.
    Forbidden { verb: String, resource: String },
    /// Admission (Pod Security, a webhook, a quota) refused the probe.
    Rejected,
    /// Not scheduled, not started, or no answer in time.
    Timeout,
    /// The default probe was skipped, and why (`message`).
    NotRun,
}

/// The search list a client resolver is predicted to use, for the
/// comparison of what the probe reports.
fn predicted_search(row: &NameForm, facts: &Facts) -> Option<Vec<String>> {
    let ns = row.from_namespace.as_deref()?;
    if row.from_pod.is_some() {
        return None;
    }
    Some(ResolverConf::cluster_first(ns, facts.search_domain()).search)
}

/// Fill each row's `observed` from the views, then compare.
pub(crate) fn check(ctx: &Ctx<'_>, facts: &Facts, out: &mut Out) {
    let obs = ctx.observations;
    for p in &obs.problems {
        problem(ctx, p, obs.required, out);
    }
    let kube_dns_ip = facts.dns.cluster_ip.clone();
    for row in &mut out.name_forms {
        let Some(view) = obs
            .views
            .iter()
            .find(|v| v.client == row.from_namespace && v.from_pod == row.from_pod)
        else {
            continue;
        };
        let Some(seen) = view.names.get(&row.name) else {
            continue;
        };
        let mut seen = seen.clone();
        if let Some(search) = &view.search_override {
            seen.notes.insert(
                0,
                format!(
                    "observed from the probe in namespace {} with the search list of another namespace ({}), set through LOCALDOMAIN",
                    view.observed_in.as_deref().unwrap_or("?"),
                    search.join(" ")
                ),
            );
        }
        seen.as_predicted = row
            .expected_resolves
            .map(|_| difference(row, &seen, facts.dns_down.is_some()).is_none());
        row.observed = Some(seen);
    }
    let rows: Vec<NameForm> = out
        .name_forms
        .iter()
        .filter(|r| r.observed.is_some())
        .cloned()
        .collect();
    struct Group {
        why: String,
        fix: String,
        entries: Vec<String>,
    }
    let mut groups: Vec<Group> = Vec::new();
    for row in &rows {
        let Some(seen) = &row.observed else { continue };
        let Some(diff) = difference(row, seen, facts.dns_down.is_some()) else {
            continue;
        };
        let view = obs
            .views
            .iter()
            .find(|v| v.client == row.from_namespace && v.from_pod == row.from_pod);
        let expected_search = match view.and_then(|v| v.search_override.clone()) {
            Some(s) => Some(s),
            None => predicted_search(row, facts),
        };
        let timed_out = seen.status == ObservedStatus::Timeout
            || seen
                .candidates
                .iter()
                .any(|c| c.rcode == ObservedRcode::Timeout);
        // A timeout from a client whose DNS a NetworkPolicy blocks: that.
        let blocked = if timed_out {
            super::policy::timeout_cause(ctx, facts, row)
        } else {
            None
        };
        let cause = match blocked {
            Some(b) => Cause {
                why: format!("the lookup timed out: {} (dns-egress-blocked)", b.short),
                fix: b.fix,
            },
            None => first_cause(
                row,
                seen,
                kube_dns_ip.as_deref(),
                expected_search.as_deref(),
            ),
        };
        let entry = format!("`{}` from {}: {diff}", row.name, client_words(row));
        // One finding per cause (the same fix): the rows it explains listed.
        match groups.iter_mut().find(|g| g.fix == cause.fix) {
            Some(g) => g.entries.push(entry),
            None => groups.push(Group {
                why: cause.why,
                fix: cause.fix,
                entries: vec![entry],
            }),
        }
    }
    for g in groups {
        const SHOWN: usize = 3;
        let more = g.entries.len().saturating_sub(SHOWN);
        let mut listed = g.entries[..g.entries.len().min(SHOWN)].join("; ");
        if more > 0 {
            listed.push_str(&format!("; and {more} more"));
        }
        out.finding(
            Code::DnsMismatch,
            Severity::Error,
            format!("{listed}; {}", g.why),
            g.fix,
            vec![ObjectRef::new(
                "Service",
                &ctx.target.namespace,
                &ctx.target.name,
            )],
        );
    }
    // One wildcard finding per distinct name (views may share search domains).
    let mut seen_hits = BTreeSet::new();
    for view in &obs.views {
        for (name, addrs) in &view.wildcard_hits {
            let domain = name.split_once('.').map_or("", |(_, d)| d);
            if !seen_hits.insert(domain.to_owned()) {
                continue;
            }
            out.finding(
                Code::SearchDomainWildcard,
                Severity::Warning,
                format!(
                    "`{name}`, a name that cannot exist, resolves to {} from {}: a wildcard record under search domain {} answers every search candidate that reaches it, so names the cluster does not know resolve there instead of failing",
                    addrs.join(", "),
                    view.from_pod
                        .clone()
                        .or_else(|| view.client.clone().map(|c| format!("namespace {c}")))
                        .unwrap_or_else(|| "another namespace".to_owned()),
                    domain.trim_end_matches('.')
                ),
                format!(
                    "remove the wildcard record *.{} from that zone, or the domain from the search list (the node's resolv.conf for dnsPolicy Default, else the pods' dnsConfig searches: `kubectl {} -o custom-columns=pod:.metadata.name,dnspolicy:.spec.dnsPolicy,searches:.spec.dnsConfig.searches`); meanwhile call Services by their FQDN with a trailing dot",
                    domain.trim_end_matches('.'),
                    view.from_pod
                        .as_deref()
                        .and_then(|p| p.split_once('/'))
                        .map(|(ns, pod)| format!("-n {ns} get pod {pod}"))
                        .or_else(|| view.client.as_deref().map(|ns| format!("-n {ns} get pods")))
                        .unwrap_or_else(|| "get pods -A".to_owned())
                ),
                Vec::new(),
            );
        }
    }
}

fn client_words(row: &NameForm) -> String {
    match (&row.from_pod, &row.from_namespace) {
        (Some(p), _) => format!("pod {p}"),
        (None, Some(ns)) => format!("namespace {ns}"),
        (None, None) => "another namespace".to_owned(),
    }
}

/// What differs between the prediction and the observation, or `None`.
pub(crate) fn difference(row: &NameForm, seen: &Observed, dns_down: bool) -> Option<String> {
    let resolved = seen.status == ObservedStatus::Resolved;
    let predicted = row.expected_resolves?;
    // A name predicted not to resolve should fail fast with NXDOMAIN or
    // NODATA; a timeout or SERVFAIL is another failure, with another cause.
    let slow = matches!(
        seen.status,
        ObservedStatus::Timeout | ObservedStatus::Servfail
    );
    // When the facts already say no DNS server answers, a timeout is the
    // prediction.
    if predicted != resolved || (!predicted && slow && !dns_down) {
        return Some(format!(
            "predicted {}, observed {}",
            predicted_words(row),
            observed_words(seen)
        ));
    }
    if resolved && !row.expected_addresses.is_empty() {
        let want: BTreeSet<&str> = row.expected_addresses.iter().map(String::as_str).collect();
        let got: BTreeSet<&str> = seen.addresses.iter().map(String::as_str).collect();
        if want != got {
            return Some(format!(
                "predicted {}, observed {}",
                predicted_words(row),
                observed_words(seen)
            ));
        }
    }
    None
}

fn predicted_words(row: &NameForm) -> String {
    match row.expected_resolves {
        Some(true) if row.expected_addresses.is_empty() => "it resolves".to_owned(),
        Some(true) => row.expected_addresses.join(", "),
        Some(false) => match row.candidates.last().map(|c| &c.answer) {
            Some(Answer::Nodata) => "NODATA".to_owned(),
            _ => "NXDOMAIN".to_owned(),
        },
        None => "unknown".to_owned(),
    }
}

fn observed_words(seen: &Observed) -> String {
    match seen.status {
        ObservedStatus::Resolved => {
            let by = seen
                .answered_by
                .as_deref()
                .map(|b| format!(" (answered by {b})"))
                .unwrap_or_default();
            format!("{}{by}", seen.addresses.join(", "))
        }
        s => s.as_str().to_owned(),
    }
}

struct Cause {
    why: String,
    fix: String,
}

/// The first cause of a difference, in the order an expert checks them:
/// where the queries go, which names are asked, what the server says, and
/// what answers.
fn first_cause(
    row: &NameForm,
    seen: &Observed,
    kube_dns_ip: Option<&str>,
    expected_search: Option<&[String]>,
) -> Cause {
    let (ns_flag, what) = match (&row.from_pod, &row.from_namespace) {
        (Some(p), _) => {
            let (ns, pod) = p.split_once('/').unwrap_or(("default", p));
            (format!("-n {ns} "), format!("get pod {pod}"))
        }
        (None, Some(ns)) => (format!("-n {ns} "), "get pods".to_owned()),
        (None, None) => (String::new(), "get pods -A".to_owned()),
    };
    let ns_servers = &seen.resolver.nameservers;
    if let Some(ip) = kube_dns_ip
        && !ns_servers.is_empty()
        && !ns_servers.iter().any(|s| s == ip)
    {
        return Cause {
            why: format!(
                "the client's nameserver is {}, not the kube-dns ClusterIP {ip}: a NodeLocal DNSCache or the pod's dnsConfig/dnsPolicy sends its queries elsewhere, and that server answers differently",
                ns_servers.join(", ")
            ),
            fix: format!(
                "compare the pods' resolver settings with the prediction: `kubectl {ns_flag}{what} -o custom-columns=pod:.metadata.name,dnspolicy:.spec.dnsPolicy,dnsconfig:.spec.dnsConfig`; with dnsPolicy ClusterFirst and no dnsConfig the nameserver is {ip}; a NodeLocal DNSCache shows in `kubectl -n kube-system get daemonsets`"
            ),
        };
    }
    if let Some(want) = expected_search
        && !seen.resolver.search.is_empty()
        && seen.resolver.search.as_slice() != want
    {
        return Cause {
            why: format!(
                "the client's search list is `{}`, not `{}` as a ClusterFirst pod's: dnsPolicy Default or None, or dnsConfig searches/ndots, change which names are tried",
                seen.resolver.search.join(" "),
                want.join(" ")
            ),
            fix: "use the FQDN (it does not depend on the search list), or give the pod dnsPolicy ClusterFirst without custom searches".to_owned(),
        };
    }
    if let Some(c) = seen
        .candidates
        .iter()
        .find(|c| c.rcode == ObservedRcode::Servfail)
    {
        return Cause {
            why: format!(
                "CoreDNS answered SERVFAIL for {}: it is not synced with the API server yet, or the upstream it forwards to fails",
                c.name
            ),
            fix: "check CoreDNS: `kubectl -n kube-system logs -l k8s-app=kube-dns --tail=50`"
                .to_owned(),
        };
    }
    if let Some(c) = seen
        .candidates
        .iter()
        .find(|c| c.rcode == ObservedRcode::Timeout)
    {
        return Cause {
            why: format!(
                "the query for {} timed out: CoreDNS is down or overloaded, or traffic to port 53 is blocked (a NetworkPolicy, a firewall)",
                c.name
            ),
            fix: "check CoreDNS's pods and the client's egress policies: `kubectl -n kube-system get pods -l k8s-app=kube-dns -o wide` and `kubectl get networkpolicy -A`".to_owned(),
        };
    }
    if seen.status == ObservedStatus::Timeout {
        return Cause {
            why: "the lookup timed out: CoreDNS is down or traffic to port 53 is blocked"
                .to_owned(),
            fix: "check CoreDNS's pods: `kubectl -n kube-system get pods -l k8s-app=kube-dns -o wide`".to_owned(),
        };
    }
    if seen.status == ObservedStatus::Resolved
        && let Some(by) = &seen.answered_by
        && row.answered_by.as_deref() != Some(by.as_str())
    {
        return Cause {
            why: format!(
                "{by} answered first: another Service, or a record outside the cluster's model (a stub domain, a wildcard, a rewrite), answers that name"
            ),
            fix: format!(
                "find what answers: `kubectl get services -A --field-selector metadata.name={}`; call the Service by its FQDN",
                by.split('.').next().unwrap_or_default()
            ),
        };
    }
    if seen.status == ObservedStatus::Resolved {
        return Cause {
            why: "the records CoreDNS serves differ from the objects read (endpoints changed since, or CoreDNS is behind the API server)".to_owned(),
            fix: "run the diagnosis again; if it persists check CoreDNS's logs: `kubectl -n kube-system logs -l k8s-app=kube-dns --tail=50`".to_owned(),
        };
    }
    // Predicted to resolve, observed not found.
    let first = seen.candidates.first().map_or_else(String::new, |c| {
        format!(" ({} got {})", c.name, c.rcode.as_str())
    });
    Cause {
        why: format!(
            "CoreDNS does not serve the record the objects imply{first}: the Corefile's kubernetes zone, a rewrite, or CoreDNS being behind the API server"
        ),
        fix: "check the Corefile and CoreDNS's logs: `kubectl -n kube-system get configmap coredns -o yaml` and `kubectl -n kube-system logs -l k8s-app=kube-dns --tail=50`".to_owned(),
    }
}

/// A probe that could not run, as a finding: a warning for the default
/// probe, an error when the user asked for it (the verdict is then
/// `unknown`, see verdict.rs).
fn problem(ctx: &Ctx<'_>, p: &ProbeProblem, required: bool, out: &mut Out) {
    let severity = if required {
        Severity::Error
    } else {
        Severity::Warning
    };
    let ns = &p.namespace;
    let (code, message, fix) = match &p.kind {
        ProblemKind::ImagePull { image } => (
            Code::ProbeImagePullFailed,
            format!(
                "the probe in namespace {ns} could not pull its image {image}: {}",
                p.message
            ),
            format!(
                "copy {image} to a registry the nodes can pull from and pass its new name with --image (a private registry also needs --image-pull-secret, naming a docker-registry Secret in namespace {ns}); or resolve without a pod: `kubectl svcdiscover {} -n {} --probe local`",
                ctx.target.name, ctx.target.namespace
            ),
        ),
        ProblemKind::Forbidden { verb, resource } => (
            Code::ProbeForbidden,
            format!("the probe cannot run in namespace {ns}: {verb} {resource} is forbidden"),
            format!(
                "grant {} on {resource} in namespace {ns} (docs/rbac.md has the probe Role) and check with `kubectl auth can-i {verb} {} -n {ns}`; or use another mode: `kubectl svcdiscover {} -n {} --probe local` needs only get and create on pods/portforward in kube-system, --no-probe predicts without observing",
                grant_verbs(verb, resource),
                can_i_resource(resource),
                ctx.target.name,
                ctx.target.namespace
            ),
        ),
        ProblemKind::Rejected => (
            Code::ProbeRejected,
            format!(
                "admission refused the probe in namespace {ns}: {}",
                p.message
            ),
            format!(
                "the probe pod already meets Pod Security restricted, so a policy engine, a webhook or a quota refused it (its words: `kubectl -n {ns} get events --field-selector reason=FailedCreate`): allow pods labelled app.kubernetes.io/name=kubectl-svcdiscover, or resolve without a pod: `kubectl svcdiscover {} -n {} --probe local`",
                ctx.target.name, ctx.target.namespace
            ),
        ),
        ProblemKind::Timeout => (
            Code::ProbeTimeout,
            format!(
                "the probe in namespace {ns} did not answer in time: {}",
                p.message
            ),
            format!(
                "raise `--probe-timeout`; if the pod is not scheduled check `kubectl -n {ns} get events --field-selector involvedObject.kind=Pod`"
            ),
        ),
        ProblemKind::NotRun => (
            Code::ProbeNotRun,
            format!("the name forms were predicted, not observed: {}", p.message),
            format!(
                "observe them with `kubectl svcdiscover {} -n {} --probe pod`, or without a pod with `kubectl svcdiscover {} -n {} --probe local`, or from one of your pods with --from",
                ctx.target.name, ctx.target.namespace, ctx.target.name, ctx.target.namespace
            ),
        ),
    };
    out.finding(code, severity, message, fix, Vec::new());
}

/// `pods/exec` → `pods --subresource=exec`, as `kubectl auth can-i` takes it.
/// The verbs to grant for a refused one: an exec or a port-forward over
/// WebSocket is authorized as both `get` and `create` on its subresource.
fn grant_verbs(verb: &str, resource: &str) -> String {
    match resource {
        "pods/exec" | "pods/portforward" | "pods/attach" => "get and create".to_owned(),
        _ => verb.to_owned(),
    }
}

fn can_i_resource(resource: &str) -> String {
    match resource.split_once('/') {
        Some((r, sub)) => format!("{r} --subresource={sub}"),
        None => resource.to_owned(),
    }
}

/// Why the verdict is unknown because of the probe, if it is.
pub(crate) fn unknown_because(ctx: &Ctx<'_>) -> Option<String> {
    let obs = ctx.observations;
    // What was observed stands: findings judge it, the verdict follows.
    if !obs.required || !obs.views.is_empty() {
        return None;
    }
    obs.problems
        .first()
        .map(|p| format!("the probe asked for could not run: {}", p.message))
}

/// One resolver view the probe should observe: which rows it stands for,
/// where it runs, and what it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewPlan {
    /// The rows' `from_namespace` (`None`: the hypothetical other namespace).
    pub client: Option<String>,
    /// The rows' `from_pod`.
    pub from_pod: Option<String>,
    /// The namespace the lookups run in (the probe's, or the pod's).
    pub run_in: String,
    /// A search list to impose (`LOCALDOMAIN`) instead of the probe's own.
    pub search_override: Option<Vec<String>>,
    /// Each typed name with the absolute candidates glibc tries, from the
    /// same replay as the prediction.
    pub names: Vec<(String, Vec<String>)>,
    /// Names that cannot exist, one under each search domain.
    pub wildcard_checks: Vec<String>,
}

/// Which rows a probe observes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Probe pods: only in namespaces the user named (the Service's own and
    /// every `--from-namespace`); the hypothetical row from the Service's
    /// namespace under another search list.
    NamedNamespaces,
    /// In-process: every row.
    Everywhere,
    /// An existing pod: its rows only.
    FromPod,
}

/// The views to observe for the predicted `report`. `other_ns` names the
/// namespace the hypothetical rows stand for (one that does not exist);
/// `absent_label` a label no cluster uses, for the wildcard checks.
pub fn plan_views(
    report: &crate::model::Report,
    target: &super::Target,
    opts: &super::Options,
    reach: Reach,
    other_ns: &str,
    absent_label: &str,
    from_conf: Option<&ResolverConf>,
) -> Vec<ViewPlan> {
    let domain = report.dns.cluster_domain.as_str();
    let mut views: Vec<ViewPlan> = Vec::new();
    for row in &report.name_forms {
        let named = match &row.from_namespace {
            Some(ns) => *ns == target.namespace || opts.from_namespaces.contains(ns),
            None => true,
        };
        let wanted = match reach {
            Reach::NamedNamespaces => named && row.from_pod.is_none(),
            Reach::Everywhere => row.from_pod.is_none(),
            Reach::FromPod => row.from_pod.is_some(),
        };
        if !wanted {
            continue;
        }
        let idx = match views
            .iter()
            .position(|v| v.client == row.from_namespace && v.from_pod == row.from_pod)
        {
            Some(i) => i,
            None => {
                let (conf_ns, run_in, over) = match &row.from_namespace {
                    Some(ns) => (ns.clone(), ns.clone(), false),
                    None => (other_ns.to_owned(), target.namespace.clone(), true),
                };
                let conf = match (&row.from_pod, from_conf) {
                    (Some(_), Some(c)) => c.clone(),
                    _ => ResolverConf::cluster_first(&conf_ns, domain),
                };
                let run_in = match (&opts.from_pod, reach) {
                    (Some(p), Reach::FromPod) => p.namespace.clone(),
                    _ => run_in,
                };
                views.push(ViewPlan {
                    client: row.from_namespace.clone(),
                    from_pod: row.from_pod.clone(),
                    run_in,
                    search_override: over.then(|| conf.search.clone()),
                    names: Vec::new(),
                    wildcard_checks: if over {
                        Vec::new()
                    } else {
                        conf.search
                            .iter()
                            .map(|d| format!("{absent_label}.{d}."))
                            .collect()
                    },
                });
                views.len() - 1
            }
        };
        let v = &mut views[idx];
        if !v.names.iter().any(|(n, _)| *n == row.name) {
            let conf_ns = row.from_namespace.as_deref().unwrap_or(other_ns);
            let conf = match (&row.from_pod, from_conf) {
                (Some(_), Some(c)) => c.clone(),
                _ => ResolverConf::cluster_first(conf_ns, domain),
            };
            v.names.push((row.name.clone(), conf.candidates(&row.name)));
        }
    }
    views
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Candidate, Form, ObservedCandidate, ResolverSeen, Via};

    fn row(expected: Option<bool>, addrs: &[&str]) -> NameForm {
        NameForm {
            name: "service-pay-v1".into(),
            form: Form::Short,
            from_namespace: Some("client".into()),
            hypothetical: false,
            expected_resolves: expected,
            reaches_target: expected,
            expected_addresses: addrs.iter().map(|s| s.to_string()).collect(),
            expected_cname: None,
            answered_by: None,
            why: String::new(),
            candidates: vec![Candidate {
                name: "service-pay-v1.client.svc.cluster.local.".into(),
                answer: Answer::Nxdomain,
                why: String::new(),
            }],
            from_pod: None,
            observed: None,
        }
    }

    fn seen(status: ObservedStatus, addrs: &[&str], rcodes: &[ObservedRcode]) -> Observed {
        Observed {
            status,
            addresses: addrs.iter().map(|s| s.to_string()).collect(),
            answered_by: None,
            candidates: rcodes
                .iter()
                .enumerate()
                .map(|(i, r)| ObservedCandidate {
                    name: format!("c{i}."),
                    rcode: *r,
                })
                .collect(),
            via: Via::ProbePod,
            resolver: ResolverSeen {
                nameservers: vec!["10.96.0.10".into()],
                search: ResolverConf::cluster_first("client", "cluster.local").search,
                ndots: 5,
            },
            as_predicted: None,
            notes: vec![],
        }
    }

    #[test]
    fn same_outcome_is_no_difference() {
        let r = row(Some(false), &[]);
        let s = seen(ObservedStatus::Nxdomain, &[], &[ObservedRcode::Nxdomain]);
        assert_eq!(difference(&r, &s, false), None);
        let r = row(Some(true), &["10.0.0.1", "10.0.0.2"]);
        let s = seen(ObservedStatus::Resolved, &["10.0.0.2", "10.0.0.1"], &[]);
        assert_eq!(difference(&r, &s, false), None, "order does not matter");
    }

    #[test]
    fn unknown_prediction_is_never_a_mismatch() {
        let r = row(None, &[]);
        let s = seen(ObservedStatus::Resolved, &["1.2.3.4"], &[]);
        assert_eq!(difference(&r, &s, false), None);
    }

    #[test]
    fn each_first_cause_in_order() {
        let r = row(Some(true), &["10.96.0.20"]);
        let search = ResolverConf::cluster_first("client", "cluster.local").search;
        // Nameserver first, even with a timeout.
        let mut s = seen(ObservedStatus::Timeout, &[], &[ObservedRcode::Timeout]);
        s.resolver.nameservers = vec!["169.254.20.10".into()];
        let c = first_cause(&r, &s, Some("10.96.0.10"), Some(&search));
        assert!(c.why.contains("169.254.20.10"), "{}", c.why);
        // Then the search list.
        let mut s = seen(ObservedStatus::Nxdomain, &[], &[ObservedRcode::Nxdomain]);
        s.resolver.search = vec!["corp.example".into()];
        let c = first_cause(&r, &s, Some("10.96.0.10"), Some(&search));
        assert!(c.why.contains("search list is `corp.example`"), "{}", c.why);
        // Then SERVFAIL, then timeout.
        let s = seen(
            ObservedStatus::Servfail,
            &[],
            &[ObservedRcode::Timeout, ObservedRcode::Servfail],
        );
        let c = first_cause(&r, &s, Some("10.96.0.10"), Some(&search));
        assert!(c.why.contains("SERVFAIL for c1."), "{}", c.why);
        let s = seen(ObservedStatus::Timeout, &[], &[ObservedRcode::Timeout]);
        let c = first_cause(&r, &s, Some("10.96.0.10"), Some(&search));
        assert!(c.why.contains("timed out"), "{}", c.why);
        // Another answer.
        let mut s = seen(ObservedStatus::Resolved, &["10.96.250.250"], &[]);
        s.answered_by = Some("service-pay-v1.client.svc.cluster.local.".into());
        let mut r2 = r.clone();
        r2.answered_by = Some("service-pay-v1.default.svc.cluster.local.".into());
        let c = first_cause(&r2, &s, Some("10.96.0.10"), Some(&search));
        assert!(c.why.contains("answered first"), "{}", c.why);
        assert!(c.fix.contains("metadata.name=service-pay-v1"), "{}", c.fix);
    }

    /// In-process on a small state: the predicted rows, observed as
    /// predicted, give no finding; one row observed otherwise gives one
    /// `dns-mismatch`; a probe that could not run warns by default and
    /// makes the verdict unknown when asked for.
    mod in_process {
        use super::*;
        use crate::analysis::zone::tests::{state, svc};
        use crate::analysis::{Facts, Options, Target, diagnose_observed, diagnose_with};
        use crate::model::{Code, Verdict};

        fn as_predicted(row: &NameForm) -> Observed {
            let resolved = row.expected_resolves == Some(true);
            Observed {
                status: if resolved {
                    ObservedStatus::Resolved
                } else {
                    ObservedStatus::Nxdomain
                },
                addresses: row.expected_addresses.clone(),
                answered_by: row.answered_by.clone(),
                candidates: Vec::new(),
                via: Via::ProbePod,
                resolver: ResolverSeen {
                    nameservers: vec![],
                    search: vec![],
                    ndots: 5,
                },
                as_predicted: None,
                notes: vec![],
            }
        }

        /// A selectorless Service with one ready endpoint; kube-system not
        /// read (the cluster DNS is "not checked", not missing).
        fn setup() -> (crate::model::ClusterState, Target, Options) {
            use crate::model::{Endpoint, EndpointSlice, Kind};
            let mut pay = svc("default", "pay", "10.96.0.20");
            pay.selector = None;
            let mut st = crate::model::ClusterState {
                services: vec![pay],
                ..crate::model::ClusterState::default()
            };
            for ns in ["default", "client"] {
                st.coverage.add_namespace(Kind::Service, ns);
            }
            st.endpoint_slices.push(EndpointSlice {
                namespace: "default".into(),
                name: "pay-1".into(),
                service_name: Some("pay".into()),
                address_type: "IPv4".into(),
                endpoints: vec![Endpoint {
                    addresses: vec!["10.0.0.9".into()],
                    ready: Some(true),
                    serving: Some(true),
                    terminating: None,
                    hostname: None,
                    pod: None,
                    node_name: None,
                }],
                ..EndpointSlice::default()
            });
            st.coverage.add_namespace(Kind::EndpointSlice, "default");
            let t = Target {
                namespace: "default".into(),
                name: "pay".into(),
            };
            let opts = Options {
                from_namespaces: vec!["client".into()],
                ..Options::default()
            };
            (st, t, opts)
        }

        fn views(
            report: &crate::model::Report,
            edit: impl Fn(&NameForm, &mut Observed),
        ) -> Vec<View> {
            let mut v = View {
                client: Some("client".into()),
                ..View::default()
            };
            for row in &report.name_forms {
                let mut o = as_predicted(row);
                edit(row, &mut o);
                v.names.insert(row.name.clone(), o);
            }
            vec![v]
        }

        #[test]
        fn agreement_adds_nothing_and_a_difference_is_explained() {
            let (st, t, opts) = setup();
            let facts = Facts::compute(&st, &opts);
            let predicted = diagnose_with(&st, &facts, &t, &opts);
            let codes =
                |r: &crate::model::Report| r.findings.iter().map(|f| f.code).collect::<Vec<_>>();
            let obs = Observations {
                views: views(&predicted, |_, _| {}),
                ..Observations::default()
            };
            let r = diagnose_observed(&st, &facts, &t, &opts, &obs);
            assert!(r.name_forms.iter().all(|n| n.observed.is_some()));
            assert!(!codes(&r).contains(&Code::DnsMismatch), "{:?}", codes(&r));

            // `pay.default` times out from client.
            let obs = Observations {
                views: views(&predicted, |row, o| {
                    if row.name == "pay.default" {
                        o.status = ObservedStatus::Timeout;
                        o.addresses.clear();
                        o.candidates = vec![ObservedCandidate {
                            name: "pay.default.client.svc.cluster.local.".into(),
                            rcode: ObservedRcode::Timeout,
                        }];
                    }
                }),
                ..Observations::default()
            };
            let r = diagnose_observed(&st, &facts, &t, &opts, &obs);
            let m: Vec<_> = r
                .findings
                .iter()
                .filter(|f| f.code == Code::DnsMismatch)
                .collect();
            assert_eq!(m.len(), 1, "{:?}", codes(&r));
            assert!(m[0].message.contains("`pay.default`"), "{}", m[0].message);
            assert!(m[0].message.contains("timed out"), "{}", m[0].message);
            assert_eq!(r.verdict, Verdict::Unreachable);
        }

        #[test]
        fn a_probe_that_cannot_run_warns_or_makes_the_verdict_unknown() {
            let (st, t, opts) = setup();
            let facts = Facts::compute(&st, &opts);
            let problem = ProbeProblem {
                namespace: "client".into(),
                kind: ProblemKind::ImagePull {
                    image: "registry.invalid/x:1".into(),
                },
                message: "ErrImagePull: not found".into(),
            };
            let mut obs = Observations {
                problems: vec![problem],
                ..Observations::default()
            };
            let r = diagnose_observed(&st, &facts, &t, &opts, &obs);
            let f = r
                .findings
                .iter()
                .find(|f| f.code == Code::ProbeImagePullFailed)
                .expect("a finding");
            assert_eq!(f.severity, Severity::Warning);
            assert!(f.message.contains("registry.invalid/x:1"));
            assert!(f.fix.contains("--probe local"));
            // About the tool's access, not the Service: still reachable.
            assert_eq!(r.verdict, Verdict::Reachable, "{}", r.verdict_reason);
            assert!(
                r.verdict_reason
                    .contains("not observed: the probe could not run")
            );

            obs.required = true;
            let r = diagnose_observed(&st, &facts, &t, &opts, &obs);
            assert_eq!(r.verdict, Verdict::Unknown, "{}", r.verdict_reason);
            assert!(r.verdict_reason.contains("probe"), "{}", r.verdict_reason);
        }

        #[test]
        fn the_probe_asks_the_predictions_candidates_and_other_namespaces_via_localdomain() {
            let st = state(vec![svc("default", "pay", "10.96.0.20")]);
            let t = Target {
                namespace: "default".into(),
                name: "pay".into(),
            };
            let opts = Options::default();
            let predicted = crate::analysis::diagnose(&st, &t, &opts);
            let v = plan_views(
                &predicted,
                &t,
                &opts,
                Reach::NamedNamespaces,
                "none-x",
                "absent-x",
                None,
            );
            assert_eq!(v.len(), 2, "own namespace and the other-namespace view");
            assert!(
                v.iter().all(|v| v.run_in == "default"),
                "nothing outside the named namespaces"
            );
            let other = v.iter().find(|v| v.client.is_none()).unwrap();
            assert_eq!(
                other.search_override.as_deref().unwrap()[0],
                "none-x.svc.cluster.local"
            );
            let own = v.iter().find(|v| v.client.is_some()).unwrap();
            let (_, cands) = own.names.iter().find(|(n, _)| n == "pay").unwrap();
            assert_eq!(cands[0], "pay.default.svc.cluster.local.");
            assert_eq!(cands.len(), 4);
            assert_eq!(
                own.wildcard_checks[0],
                "absent-x.default.svc.cluster.local."
            );
        }
    }

    /// What a probe would see if the prediction holds, for one planned name.
    fn as_predicted(
        row: &NameForm,
        candidates: &[String],
        via: Via,
        search: &[String],
    ) -> Observed {
        let resolves = row.expected_resolves == Some(true);
        Observed {
            status: if resolves {
                ObservedStatus::Resolved
            } else {
                ObservedStatus::Nxdomain
            },
            addresses: if resolves {
                row.expected_addresses.clone()
            } else {
                Vec::new()
            },
            answered_by: row.answered_by.clone().filter(|_| resolves),
            candidates: candidates
                .iter()
                .map(|c| ObservedCandidate {
                    name: c.clone(),
                    rcode: if resolves && row.answered_by.as_ref() == Some(c) {
                        ObservedRcode::Noerror
                    } else {
                        ObservedRcode::Nxdomain
                    },
                })
                .collect(),
            via,
            resolver: ResolverSeen {
                nameservers: vec!["10.96.0.10".into()],
                search: search.to_vec(),
                ndots: 5,
            },
            as_predicted: None,
            notes: vec!["a note".into()],
        }
    }

    /// The views a probe would bring back for `plans`, as predicted.
    fn views_as_predicted(
        report: &crate::model::Report,
        plans: &[ViewPlan],
        via: Via,
        other_ns: &str,
    ) -> Vec<View> {
        plans
            .iter()
            .map(|p| {
                let search = p.search_override.clone().unwrap_or_else(|| {
                    ResolverConf::cluster_first(
                        p.client.as_deref().unwrap_or(other_ns),
                        "cluster.local",
                    )
                    .search
                });
                View {
                    client: p.client.clone(),
                    from_pod: p.from_pod.clone(),
                    search_override: p.search_override.clone(),
                    observed_in: Some(p.run_in.clone()),
                    names: p
                        .names
                        .iter()
                        .map(|(typed, cands)| {
                            let row = report
                                .name_forms
                                .iter()
                                .find(|r| r.name == *typed && r.from_namespace == p.client)
                                .expect("a planned name has its row");
                            (typed.clone(), as_predicted(row, cands, via, &search))
                        })
                        .collect(),
                    wildcard_hits: p
                        .wildcard_checks
                        .iter()
                        .take(1)
                        .map(|w| (w.clone(), vec!["192.0.2.1".into()]))
                        .collect(),
                }
            })
            .collect()
    }

    /// Reports with observations match docs/report.schema.json: the
    /// `observed` rows, `from_pod`, the `probe` object and the seven probe
    /// findings, for each mode.
    #[test]
    fn reports_with_observations_match_the_schema() {
        use crate::analysis::{Options, PodRef, Target, diagnose_observed, diagnose_with};
        use crate::model::{Cleanup, ProbeClient, ProbeMode, ProbeSummary, Report, Verdict};

        let state = crate::source::snapshot::from_bytes(
            std::path::Path::new("scenario.json"),
            include_bytes!("../../tests/fixtures/scenario.json").to_vec(),
        )
        .unwrap();
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../docs/report.schema.json")).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("a valid schema");
        let valid = |r: &Report| -> serde_json::Value {
            let v = serde_json::to_value(r).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&v)
                .map(|e| format!("{e} at {}", e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "not as docs/report.schema.json says: {errors:#?}"
            );
            v
        };
        let target = Target {
            namespace: "default".into(),
            name: "service-pay-v1".into(),
        };
        let other_ns = "svcdiscover-none-x1";

        // The pod probe: the Service's namespace and the hypothetical row,
        // the short name observed NXDOMAIN from default, a wildcard record,
        // and one probe of each failing kind.
        let opts = Options::default();
        let facts = Facts::compute(&state, &opts);
        let predicted = diagnose_with(&state, &facts, &target, &opts);
        let plans = plan_views(
            &predicted,
            &target,
            &opts,
            Reach::NamedNamespaces,
            other_ns,
            "svcdiscover-absent-x1",
            None,
        );
        let mut views = views_as_predicted(&predicted, &plans, Via::ProbePod, other_ns);
        let short = views
            .iter_mut()
            .find(|v| v.client.as_deref() == Some("default"))
            .and_then(|v| v.names.get_mut("service-pay-v1"))
            .expect("the short name from default is probed");
        short.status = ObservedStatus::Nxdomain;
        short.addresses.clear();
        short.answered_by = None;
        for c in &mut short.candidates {
            c.rcode = ObservedRcode::Nxdomain;
        }
        let problems = [
            ProblemKind::ImagePull {
                image: "registry.invalid/dnsutils:1".into(),
            },
            ProblemKind::Forbidden {
                verb: "create".into(),
                resource: "pods/exec".into(),
            },
            ProblemKind::Rejected,
            ProblemKind::Timeout,
            ProblemKind::NotRun,
        ]
        .into_iter()
        .map(|kind| ProbeProblem {
            namespace: "client".into(),
            kind,
            message: "what the server said".into(),
        })
        .collect();
        let mut obs = Observations {
            required: false,
            summary: Some(ProbeSummary {
                mode: ProbeMode::Pod,
                image: Some(crate::cli::DEFAULT_PROBE_IMAGE.into()),
                clients: vec![
                    ProbeClient {
                        namespace: "default".into(),
                        pod: Some("svcdiscover-probe-x1-abcde".into()),
                        via: Via::ProbePod,
                    },
                    ProbeClient {
                        namespace: "client".into(),
                        pod: None,
                        via: Via::ProbePod,
                    },
                ],
                cleanup: Cleanup::Deleted,
            }),
            views,
            problems,
            kept: Vec::new(),
            connections: None,
            connected_from: Vec::new(),
        };
        let report = diagnose_observed(&state, &facts, &target, &opts, &obs);
        let v = valid(&report);
        let codes: BTreeSet<&str> = report.findings.iter().map(|f| f.code.as_str()).collect();
        for code in [
            "dns-mismatch",
            "search-domain-wildcard",
            "probe-image-pull-failed",
            "probe-forbidden",
            "probe-rejected",
            "probe-timeout",
            "probe-not-run",
        ] {
            assert!(codes.contains(code), "{code} missing: {codes:?}");
        }
        let mismatch = report
            .findings
            .iter()
            .find(|f| f.code == Code::DnsMismatch)
            .unwrap();
        assert_eq!(mismatch.severity, Severity::Error);
        assert!(
            mismatch
                .message
                .starts_with("`service-pay-v1` from namespace default: predicted 10.96.103.72, observed NXDOMAIN;"),
            "{}",
            mismatch.message
        );
        // The default probe's problems are warnings; the mismatch decides.
        assert!(
            report
                .findings
                .iter()
                .filter(|f| f.code.as_str().starts_with("probe-"))
                .all(|f| f.severity == Severity::Warning)
        );
        assert_eq!(report.verdict, Verdict::Unreachable);
        let rows = v["name_forms"].as_array().unwrap();
        for row in rows
            .iter()
            .filter(|r| r["from_namespace"] == "default" || r["from_namespace"].is_null())
        {
            assert!(row["observed"].is_object(), "{row}");
            assert!(row["from_pod"].is_null());
        }
        let short = rows
            .iter()
            .find(|r| r["name"] == "service-pay-v1" && r["from_namespace"] == "default")
            .unwrap();
        assert_eq!(short["observed"]["status"], "nxdomain");
        assert_eq!(short["observed"]["via"], "probe-pod");
        assert_eq!(short["observed"]["candidates"][0]["rcode"], "NXDOMAIN");
        let other = rows
            .iter()
            .find(|r| r["name"] == "service-pay-v1.default" && r["from_namespace"].is_null())
            .unwrap();
        assert!(
            other["observed"]["notes"][0]
                .as_str()
                .unwrap()
                .contains("set through LOCALDOMAIN"),
            "{other}"
        );
        assert_eq!(v["probe"]["mode"], "pod");
        assert_eq!(v["probe"]["cleanup"], "deleted");

        // Asked for explicitly, a probe that could not run has error
        // findings; what it did observe stands, so the verdict follows
        // the findings...
        obs.required = true;
        let report = diagnose_observed(&state, &facts, &target, &opts, &obs);
        valid(&report);
        assert_eq!(report.verdict, Verdict::Unreachable);
        // ... and with nothing observed at all the verdict is unknown.
        let nothing = Observations {
            views: Vec::new(),
            ..obs.clone()
        };
        let unknown = diagnose_observed(&state, &facts, &target, &opts, &nothing);
        valid(&unknown);
        assert_eq!(unknown.verdict, Verdict::Unknown);
        assert!(
            report
                .findings
                .iter()
                .filter(|f| f.code.as_str().starts_with("probe-"))
                .all(|f| f.severity == Severity::Error)
        );

        // `--from client/client`: its rows carry `from_pod`, observed by exec.
        let pod = PodRef {
            namespace: "client".into(),
            name: "client".into(),
        };
        let opts = Options {
            from_pod: Some(pod.clone()),
            ..Options::default()
        };
        let facts = Facts::compute(&state, &opts);
        let predicted = diagnose_with(&state, &facts, &target, &opts);
        let client_pod = state
            .pods
            .iter()
            .find(|p| p.namespace == "client" && p.name == "client")
            .unwrap();
        let conf = ResolverConf::for_pod(client_pod, "cluster.local", Some("10.96.0.10"))
            .conf()
            .cloned()
            .unwrap();
        let plans = plan_views(
            &predicted,
            &target,
            &opts,
            Reach::FromPod,
            other_ns,
            "svcdiscover-absent-x1",
            Some(&conf),
        );
        assert!(!plans.is_empty());
        for (mode, via, image, cleanup) in [
            (ProbeMode::From, Via::Exec, None, Cleanup::None),
            (ProbeMode::From, Via::Ephemeral, None, Cleanup::Kept),
            (ProbeMode::Local, Via::Local, None, Cleanup::None),
            (
                ProbeMode::Pod,
                Via::ProbePod,
                Some("img".to_owned()),
                Cleanup::Failed,
            ),
        ] {
            let obs = Observations {
                required: true,
                summary: Some(ProbeSummary {
                    mode,
                    image,
                    clients: vec![ProbeClient {
                        namespace: pod.namespace.clone(),
                        pod: Some(pod.name.clone()),
                        via,
                    }],
                    cleanup,
                }),
                views: views_as_predicted(&predicted, &plans, via, other_ns),
                ..Observations::default()
            };
            let report = diagnose_observed(&state, &facts, &target, &opts, &obs);
            let v = valid(&report);
            let observed: Vec<&serde_json::Value> = v["name_forms"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["observed"].is_object())
                .collect();
            assert!(!observed.is_empty());
            for row in observed {
                assert_eq!(row["from_pod"], "client/client");
                assert_eq!(row["observed"]["via"], via.as_str());
            }
        }
    }
}
