//! Name forms: which of `svc`, `svc.ns`, `svc.ns.svc` and the FQDN resolve,
//! from which client namespace, and why.
//!
//! Two pure steps (docs/name-forms.md, after DNS.md §2-3):
//! 1. [`Zone::answer`] predicts what CoreDNS's `kubernetes` plugin answers
//!    for one absolute name, from Services, EndpointSlices and Namespaces.
//! 2. [`replay`] walks a glibc resolver over the pod's search list
//!    (`<ns>.svc.<d> svc.<d> <d>`, ndots:5), stopping at the first candidate
//!    with data. The probe reuses both to explain what it observes.

use std::collections::BTreeSet;

use super::{Ctx, Facts, Out, text};
use crate::model::{
    Answer, Candidate, ClusterState, Code, Form, Kind, NameForm, ObjectRef, Service, ServiceType,
    Severity,
};

/// Stands for "some other namespace" in hypothetical rows.
pub const OTHER_NS: &str = "<other-namespace>";
/// How deep CNAME chains inside the zone are followed.
const MAX_CNAME_DEPTH: usize = 8;

/// A pod's resolver settings (`search` and `ndots` of its resolv.conf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverConf {
    pub search: Vec<String>,
    pub ndots: usize,
}

impl ResolverConf {
    /// What the kubelet writes for a `ClusterFirst` pod in `namespace`.
    pub fn cluster_first(namespace: &str, domain: &str) -> ResolverConf {
        ResolverConf {
            search: vec![
                format!("{namespace}.svc.{domain}"),
                format!("svc.{domain}"),
                domain.to_owned(),
            ],
            ndots: 5,
        }
    }

    /// The absolute names glibc's `res_search` tries, in order.
    ///
    /// ```
    /// use svcdiscover::analysis::ResolverConf;
    ///
    /// let pod = ResolverConf::cluster_first("client", "cluster.local");
    /// assert_eq!(
    ///     pod.candidates("service-pay-v1"),
    ///     [
    ///         "service-pay-v1.client.svc.cluster.local.",
    ///         "service-pay-v1.svc.cluster.local.",
    ///         "service-pay-v1.cluster.local.",
    ///         "service-pay-v1.",
    ///     ]
    /// );
    /// ```
    pub fn candidates(&self, typed: &str) -> Vec<String> {
        if let Some(abs) = typed.strip_suffix('.') {
            return vec![format!("{abs}.")];
        }
        let dots = typed.matches('.').count();
        let absolute = format!("{typed}.");
        let mut out = Vec::with_capacity(self.search.len() + 1);
        if dots >= self.ndots {
            out.push(absolute.clone());
        }
        out.extend(self.search.iter().map(|d| format!("{typed}.{d}.")));
        if dots < self.ndots {
            out.push(absolute);
        }
        out
    }
}

/// The result of replaying a resolver over its candidates.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Every candidate tried, up to and including the one that answered.
    pub candidates: Vec<Candidate>,
    /// Index into `candidates` of the one that answered with data.
    pub answered_by: Option<usize>,
}

impl Resolution {
    /// `Some(true)` resolves, `Some(false)` does not, `None` cannot be known
    /// (a CNAME to a name outside the cluster).
    pub fn resolves(&self) -> Option<bool> {
        match self.answered_by.map(|i| &self.candidates[i].answer) {
            Some(Answer::Address { .. }) => Some(true),
            Some(Answer::Cname { resolves, .. }) => *resolves,
            // Nothing known answers; an unknown candidate might.
            _ if self.uncertain() => None,
            _ => Some(false),
        }
    }

    /// A candidate tried before the answer (or at all, when none answers)
    /// is unknown: another name might answer first.
    pub fn uncertain(&self) -> bool {
        let upto = self.answered_by.unwrap_or(self.candidates.len());
        self.candidates[..upto]
            .iter()
            .any(|c| c.answer == Answer::Unknown)
    }
}

/// Replay glibc's search: try each candidate, continue on NXDOMAIN, NODATA
/// (and SERVFAIL), stop at the first answer with data.
///
/// ```
/// use svcdiscover::analysis::{PodsMode, ResolverConf, Zone, replay};
/// use svcdiscover::model::{ClusterState, Kind, Service};
///
/// let mut state = ClusterState::default();
/// state.services.push(Service {
///     namespace: "default".into(),
///     name: "service-pay-v1".into(),
///     cluster_ips: vec!["10.96.0.20".into()],
///     ..Service::default()
/// });
/// let zone = Zone::new(&state, "cluster.local", PodsMode::Disabled);
/// let from = |ns| ResolverConf::cluster_first(ns, "cluster.local");
///
/// assert_eq!(replay("service-pay-v1", &from("default"), &zone).resolves(), Some(true));
/// assert_eq!(replay("service-pay-v1.default", &from("client"), &zone).resolves(), Some(true));
/// // The Services of `client` were not read: one named so there might answer.
/// assert_eq!(replay("service-pay-v1", &from("client"), &zone).resolves(), None);
///
/// // Once every namespace's Services are known, the short name fails there.
/// state.coverage.add_all(Kind::Service);
/// let zone = Zone::new(&state, "cluster.local", PodsMode::Disabled);
/// assert_eq!(replay("service-pay-v1", &from("client"), &zone).resolves(), Some(false));
/// ```
pub fn replay(typed: &str, conf: &ResolverConf, zone: &Zone<'_>) -> Resolution {
    let mut candidates = Vec::new();
    for name in conf.candidates(typed) {
        let candidate = zone.answer(&name);
        let has_data = matches!(
            candidate.answer,
            Answer::Address { .. } | Answer::Cname { .. }
        );
        candidates.push(candidate);
        if has_data {
            let at = candidates.len() - 1;
            return Resolution {
                candidates,
                answered_by: Some(at),
            };
        }
    }
    Resolution {
        candidates,
        answered_by: None,
    }
}

/// `pods` mode of the kubernetes plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodsMode {
    Disabled,
    Insecure,
    Verified,
}

/// What CoreDNS's `kubernetes` plugin would serve for one cluster domain.
pub struct Zone<'a> {
    state: &'a ClusterState,
    domain: String,
    pods: PodsMode,
}

impl<'a> Zone<'a> {
    pub fn new(state: &'a ClusterState, domain: &str, pods: PodsMode) -> Zone<'a> {
        Zone {
            state,
            domain: domain.trim_end_matches('.').to_ascii_lowercase(),
            pods,
        }
    }

    /// The predicted answer to an A/AAAA query for `name` (absolute, with or
    /// without the trailing dot).
    pub fn answer(&self, name: &str) -> Candidate {
        let (answer, why) = self.answer_inner(name, 0);
        Candidate {
            name: if name.ends_with('.') {
                name.to_owned()
            } else {
                format!("{name}.")
            },
            answer,
            why,
        }
    }

    fn answer_inner(&self, name: &str, depth: usize) -> (Answer, String) {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let d = &self.domain;
        if name == *d {
            return (
                Answer::Nodata,
                format!("`{d}` is the zone apex: no address record"),
            );
        }
        let Some(rest) = name.strip_suffix(&format!(".{d}")) else {
            return (
                Answer::Upstream,
                format!(
                    "outside the cluster zone `{d}`: forwarded upstream, where it is assumed not to exist"
                ),
            );
        };
        let mut labels: Vec<&str> = rest.split('.').collect();
        let Some(kind) = labels.pop() else {
            return (Answer::Nxdomain, "empty name".to_owned());
        };
        match kind {
            "svc" => self.svc(&labels, depth),
            "pod" => self.pod(&labels),
            other => (
                Answer::Nxdomain,
                format!("the label before `{d}` is `{other}`, neither `svc` nor `pod`: NXDOMAIN"),
            ),
        }
    }

    fn namespace_exists(&self, ns: &str) -> Option<bool> {
        if ns == OTHER_NS {
            return Some(true);
        }
        self.state.namespace_exists(ns)
    }

    fn svc(&self, labels: &[&str], depth: usize) -> (Answer, String) {
        let d = &self.domain;
        let Some(&ns) = labels.last() else {
            return (
                Answer::Nodata,
                format!("`svc.{d}` exists but holds no address"),
            );
        };
        let exists = self.namespace_exists(ns);
        if labels.len() == 1 {
            return match exists {
                Some(true) => (
                    Answer::Nodata,
                    format!("read as namespace `{ns}`, which exists: NODATA"),
                ),
                Some(false) => (
                    Answer::Nxdomain,
                    format!("read as namespace `{ns}`, which does not exist: NXDOMAIN"),
                ),
                None => (
                    Answer::Nxdomain,
                    format!(
                        "read as namespace `{ns}`: NXDOMAIN (NODATA if such a namespace exists; the search goes on either way)"
                    ),
                ),
            };
        }
        if labels.len() > 4 {
            return (
                Answer::Nxdomain,
                format!(
                    "{} labels before `svc`: not a Kubernetes name",
                    labels.len()
                ),
            );
        }
        if exists == Some(false) {
            return (
                Answer::Nxdomain,
                format!("read as namespace `{ns}`, which does not exist: NXDOMAIN"),
            );
        }
        let svc_name = labels[labels.len() - 2];
        let Some(svc) = self.find_service(ns, svc_name) else {
            let unread = ns != OTHER_NS
                && !self
                    .state
                    .coverage
                    .covers_object(Kind::Service, ns, svc_name);
            if unread && labels.len() == 2 {
                // A Service of that name there would answer: not known.
                return (
                    Answer::Unknown,
                    format!(
                        "the Services of namespace `{ns}` were not read: a Service `{svc_name}` there would answer, else NXDOMAIN"
                    ),
                );
            }
            // Endpoint- and port-shaped names would need a Service named like
            // the target's namespace with a matching endpoint or port: assumed
            // absent, and said so.
            let assumed = if unread {
                " (assumed: the Services of that namespace were not read)"
            } else {
                ""
            };
            let what = match labels.len() {
                2 => format!("no Service `{svc_name}` in namespace `{ns}`: NXDOMAIN{assumed}"),
                3 => format!(
                    "read as endpoint `{}` of Service `{svc_name}` in namespace `{ns}`, which does not exist: NXDOMAIN{assumed}",
                    labels[0]
                ),
                _ => format!(
                    "read as port `{}`, protocol `{}` of Service `{svc_name}` in namespace `{ns}`, which does not exist: NXDOMAIN{assumed}",
                    labels[0], labels[1]
                ),
            };
            return (Answer::Nxdomain, what);
        };
        match labels.len() {
            2 => self.service_record(svc, depth),
            3 => self.endpoint_record(svc, labels[0]),
            _ => self.srv_shaped(svc, labels[0], labels[1]),
        }
    }

    fn find_service(&self, ns: &str, name: &str) -> Option<&'a Service> {
        if ns == OTHER_NS {
            return None;
        }
        self.state.service(ns, name)
    }

    fn service_record(&self, svc: &Service, depth: usize) -> (Answer, String) {
        let id = format!("{}/{}", svc.namespace, svc.name);
        if svc.type_ == ServiceType::ExternalName {
            let target = svc
                .external_name
                .clone()
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            if target.is_empty() {
                return (
                    Answer::Nxdomain,
                    format!(
                        "ExternalName Service {id} has an empty externalName: CoreDNS serves nothing, NXDOMAIN"
                    ),
                );
            }
            if target.parse::<std::net::IpAddr>().is_ok() {
                // plugin/kubernetes findServices keeps an ExternalName only
                // when msg.Service.HostType() is CNAME, and an address parses
                // as A/AAAA: the Service is skipped, the name does not exist.
                return (
                    Answer::Nxdomain,
                    format!(
                        "ExternalName Service {id} has the IP address {target} in externalName: CoreDNS serves an externalName only as a CNAME to a hostname and skips an address, so the name does not exist: NXDOMAIN"
                    ),
                );
            }
            let in_zone = target == self.domain || target.ends_with(&format!(".{}", self.domain));
            if in_zone && depth < MAX_CNAME_DEPTH {
                let (inner, why) = self.answer_inner(&target, depth + 1);
                return match inner {
                    Answer::Address { addresses } => (
                        Answer::Cname {
                            target,
                            addresses,
                            resolves: Some(true),
                        },
                        format!(
                            "ExternalName Service {id}: CNAME to an in-cluster name that resolves ({why})"
                        ),
                    ),
                    Answer::Cname {
                        addresses,
                        resolves,
                        ..
                    } => (
                        Answer::Cname {
                            target,
                            addresses,
                            resolves,
                        },
                        format!("ExternalName Service {id}: CNAME chain ({why})"),
                    ),
                    _ => (
                        Answer::Nodata,
                        format!(
                            "ExternalName Service {id} points at in-cluster `{target}`, which does not resolve ({why}): CoreDNS drops the CNAME and answers NODATA"
                        ),
                    ),
                };
            }
            return (
                Answer::Cname {
                    target: target.clone(),
                    addresses: Vec::new(),
                    resolves: None,
                },
                format!(
                    "ExternalName Service {id}: CNAME to `{target}`, resolved outside the cluster"
                ),
            );
        }
        if svc.headless {
            let addrs = self.ready_addresses(svc, None);
            if addrs.is_empty() {
                return (
                    Answer::Nxdomain,
                    format!("headless Service {id} has no ready endpoint: NXDOMAIN"),
                );
            }
            return (
                Answer::Address { addresses: addrs },
                format!("headless Service {id}: one record per ready endpoint"),
            );
        }
        (
            Answer::Address {
                addresses: svc.cluster_ips.clone(),
            },
            format!("Service {id}: its ClusterIP (answered with or without ready endpoints)"),
        )
    }

    fn endpoint_record(&self, svc: &Service, host: &str) -> (Answer, String) {
        let id = format!("{}/{}", svc.namespace, svc.name);
        let addrs = self.ready_addresses(svc, Some(host));
        if addrs.is_empty() {
            (
                Answer::Nxdomain,
                format!(
                    "read as endpoint `{host}` of Service {id}, which has no ready endpoint of that name: NXDOMAIN"
                ),
            )
        } else {
            (
                Answer::Address { addresses: addrs },
                format!("endpoint `{host}` of Service {id}"),
            )
        }
    }

    fn srv_shaped(&self, svc: &Service, port: &str, proto: &str) -> (Answer, String) {
        let id = format!("{}/{}", svc.namespace, svc.name);
        let port = port.trim_start_matches('_');
        let proto = proto.trim_start_matches('_');
        let matched = svc.ports.iter().any(|p| {
            p.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(port))
                && p.protocol.eq_ignore_ascii_case(proto)
        });
        if matched && !svc.headless && !svc.cluster_ips.is_empty() {
            (
                Answer::Address {
                    addresses: svc.cluster_ips.clone(),
                },
                format!("read as port `{port}`/`{proto}` of Service {id}, which has it"),
            )
        } else {
            (
                Answer::Nxdomain,
                format!(
                    "read as port `{port}`, protocol `{proto}` of Service {id}, which has no such named port: NXDOMAIN"
                ),
            )
        }
    }

    fn ready_addresses(&self, svc: &Service, host: Option<&str>) -> Vec<String> {
        let mut out = BTreeSet::new();
        for slice in self.state.slices_of(svc) {
            for ep in slice.endpoints.iter().filter(|e| e.is_ready()) {
                for addr in &ep.addresses {
                    let matches = match host {
                        None => true,
                        Some(h) => {
                            ep.hostname.as_deref() == Some(h) || addr.replace(['.', ':'], "-") == h
                        }
                    };
                    if matches {
                        out.insert(addr.clone());
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    fn pod(&self, labels: &[&str]) -> (Answer, String) {
        if self.pods == PodsMode::Disabled {
            return (
                Answer::Nxdomain,
                "pod records are disabled in the Corefile (`pods disabled` is the default): NXDOMAIN".to_owned(),
            );
        }
        match labels {
            [ip, ns] => {
                let addr = ip.replace('-', ".");
                if addr.parse::<std::net::Ipv4Addr>().is_ok()
                    && self.namespace_exists(ns) != Some(false)
                {
                    (
                        Answer::Address {
                            addresses: vec![addr],
                        },
                        format!("pod record in namespace `{ns}`"),
                    )
                } else {
                    (
                        Answer::Nxdomain,
                        "not a valid pod record: NXDOMAIN".to_owned(),
                    )
                }
            }
            _ => (
                Answer::Nxdomain,
                "not a valid pod record: NXDOMAIN".to_owned(),
            ),
        }
    }
}

/// The four names of a Service, with their form.
pub fn forms(name: &str, namespace: &str, domain: &str) -> [(String, Form); 4] {
    [
        (name.to_owned(), Form::Short),
        (format!("{name}.{namespace}"), Form::Namespaced),
        (format!("{name}.{namespace}.svc"), Form::Svc),
        (format!("{name}.{namespace}.svc.{domain}"), Form::Fqdn),
    ]
}

/// Predict every name form from every client namespace into
/// `out.name_forms`; add `name-shadowed`.
pub(crate) fn check(ctx: &Ctx<'_>, facts: &Facts, out: &mut Out) {
    let state = ctx.state;
    let t = ctx.target;
    let opts = ctx.opts;
    let domain = facts.search_domain();
    if ctx.service.is_none() && !state.service_presence_known(&t.namespace, &t.name) {
        out.not_checked(
            "name forms",
            format!("the Service {}/{} could not be read", t.namespace, t.name),
            format!("get services in namespace {}", t.namespace),
        );
        return;
    }
    // Pods search `domain` (the flag's, else the Corefile's); CoreDNS answers
    // for the zone of its Corefile. They differ only with a mismatched
    // --cluster-domain, which the DNS check reports.
    let served = facts.served_zone.as_str();
    let zone = facts.zone(state);
    let own_record = format!("{}.{}.svc.{served}.", t.name, t.namespace);
    let dns_down = facts.dns_down.as_deref();

    // Client namespaces: explicit, or own + hypothetical (+ shadowing, below).
    let mut clients: Vec<Option<String>> = Vec::new();
    let mut maybe_shadowing: BTreeSet<&str> = BTreeSet::new();
    if let Some(pod) = &opts.from_pod {
        // Observed from one pod: its rows (its namespace's resolver).
        clients.push(Some(pod.namespace.clone()));
    } else if opts.from_namespaces.is_empty() {
        clients.push(Some(t.namespace.clone()));
        clients.push(None);
        for s in state.services.iter().filter(|s| s.namespace != t.namespace) {
            // A Service of the same name answers the short name first there;
            // a Service named like the target's namespace may answer `svc.ns`.
            if s.name == t.name || s.name == t.namespace {
                maybe_shadowing.insert(&s.namespace);
            }
        }
    } else {
        for ns in &opts.from_namespaces {
            if !clients.contains(&Some(ns.clone())) {
                clients.push(Some(ns.clone()));
            }
        }
    }
    if !state.coverage.covers_all(Kind::Service)
        && !ctx.state.failures.iter().any(|f| f.kind == Kind::Service)
    {
        let unread: Vec<&str> = clients
            .iter()
            .flatten()
            .filter(|ns| !state.coverage.covers(Kind::Service, ns))
            .map(String::as_str)
            .collect();
        if !unread.is_empty() {
            out.not_checked(
                "name-shadowed",
                format!("the Services of {} were not read", unread.join(", ")),
                "the Services of every namespace, with the namespaces in the same capture: add `kubectl get namespaces,services -A -o json` to the snapshot".to_owned(),
            );
        }
    }

    let rows_from = |client: Option<&str>, out: &mut Out| -> (Vec<NameForm>, bool) {
        let ns = client.unwrap_or(OTHER_NS);
        let conf = ResolverConf::cluster_first(ns, domain);
        let mut any_shadowed = false;
        let rows = forms(&t.name, &t.namespace, domain)
            .into_iter()
            .map(|(typed, form)| {
                let res = replay(&typed, &conf, &zone);
                let mut row = name_form(&typed, form, client, &res, &own_record, ctx);
                if let Some(why) = outside_served_zone(&typed, &res, domain, served) {
                    row.why = why;
                }
                if let Some(reason) = dns_down {
                    row.expected_resolves = Some(false);
                    row.reaches_target = Some(false);
                    row.expected_addresses.clear();
                    row.expected_cname = None;
                    row.answered_by = None;
                    row.why = format!(
                        "no DNS server answers: {reason}; once one does: {}",
                        row.why
                    );
                } else if client.is_some()
                    && ctx.service.is_some()
                    && row.answered_by.is_some()
                    && row.answered_by.as_deref() != Some(own_record.as_str())
                {
                    shadowed(ctx, &row, ns, served, out);
                    any_shadowed = true;
                }
                row
            })
            .collect();
        (rows, any_shadowed)
    };
    let mut rows = Vec::new();
    for client in &clients {
        rows.extend(rows_from(client.as_deref(), out).0);
    }
    // Real rows for every namespace where shadowing applies.
    for ns in maybe_shadowing {
        let (more, any_shadowed) = rows_from(Some(ns), out);
        if any_shadowed {
            rows.extend(more);
        }
    }
    for client in &clients {
        for (typed, pod) in pod_names(ctx, domain) {
            let conf = ResolverConf::cluster_first(client.as_deref().unwrap_or(OTHER_NS), domain);
            let res = replay(&typed, &conf, &zone);
            // The pod's own record, in the zone CoreDNS serves.
            let pod_record = match typed.strip_suffix(domain) {
                Some(head) => format!("{head}{served}."),
                None => format!("{typed}."),
            };
            let mut row = name_form(&typed, Form::Pod, client.as_deref(), &res, &pod_record, ctx);
            row.why = pod_why(ctx, pod, &res, &pod_record);
            if let Some(why) = outside_served_zone(&typed, &res, domain, served) {
                row.why = why;
            }
            if let Some(reason) = dns_down {
                row.expected_resolves = Some(false);
                row.expected_addresses.clear();
                row.answered_by = None;
                row.why = format!(
                    "no DNS server answers: {reason}; once one does: {}",
                    row.why
                );
            }
            rows.push(row);
        }
    }
    if let Some(pod) = &opts.from_pod {
        for row in &mut rows {
            if row.from_namespace.as_deref() == Some(pod.namespace.as_str()) {
                row.from_pod = Some(pod.to_string());
            }
        }
    }
    out.name_forms.extend(rows);
}

/// The per-pod names of a headless Service's StatefulSet pods:
/// `<hostname>.<service>.<ns>.svc.<domain>`, served from the endpoints'
/// `hostname` (the StatefulSet controller sets the pods' hostname and
/// subdomain; the EndpointSlice controller copies the hostname when the
/// subdomain is the Service's name).
fn pod_names<'a>(ctx: &Ctx<'a>, domain: &str) -> Vec<(String, &'a crate::model::Pod)> {
    let Some(svc) = ctx
        .service
        .filter(|s| s.headless && s.type_ != ServiceType::ExternalName)
    else {
        return Vec::new();
    };
    ctx.pods
        .iter()
        .filter(|p| matches!(&p.owner, Some((kind, _)) if kind == "StatefulSet"))
        .map(|p| {
            let host = p.hostname.as_deref().unwrap_or(&p.name);
            (
                format!("{host}.{}.{}.svc.{domain}", svc.name, svc.namespace),
                *p,
            )
        })
        .collect()
}

/// Why a per-pod name resolves or not.
fn pod_why(ctx: &Ctx<'_>, pod: &crate::model::Pod, res: &Resolution, pod_record: &str) -> String {
    let t = ctx.target;
    let host = pod.hostname.as_deref().unwrap_or(&pod.name);
    if let Some(i) = res.answered_by {
        return format!(
            "endpoint `{host}` of headless Service {}/{} (pod {}): {}",
            t.namespace, t.name, pod.name, res.candidates[i].why
        );
    }
    // The pod's own record says why; the other candidates only fail.
    let mut why = match res
        .candidates
        .iter()
        .find(|c| c.name == pod_record)
        .or(res.candidates.last())
    {
        Some(c) => c.why.clone(),
        None => "no candidate".to_owned(),
    };
    if pod.subdomain.as_deref() != Some(t.name.as_str()) {
        why.push_str(&format!(
            "; pod {}'s spec.subdomain is {}, not {}, so its endpoint carries no hostname (statefulset-service-mismatch)",
            pod.name,
            pod.subdomain.as_deref().map_or("unset".to_owned(), |s| format!("`{s}`")),
            t.name
        ));
    } else if !pod.is_ready() {
        why.push_str(&format!(
            "; pod {} is not Ready, and only ready endpoints get records (unless publishNotReadyAddresses)",
            pod.name
        ));
    }
    why
}

/// With a `--cluster-domain` the Corefile does not serve, the pod's search
/// list and the FQDN use the flag's domain, so nothing reaches the zone
/// CoreDNS serves: say so instead of a search-list reason.
fn outside_served_zone(
    typed: &str,
    res: &Resolution,
    domain: &str,
    served: &str,
) -> Option<String> {
    let in_served = |name: &str| {
        let n = name.trim_end_matches('.').to_ascii_lowercase();
        let z = served.to_ascii_lowercase();
        n == z || n.ends_with(&format!(".{z}"))
    };
    if domain.eq_ignore_ascii_case(served)
        || res.answered_by.is_some()
        || res.candidates.iter().any(|c| in_served(&c.name))
    {
        return None;
    }
    let tried = res.candidates.len();
    Some(format!(
        "outside the zone CoreDNS serves: the Corefile serves {served}, the flag says {domain}; `{typed}` and its search-list completions under {domain} ({tried} tried) are all outside {served}, go upstream and do not exist there"
    ))
}

fn name_form(
    typed: &str,
    form: Form,
    client: Option<&str>,
    res: &Resolution,
    own_record: &str,
    ctx: &Ctx<'_>,
) -> NameForm {
    let answered = res.answered_by.map(|i| &res.candidates[i]);
    let (addresses, cname) = match answered.map(|c| &c.answer) {
        Some(Answer::Address { addresses }) => (addresses.clone(), None),
        Some(Answer::Cname {
            target, addresses, ..
        }) => (addresses.clone(), Some(target.clone())),
        _ => (Vec::new(), None),
    };
    NameForm {
        name: typed.to_owned(),
        form,
        from_namespace: client.map(str::to_owned),
        hypothetical: client.is_none(),
        expected_resolves: res.resolves(),
        // The Service's own record answers (even a CNAME whose target only an
        // upstream resolver knows), another Service's does, or none does.
        // An unknown candidate before the Service's own record might be
        // another Service that answers first.
        reaches_target: match (res.resolves(), answered) {
            (Some(false), _) | (_, None) => Some(false),
            (_, Some(hit)) if hit.name != own_record => Some(false),
            _ if res.uncertain() => None,
            _ => Some(true),
        },
        expected_addresses: addresses,
        expected_cname: cname,
        answered_by: answered.map(|c| c.name.clone()),
        why: explain(form, res, own_record, ctx),
        candidates: res.candidates.clone(),
        from_pod: None,
        observed: None,
    }
}

/// One or two sentences on why this form resolves (or not) from this namespace.
fn explain(form: Form, res: &Resolution, own_record: &str, ctx: &Ctx<'_>) -> String {
    let t = ctx.target;
    let Some(i) = res.answered_by else {
        if ctx.service.is_none() {
            return format!(
                "no candidate answers: there is no Service {}/{} ({} tried)",
                t.namespace,
                t.name,
                res.candidates.len()
            );
        }
        let walk = || {
            res.candidates
                .iter()
                .map(|c| format!("{} {}", c.name, c.answer.short()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let own = res.candidates.iter().find(|c| c.name == own_record);
        if let Some(u) = res.candidates.iter().find(|c| c.answer == Answer::Unknown) {
            let otherwise = match (form, own) {
                (Form::Short, None) => format!(
                    "; either way it never reaches {}: use {}.{}",
                    own_record.trim_end_matches('.'),
                    t.name,
                    t.namespace
                ),
                _ => String::new(),
            };
            return format!("unknown: {}{otherwise}", u.why);
        }
        return match (form, own) {
            (Form::Short, None) => format!(
                "never completed to {}: a short name reaches only the client's own namespace; use {}.{}",
                own_record.trim_end_matches('.'),
                t.name,
                t.namespace
            ),
            (_, Some(c)) => format!(
                "the Service's own record {own_record} does not answer: {}",
                c.why
            ),
            _ => format!("no candidate answers ({})", walk()),
        };
    };
    let hit = &res.candidates[i];
    let domain = own_record
        .trim_end_matches('.')
        .strip_prefix(&format!("{}.{}.svc.", t.name, t.namespace))
        .unwrap_or("<domain>");
    let nth = ordinal(i + 1);
    let via = if hit.name == own_record {
        match form {
            Form::Short => format!(
                "the 1st search domain {}.svc.{domain} completes it; works only from namespace {}",
                t.namespace, t.namespace
            ),
            Form::Namespaced => format!("the search domain svc.{domain} completes it ({nth} try)"),
            Form::Svc => format!("the search domain {domain} completes it ({nth} try)"),
            Form::Fqdn | Form::Pod if i == 0 => "the absolute name is tried first".to_owned(),
            Form::Fqdn | Form::Pod => format!(
                "{nth} try: with under 5 dots, {i} search tries fail first; a trailing dot skips them"
            ),
        }
    } else {
        format!(
            "`{}` ({nth} try) answers before the Service's own record: {}",
            hit.name.trim_end_matches('.'),
            hit.why
        )
    };
    let plain_cluster_ip = hit.name == own_record
        && ctx
            .service
            .is_some_and(|s| !s.headless && s.type_ != crate::model::ServiceType::ExternalName);
    match &hit.answer {
        Answer::Cname {
            resolves: None,
            target,
            ..
        } => format!("{via}; CNAME to `{target}`, which only an upstream resolver can answer"),
        _ if plain_cluster_ip => via,
        _ if hit.name == own_record => format!("{via}; {}", hit.why),
        _ => via,
    }
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn shadowed(ctx: &Ctx<'_>, row: &NameForm, client_ns: &str, served: &str, out: &mut Out) {
    let t = ctx.target;
    let hit = row.answered_by.as_deref().unwrap_or_default();
    // `…<svc>.<ns>.svc.<zone>.`: the last two labels before `.svc.<zone>.`.
    let mut labels = hit
        .strip_suffix(&format!(".svc.{served}."))
        .unwrap_or_default()
        .rsplit('.');
    let (other_ns, other_svc) = match (labels.next(), labels.next()) {
        (Some(ns), Some(svc)) => (ns, svc),
        _ => ("?", "?"),
    };
    let mut objects = vec![ObjectRef::new("Service", &t.namespace, &t.name)];
    if other_ns != "?" {
        objects.push(ObjectRef::new("Service", other_ns, other_svc));
    }
    let message = format!(
        "from namespace {client_ns}, `{}` reaches Service {other_ns}/{other_svc} ({}), not {}/{}",
        row.name,
        text::join_addrs(&row.expected_addresses),
        t.namespace,
        t.name
    );
    let key = message.clone();
    if out.findings.iter().any(|f| f.message == key) {
        return;
    }
    out.finding(
        Code::NameShadowed,
        Severity::Warning,
        message,
        format!(
            "from {client_ns}, use `{}.{}` or the FQDN `{}.{}.svc.{served}` to reach {}/{}",
            t.name, t.namespace, t.name, t.namespace, t.namespace, t.name
        ),
        objects,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClusterState, Endpoint, EndpointSlice, Kind, Service, ServiceType};

    fn svc(ns: &str, name: &str, ip: &str) -> Service {
        Service {
            namespace: ns.into(),
            name: name.into(),
            cluster_ips: vec![ip.into()],
            selector: Some([("app".to_owned(), name.to_owned())].into()),
            ..Service::default()
        }
    }

    fn state(services: Vec<Service>) -> ClusterState {
        let mut s = ClusterState {
            services,
            ..ClusterState::default()
        };
        s.coverage.add_all(Kind::Service);
        s.coverage.add_all(Kind::Namespace);
        s.namespaces = ["default", "client", "kube-system"]
            .map(String::from)
            .into();
        s
    }

    fn answered(res: &Resolution) -> Option<&str> {
        res.answered_by.map(|i| res.candidates[i].name.as_str())
    }

    #[test]
    fn glibc_candidate_order_follows_ndots() {
        let conf = ResolverConf::cluster_first("client", "cluster.local");
        assert_eq!(
            conf.candidates("svc.ns"),
            [
                "svc.ns.client.svc.cluster.local.",
                "svc.ns.svc.cluster.local.",
                "svc.ns.cluster.local.",
                "svc.ns."
            ]
        );
        // Five dots or more: the absolute name goes first.
        assert_eq!(conf.candidates("a.b.c.d.e.f")[0], "a.b.c.d.e.f.");
        // A trailing dot: one query.
        assert_eq!(
            conf.candidates("svc.ns.svc.cluster.local."),
            ["svc.ns.svc.cluster.local."]
        );
    }

    #[test]
    fn the_classic_lesson_short_name_only_in_own_namespace() {
        let st = state(vec![svc("default", "service-pay-v1", "10.96.0.20")]);
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        let own = replay(
            "service-pay-v1",
            &ResolverConf::cluster_first("default", "cluster.local"),
            &zone,
        );
        assert_eq!(own.resolves(), Some(true));
        assert_eq!(
            answered(&own),
            Some("service-pay-v1.default.svc.cluster.local.")
        );
        assert_eq!(own.candidates.len(), 1);

        let other = replay(
            "service-pay-v1",
            &ResolverConf::cluster_first("client", "cluster.local"),
            &zone,
        );
        assert_eq!(other.resolves(), Some(false));
        let answers: Vec<&Answer> = other.candidates.iter().map(|c| &c.answer).collect();
        assert_eq!(
            answers,
            [
                &Answer::Nxdomain,
                &Answer::Nxdomain,
                &Answer::Nxdomain,
                &Answer::Upstream
            ]
        );

        let ns_form = replay(
            "service-pay-v1.default",
            &ResolverConf::cluster_first("client", "cluster.local"),
            &zone,
        );
        assert_eq!(ns_form.resolves(), Some(true));
        assert_eq!(
            ns_form.answered_by,
            Some(1),
            "answered through the svc.<domain> search entry"
        );
    }

    #[test]
    fn namespace_named_like_the_service_answers_nodata_and_search_goes_on() {
        let mut st = state(vec![svc("default", "pay", "10.96.0.20")]);
        st.namespaces.insert("pay".into());
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        let c = zone.answer("pay.svc.cluster.local.");
        assert_eq!(c.answer, Answer::Nodata);
        let res = replay(
            "pay",
            &ResolverConf::cluster_first("client", "cluster.local"),
            &zone,
        );
        assert_eq!(res.resolves(), Some(false));
        assert_eq!(res.candidates[1].answer, Answer::Nodata);
    }

    #[test]
    fn shadowing_service_in_client_namespace_answers_first() {
        let st = state(vec![
            svc("default", "service-pay-v1", "10.96.0.20"),
            svc("client", "service-pay-v1", "10.96.0.99"),
        ]);
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        let res = replay(
            "service-pay-v1",
            &ResolverConf::cluster_first("client", "cluster.local"),
            &zone,
        );
        assert_eq!(
            answered(&res),
            Some("service-pay-v1.client.svc.cluster.local.")
        );
        assert_eq!(
            res.candidates[0].answer,
            Answer::Address {
                addresses: vec!["10.96.0.99".into()]
            }
        );
    }

    #[test]
    fn headless_service_answers_ready_endpoints_only_or_nxdomain() {
        let mut headless = svc("default", "db", "");
        headless.cluster_ips.clear();
        headless.headless = true;
        let mut st = state(vec![headless]);
        let ep = |ip: &str, ready| Endpoint {
            addresses: vec![ip.into()],
            ready: Some(ready),
            serving: Some(ready),
            terminating: None,
            hostname: Some(format!("h{}", ip.len())),
            pod: None,
            node_name: None,
        };
        st.endpoint_slices.push(EndpointSlice {
            namespace: "default".into(),
            name: "db-x".into(),
            service_name: Some("db".into()),
            address_type: "IPv4".into(),
            endpoints: vec![ep("10.244.0.1", true), ep("10.244.0.22", false)],
            ..EndpointSlice::default()
        });
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        assert_eq!(
            zone.answer("db.default.svc.cluster.local").answer,
            Answer::Address {
                addresses: vec!["10.244.0.1".into()]
            }
        );
        // Endpoint records by dashed IP and by hostname; a not-ready one is absent.
        assert!(matches!(
            zone.answer("10-244-0-1.db.default.svc.cluster.local")
                .answer,
            Answer::Address { .. }
        ));
        assert_eq!(
            zone.answer("10-244-0-22.db.default.svc.cluster.local")
                .answer,
            Answer::Nxdomain
        );

        st.endpoint_slices[0].endpoints[0].ready = Some(false);
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        assert_eq!(
            zone.answer("db.default.svc.cluster.local").answer,
            Answer::Nxdomain
        );
    }

    #[test]
    fn external_name_is_a_cname_whose_outcome_is_unknown_outside_the_cluster() {
        let mut ext = svc("default", "billing", "");
        ext.type_ = ServiceType::ExternalName;
        ext.cluster_ips.clear();
        ext.selector = None;
        ext.external_name = Some("billing.example.com".into());
        let mut internal = ext.clone();
        internal.name = "alias".into();
        internal.external_name = Some("service-pay-v1.default.svc.cluster.local".into());
        let mut dangling = ext.clone();
        dangling.name = "dangling".into();
        dangling.external_name = Some("gone.default.svc.cluster.local".into());
        let st = state(vec![
            ext,
            internal,
            dangling,
            svc("default", "service-pay-v1", "10.96.0.20"),
        ]);
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        let res = replay(
            "billing",
            &ResolverConf::cluster_first("default", "cluster.local"),
            &zone,
        );
        assert_eq!(res.resolves(), None);
        assert!(
            matches!(&res.candidates[0].answer, Answer::Cname { target, .. } if target == "billing.example.com")
        );
        let res = replay(
            "alias",
            &ResolverConf::cluster_first("default", "cluster.local"),
            &zone,
        );
        assert_eq!(res.resolves(), Some(true));
        assert!(
            matches!(&res.candidates[0].answer, Answer::Cname { addresses, .. } if addresses == &["10.96.0.20".to_owned()])
        );
        assert_eq!(
            zone.answer("dangling.default.svc.cluster.local").answer,
            Answer::Nodata
        );
    }

    #[test]
    fn zone_edges() {
        let st = state(vec![svc("default", "web", "10.96.0.5")]);
        let zone = Zone::new(&st, "cluster.local", PodsMode::Insecure);
        assert_eq!(zone.answer("cluster.local.").answer, Answer::Nodata);
        assert_eq!(zone.answer("svc.cluster.local.").answer, Answer::Nodata);
        assert_eq!(
            zone.answer("default.svc.cluster.local.").answer,
            Answer::Nodata
        );
        assert_eq!(
            zone.answer("nosuch.svc.cluster.local.").answer,
            Answer::Nxdomain
        );
        assert_eq!(zone.answer("web.cluster.local.").answer, Answer::Nxdomain);
        assert_eq!(zone.answer("web.default.").answer, Answer::Upstream);
        assert_eq!(
            zone.answer("a.b.c.d.e.svc.cluster.local.").answer,
            Answer::Nxdomain
        );
        assert_eq!(
            zone.answer("10-1-2-3.default.pod.cluster.local.").answer,
            Answer::Address {
                addresses: vec!["10.1.2.3".into()]
            }
        );
        let disabled = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        assert_eq!(
            disabled
                .answer("10-1-2-3.default.pod.cluster.local.")
                .answer,
            Answer::Nxdomain
        );
        // A namespace that does not exist answers NXDOMAIN even for a known name shape.
        assert_eq!(
            zone.answer("web.gone.svc.cluster.local.").answer,
            Answer::Nxdomain
        );
        // Case does not matter in DNS.
        assert!(matches!(
            zone.answer("WEB.Default.svc.Cluster.Local.").answer,
            Answer::Address { .. }
        ));
    }

    #[test]
    fn custom_cluster_domain_with_more_labels() {
        let st = state(vec![svc("default", "web", "10.96.0.5")]);
        let zone = Zone::new(&st, "k8s.corp.example", PodsMode::Disabled);
        let conf = ResolverConf::cluster_first("client", "k8s.corp.example");
        // 5 dots: the FQDN is tried as-is first.
        let res = replay("web.default.svc.k8s.corp.example", &conf, &zone);
        assert_eq!(res.answered_by, Some(0));
        assert_eq!(
            zone.answer("web.default.svc.cluster.local.").answer,
            Answer::Upstream
        );
    }

    #[test]
    fn a_cluster_domain_the_corefile_does_not_serve_is_named_as_the_reason() {
        let st = state(vec![svc("default", "web", "10.96.0.5")]);
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        let conf = ResolverConf::cluster_first("default", "corp.example");
        let res = replay("web", &conf, &zone);
        let why = outside_served_zone("web", &res, "corp.example", "cluster.local");
        assert_eq!(
            why.as_deref(),
            Some(
                "outside the zone CoreDNS serves: the Corefile serves cluster.local, the flag says corp.example; `web` and its search-list completions under corp.example (4 tried) are all outside cluster.local, go upstream and do not exist there"
            )
        );
        // Same domain: the usual search-list reasons stand.
        let conf = ResolverConf::cluster_first("default", "cluster.local");
        let res = replay("web", &conf, &zone);
        assert_eq!(
            outside_served_zone("web", &res, "cluster.local", "cluster.local"),
            None
        );
    }

    #[test]
    fn ordinals() {
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(2), "2nd");
        assert_eq!(ordinal(3), "3rd");
        assert_eq!(ordinal(4), "4th");
        assert_eq!(ordinal(11), "11th");
        assert_eq!(ordinal(22), "22nd");
    }
}
