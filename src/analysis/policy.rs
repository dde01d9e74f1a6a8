//! NetworkPolicy findings: `dns-egress-blocked`, `egress-blocked`,
//! `ingress-blocked`. Pure: the policies and namespace labels read, run
//! through the evaluator (`netpol.rs`, docs/netpol.md) for each client of
//! the diagnosis.
//!
//! The clients are the `--from` pod (its real labels), else each client
//! namespace named (`--from-namespace`), else the Service's own namespace.
//! A client namespace stands for a pod of that namespace **without
//! labels**: the policies that select every pod of the namespace
//! (`podSelector: {}`) select it, those that select by label do not. The
//! hypothetical "another namespace" row has no policies to read: it is not
//! checked here.
//!
//! A policy read that failed, or a namespace label that was not read, is a
//! `not_checked` entry: never a pass. What the tool cannot see is whether
//! the network plugin enforces NetworkPolicy at all; every finding says so.

use std::collections::BTreeSet;

use super::netpol::{self, Closest, Half, Mismatch, Outcome, PodEndpoint, Traffic, Undecided};
use super::{Ctx, Facts, Out, text};
use crate::model::{
    Code, DNS_APP_LABEL, KUBE_DNS, KUBE_SYSTEM, Kind, NameForm, ObjectRef, Pod, ServicePort,
    Severity, TargetPort,
};

/// The `check` of the entries this family adds.
const CHECK: &str = "network policies";
/// What a finding says about enforcement.
const ENFORCEMENT: &str = "enforcement depends on the network plugin, which the tool cannot see (a plugin without NetworkPolicy support enforces nothing)";

/// One client of the diagnosis, as policies see it.
pub(crate) struct Client {
    pub endpoint: PodEndpoint,
    /// `pod NS/NAME`, or `a pod of namespace NS without labels`.
    pub words: String,
    /// The `from_pod` of its name-form rows.
    pub from_pod: Option<String>,
}

/// The clients policies are checked for; `None` entries could not be
/// built (the `--from` pod was not read).
pub(crate) fn clients(ctx: &Ctx<'_>) -> Vec<Client> {
    let opts = ctx.opts;
    if let Some(p) = &opts.from_pod {
        return ctx
            .state
            .pods
            .iter()
            .find(|x| x.namespace == p.namespace && x.name == p.name)
            .map(|pod| Client {
                endpoint: PodEndpoint::of(pod),
                words: format!("pod {}/{}", pod.namespace, pod.name),
                from_pod: Some(format!("{}/{}", pod.namespace, pod.name)),
            })
            .into_iter()
            .collect();
    }
    let namespaces: Vec<&str> = if opts.from_namespaces.is_empty() {
        vec![ctx.target.namespace.as_str()]
    } else {
        let mut seen = BTreeSet::new();
        opts.from_namespaces
            .iter()
            .map(String::as_str)
            .filter(|n| seen.insert(*n))
            .collect()
    };
    namespaces
        .into_iter()
        .map(|ns| Client {
            endpoint: PodEndpoint {
                namespace: ns.to_owned(),
                ..PodEndpoint::default()
            },
            words: format!("a pod of namespace {ns} without labels"),
            from_pod: None,
        })
        .collect()
}

/// The family's check: DNS egress, then the client's egress to the
/// backends and the backends' ingress from the client.
pub(crate) fn check(ctx: &Ctx<'_>, facts: &Facts, out: &mut Out) {
    if ctx.opts.from_pod.is_some() && clients(ctx).is_empty() {
        return; // the probe's own entry says the pod could not be read
    }
    for client in clients(ctx) {
        let ns = client.endpoint.namespace.clone();
        // The client's egress needs its namespace's policies; the backends'
        // ingress the Service's (below).
        let egress_known = ctx.require(out, CHECK, Kind::NetworkPolicy, &ns);
        if egress_known && let Some(block) = dns(ctx, facts, &client, out) {
            mark_rows(&mut out.name_forms, &client, &block);
            let severity = block.severity;
            out.finding(
                Code::DnsEgressBlocked,
                severity,
                block.message,
                block.fix,
                block.objects,
            );
        }
        backends(ctx, &client, egress_known, out);
    }
}

/// A DNS block found for one client.
pub(crate) struct DnsBlock {
    pub severity: Severity,
    pub message: String,
    /// A short form for name-form rows and probe causes.
    pub short: String,
    pub fix: String,
    pub objects: Vec<ObjectRef>,
}

/// The kube-dns pods and the port each serves `protocol` 53 on (after the
/// Service's DNAT); `Err` says why it is not known.
fn dns_targets<'a>(ctx: &Ctx<'a>, protocol: &str) -> Result<Vec<(&'a Pod, i32)>, String> {
    let state = ctx.state;
    let sel: std::collections::BTreeMap<String, String> =
        [(DNS_APP_LABEL.0.to_owned(), DNS_APP_LABEL.1.to_owned())].into();
    if !state
        .coverage
        .covers_selection(Kind::Pod, KUBE_SYSTEM, &sel)
    {
        return Err(format!(
            "the DNS pods ({}) of {KUBE_SYSTEM} were not read",
            text::selector(&sel)
        ));
    }
    let Some(svc) = state.service(KUBE_SYSTEM, KUBE_DNS) else {
        return Err(format!(
            "the Service {KUBE_SYSTEM}/{KUBE_DNS} was not read or does not exist"
        ));
    };
    let Some(sp) = svc
        .ports
        .iter()
        .find(|p| p.port == 53 && p.protocol.eq_ignore_ascii_case(protocol))
    else {
        return Err(format!(
            "the Service {KUBE_SYSTEM}/{KUBE_DNS} has no port 53/{protocol}"
        ));
    };
    let pods: Vec<&Pod> = state
        .pods
        .iter()
        .filter(|p| p.namespace == KUBE_SYSTEM && p.matches(&sel))
        .collect();
    let ready: Vec<&Pod> = pods.iter().copied().filter(|p| p.is_ready()).collect();
    let pods = if ready.is_empty() { pods } else { ready };
    Ok(pods
        .into_iter()
        .filter_map(|p| target_port(sp, p).map(|port| (p, port)))
        .collect())
}

/// The pod port a Service port reaches on `pod`: a named target port
/// resolved against its container ports; `None` when it has none of that
/// name (the ports check reports it).
fn target_port(sp: &ServicePort, pod: &Pod) -> Option<i32> {
    match &sp.target_port {
        TargetPort::Number(n) => Some(*n),
        TargetPort::Name(name) => pod
            .containers
            .iter()
            .flat_map(|c| &c.ports)
            .find(|c| {
                c.name.as_deref() == Some(name.as_str())
                    && c.protocol.eq_ignore_ascii_case(&sp.protocol)
            })
            .map(|c| c.port),
    }
}

/// The halves over several destination pods: denied when every one is
/// denied; allowed when one is allowed; else unknown.
fn combine(halves: &[Half]) -> Outcome {
    if halves.iter().any(|h| h.outcome == Outcome::Allowed) {
        Outcome::Allowed
    } else if !halves.is_empty() && halves.iter().all(|h| h.outcome == Outcome::Denied) {
        Outcome::Denied
    } else {
        Outcome::Unknown
    }
}

/// Whether `client` may reach the DNS pods on UDP and TCP 53; `Some` when
/// it may not. Not decidable: a `not_checked` entry.
pub(crate) fn dns(
    ctx: &Ctx<'_>,
    facts: &Facts,
    client: &Client,
    out: &mut Out,
) -> Option<DnsBlock> {
    const DNS_CHECK: &str = "dns-egress-blocked";
    if facts.dns.node_local_dns == Some(true) {
        out.not_checked(
            DNS_CHECK,
            "NodeLocal DNSCache runs: pods send their queries to a link-local IP (169.254.20.10 by default) answered by the node-local-dns pod of their node, not to the kube-dns pods; those pods are not read, and how policies treat that traffic (usually host-network) is the plugin's".to_owned(),
            "allow the client's egress to the node-local-dns address on UDP and TCP 53 (an ipBlock) and check it by hand: `kubectl get networkpolicy -A`".to_owned(),
        );
        return None;
    }
    let ns = &client.endpoint.namespace;
    let policies = &ctx.state.network_policies;
    let labels = &ctx.state.namespace_labels;
    let ingress_known = ctx.state.coverage.covers(Kind::NetworkPolicy, KUBE_SYSTEM);
    let mut per_proto = Vec::new();
    for proto in ["UDP", "TCP"] {
        let targets = match dns_targets(ctx, proto) {
            Ok(t) if t.is_empty() => return None, // no DNS pod: the DNS checks say so
            Ok(t) => t,
            // A kube-dns without port 53 on one protocol: the other is
            // still checked.
            Err(why) => {
                out.not_checked(
                    DNS_CHECK,
                    why,
                    format!("get services,pods in namespace {KUBE_SYSTEM}"),
                );
                continue;
            }
        };
        let mut eg = Vec::new();
        let mut ing = Vec::new();
        for (pod, port) in &targets {
            let to = PodEndpoint::of(pod);
            let t = Traffic {
                port: *port,
                protocol: proto,
            };
            eg.push(netpol::egress(policies, labels, &client.endpoint, &to, t));
            ing.push(netpol::ingress(policies, labels, &client.endpoint, &to, t));
        }
        per_proto.push((proto, targets[0].1, eg, ing));
    }
    let denied = |halves: &[Half]| combine(halves) == Outcome::Denied;
    let blocked: Vec<&str> = per_proto
        .iter()
        .filter(|(_, _, eg, ing)| denied(eg) || (ingress_known && denied(ing)))
        .map(|(p, ..)| *p)
        .collect();
    let unknown: Vec<Undecided> = per_proto
        .iter()
        .filter(|(p, ..)| !blocked.contains(p))
        .flat_map(|(_, _, eg, ing)| {
            let mut u: Vec<Undecided> = Vec::new();
            if combine(eg) == Outcome::Unknown {
                u.extend(eg.iter().flat_map(|h| h.undecided.clone()));
            }
            if ingress_known && combine(ing) == Outcome::Unknown {
                u.extend(ing.iter().flat_map(|h| h.undecided.clone()));
            }
            u
        })
        .collect();
    if !unknown.is_empty() {
        let (reason, needs) = undecided_words(&unknown);
        out.not_checked(DNS_CHECK, reason, needs);
    }
    if per_proto.is_empty() {
        return None;
    }
    if !ingress_known && blocked.len() < per_proto.len() {
        // The DNS pods' ingress policies were not read: gap named once.
        ctx.require(out, CHECK, Kind::NetworkPolicy, KUBE_SYSTEM);
    }
    if blocked.is_empty() {
        return None;
    }
    let port_of = |proto: &str| per_proto.iter().find(|p| p.0 == proto).map_or(53, |p| p.1);
    let (udp_port, tcp_port) = (port_of("UDP"), port_of("TCP"));
    let mut reasons = Vec::new();
    let mut objects = BTreeSet::new();
    for (proto, port, eg, ing) in per_proto.iter().filter(|(p, ..)| blocked.contains(p)) {
        if denied(eg) {
            reasons.push(format!(
                "{proto} {port}: {}",
                denial_words(&eg[0], "egress", &client.words)
            ));
            objects.extend(eg[0].isolated_by.iter().cloned());
        } else {
            reasons.push(format!(
                "{proto} {port}: {}",
                denial_words(&ing[0], "ingress", "the DNS pods")
            ));
            objects.extend(ing[0].isolated_by.iter().cloned());
        }
    }
    let udp_blocked = blocked.contains(&"UDP");
    let (severity, lead, short) = if udp_blocked {
        (
            Severity::Error,
            format!(
                "DNS from {} is blocked by NetworkPolicy: its lookups will time out (not NXDOMAIN)",
                client.words
            ),
            format!(
                "lookups will time out (not NXDOMAIN): NetworkPolicy blocks DNS from {} ({})",
                client.words,
                objects.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        )
    } else {
        (
            Severity::Warning,
            format!(
                "DNS from {} is allowed on UDP 53 only: answers too large for UDP and resolvers that use TCP fail",
                client.words
            ),
            String::new(),
        )
    };
    let message = format!("{lead}; {}; {ENFORCEMENT}", reasons.join("; "));
    let fix = format!(
        "allow DNS to the kube-dns pods in namespace {ns} (one peer: namespace AND pods; UDP and TCP): `echo '{}' | kubectl apply -f -`; the policies there: `kubectl -n {ns} get networkpolicies -o yaml`",
        allow_dns_yaml(ns, udp_port, tcp_port)
    );
    Some(DnsBlock {
        severity,
        message,
        short,
        fix,
        objects: objects.into_iter().map(|id| policy_ref(&id)).collect(),
    })
}

/// An allow-DNS NetworkPolicy for namespace `ns`, as one-line YAML (flow
/// style): every pod of `ns` may reach the kube-dns pods of kube-system on
/// UDP and TCP, the namespace and pod selectors in ONE peer.
pub(crate) fn allow_dns_yaml(ns: &str, udp: i32, tcp: i32) -> String {
    format!(
        "{{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {{name: allow-dns, namespace: {ns}}}, spec: {{podSelector: {{}}, policyTypes: [Egress], egress: [{{to: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {KUBE_SYSTEM}}}}}, podSelector: {{matchLabels: {{{}: {}}}}}}}], ports: [{{protocol: UDP, port: {udp}}}, {{protocol: TCP, port: {tcp}}}]}}]}}}}",
        DNS_APP_LABEL.0, DNS_APP_LABEL.1
    )
}

fn policy_ref(id: &str) -> ObjectRef {
    let (ns, name) = id.split_once('/').unwrap_or(("default", id));
    ObjectRef::new("NetworkPolicy", ns, name)
}

/// Name-form rows of `client`: their lookups time out.
fn mark_rows(rows: &mut [NameForm], client: &Client, block: &DnsBlock) {
    if block.short.is_empty() {
        return;
    }
    for row in rows.iter_mut().filter(|r| row_of(r, client)) {
        row.why = format!("{}; else: {}", block.short, row.why);
    }
}

fn row_of(row: &NameForm, client: &Client) -> bool {
    match &client.from_pod {
        Some(p) => row.from_pod.as_deref() == Some(p.as_str()),
        None => {
            row.from_pod.is_none()
                && row.from_namespace.as_deref() == Some(client.endpoint.namespace.as_str())
        }
    }
}

/// For a probe's timeout from `row`'s client: the DNS block that explains
/// it, if a policy blocks that client's DNS.
pub(crate) fn timeout_cause(ctx: &Ctx<'_>, facts: &Facts, row: &NameForm) -> Option<DnsBlock> {
    let client = clients(ctx).into_iter().find(|c| row_of(row, c))?;
    if !ctx
        .state
        .coverage
        .covers(Kind::NetworkPolicy, &client.endpoint.namespace)
    {
        return None;
    }
    let mut scratch = Out::default();
    dns(ctx, facts, &client, &mut scratch).filter(|b| b.severity == Severity::Error)
}

/// The client's egress to the backends, and their ingress from it, per
/// Service port.
fn backends(ctx: &Ctx<'_>, client: &Client, egress_known: bool, out: &mut Out) {
    let Some(svc) = ctx.service else { return };
    let ready: Vec<&Pod> = ctx.pods.iter().copied().filter(|p| p.is_ready()).collect();
    if ready.is_empty() {
        return;
    }
    let policies = &ctx.state.network_policies;
    let labels = &ctx.state.namespace_labels;
    let ingress_known = ctx.require(out, CHECK, Kind::NetworkPolicy, &svc.namespace);
    let names: Vec<&str> = ready.iter().map(|p| p.name.as_str()).collect();
    for sp in &svc.ports {
        let mut eg = Vec::new();
        let mut ing = Vec::new();
        let mut port_shown = None;
        for pod in &ready {
            let Some(port) = target_port(sp, pod) else {
                continue;
            };
            port_shown.get_or_insert(port);
            let to = PodEndpoint::of(pod);
            let t = Traffic {
                port,
                protocol: &sp.protocol,
            };
            if egress_known {
                eg.push(netpol::egress(policies, labels, &client.endpoint, &to, t));
            }
            if ingress_known {
                ing.push(netpol::ingress(policies, labels, &client.endpoint, &to, t));
            }
        }
        let Some(port) = port_shown else { continue };
        let what = format!(
            "{} {port} (Service port {}) of the backends of Service {}/{} ({})",
            sp.protocol,
            sp.port,
            svc.namespace,
            svc.name,
            names.join(", ")
        );
        for (halves, code, dir) in [
            (&eg, Code::EgressBlocked, "egress"),
            (&ing, Code::IngressBlocked, "ingress"),
        ] {
            match combine(halves) {
                Outcome::Denied => {
                    let h = &halves[0];
                    let (subject, fix) = if dir == "egress" {
                        (
                            client.words.clone(),
                            format!(
                                "allow it in a policy selecting the client: `echo '{}' | kubectl apply -f -`; the policies there: `kubectl -n {} get networkpolicies -o yaml`",
                                allow_yaml(
                                    &client.endpoint.namespace,
                                    "Egress",
                                    "to",
                                    &format!(
                                        "namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {}}}}}, podSelector: {{matchLabels: {}}}",
                                        svc.namespace,
                                        flow_labels(svc.selector.as_ref())
                                    ),
                                    "{}",
                                    &sp.protocol,
                                    port,
                                ),
                                client.endpoint.namespace
                            ),
                        )
                    } else {
                        (
                            format!("the backends ({})", names.join(", ")),
                            format!(
                                "allow it in a policy selecting the backends: `echo '{}' | kubectl apply -f -`; the policies there: `kubectl -n {} get networkpolicies -o yaml`",
                                allow_yaml(
                                    &svc.namespace,
                                    "Ingress",
                                    "from",
                                    &format!(
                                        "namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {}}}}}, podSelector: {}",
                                        client.endpoint.namespace,
                                        if client.endpoint.labels.is_empty() {
                                            "{}".to_owned()
                                        } else {
                                            format!(
                                                "{{matchLabels: {}}}",
                                                flow_labels(Some(&client.endpoint.labels))
                                            )
                                        }
                                    ),
                                    &format!(
                                        "{{matchLabels: {}}}",
                                        flow_labels(svc.selector.as_ref())
                                    ),
                                    &sp.protocol,
                                    port,
                                ),
                                svc.namespace
                            ),
                        )
                    };
                    let message = format!(
                        "{} cannot reach {what}: {}; {ENFORCEMENT}",
                        client.words,
                        denial_words(h, dir, &subject)
                    );
                    let mut objects: Vec<ObjectRef> =
                        h.isolated_by.iter().map(|id| policy_ref(id)).collect();
                    objects.push(ObjectRef::new("Service", &svc.namespace, &svc.name));
                    out.finding(code, Severity::Error, message, fix, objects);
                }
                Outcome::Unknown if !halves.is_empty() => {
                    let u: Vec<Undecided> =
                        halves.iter().flat_map(|h| h.undecided.clone()).collect();
                    let (reason, needs) = undecided_words(&u);
                    out.not_checked(code.as_str(), reason, needs);
                }
                _ => {}
            }
        }
    }
}

/// A one-line YAML allow policy in `ns` for `dir` (`Egress`/`Ingress`),
/// its one peer and one port.
fn allow_yaml(
    ns: &str,
    dir: &str,
    key: &str,
    peer: &str,
    selector: &str,
    protocol: &str,
    port: i32,
) -> String {
    format!(
        "{{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {{name: allow-svcdiscover-{}, namespace: {ns}}}, spec: {{podSelector: {selector}, policyTypes: [{dir}], {}: [{{{key}: [{{{peer}}}], ports: [{{protocol: {protocol}, port: {port}}}]}}]}}}}",
        dir.to_lowercase(),
        dir.to_lowercase()
    )
}

fn flow_labels(labels: Option<&std::collections::BTreeMap<String, String>>) -> String {
    let inner: Vec<String> = labels
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// Why a half denies: the policies isolating `subject` and the rule that
/// came closest.
fn denial_words(h: &Half, dir: &str, subject: &str) -> String {
    let by = h.isolated_by.join(", ");
    let closest = match &h.closest {
        Some(Closest {
            rule: Some(r),
            mismatches,
        }) => format!(
            "; closest rule: {} {dir} rule #{} ({})",
            r.policy,
            r.index + 1,
            mismatches
                .iter()
                .map(mismatch_words)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(Closest {
            rule: None,
            mismatches,
        }) if mismatches.contains(&Mismatch::NoRules) => {
            if h.isolated_by.len() == 1 {
                format!("; it has no {dir} rule: it only isolates")
            } else {
                format!("; they have no {dir} rule: they only isolate")
            }
        }
        _ => String::new(),
    };
    let (many, verb) = if h.isolated_by.len() == 1 {
        ("NetworkPolicy", "selects")
    } else {
        ("NetworkPolicies", "select")
    };
    format!("{many} {by} {verb} {subject} for {dir} and no rule allows it{closest}")
}

fn mismatch_words(m: &Mismatch) -> String {
    match m {
        Mismatch::NoRules => "the policy has no rule in this direction".to_owned(),
        Mismatch::Protocol { protocol, allowed } => {
            format!("no {protocol} port, only {}", allowed.join(", "))
        }
        Mismatch::Port { port, allowed } => {
            format!("port {port} not among {}", allowed.join(", "))
        }
        Mismatch::NamedPortUnresolved { name } => {
            format!("named port {name} is no container port of the destination")
        }
        Mismatch::PodSelector { selector } => {
            format!("podSelector {selector} does not select the pod")
        }
        Mismatch::NamespaceSelector {
            selector,
            namespace,
        } => format!("namespaceSelector {selector} does not select namespace {namespace}"),
        Mismatch::OtherNamespace {
            policy_namespace,
            namespace,
        } => format!(
            "a podSelector without namespaceSelector selects pods of {policy_namespace} only, not of {namespace}"
        ),
        Mismatch::IpBlock { cidr } => format!("the pod IP is not in ipBlock {cidr}"),
        Mismatch::IpBlockExcept { cidr, except } => {
            format!("the pod IP is in ipBlock {cidr} but in its except {except}")
        }
    }
}

/// The reason and needs of a `not_checked` entry for undecided halves.
fn undecided_words(u: &[Undecided]) -> (String, String) {
    let set: BTreeSet<&Undecided> = u.iter().collect();
    let nss: Vec<&str> = set
        .iter()
        .filter_map(|x| match x {
            Undecided::NamespaceLabels { namespace } => Some(namespace.as_str()),
            Undecided::PodIp { .. } => None,
        })
        .collect();
    let pods: Vec<String> = set
        .iter()
        .filter_map(|x| match x {
            Undecided::PodIp { pod } => Some(match pod.strip_suffix('/') {
                // The client a namespace stands for has no IP.
                Some(ns) => format!("the client (any pod of namespace {ns})"),
                None => pod.clone(),
            }),
            Undecided::NamespaceLabels { .. } => None,
        })
        .collect();
    let mut reason = Vec::new();
    let mut needs = Vec::new();
    if !nss.is_empty() {
        reason.push(format!(
            "a namespaceSelector needs the labels of namespace {}, which were not read",
            nss.join(", ")
        ));
        needs.push("RBAC: list namespaces (cluster-wide)".to_owned());
    }
    if !pods.is_empty() {
        reason.push(format!(
            "an ipBlock needs the IP of {}, which is not known",
            pods.join(", ")
        ));
        needs.push(
            "the pods' IPs: a real client with `--from NS/POD`, and the destination pods' status.podIPs"
                .to_owned(),
        );
    }
    (reason.join("; "), needs.join("; "))
}

#[cfg(test)]
mod tests;
