//! The API objects as the sources decode them: only the fields the
//! conversion to the model reads (src/source/convert.rs), under the names
//! and in the shapes of k8s-openapi's types, so the conversion reads the
//! same for both.
//!
//! Decoding the full k8s-openapi types built every field of every object
//! (a Pod's volumes, env, resources, managedFields, …) only for the model
//! to keep a tenth of them: most of the time and memory of a large scan.
//! Here every other field is skipped unread ([`serde::de::IgnoredAny`]) as
//! the decoder passes over it.
//!
//! The rules are k8s-openapi's, which the Kubernetes API's are: a missing
//! or `null` field is its default (`or_default`), an unknown one is
//! ignored. Timestamps keep k8s-openapi's types, so they parse and print
//! the same.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
pub use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// A field the API may send as `null` or leave out: its default then, as
/// k8s-openapi's decoders do.
fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A field that is only looked at for being there (a running state).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Present;

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Present)
    }
}

type Labels = BTreeMap<String, String>;

/// A type the live source reads: the k8s-openapi type it stands for names
/// its API path, kind and apiVersion.
pub trait Object: serde::de::DeserializeOwned {
    type Api: kube::Resource<DynamicType = ()>;
}

macro_rules! objects {
    ($($wire:ty => $api:ty),* $(,)?) => {
        $(impl Object for $wire {
            type Api = $api;
        })*
    };
}

objects! {
    core::Namespace => k8s_openapi::api::core::v1::Namespace,
    core::Service => k8s_openapi::api::core::v1::Service,
    core::Pod => k8s_openapi::api::core::v1::Pod,
    core::Event => k8s_openapi::api::core::v1::Event,
    core::ConfigMap => k8s_openapi::api::core::v1::ConfigMap,
    discovery::EndpointSlice => k8s_openapi::api::discovery::v1::EndpointSlice,
    apps::Deployment => k8s_openapi::api::apps::v1::Deployment,
    apps::StatefulSet => k8s_openapi::api::apps::v1::StatefulSet,
    apps::DaemonSet => k8s_openapi::api::apps::v1::DaemonSet,
    networking::NetworkPolicy => k8s_openapi::api::networking::v1::NetworkPolicy,
}

pub mod meta {
    use super::*;

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ObjectMeta {
        pub name: Option<String>,
        pub namespace: Option<String>,
        pub labels: Option<Labels>,
        pub owner_references: Option<Vec<OwnerReference>>,
        pub creation_timestamp: Option<Time>,
        pub deletion_timestamp: Option<Time>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct OwnerReference {
        #[serde(default, deserialize_with = "or_default")]
        pub kind: String,
        #[serde(default, deserialize_with = "or_default")]
        pub name: String,
        pub controller: Option<bool>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct LabelSelector {
        pub match_labels: Option<Labels>,
        pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct LabelSelectorRequirement {
        #[serde(default, deserialize_with = "or_default")]
        pub key: String,
        #[serde(default, deserialize_with = "or_default")]
        pub operator: String,
        pub values: Option<Vec<String>>,
    }
}

pub mod core {
    use super::meta::ObjectMeta;
    use super::*;

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Namespace {
        #[serde(default, deserialize_with = "or_default")]
        pub metadata: ObjectMeta,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Service {
        #[serde(default, deserialize_with = "or_default")]
        pub metadata: ObjectMeta,
        pub spec: Option<ServiceSpec>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ServiceSpec {
        #[serde(rename = "clusterIP")]
        pub cluster_ip: Option<String>,
        #[serde(rename = "clusterIPs")]
        pub cluster_ips: Option<Vec<String>>,
        #[serde(rename = "type")]
        pub type_: Option<String>,
        pub external_name: Option<String>,
        pub selector: Option<Labels>,
        pub ports: Option<Vec<ServicePort>>,
        pub publish_not_ready_addresses: Option<bool>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ServicePort {
        pub name: Option<String>,
        #[serde(default, deserialize_with = "or_default")]
        pub port: i32,
        pub protocol: Option<String>,
        pub target_port: Option<IntOrString>,
        pub node_port: Option<i32>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Pod {
        #[serde(default, deserialize_with = "or_default")]
        pub metadata: ObjectMeta,
        pub spec: Option<PodSpec>,
        pub status: Option<PodStatus>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PodSpec {
        #[serde(default, deserialize_with = "or_default")]
        pub containers: Vec<Container>,
        pub init_containers: Option<Vec<Container>>,
        pub node_name: Option<String>,
        pub host_network: Option<bool>,
        pub dns_policy: Option<String>,
        pub dns_config: Option<PodDNSConfig>,
        pub scheduling_gates: Option<Vec<PodSchedulingGate>>,
        pub hostname: Option<String>,
        pub subdomain: Option<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Container {
        #[serde(default, deserialize_with = "or_default")]
        pub name: String,
        pub image: Option<String>,
        pub ports: Option<Vec<ContainerPort>>,
        pub restart_policy: Option<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ContainerPort {
        pub name: Option<String>,
        #[serde(default, deserialize_with = "or_default")]
        pub container_port: i32,
        pub protocol: Option<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PodDNSConfig {
        pub nameservers: Option<Vec<String>>,
        pub searches: Option<Vec<String>>,
        pub options: Option<Vec<PodDNSConfigOption>>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PodDNSConfigOption {
        pub name: Option<String>,
        pub value: Option<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PodSchedulingGate {
        #[serde(default, deserialize_with = "or_default")]
        pub name: String,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PodStatus {
        pub phase: Option<String>,
        pub reason: Option<String>,
        pub message: Option<String>,
        #[serde(rename = "podIP")]
        pub pod_ip: Option<String>,
        #[serde(rename = "podIPs")]
        pub pod_ips: Option<Vec<PodIP>>,
        pub conditions: Option<Vec<PodCondition>>,
        pub container_statuses: Option<Vec<ContainerStatus>>,
        pub init_container_statuses: Option<Vec<ContainerStatus>>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PodIP {
        #[serde(default, deserialize_with = "or_default")]
        pub ip: String,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PodCondition {
        #[serde(rename = "type", default, deserialize_with = "or_default")]
        pub type_: String,
        #[serde(default, deserialize_with = "or_default")]
        pub status: String,
        pub reason: Option<String>,
        pub message: Option<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ContainerStatus {
        #[serde(default, deserialize_with = "or_default")]
        pub name: String,
        #[serde(default, deserialize_with = "or_default")]
        pub ready: bool,
        pub started: Option<bool>,
        #[serde(default, deserialize_with = "or_default")]
        pub restart_count: i32,
        pub state: Option<ContainerState>,
        pub last_state: Option<ContainerState>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ContainerState {
        pub waiting: Option<ContainerStateWaiting>,
        pub running: Option<Present>,
        pub terminated: Option<ContainerStateTerminated>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ContainerStateWaiting {
        pub reason: Option<String>,
        pub message: Option<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ContainerStateTerminated {
        pub reason: Option<String>,
        #[serde(default, deserialize_with = "or_default")]
        pub exit_code: i32,
        pub message: Option<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Endpoints {
        #[serde(default, deserialize_with = "or_default")]
        pub metadata: ObjectMeta,
        pub subsets: Option<Vec<EndpointSubset>>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EndpointSubset {
        pub addresses: Option<Vec<EndpointAddress>>,
        pub not_ready_addresses: Option<Vec<EndpointAddress>>,
        pub ports: Option<Vec<EndpointPort>>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EndpointAddress {
        #[serde(default, deserialize_with = "or_default")]
        pub ip: String,
        pub hostname: Option<String>,
        pub node_name: Option<String>,
        pub target_ref: Option<ObjectReference>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EndpointPort {
        pub name: Option<String>,
        #[serde(default, deserialize_with = "or_default")]
        pub port: i32,
        pub protocol: Option<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ObjectReference {
        pub kind: Option<String>,
        pub name: Option<String>,
        pub namespace: Option<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Event {
        #[serde(default, deserialize_with = "or_default")]
        pub metadata: ObjectMeta,
        #[serde(default, deserialize_with = "or_default")]
        pub involved_object: ObjectReference,
        #[serde(rename = "type")]
        pub type_: Option<String>,
        pub reason: Option<String>,
        pub message: Option<String>,
        pub count: Option<i32>,
        pub first_timestamp: Option<Time>,
        pub last_timestamp: Option<Time>,
        pub event_time: Option<MicroTime>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ConfigMap {
        #[serde(default, deserialize_with = "or_default")]
        pub metadata: ObjectMeta,
        pub data: Option<Labels>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PodTemplateSpec {
        pub metadata: Option<ObjectMeta>,
    }
}

pub mod discovery {
    use super::core::ObjectReference;
    use super::meta::ObjectMeta;
    use super::*;

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EndpointSlice {
        #[serde(default, deserialize_with = "or_default")]
        pub metadata: ObjectMeta,
        #[serde(default, deserialize_with = "or_default")]
        pub address_type: String,
        pub ports: Option<Vec<EndpointPort>>,
        #[serde(default, deserialize_with = "or_default")]
        pub endpoints: Vec<Endpoint>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EndpointPort {
        pub name: Option<String>,
        pub port: Option<i32>,
        pub protocol: Option<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Endpoint {
        #[serde(default, deserialize_with = "or_default")]
        pub addresses: Vec<String>,
        pub conditions: Option<EndpointConditions>,
        pub hostname: Option<String>,
        pub node_name: Option<String>,
        pub target_ref: Option<ObjectReference>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EndpointConditions {
        pub ready: Option<bool>,
        pub serving: Option<bool>,
        pub terminating: Option<bool>,
    }
}

pub mod events {
    use super::core::ObjectReference;
    use super::meta::ObjectMeta;
    use super::*;

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Event {
        #[serde(default, deserialize_with = "or_default")]
        pub metadata: ObjectMeta,
        pub regarding: Option<ObjectReference>,
        #[serde(rename = "type")]
        pub type_: Option<String>,
        pub reason: Option<String>,
        pub note: Option<String>,
        pub series: Option<EventSeries>,
        pub event_time: Option<MicroTime>,
        pub deprecated_last_timestamp: Option<Time>,
        pub deprecated_count: Option<i32>,
    }

    #[derive(Debug, Clone, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EventSeries {
        #[serde(default, deserialize_with = "or_default")]
        pub count: i32,
        pub last_observed_time: MicroTime,
    }
}

pub mod apps {
    use super::core::PodTemplateSpec;
    use super::meta::ObjectMeta;
    use super::*;

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Deployment {
        #[serde(default, deserialize_with = "or_default")]
        pub metadata: ObjectMeta,
        pub spec: Option<TemplateSpec>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct DaemonSet {
        #[serde(default, deserialize_with = "or_default")]
        pub metadata: ObjectMeta,
        pub spec: Option<TemplateSpec>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct TemplateSpec {
        #[serde(default, deserialize_with = "or_default")]
        pub template: PodTemplateSpec,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct StatefulSet {
        #[serde(default, deserialize_with = "or_default")]
        pub metadata: ObjectMeta,
        pub spec: Option<StatefulSetSpec>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct StatefulSetSpec {
        #[serde(default, deserialize_with = "or_default")]
        pub template: PodTemplateSpec,
        pub service_name: Option<String>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ReplicaSet {
        #[serde(default, deserialize_with = "or_default")]
        pub metadata: ObjectMeta,
        pub spec: Option<ReplicaSetSpec>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ReplicaSetSpec {
        pub template: Option<PodTemplateSpec>,
    }
}

pub mod networking {
    use super::meta::{LabelSelector, ObjectMeta};
    use super::*;

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct NetworkPolicy {
        #[serde(default, deserialize_with = "or_default")]
        pub metadata: ObjectMeta,
        pub spec: Option<NetworkPolicySpec>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct NetworkPolicySpec {
        pub pod_selector: Option<LabelSelector>,
        pub policy_types: Option<Vec<String>>,
        pub ingress: Option<Vec<NetworkPolicyIngressRule>>,
        pub egress: Option<Vec<NetworkPolicyEgressRule>>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct NetworkPolicyIngressRule {
        pub from: Option<Vec<NetworkPolicyPeer>>,
        pub ports: Option<Vec<NetworkPolicyPort>>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct NetworkPolicyEgressRule {
        pub to: Option<Vec<NetworkPolicyPeer>>,
        pub ports: Option<Vec<NetworkPolicyPort>>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct NetworkPolicyPeer {
        pub ip_block: Option<IPBlock>,
        pub pod_selector: Option<LabelSelector>,
        pub namespace_selector: Option<LabelSelector>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct IPBlock {
        #[serde(default, deserialize_with = "or_default")]
        pub cidr: String,
        pub except: Option<Vec<String>>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct NetworkPolicyPort {
        pub protocol: Option<String>,
        pub port: Option<IntOrString>,
        pub end_port: Option<i32>,
    }
}
