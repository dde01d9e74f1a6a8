//! NetworkPolicies as the API stores them (`networking.k8s.io/v1`), slimmed
//! to what the evaluator (`analysis::netpol`) reads, and the namespace
//! labels their `namespaceSelector`s match. See docs/netpol.md.

use std::collections::BTreeMap;

use super::LabelSelector;

/// The label the control plane sets on every namespace, its value the
/// namespace's name ("Targeting a Namespace by its name").
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// A direction of traffic, as seen from the pods a policy selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// Into the selected pods (`ingress` rules, `from` peers).
    Ingress,
    /// Out of the selected pods (`egress` rules, `to` peers).
    Egress,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The port of a `ports` entry: a number, or the name of a container port
/// of the destination pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyPortValue {
    Number(i32),
    Name(String),
}

/// One `ports` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyPort {
    /// `TCP` when the policy states none (the API's default).
    pub protocol: String,
    /// `None`: every port of the protocol.
    pub port: Option<PolicyPortValue>,
    /// The last port of the range `port..=end_port` (numeric `port` only).
    pub end_port: Option<i32>,
}

/// One `from`/`to` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyPeer {
    /// `podSelector` and/or `namespaceSelector` (at least one is set; both
    /// set means both must match).
    Pods {
        pod_selector: Option<LabelSelector>,
        namespace_selector: Option<LabelSelector>,
    },
    /// `ipBlock`: `cidr` less the `except` CIDRs.
    IpBlock { cidr: String, except: Vec<String> },
}

/// One `ingress` or `egress` rule. An empty list of peers or ports
/// (absent or `[]`, which the API does not tell apart) matches every peer
/// or every port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyRule {
    pub peers: Vec<PolicyPeer>,
    pub ports: Vec<PolicyPort>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPolicy {
    pub namespace: String,
    pub name: String,
    /// `spec.podSelector`: `{}` selects every pod of the namespace.
    pub pod_selector: LabelSelector,
    /// `spec.policyTypes` as stored (possibly empty: see [`Self::applies`]).
    pub policy_types: Vec<Direction>,
    pub ingress: Vec<PolicyRule>,
    pub egress: Vec<PolicyRule>,
}

impl NetworkPolicy {
    /// Whether the policy applies to the pods it selects in `dir`, i.e.
    /// isolates them in that direction. With no `policyTypes` the API's
    /// default holds: `Ingress` always, `Egress` when there are egress rules
    /// (`SetDefaults_NetworkPolicy`; the API server fills the field in on
    /// create, so a stored object usually states it).
    pub fn applies(&self, dir: Direction) -> bool {
        if self.policy_types.is_empty() {
            return match dir {
                Direction::Ingress => true,
                Direction::Egress => !self.egress.is_empty(),
            };
        }
        self.policy_types.contains(&dir)
    }

    /// The rules of `dir`.
    pub fn rules(&self, dir: Direction) -> &[PolicyRule] {
        match dir {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }

    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Namespace labels, for `namespaceSelector`s. A namespace whose labels
/// were not read is known only by the label the control plane sets on
/// every namespace (`kubernetes.io/metadata.name`); a selector on another
/// key is then undecided, never a match or a miss.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NamespaceLabels {
    read: BTreeMap<String, BTreeMap<String, String>>,
}

impl NamespaceLabels {
    /// Record the labels read for `namespace`. The name label is added if
    /// missing (a cluster before 1.21, or a hand-written snapshot).
    pub fn insert(&mut self, namespace: &str, mut labels: BTreeMap<String, String>) {
        labels
            .entry(NAMESPACE_NAME_LABEL.to_owned())
            .or_insert_with(|| namespace.to_owned());
        self.read.insert(namespace.to_owned(), labels);
    }

    /// The labels of `namespace`, and whether they are all known.
    pub fn get(&self, namespace: &str) -> (BTreeMap<String, String>, bool) {
        match self.read.get(namespace) {
            Some(l) => (l.clone(), true),
            None => (
                [(NAMESPACE_NAME_LABEL.to_owned(), namespace.to_owned())].into(),
                false,
            ),
        }
    }
}
