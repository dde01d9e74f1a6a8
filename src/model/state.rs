//! The cluster state the analysis reads.
//!
//! Both sources (live via the API server, offline from a snapshot) produce
//! this one slim model. It keeps only the fields a diagnosis uses, so a
//! cluster-wide scan stays small: no managedFields, no specs we do not read.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Label the cluster DNS pods and Service carry (kube-dns and CoreDNS alike).
pub const DNS_APP_LABEL: (&str, &str) = ("k8s-app", "kube-dns");
/// Namespace of the cluster DNS objects.
pub const KUBE_SYSTEM: &str = "kube-system";
/// Name of the cluster DNS Service.
pub const KUBE_DNS: &str = "kube-dns";

/// Kinds of object the model holds; used for coverage and read failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    Service,
    Pod,
    EndpointSlice,
    Event,
    Namespace,
    ConfigMap,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    NetworkPolicy,
}

impl Kind {
    /// The plural resource name, as RBAC and kubectl spell it.
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Service => "services",
            Kind::Pod => "pods",
            Kind::EndpointSlice => "endpointslices.discovery.k8s.io",
            Kind::Event => "events",
            Kind::Namespace => "namespaces",
            Kind::ConfigMap => "configmaps",
            Kind::Deployment => "deployments.apps",
            Kind::StatefulSet => "statefulsets.apps",
            Kind::DaemonSet => "daemonsets.apps",
            Kind::ReplicaSet => "replicasets.apps",
            Kind::NetworkPolicy => "networkpolicies.networking.k8s.io",
        }
    }

    /// The kind as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Service => "Service",
            Kind::Pod => "Pod",
            Kind::EndpointSlice => "EndpointSlice",
            Kind::Event => "Event",
            Kind::Namespace => "Namespace",
            Kind::ConfigMap => "ConfigMap",
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::NetworkPolicy => "NetworkPolicy",
        }
    }
}

/// Which part of the cluster a source has read for one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every namespace.
    All,
    /// Only these namespaces.
    Namespaces(BTreeSet<String>),
}

/// A read that failed (live) or data a snapshot lacks, with what it would take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFailure {
    /// The verb that failed, e.g. `list`.
    pub verb: &'static str,
    pub kind: Kind,
    /// `None` for a cluster-scoped or all-namespaces read.
    pub namespace: Option<String>,
    /// Why, in words (HTTP status and the server's message, or a transport error).
    pub reason: String,
    /// The API server answered 403.
    pub forbidden: bool,
    /// A required read: the diagnosis cannot stand without it (exit 3).
    pub required: bool,
}

impl ReadFailure {
    /// `list pods in namespace default`, `list namespaces (cluster-wide)`.
    pub fn what(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {} in namespace {ns}", self.verb, self.kind.resource()),
            None => format!("{} {} (cluster-wide)", self.verb, self.kind.resource()),
        }
    }
}

/// What a source read: kinds and the namespaces they cover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    scopes: BTreeMap<Kind, Scope>,
    /// Single objects whose presence or absence is known (a `get`).
    objects: BTreeSet<(Kind, String, String)>,
    /// Label-selected reads: every object of `kind` in `namespace` matching `selector`.
    selections: BTreeSet<(Kind, String, String)>,
    /// Label-selected reads in every namespace.
    selections_everywhere: BTreeSet<(Kind, String)>,
    /// Reads of the objects of one name in every namespace
    /// (`fieldSelector=metadata.name=NAME`).
    named_everywhere: BTreeSet<(Kind, String)>,
}

/// One read a coverage records, as a capture file stores it (a Capture
/// record's `reads`): `kind` alone is every namespace; with `namespace`, that
/// namespace; with `name` too, one object; with `labelSelector`, the objects
/// it selects (in `namespace`, else in every namespace); with `name` and no
/// `namespace`, the objects of that name in every namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Covered {
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        rename = "labelSelector",
        skip_serializing_if = "Option::is_none"
    )]
    pub label_selector: Option<String>,
}

impl Coverage {
    /// Record that `kind` was read in `namespace`.
    pub fn add_namespace(&mut self, kind: Kind, namespace: &str) {
        match self
            .scopes
            .entry(kind)
            .or_insert_with(|| Scope::Namespaces(BTreeSet::new()))
        {
            Scope::All => {}
            Scope::Namespaces(set) => {
                set.insert(namespace.to_owned());
            }
        }
    }

    /// Record that `kind` was read in every namespace.
    pub fn add_all(&mut self, kind: Kind) {
        self.scopes.insert(kind, Scope::All);
    }

    /// Whether the state holds every object of `kind` in `namespace`.
    pub fn covers(&self, kind: Kind, namespace: &str) -> bool {
        match self.scopes.get(&kind) {
            Some(Scope::All) => true,
            Some(Scope::Namespaces(set)) => set.contains(namespace),
            None => false,
        }
    }

    /// Record that the presence of one object is known.
    pub fn add_object(&mut self, kind: Kind, namespace: &str, name: &str) {
        self.objects
            .insert((kind, namespace.to_owned(), name.to_owned()));
    }

    /// Whether the presence of one object is known.
    pub fn covers_object(&self, kind: Kind, namespace: &str, name: &str) -> bool {
        self.covers(kind, namespace)
            || self
                .objects
                .contains(&(kind, namespace.to_owned(), name.to_owned()))
            || self.named_everywhere.contains(&(kind, name.to_owned()))
    }

    /// Record a read of every `kind` in `namespace` matching `selector`.
    pub fn add_selection(
        &mut self,
        kind: Kind,
        namespace: &str,
        selector: &BTreeMap<String, String>,
    ) {
        self.selections
            .insert((kind, namespace.to_owned(), selector_string(selector)));
    }

    /// Whether every object of `kind` in `namespace` matching `selector` was read.
    pub fn covers_selection(
        &self,
        kind: Kind,
        namespace: &str,
        selector: &BTreeMap<String, String>,
    ) -> bool {
        self.covers(kind, namespace)
            || self
                .selections
                .contains(&(kind, namespace.to_owned(), selector_string(selector)))
    }

    /// Record a read of every `kind` matching `selector`, in all namespaces.
    pub fn add_selection_everywhere(&mut self, kind: Kind, selector: &BTreeMap<String, String>) {
        self.selections_everywhere
            .insert((kind, selector_string(selector)));
    }

    /// Whether every `kind` matching `selector` was read in every namespace.
    pub fn covers_selection_everywhere(
        &self,
        kind: Kind,
        selector: &BTreeMap<String, String>,
    ) -> bool {
        self.covers_all(kind)
            || self
                .selections_everywhere
                .contains(&(kind, selector_string(selector)))
    }

    /// Whether the state holds every object of `kind` in every namespace.
    pub fn covers_all(&self, kind: Kind) -> bool {
        matches!(self.scopes.get(&kind), Some(Scope::All))
    }

    /// Record a read of every `kind` named `name`, in all namespaces.
    pub fn add_named_everywhere(&mut self, kind: Kind, name: &str) {
        self.named_everywhere.insert((kind, name.to_owned()));
    }

    /// Whether every `kind` named `name` was read, in every namespace.
    pub fn covers_named_everywhere(&self, kind: Kind, name: &str) -> bool {
        self.covers_all(kind) || self.named_everywhere.contains(&(kind, name.to_owned()))
    }

    /// Every read recorded, in a stable order; an object or a selection
    /// that a whole-namespace (or every-namespace) read of its kind already
    /// covers is left out: it adds nothing.
    pub fn entries(&self) -> Vec<Covered> {
        let entry =
            |kind, namespace: Option<&str>, name: Option<&str>, sel: Option<&str>| Covered {
                kind,
                namespace: namespace.map(str::to_owned),
                name: name.map(str::to_owned),
                label_selector: sel.map(str::to_owned),
            };
        let mut out = Vec::new();
        for (kind, scope) in &self.scopes {
            match scope {
                Scope::All => out.push(entry(*kind, None, None, None)),
                Scope::Namespaces(set) => {
                    out.extend(set.iter().map(|ns| entry(*kind, Some(ns), None, None)));
                }
            }
        }
        for (kind, ns, name) in &self.objects {
            if !self.covers(*kind, ns) {
                out.push(entry(*kind, Some(ns), Some(name), None));
            }
        }
        for (kind, ns, sel) in &self.selections {
            if !self.covers(*kind, ns) {
                out.push(entry(*kind, Some(ns), None, Some(sel)));
            }
        }
        for (kind, sel) in &self.selections_everywhere {
            if !self.covers_all(*kind) {
                out.push(entry(*kind, None, None, Some(sel)));
            }
        }
        for (kind, name) in &self.named_everywhere {
            if !self.covers_all(*kind) {
                out.push(entry(*kind, None, Some(name), None));
            }
        }
        out
    }

    /// Record one read as [`Coverage::entries`] lists it; `Err` says why an
    /// entry means nothing (a name and a selector together).
    pub fn add_entry(&mut self, e: &Covered) -> Result<(), String> {
        let (ns, name, sel) = (
            e.namespace.as_deref(),
            e.name.as_deref(),
            e.label_selector.as_deref(),
        );
        match (ns, name, sel) {
            (None, None, None) => self.add_all(e.kind),
            (Some(ns), None, None) => self.add_namespace(e.kind, ns),
            (Some(ns), Some(name), None) => self.add_object(e.kind, ns, name),
            (Some(ns), None, Some(sel)) => {
                self.selections
                    .insert((e.kind, ns.to_owned(), sel.to_owned()));
            }
            (None, None, Some(sel)) => {
                self.selections_everywhere.insert((e.kind, sel.to_owned()));
            }
            (None, Some(name), None) => self.add_named_everywhere(e.kind, name),
            (_, Some(_), Some(_)) => {
                return Err(format!(
                    "a read of {} names both an object and a labelSelector",
                    e.kind.resource()
                ));
            }
        }
        Ok(())
    }
}

/// Where a state came from; wording of "not checked" notes depends on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Origin {
    Live,
    #[default]
    Snapshot,
}

/// Everything a diagnosis reads, from either source.
#[derive(Debug, Clone, Default)]
pub struct ClusterState {
    pub origin: Origin,
    pub services: Vec<Service>,
    pub pods: Vec<Pod>,
    pub endpoint_slices: Vec<EndpointSlice>,
    pub events: Vec<Event>,
    pub workloads: Vec<Workload>,
    /// Namespaces known to exist (Namespace objects, or inferred where the
    /// source says the namespace list is complete).
    pub namespaces: BTreeSet<String>,
    /// Only the DNS-related ConfigMaps of kube-system are kept.
    pub config_maps: Vec<ConfigMap>,
    /// NetworkPolicies of the namespaces read (see `coverage`).
    pub network_policies: Vec<super::NetworkPolicy>,
    /// Labels of the Namespace objects read, for `namespaceSelector`s.
    pub namespace_labels: super::NamespaceLabels,
    pub coverage: Coverage,
    /// Reads that failed; optional ones become `not_checked` entries.
    pub failures: Vec<ReadFailure>,
    /// Snapshot objects that do not match the Kubernetes API: left out of
    /// the state (and of its coverage), each becomes a `not_checked` entry.
    pub skipped: Vec<SkippedObject>,
}

/// A snapshot object that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedObject {
    /// The kind as the input spells it, e.g. `Pod`.
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The field path and what is wrong with its value, e.g.
    /// `spec.containers[0].ports[0].containerPort: invalid type: string "eighty", expected i32`.
    pub reason: String,
}

impl SkippedObject {
    /// `Pod default/pay-v1-abc`, `Namespace team-a`, `Pod (no name)`.
    pub fn what(&self) -> String {
        let name = self.name.as_deref().unwrap_or("(no name)");
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{name}", self.kind),
            None => format!("{} {name}", self.kind),
        }
    }
}

impl ClusterState {
    pub fn service(&self, namespace: &str, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.namespace == namespace && s.name == name)
    }

    pub fn config_map(&self, namespace: &str, name: &str) -> Option<&ConfigMap> {
        self.config_maps
            .iter()
            .find(|c| c.namespace == namespace && c.name == name)
    }

    /// Whether `namespace` is known to exist; `None` when the source cannot tell.
    pub fn namespace_exists(&self, namespace: &str) -> Option<bool> {
        if self.namespaces.contains(namespace) {
            return Some(true);
        }
        if self.coverage.covers_all(Kind::Namespace) {
            return Some(false);
        }
        let seen = self.services.iter().any(|s| s.namespace == namespace)
            || self.pods.iter().any(|p| p.namespace == namespace);
        if seen { Some(true) } else { None }
    }

    /// Whether the presence of Service `namespace/name` is known: it was
    /// read, or its namespace is known not to exist.
    pub fn service_presence_known(&self, namespace: &str, name: &str) -> bool {
        self.coverage.covers_object(Kind::Service, namespace, name)
            || (self.namespace_exists(namespace) == Some(false)
                && !self.services.iter().any(|s| s.namespace == namespace))
    }

    /// The EndpointSlices that belong to a Service.
    pub fn slices_of<'a>(&'a self, svc: &'a Service) -> impl Iterator<Item = &'a EndpointSlice> {
        self.endpoint_slices.iter().filter(move |s| {
            s.namespace == svc.namespace && s.service_name.as_deref() == Some(svc.name.as_str())
        })
    }
}

/// `spec.type` of a Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
    ExternalName,
}

impl ServiceType {
    pub fn parse(s: Option<&str>) -> ServiceType {
        match s {
            Some("NodePort") => ServiceType::NodePort,
            Some("LoadBalancer") => ServiceType::LoadBalancer,
            Some("ExternalName") => ServiceType::ExternalName,
            _ => ServiceType::ClusterIP,
        }
    }
}

/// A Service port's targetPort: a number, or a container port's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TargetPort {
    Number(i32),
    Name(String),
}

impl std::fmt::Display for TargetPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetPort::Number(n) => write!(f, "{n}"),
            TargetPort::Name(n) => f.write_str(n),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: i32,
    pub target_port: TargetPort,
    pub protocol: String,
    pub node_port: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    pub type_: ServiceType,
    /// `spec.clusterIPs` (or `clusterIP`); empty for ExternalName; never "None".
    pub cluster_ips: Vec<String>,
    /// `clusterIP: None`.
    pub headless: bool,
    pub external_name: Option<String>,
    /// `None` for a selectorless Service (hand-made EndpointSlices).
    pub selector: Option<BTreeMap<String, String>>,
    pub ports: Vec<ServicePort>,
    pub publish_not_ready_addresses: bool,
    pub labels: BTreeMap<String, String>,
}

/// Where a container sits in the pod spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ContainerRole {
    Main,
    Init,
    /// An init container with `restartPolicy: Always` (a native sidecar).
    Sidecar,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub port: i32,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    pub role: ContainerRole,
    pub image: String,
    pub ports: Vec<ContainerPort>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminated {
    pub reason: Option<String>,
    pub exit_code: i32,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub reason: String,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStatus {
    pub name: String,
    pub role: ContainerRole,
    pub ready: bool,
    pub started: Option<bool>,
    pub restart_count: i32,
    pub waiting: Option<Waiting>,
    pub running: bool,
    pub terminated: Option<Terminated>,
    pub last_terminated: Option<Terminated>,
}

/// A pod condition we read (`Ready`, `PodScheduled`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub status: Option<bool>,
    pub reason: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub node_name: Option<String>,
    pub phase: Option<String>,
    /// `status.reason`, e.g. `Evicted`.
    pub reason: Option<String>,
    pub message: Option<String>,
    pub pod_ips: Vec<String>,
    /// `spec.hostNetwork`: with `dnsPolicy: ClusterFirst` the kubelet then
    /// gives the pod the node's resolver (`Default`).
    pub host_network: bool,
    /// `spec.dnsPolicy`.
    pub dns_policy: DnsPolicy,
    /// `spec.dnsConfig`, which the kubelet merges into any policy.
    pub dns_config: Option<DnsConfig>,
    pub terminating: bool,
    pub scheduling_gates: Vec<String>,
    pub ready: Option<Condition>,
    pub scheduled: Option<Condition>,
    pub containers: Vec<Container>,
    pub statuses: Vec<ContainerStatus>,
    /// `kind/name` of the controlling owner.
    pub owner: Option<(String, String)>,
    /// `spec.hostname` and `spec.subdomain` (a StatefulSet sets both).
    pub hostname: Option<String>,
    pub subdomain: Option<String>,
}

impl Pod {
    pub fn is_ready(&self) -> bool {
        self.ready.as_ref().and_then(|c| c.status) == Some(true)
    }

    /// Whether `selector` (every key and value) matches this pod's labels.
    pub fn matches(&self, selector: &BTreeMap<String, String>) -> bool {
        labels_match(&self.labels, selector)
    }
}

/// A pod's `spec.dnsPolicy`. The API server fills in `ClusterFirst` when a
/// pod states none, and so does the model.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DnsPolicy {
    #[default]
    ClusterFirst,
    ClusterFirstWithHostNet,
    Default,
    None,
    /// A value the API server rejects (seen only in a hand-written
    /// snapshot), kept as written.
    Other(String),
}

impl DnsPolicy {
    /// The policy a pod states; none stated is `ClusterFirst`.
    pub fn parse(value: Option<&str>) -> DnsPolicy {
        match value {
            None | Some("ClusterFirst") => DnsPolicy::ClusterFirst,
            Some("ClusterFirstWithHostNet") => DnsPolicy::ClusterFirstWithHostNet,
            Some("Default") => DnsPolicy::Default,
            Some("None") => DnsPolicy::None,
            Some(other) => DnsPolicy::Other(other.to_owned()),
        }
    }

    /// As the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            DnsPolicy::ClusterFirst => "ClusterFirst",
            DnsPolicy::ClusterFirstWithHostNet => "ClusterFirstWithHostNet",
            DnsPolicy::Default => "Default",
            DnsPolicy::None => "None",
            DnsPolicy::Other(s) => s,
        }
    }
}

/// A pod's `spec.dnsConfig`, in the order the pod lists its entries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsConfig {
    pub nameservers: Vec<String>,
    pub searches: Vec<String>,
    /// `options`: name and value (`ndots`, `Some("2")`; `edns0`, `None`).
    pub options: Vec<(String, Option<String>)>,
}

/// `k=v,k2=v2`, the label-selector syntax of the API.
pub fn selector_string(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Every selector label must be present with the same value.
pub fn labels_match(
    labels: &BTreeMap<String, String>,
    selector: &BTreeMap<String, String>,
) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPort {
    pub name: Option<String>,
    pub port: Option<i32>,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub addresses: Vec<String>,
    /// `conditions.ready`; `None` (unknown) counts as ready, as consumers do.
    pub ready: Option<bool>,
    pub serving: Option<bool>,
    pub terminating: Option<bool>,
    pub hostname: Option<String>,
    /// `targetRef` name when it points at a Pod.
    pub pod: Option<String>,
    pub node_name: Option<String>,
}

impl Endpoint {
    pub fn is_ready(&self) -> bool {
        self.ready != Some(false)
    }
    pub fn is_serving(&self) -> bool {
        self.serving.unwrap_or_else(|| self.is_ready())
    }
    pub fn is_terminating(&self) -> bool {
        self.terminating == Some(true)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndpointSlice {
    pub namespace: String,
    pub name: String,
    pub service_name: Option<String>,
    pub address_type: String,
    pub ports: Vec<EndpointPort>,
    pub endpoints: Vec<Endpoint>,
    /// Converted from a v1 Endpoints object (the snapshot had no slices).
    pub from_endpoints: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub namespace: String,
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub object_kind: String,
    pub object_name: String,
    pub count: i32,
    /// RFC 3339 time of the latest occurrence, for ordering.
    pub last_seen: Option<String>,
}

/// The pod template of a workload, for near-miss selector hints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    pub template_labels: BTreeMap<String, String>,
    /// A StatefulSet's `spec.serviceName` (its pods' DNS subdomain).
    pub service_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigMap {
    pub namespace: String,
    pub name: String,
    pub data: BTreeMap<String, String>,
}
