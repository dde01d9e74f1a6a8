//! From API objects (as the API server or `kubectl get -o json` returns
//! them, decoded into the slim shapes of [`super::wire`]) to the model.
//! Both sources use these functions, so live and offline diagnoses read the
//! same fields the same way.

use super::wire::meta::ObjectMeta;
use super::wire::{IntOrString, Time};
use super::wire::{apps, core, discovery, events, meta, networking};

use crate::model::{
    Condition, ConfigMap, Container, ContainerPort, ContainerRole, ContainerStatus, Direction,
    DnsConfig, DnsPolicy, Endpoint, EndpointPort, EndpointSlice, Event, Kind, LabelSelector,
    NetworkPolicy, Pod, PolicyPeer, PolicyPort, PolicyPortValue, PolicyRule, SelectorError,
    Service, ServicePort, ServiceType, SkippedObject, TargetPort, Terminated, Waiting, Workload,
};
use std::collections::BTreeMap;

fn ns(meta: &ObjectMeta) -> String {
    meta.namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned())
}

fn name(meta: &ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

fn time(t: &Option<Time>) -> Option<String> {
    t.as_ref().map(|t| t.0.to_string())
}

pub fn service(s: core::Service) -> Service {
    let spec = s.spec.unwrap_or_default();
    let mut ips = spec.cluster_ips.clone().unwrap_or_default();
    if ips.is_empty()
        && let Some(ip) = &spec.cluster_ip
    {
        ips.push(ip.clone());
    }
    let headless = ips.iter().any(|ip| ip == "None");
    ips.retain(|ip| ip != "None" && !ip.is_empty());
    Service {
        namespace: ns(&s.metadata),
        name: name(&s.metadata),
        type_: ServiceType::parse(spec.type_.as_deref()),
        cluster_ips: ips,
        headless,
        external_name: spec.external_name,
        selector: spec.selector.filter(|m| !m.is_empty()),
        ports: spec
            .ports
            .unwrap_or_default()
            .into_iter()
            .map(|p| ServicePort {
                target_port: match p.target_port {
                    Some(IntOrString::Int(n)) => TargetPort::Number(n),
                    Some(IntOrString::String(s)) => match s.parse::<i32>() {
                        Ok(n) => TargetPort::Number(n),
                        Err(_) => TargetPort::Name(s),
                    },
                    // Unset targetPort defaults to the port.
                    None => TargetPort::Number(p.port),
                },
                name: p.name.filter(|n| !n.is_empty()),
                port: p.port,
                protocol: p.protocol.unwrap_or_else(|| "TCP".to_owned()),
                node_port: p.node_port,
            })
            .collect(),
        publish_not_ready_addresses: spec.publish_not_ready_addresses.unwrap_or(false),
        labels: s.metadata.labels.unwrap_or_default(),
    }
}

fn container(c: core::Container, role: ContainerRole) -> Container {
    Container {
        name: c.name,
        role,
        image: c.image.unwrap_or_default(),
        ports: c
            .ports
            .unwrap_or_default()
            .into_iter()
            .map(|p| ContainerPort {
                name: p.name.filter(|n| !n.is_empty()),
                port: p.container_port,
                protocol: p.protocol.unwrap_or_else(|| "TCP".to_owned()),
            })
            .collect(),
    }
}

fn terminated(t: core::ContainerStateTerminated) -> Terminated {
    Terminated {
        reason: t.reason,
        exit_code: t.exit_code,
        message: t.message,
    }
}

fn status(s: core::ContainerStatus, role: ContainerRole) -> ContainerStatus {
    let state = s.state.unwrap_or_default();
    ContainerStatus {
        name: s.name,
        role,
        ready: s.ready,
        started: s.started,
        restart_count: s.restart_count,
        waiting: state.waiting.and_then(|w| {
            w.reason.map(|reason| Waiting {
                reason,
                message: w.message,
            })
        }),
        running: state.running.is_some(),
        terminated: state.terminated.map(terminated),
        last_terminated: s.last_state.and_then(|l| l.terminated).map(terminated),
    }
}

fn condition(conds: &[core::PodCondition], type_: &str) -> Option<Condition> {
    conds.iter().find(|c| c.type_ == type_).map(|c| Condition {
        status: match c.status.as_str() {
            "True" => Some(true),
            "False" => Some(false),
            _ => None,
        },
        reason: c.reason.clone(),
        message: c.message.clone(),
    })
}

fn dns_config(c: core::PodDNSConfig) -> DnsConfig {
    DnsConfig {
        nameservers: c.nameservers.unwrap_or_default(),
        searches: c.searches.unwrap_or_default(),
        options: c
            .options
            .unwrap_or_default()
            .into_iter()
            // The API server requires a name; the kubelet would use "".
            .map(|o| (o.name.unwrap_or_default(), o.value))
            .collect(),
    }
}

pub fn pod(p: core::Pod) -> Pod {
    let spec = p.spec.unwrap_or_default();
    let st = p.status.unwrap_or_default();
    let sidecars: Vec<String> = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.clone())
        .collect();
    let init_role = |n: &str| {
        if sidecars.iter().any(|s| s == n) {
            ContainerRole::Sidecar
        } else {
            ContainerRole::Init
        }
    };
    let mut containers: Vec<Container> = spec
        .containers
        .into_iter()
        .map(|c| container(c, ContainerRole::Main))
        .collect();
    for c in spec.init_containers.unwrap_or_default() {
        let role = init_role(&c.name);
        containers.push(container(c, role));
    }
    let mut statuses: Vec<ContainerStatus> = st
        .container_statuses
        .unwrap_or_default()
        .into_iter()
        .map(|s| status(s, ContainerRole::Main))
        .collect();
    for s in st.init_container_statuses.unwrap_or_default() {
        let role = init_role(&s.name);
        statuses.push(status(s, role));
    }
    let conds = st.conditions.unwrap_or_default();
    let mut ips: Vec<String> = st
        .pod_ips
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip)
        .collect();
    if ips.is_empty()
        && let Some(ip) = st.pod_ip
    {
        ips.push(ip);
    }
    let owner = p
        .metadata
        .owner_references
        .as_ref()
        .and_then(|o| o.iter().find(|r| r.controller == Some(true)).or(o.first()))
        .map(|r| (r.kind.clone(), r.name.clone()));
    let hostname = spec.hostname.clone().filter(|h| !h.is_empty());
    let subdomain = spec.subdomain.clone().filter(|h| !h.is_empty());
    Pod {
        namespace: ns(&p.metadata),
        name: name(&p.metadata),
        terminating: p.metadata.deletion_timestamp.is_some(),
        labels: p.metadata.labels.unwrap_or_default(),
        node_name: spec.node_name,
        phase: st.phase,
        reason: st.reason,
        message: st.message,
        pod_ips: ips,
        host_network: spec.host_network.unwrap_or(false),
        dns_policy: DnsPolicy::parse(spec.dns_policy.as_deref()),
        dns_config: spec.dns_config.map(dns_config),
        scheduling_gates: spec
            .scheduling_gates
            .unwrap_or_default()
            .into_iter()
            .map(|g| g.name)
            .collect(),
        ready: condition(&conds, "Ready"),
        scheduled: condition(&conds, "PodScheduled"),
        containers,
        statuses,
        owner,
        hostname,
        subdomain,
    }
}

pub fn endpoint_slice(s: discovery::EndpointSlice) -> EndpointSlice {
    let labels = s.metadata.labels.clone().unwrap_or_default();
    EndpointSlice {
        namespace: ns(&s.metadata),
        name: name(&s.metadata),
        service_name: labels.get(crate::model::SERVICE_NAME_LABEL).cloned(),
        address_type: s.address_type,
        ports: s
            .ports
            .unwrap_or_default()
            .into_iter()
            .map(|p| EndpointPort {
                name: p.name.filter(|n| !n.is_empty()),
                port: p.port,
                protocol: p.protocol.unwrap_or_else(|| "TCP".to_owned()),
            })
            .collect(),
        endpoints: s
            .endpoints
            .into_iter()
            .map(|e| {
                let c = e.conditions.unwrap_or_default();
                Endpoint {
                    addresses: e.addresses,
                    ready: c.ready,
                    serving: c.serving,
                    terminating: c.terminating,
                    hostname: e.hostname,
                    pod: e
                        .target_ref
                        .filter(|r| r.kind.as_deref() == Some("Pod"))
                        .and_then(|r| r.name),
                    node_name: e.node_name,
                }
            })
            .collect(),
        from_endpoints: false,
    }
}

/// A v1 Endpoints object as one EndpointSlice per subset (the fallback when
/// a snapshot has no EndpointSlices).
pub fn endpoints(e: core::Endpoints) -> Vec<EndpointSlice> {
    let namespace = ns(&e.metadata);
    let svc = name(&e.metadata);
    e.subsets
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, subset)| {
            let conv = |a: core::EndpointAddress, ready: bool| Endpoint {
                addresses: vec![a.ip],
                ready: Some(ready),
                serving: Some(ready),
                terminating: None,
                hostname: a.hostname,
                pod: a
                    .target_ref
                    .filter(|r| r.kind.as_deref() == Some("Pod"))
                    .and_then(|r| r.name),
                node_name: a.node_name,
            };
            let mut eps: Vec<Endpoint> = subset
                .addresses
                .unwrap_or_default()
                .into_iter()
                .map(|a| conv(a, true))
                .collect();
            eps.extend(
                subset
                    .not_ready_addresses
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| conv(a, false)),
            );
            EndpointSlice {
                namespace: namespace.clone(),
                name: format!("{svc}-endpoints-{i}"),
                service_name: Some(svc.clone()),
                address_type: "IPv4".to_owned(),
                ports: subset
                    .ports
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| EndpointPort {
                        name: p.name,
                        port: Some(p.port),
                        protocol: p.protocol.unwrap_or_else(|| "TCP".to_owned()),
                    })
                    .collect(),
                endpoints: eps,
                from_endpoints: true,
            }
        })
        .collect()
}

pub fn core_event(e: core::Event) -> Event {
    let last = time(&e.last_timestamp)
        .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()))
        .or_else(|| time(&e.first_timestamp))
        .or_else(|| time(&e.metadata.creation_timestamp));
    Event {
        namespace: e
            .involved_object
            .namespace
            .clone()
            .unwrap_or_else(|| ns(&e.metadata)),
        type_: e.type_.unwrap_or_default(),
        reason: e.reason.unwrap_or_default(),
        message: e.message.unwrap_or_default(),
        object_kind: e.involved_object.kind.unwrap_or_default(),
        object_name: e.involved_object.name.unwrap_or_default(),
        count: e.count.unwrap_or(1),
        last_seen: last,
    }
}

pub fn events_event(e: events::Event) -> Event {
    let regarding = e.regarding.unwrap_or_default();
    let last = e
        .series
        .as_ref()
        .map(|s| s.last_observed_time.0.to_string())
        .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()))
        .or_else(|| time(&e.deprecated_last_timestamp))
        .or_else(|| time(&e.metadata.creation_timestamp));
    Event {
        namespace: regarding
            .namespace
            .clone()
            .unwrap_or_else(|| ns(&e.metadata)),
        type_: e.type_.unwrap_or_default(),
        reason: e.reason.unwrap_or_default(),
        message: e.note.unwrap_or_default(),
        object_kind: regarding.kind.unwrap_or_default(),
        object_name: regarding.name.unwrap_or_default(),
        count: e
            .series
            .map(|s| s.count)
            .or(e.deprecated_count)
            .unwrap_or(1),
        last_seen: last,
    }
}

fn workload(kind: Kind, meta: &ObjectMeta, template: Option<&core::PodTemplateSpec>) -> Workload {
    Workload {
        kind,
        namespace: ns(meta),
        name: name(meta),
        template_labels: template
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.clone())
            .unwrap_or_default(),
        service_name: None,
    }
}

pub fn deployment(d: apps::Deployment) -> Workload {
    workload(
        Kind::Deployment,
        &d.metadata,
        d.spec.as_ref().map(|s| &s.template),
    )
}

pub fn stateful_set(d: apps::StatefulSet) -> Workload {
    Workload {
        service_name: d
            .spec
            .as_ref()
            .and_then(|s| s.service_name.clone())
            .filter(|n| !n.is_empty()),
        ..workload(
            Kind::StatefulSet,
            &d.metadata,
            d.spec.as_ref().map(|s| &s.template),
        )
    }
}

pub fn daemon_set(d: apps::DaemonSet) -> Workload {
    workload(
        Kind::DaemonSet,
        &d.metadata,
        d.spec.as_ref().map(|s| &s.template),
    )
}

pub fn replica_set(d: apps::ReplicaSet) -> Workload {
    workload(
        Kind::ReplicaSet,
        &d.metadata,
        d.spec.as_ref().and_then(|s| s.template.as_ref()),
    )
}

/// Only the DNS ConfigMaps of kube-system are kept (the rest is not read).
pub fn config_map(c: core::ConfigMap) -> Option<ConfigMap> {
    let namespace = ns(&c.metadata);
    let n = name(&c.metadata);
    if namespace != crate::model::KUBE_SYSTEM || !matches!(n.as_str(), "coredns" | "node-local-dns")
    {
        return None;
    }
    Some(ConfigMap {
        namespace,
        name: n,
        data: c.data.unwrap_or_default(),
    })
}

/// An API `LabelSelector` (matchLabels and matchExpressions).
pub fn label_selector(s: &meta::LabelSelector) -> Result<LabelSelector, SelectorError> {
    LabelSelector::from_api(
        s.match_labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
        s.match_expressions.iter().flatten().map(|e| {
            (
                e.key.as_str(),
                e.operator.as_str(),
                e.values.clone().unwrap_or_default(),
            )
        }),
    )
}

fn policy_ports(ports: Option<Vec<networking::NetworkPolicyPort>>) -> Vec<PolicyPort> {
    ports
        .unwrap_or_default()
        .into_iter()
        .map(|p| PolicyPort {
            protocol: p.protocol.unwrap_or_else(|| "TCP".to_owned()),
            port: p.port.map(|v| match v {
                IntOrString::Int(n) => PolicyPortValue::Number(n),
                // A number in a string is a number (as for a Service's
                // targetPort); a name is a container port's name.
                IntOrString::String(s) => match s.parse::<i32>() {
                    Ok(n) => PolicyPortValue::Number(n),
                    Err(_) => PolicyPortValue::Name(s),
                },
            }),
            end_port: p.end_port,
        })
        .collect()
}

fn policy_peers(
    peers: Option<Vec<networking::NetworkPolicyPeer>>,
) -> Result<Vec<PolicyPeer>, SelectorError> {
    peers
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            Ok(match p.ip_block {
                // The API allows ipBlock only alone in its peer.
                Some(b) => PolicyPeer::IpBlock {
                    cidr: b.cidr,
                    except: b.except.unwrap_or_default(),
                },
                None => PolicyPeer::Pods {
                    pod_selector: p.pod_selector.as_ref().map(label_selector).transpose()?,
                    namespace_selector: p
                        .namespace_selector
                        .as_ref()
                        .map(label_selector)
                        .transpose()?,
                },
            })
        })
        .collect()
}

/// A Namespace's name and labels; `None` without a name.
pub fn namespace(n: core::Namespace) -> Option<(String, BTreeMap<String, String>)> {
    let name = n.metadata.name?;
    Some((name, n.metadata.labels.unwrap_or_default()))
}

/// [`network_policy`], a refused policy as the skipped object it is.
pub fn network_policy_or_skipped(
    p: networking::NetworkPolicy,
) -> Result<NetworkPolicy, SkippedObject> {
    let (namespace, name) = (p.metadata.namespace.clone(), p.metadata.name.clone());
    network_policy(p).map_err(|e| SkippedObject {
        kind: "NetworkPolicy".to_owned(),
        namespace,
        name,
        reason: e.to_string(),
    })
}

/// A NetworkPolicy. Refused (to be listed as skipped) only for a selector
/// the API server would have refused.
pub fn network_policy(p: networking::NetworkPolicy) -> Result<NetworkPolicy, SelectorError> {
    let spec = p.spec.unwrap_or_default();
    let policy_types = spec
        .policy_types
        .unwrap_or_default()
        .iter()
        .filter_map(|t| match t.as_str() {
            "Ingress" => Some(Direction::Ingress),
            "Egress" => Some(Direction::Egress),
            _ => None,
        })
        .collect();
    let ingress = spec
        .ingress
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            Ok(PolicyRule {
                peers: policy_peers(r.from)?,
                ports: policy_ports(r.ports),
            })
        })
        .collect::<Result<_, SelectorError>>()?;
    let egress = spec
        .egress
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            Ok(PolicyRule {
                peers: policy_peers(r.to)?,
                ports: policy_ports(r.ports),
            })
        })
        .collect::<Result<_, SelectorError>>()?;
    Ok(NetworkPolicy {
        namespace: ns(&p.metadata),
        name: name(&p.metadata),
        // Go's zero LabelSelector (absent) is `{}`: every pod.
        pod_selector: spec
            .pod_selector
            .as_ref()
            .map(label_selector)
            .transpose()?
            .unwrap_or_default(),
        policy_types,
        ingress,
        egress,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_from(json: serde_json::Value) -> Result<NetworkPolicy, SelectorError> {
        network_policy(serde_json::from_value(json).unwrap())
    }

    /// The Kubernetes documentation's example ("The NetworkPolicy
    /// resource", test-network-policy), field by field.
    #[test]
    fn a_network_policy_keeps_selectors_peers_ports_and_types() {
        let p = policy_from(serde_json::json!({
            "metadata": {"name": "test-network-policy", "namespace": "default"},
            "spec": {
                "podSelector": {"matchLabels": {"role": "db"}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{
                    "from": [
                        {"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}},
                        {"namespaceSelector": {"matchLabels": {"project": "myproject"}}},
                        {"podSelector": {"matchLabels": {"role": "frontend"}}},
                    ],
                    "ports": [{"protocol": "TCP", "port": 6379}],
                }],
                "egress": [{
                    "to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}],
                    "ports": [{"protocol": "TCP", "port": 5978}],
                }],
            },
        }))
        .unwrap();
        assert_eq!(p.id(), "default/test-network-policy");
        assert_eq!(p.pod_selector.to_string(), "role=db");
        assert_eq!(p.policy_types, vec![Direction::Ingress, Direction::Egress]);
        assert_eq!(p.ingress.len(), 1);
        assert_eq!(
            p.ingress[0].peers[0],
            PolicyPeer::IpBlock {
                cidr: "172.17.0.0/16".into(),
                except: vec!["172.17.1.0/24".into()],
            }
        );
        match &p.ingress[0].peers[1] {
            PolicyPeer::Pods {
                pod_selector: None,
                namespace_selector: Some(n),
            } => assert_eq!(n.to_string(), "project=myproject"),
            other => panic!("{other:?}"),
        }
        match &p.ingress[0].peers[2] {
            PolicyPeer::Pods {
                pod_selector: Some(s),
                namespace_selector: None,
            } => assert_eq!(s.to_string(), "role=frontend"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            p.egress[0].ports,
            vec![PolicyPort {
                protocol: "TCP".into(),
                port: Some(PolicyPortValue::Number(5978)),
                end_port: None,
            }]
        );
    }

    /// Defaults and forms: no protocol is TCP, a named port stays a name,
    /// endPort is kept, `{}` selectors select everything, matchExpressions
    /// are read, empty policyTypes stay empty (the evaluator defaults
    /// them), and an operator the API refuses refuses the policy.
    #[test]
    fn a_network_policy_keeps_defaults_named_ports_and_ranges() {
        let p = policy_from(serde_json::json!({
            "metadata": {"name": "p", "namespace": "shop"},
            "spec": {
                "podSelector": {},
                "egress": [{
                    "to": [{
                        "namespaceSelector": {},
                        "podSelector": {"matchExpressions": [
                            {"key": "k8s-app", "operator": "In", "values": ["kube-dns"]},
                        ]},
                    }],
                    "ports": [
                        {"port": "dns"},
                        {"protocol": "UDP", "port": 32000, "endPort": 32768},
                        {"protocol": "SCTP"},
                    ],
                }],
            },
        }))
        .unwrap();
        assert!(p.pod_selector.is_everything());
        assert!(p.policy_types.is_empty());
        assert!(p.applies(Direction::Ingress) && p.applies(Direction::Egress));
        assert_eq!(
            p.egress[0].ports,
            vec![
                PolicyPort {
                    protocol: "TCP".into(),
                    port: Some(PolicyPortValue::Name("dns".into())),
                    end_port: None,
                },
                PolicyPort {
                    protocol: "UDP".into(),
                    port: Some(PolicyPortValue::Number(32000)),
                    end_port: Some(32768),
                },
                PolicyPort {
                    protocol: "SCTP".into(),
                    port: None,
                    end_port: None,
                },
            ]
        );
        match &p.egress[0].peers[0] {
            PolicyPeer::Pods {
                pod_selector: Some(s),
                namespace_selector: Some(n),
            } => {
                assert_eq!(s.to_string(), "k8s-app in (kube-dns)");
                assert!(n.is_everything());
            }
            other => panic!("{other:?}"),
        }
        let bad = policy_from(serde_json::json!({
            "metadata": {"name": "p", "namespace": "shop"},
            "spec": {"podSelector": {"matchExpressions": [
                {"key": "a", "operator": "Near", "values": ["b"]},
            ]}},
        }));
        assert!(bad.is_err());
    }

    fn pod_from(spec: serde_json::Value) -> Pod {
        let json = serde_json::json!({
            "metadata": {"name": "client", "namespace": "shop"},
            "spec": spec,
        });
        pod(serde_json::from_value(json).unwrap())
    }

    #[test]
    fn a_pod_keeps_its_dns_policy_host_network_and_dns_config() {
        let p = pod_from(serde_json::json!({
            "containers": [],
            "hostNetwork": true,
            "dnsPolicy": "None",
            "dnsConfig": {
                "nameservers": ["1.1.1.1"],
                "searches": ["corp.example"],
                "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
            },
        }));
        assert!(p.host_network);
        assert_eq!(p.dns_policy, DnsPolicy::None);
        assert_eq!(
            p.dns_config,
            Some(DnsConfig {
                nameservers: vec!["1.1.1.1".into()],
                searches: vec!["corp.example".into()],
                options: vec![("ndots".into(), Some("2".into())), ("edns0".into(), None)],
            })
        );
    }

    #[test]
    fn a_pod_without_dns_settings_is_cluster_first_without_dns_config() {
        let p = pod_from(serde_json::json!({"containers": []}));
        assert!(!p.host_network);
        assert_eq!(p.dns_policy, DnsPolicy::ClusterFirst);
        assert_eq!(p.dns_config, None);
        let p = pod_from(serde_json::json!({"containers": [], "dnsPolicy": "Bogus"}));
        assert_eq!(p.dns_policy, DnsPolicy::Other("Bogus".into()));
    }
}
