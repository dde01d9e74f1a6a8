//! NetworkPolicy evaluation: may this pod connect to that pod on this port?
//! Pure: the policies, the namespace labels and the two pods in, a
//! [`Decision`] out. The semantics are the API's (docs/netpol.md gives
//! them with their sources); whether a network plugin enforces them is
//! not known here.
//!
//! A connection is allowed when the source's egress allows it AND the
//! destination's ingress allows it ([`allowed`]); each half is available
//! alone ([`egress`], [`ingress`]) since the findings need each. A half
//! names the policies that isolate the pod in that direction, the rule that
//! allowed, or for a denial the rule that came closest and why it did not
//! match. What cannot be decided from what was read (a namespace whose
//! labels were not read, a pod without a known IP against an `ipBlock`) is
//! [`Outcome::Unknown`], never a pass.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::model::{
    ContainerPort, Direction, NamespaceLabels, NetworkPolicy, Pod, PolicyPeer, PolicyPort,
    PolicyPortValue, PolicyRule,
};

/// One end of a connection: a pod, as far as policies see it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodEndpoint {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Pod IPs; empty when unknown (an `ipBlock` peer is then undecided).
    pub ips: Vec<String>,
    /// Container ports: a named policy port resolves against the
    /// destination pod's.
    pub ports: Vec<ContainerPort>,
}

impl PodEndpoint {
    pub fn of(pod: &Pod) -> PodEndpoint {
        PodEndpoint {
            namespace: pod.namespace.clone(),
            name: pod.name.clone(),
            labels: pod.labels.clone(),
            ips: pod.pod_ips.clone(),
            ports: pod
                .containers
                .iter()
                .flat_map(|c| c.ports.iter().cloned())
                .collect(),
        }
    }

    fn same_pod(&self, other: &PodEndpoint) -> bool {
        !self.name.is_empty() && self.namespace == other.namespace && self.name == other.name
    }
}

/// The connection's destination port (the pod's port, after a Service's
/// DNAT) and protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traffic<'a> {
    pub port: i32,
    pub protocol: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Denied,
    /// Depends on something not read; see [`Half::undecided`].
    Unknown,
}

/// A rule: the `index`th rule of its direction in `policy` (`ns/name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    pub policy: String,
    pub index: usize,
}

/// Why a rule did not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The policy has no rule in this direction: it only isolates.
    NoRules,
    /// No `ports` entry is of the traffic's protocol.
    Protocol {
        protocol: String,
        allowed: Vec<String>,
    },
    /// Entries of the protocol exist, none covers the port.
    Port { port: i32, allowed: Vec<String> },
    /// A named port that the destination pod has no container port of (of
    /// that protocol).
    NamedPortUnresolved { name: String },
    /// `podSelector` did not select the pod's labels.
    PodSelector { selector: String },
    /// `namespaceSelector` did not select the pod's namespace.
    NamespaceSelector { selector: String, namespace: String },
    /// A `podSelector` without `namespaceSelector` selects pods of the
    /// policy's own namespace only.
    OtherNamespace {
        policy_namespace: String,
        namespace: String,
    },
    /// No pod IP is in the `ipBlock`'s CIDR.
    IpBlock { cidr: String },
    /// The pod IP is in the CIDR but also in an `except` CIDR.
    IpBlockExcept { cidr: String, except: String },
}

/// What a decision could not be made without.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Undecided {
    /// A `namespaceSelector` needs labels of a namespace that were not read.
    NamespaceLabels { namespace: String },
    /// An `ipBlock` needs the pod's IP, which is not known.
    PodIp { pod: String },
}

/// The rule that came closest to allowing, and what it missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closest {
    pub rule: Option<RuleRef>,
    pub mismatches: Vec<Mismatch>,
}

/// One direction of a connection: the source's egress or the
/// destination's ingress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Half {
    pub direction: Direction,
    pub outcome: Outcome,
    /// The policies (`ns/name`) that select the pod for this direction; none
    /// = not isolated, all allowed.
    pub isolated_by: Vec<String>,
    /// The first rule that allows the connection.
    pub allowed_by: Option<RuleRef>,
    /// The allowing peer is an `ipBlock` that matched a pod IP, which the
    /// API leaves to the plugin (docs/netpol.md).
    pub via_ip_block: bool,
    /// A pod connecting to itself: always allowed.
    pub same_pod: bool,
    /// For a denial: the policy rule that came closest.
    pub closest: Option<Closest>,
    /// For an unknown outcome: what is missing.
    pub undecided: Vec<Undecided>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub egress: Half,
    pub ingress: Half,
}

/// Whether `from` may open a connection to `to` for `traffic`: the
/// source's egress AND the destination's ingress.
pub fn allowed(
    policies: &[NetworkPolicy],
    namespaces: &NamespaceLabels,
    from: &PodEndpoint,
    to: &PodEndpoint,
    traffic: Traffic<'_>,
) -> Decision {
    let egress = egress(policies, namespaces, from, to, traffic);
    let ingress = ingress(policies, namespaces, from, to, traffic);
    let outcome = match (egress.outcome, ingress.outcome) {
        (Outcome::Denied, _) | (_, Outcome::Denied) => Outcome::Denied,
        (Outcome::Unknown, _) | (_, Outcome::Unknown) => Outcome::Unknown,
        _ => Outcome::Allowed,
    };
    Decision {
        outcome,
        egress,
        ingress,
    }
}

/// The source's half: do the egress policies selecting `from` allow it?
pub fn egress(
    policies: &[NetworkPolicy],
    namespaces: &NamespaceLabels,
    from: &PodEndpoint,
    to: &PodEndpoint,
    traffic: Traffic<'_>,
) -> Half {
    half(
        Direction::Egress,
        policies,
        namespaces,
        from,
        to,
        to,
        traffic,
    )
}

/// The destination's half: do the ingress policies selecting `to` allow it?
pub fn ingress(
    policies: &[NetworkPolicy],
    namespaces: &NamespaceLabels,
    from: &PodEndpoint,
    to: &PodEndpoint,
    traffic: Traffic<'_>,
) -> Half {
    half(
        Direction::Ingress,
        policies,
        namespaces,
        to,
        from,
        to,
        traffic,
    )
}

/// The result of matching one part (a peer, a port list, a rule).
#[derive(Debug, Default)]
struct Match {
    /// `Some(true)` matched, `Some(false)` did not, `None` undecided.
    hit: Option<bool>,
    mismatches: Vec<Mismatch>,
    undecided: Vec<Undecided>,
    via_ip_block: bool,
}

impl Match {
    fn yes() -> Match {
        Match {
            hit: Some(true),
            ..Match::default()
        }
    }

    fn no(m: Mismatch) -> Match {
        Match {
            hit: Some(false),
            mismatches: vec![m],
            ..Match::default()
        }
    }

    fn undecided(u: Undecided) -> Match {
        Match {
            hit: None,
            undecided: vec![u],
            ..Match::default()
        }
    }

    /// Both must match (Kleene AND); the reasons of both are kept.
    fn and(mut self, other: Match) -> Match {
        self.hit = match (self.hit, other.hit) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (None, _) | (_, None) => None,
            _ => Some(true),
        };
        self.mismatches.extend(other.mismatches);
        self.undecided.extend(other.undecided);
        self.via_ip_block |= other.via_ip_block;
        self
    }
}

/// Either must match (Kleene OR). A hit is the first hit; a miss keeps the
/// reasons of the alternative that came closest (fewest mismatches).
fn any(alternatives: impl IntoIterator<Item = Match>) -> Match {
    let mut best: Option<Match> = None;
    let mut undecided = Vec::new();
    for m in alternatives {
        match m.hit {
            Some(true) => return m,
            None => undecided.extend(m.undecided),
            Some(false) => {
                if best
                    .as_ref()
                    .is_none_or(|b| m.mismatches.len() < b.mismatches.len())
                {
                    best = Some(m);
                }
            }
        }
    }
    if !undecided.is_empty() {
        return Match {
            hit: None,
            undecided,
            ..Match::default()
        };
    }
    best.unwrap_or_else(|| Match {
        hit: Some(false),
        ..Match::default()
    })
}

/// `subject` is the pod whose policies count (the source for egress, the
/// destination for ingress), `peer` the other end, `dest` the destination
/// (named ports resolve against its container ports).
fn half(
    direction: Direction,
    policies: &[NetworkPolicy],
    namespaces: &NamespaceLabels,
    subject: &PodEndpoint,
    peer: &PodEndpoint,
    dest: &PodEndpoint,
    traffic: Traffic<'_>,
) -> Half {
    let applying: Vec<&NetworkPolicy> = policies
        .iter()
        .filter(|p| {
            p.namespace == subject.namespace
                && p.applies(direction)
                && p.pod_selector.matches(&subject.labels)
        })
        .collect();
    let mut out = Half {
        direction,
        outcome: Outcome::Allowed,
        isolated_by: applying.iter().map(|p| p.id()).collect(),
        allowed_by: None,
        via_ip_block: false,
        same_pod: false,
        closest: None,
        undecided: Vec::new(),
    };
    if applying.is_empty() {
        return out;
    }
    // "a pod cannot block access to itself" (Network Policies, overview).
    if subject.same_pod(peer) {
        out.same_pod = true;
        return out;
    }
    let mut closest: Option<Closest> = None;
    let mut undecided = Vec::new();
    for p in &applying {
        let rules = p.rules(direction);
        if rules.is_empty() && closest.is_none() {
            closest = Some(Closest {
                rule: None,
                mismatches: vec![Mismatch::NoRules],
            });
        }
        for (index, rule) in rules.iter().enumerate() {
            let m = rule_match(rule, p, namespaces, peer, dest, traffic);
            match m.hit {
                Some(true) => {
                    out.allowed_by = Some(RuleRef {
                        policy: p.id(),
                        index,
                    });
                    out.via_ip_block = m.via_ip_block;
                    return out;
                }
                None => undecided.extend(m.undecided),
                Some(false) => {
                    let better = closest.as_ref().is_none_or(|c| {
                        c.rule.is_none() || m.mismatches.len() < c.mismatches.len()
                    });
                    if better {
                        closest = Some(Closest {
                            rule: Some(RuleRef {
                                policy: p.id(),
                                index,
                            }),
                            mismatches: m.mismatches,
                        });
                    }
                }
            }
        }
    }
    if undecided.is_empty() {
        out.outcome = Outcome::Denied;
        out.closest = closest;
    } else {
        undecided.sort();
        undecided.dedup();
        out.outcome = Outcome::Unknown;
        out.undecided = undecided;
    }
    out
}

fn rule_match(
    rule: &PolicyRule,
    policy: &NetworkPolicy,
    namespaces: &NamespaceLabels,
    peer: &PodEndpoint,
    dest: &PodEndpoint,
    traffic: Traffic<'_>,
) -> Match {
    // No peers (absent or []): every peer. No ports: every port.
    let peers = if rule.peers.is_empty() {
        Match::yes()
    } else {
        any(rule
            .peers
            .iter()
            .map(|p| peer_match(p, policy, namespaces, peer)))
    };
    peers.and(ports_match(&rule.ports, dest, traffic))
}

fn peer_match(
    p: &PolicyPeer,
    policy: &NetworkPolicy,
    namespaces: &NamespaceLabels,
    pod: &PodEndpoint,
) -> Match {
    match p {
        PolicyPeer::Pods {
            pod_selector,
            namespace_selector,
        } => {
            let ns = match namespace_selector {
                Some(sel) => {
                    let (labels, complete) = namespaces.get(&pod.namespace);
                    match sel.matches_known(&labels, complete) {
                        Some(true) => Match::yes(),
                        Some(false) => Match::no(Mismatch::NamespaceSelector {
                            selector: sel.to_string(),
                            namespace: pod.namespace.clone(),
                        }),
                        None => Match::undecided(Undecided::NamespaceLabels {
                            namespace: pod.namespace.clone(),
                        }),
                    }
                }
                None if pod.namespace == policy.namespace => Match::yes(),
                None => Match::no(Mismatch::OtherNamespace {
                    policy_namespace: policy.namespace.clone(),
                    namespace: pod.namespace.clone(),
                }),
            };
            let pods = match pod_selector {
                Some(sel) if !sel.matches(&pod.labels) => Match::no(Mismatch::PodSelector {
                    selector: sel.to_string(),
                }),
                _ => Match::yes(),
            };
            ns.and(pods)
        }
        PolicyPeer::IpBlock { cidr, except } => ip_block_match(cidr, except, pod),
    }
}

/// An `ipBlock` against the pod's IPs. The API leaves it to the plugin
/// whether pod IPs are subject to `ipBlock`s; the evaluator matches them
/// (as the upstream e2e suite expects) and marks the match.
fn ip_block_match(cidr: &str, except: &[String], pod: &PodEndpoint) -> Match {
    let ips: Vec<IpAddr> = pod.ips.iter().filter_map(|i| i.parse().ok()).collect();
    if ips.is_empty() {
        return Match::undecided(Undecided::PodIp {
            pod: format!("{}/{}", pod.namespace, pod.name),
        });
    }
    let mut miss = Mismatch::IpBlock {
        cidr: cidr.to_owned(),
    };
    for ip in ips {
        if !cidr_contains(cidr, ip) {
            continue;
        }
        match except.iter().find(|e| cidr_contains(e, ip)) {
            Some(e) => {
                miss = Mismatch::IpBlockExcept {
                    cidr: cidr.to_owned(),
                    except: e.clone(),
                }
            }
            None => {
                return Match {
                    via_ip_block: true,
                    ..Match::yes()
                };
            }
        }
    }
    Match::no(miss)
}

/// Whether `cidr` (`addr/len`) contains `ip`. A malformed CIDR (which the
/// API server refuses) contains nothing.
fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let Some((addr, len)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(net), Ok(len)) = (addr.parse::<IpAddr>(), len.parse::<u32>()) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

fn port_text(p: &PolicyPort) -> String {
    match (&p.port, p.end_port) {
        (None, _) => format!("{}/*", p.protocol),
        (Some(PolicyPortValue::Number(n)), Some(e)) => format!("{}/{n}-{e}", p.protocol),
        (Some(PolicyPortValue::Number(n)), None) => format!("{}/{n}", p.protocol),
        (Some(PolicyPortValue::Name(s)), _) => format!("{}/{s}", p.protocol),
    }
}

fn ports_match(ports: &[PolicyPort], dest: &PodEndpoint, traffic: Traffic<'_>) -> Match {
    if ports.is_empty() {
        return Match::yes();
    }
    let proto = |p: &str| p.eq_ignore_ascii_case(traffic.protocol);
    let of_proto: Vec<&PolicyPort> = ports.iter().filter(|p| proto(&p.protocol)).collect();
    let allowed = || ports.iter().map(port_text).collect::<Vec<_>>();
    if of_proto.is_empty() {
        return Match::no(Mismatch::Protocol {
            protocol: traffic.protocol.to_owned(),
            allowed: allowed(),
        });
    }
    let mut unresolved = None;
    for p in of_proto {
        let hit = match &p.port {
            None => true,
            Some(PolicyPortValue::Number(n)) => match p.end_port {
                Some(e) => (*n..=e).contains(&traffic.port),
                None => *n == traffic.port,
            },
            Some(PolicyPortValue::Name(name)) => {
                let mut named = dest
                    .ports
                    .iter()
                    .filter(|c| c.name.as_deref() == Some(name.as_str()) && proto(&c.protocol))
                    .peekable();
                if named.peek().is_none() {
                    unresolved.get_or_insert_with(|| name.clone());
                }
                named.any(|c| c.port == traffic.port)
            }
        };
        if hit {
            return Match::yes();
        }
    }
    match unresolved {
        Some(name) => Match::no(Mismatch::NamedPortUnresolved { name }),
        None => Match::no(Mismatch::Port {
            port: traffic.port,
            allowed: allowed(),
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests;
