//! The family on small states: the classic mistakes (docs/netpol.md) as
//! findings, and unknown data as `not_checked`, never a pass.

use serde_json::{Value, json};

use crate::analysis::netpol::tests::{labels, np};
use crate::analysis::{Options, PodRef, Target, diagnose};
use crate::model::{
    ClusterState, Code, Condition, Container, ContainerPort, ContainerRole, Endpoint, EndpointPort,
    EndpointSlice, Kind, NameForm, NetworkPolicy, Pod, Report, Service, ServicePort, Severity,
    TargetPort,
};

fn pod(ns: &str, name: &str, l: &[(&str, &str)], ip: &str, ports: &[(&str, i32, &str)]) -> Pod {
    Pod {
        namespace: ns.into(),
        name: name.into(),
        labels: labels(l),
        pod_ips: vec![ip.into()],
        ready: Some(Condition {
            status: Some(true),
            reason: None,
            message: None,
        }),
        containers: vec![Container {
            name: "main".into(),
            role: ContainerRole::Main,
            image: "img".into(),
            ports: ports
                .iter()
                .map(|(n, p, proto)| ContainerPort {
                    name: Some((*n).into()),
                    port: *p,
                    protocol: (*proto).into(),
                })
                .collect(),
        }],
        ..Pod::default()
    }
}

fn svc(ns: &str, name: &str, sel: &[(&str, &str)], ports: &[(i32, TargetPort, &str)]) -> Service {
    Service {
        namespace: ns.into(),
        name: name.into(),
        cluster_ips: vec!["10.96.0.20".into()],
        selector: Some(labels(sel)),
        ports: ports
            .iter()
            .map(|(p, t, proto)| ServicePort {
                name: None,
                port: *p,
                target_port: t.clone(),
                protocol: (*proto).into(),
                node_port: None,
            })
            .collect(),
        ..Service::default()
    }
}

/// Service web/web (port 80 → named port http = 8080) with one ready pod,
/// the cluster DNS, namespaces shop, web and kube-system with their labels,
/// and every NetworkPolicy read (none yet).
fn state(policies: Vec<NetworkPolicy>) -> ClusterState {
    let mut st = ClusterState::default();
    st.services.push(svc(
        "web",
        "web",
        &[("app", "web")],
        &[(80, TargetPort::Name("http".into()), "TCP")],
    ));
    st.services.push(svc(
        "kube-system",
        "kube-dns",
        &[("k8s-app", "kube-dns")],
        &[
            (53, TargetPort::Number(53), "UDP"),
            (53, TargetPort::Number(53), "TCP"),
        ],
    ));
    st.pods.push(pod(
        "web",
        "web-1",
        &[("app", "web")],
        "10.244.1.5",
        &[("http", 8080, "TCP")],
    ));
    st.pods.push(pod(
        "kube-system",
        "coredns-1",
        &[("k8s-app", "kube-dns")],
        "10.244.0.3",
        &[("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")],
    ));
    st.pods
        .push(pod("shop", "cart", &[("app", "cart")], "10.244.2.7", &[]));
    for (ns, name, ip, pod, ports) in [
        ("web", "web", "10.244.1.5", "web-1", vec![(8080, "TCP")]),
        (
            "kube-system",
            "kube-dns",
            "10.244.0.3",
            "coredns-1",
            vec![(53, "UDP"), (53, "TCP")],
        ),
    ] {
        st.endpoint_slices.push(EndpointSlice {
            namespace: ns.into(),
            name: format!("{name}-1"),
            service_name: Some(name.into()),
            address_type: "IPv4".into(),
            ports: ports
                .into_iter()
                .map(|(p, proto)| EndpointPort {
                    name: None,
                    port: Some(p),
                    protocol: proto.into(),
                })
                .collect(),
            endpoints: vec![Endpoint {
                addresses: vec![ip.into()],
                ready: Some(true),
                serving: Some(true),
                terminating: None,
                hostname: None,
                pod: Some(pod.into()),
                node_name: None,
            }],
            from_endpoints: false,
        });
    }
    for ns in ["shop", "web", "kube-system"] {
        st.namespaces.insert(ns.into());
        st.namespace_labels.insert(ns, labels(&[("team", ns)]));
    }
    st.coverage.add_all(Kind::Service);
    st.coverage.add_all(Kind::Pod);
    st.coverage.add_all(Kind::Namespace);
    st.coverage.add_all(Kind::EndpointSlice);
    st.coverage.add_all(Kind::NetworkPolicy);
    st.network_policies = policies;
    st
}

fn run(st: &ClusterState, from: &[&str]) -> Report {
    diagnose(
        st,
        &Target {
            namespace: "web".into(),
            name: "web".into(),
        },
        &Options {
            from_namespaces: from.iter().map(|s| (*s).to_owned()).collect(),
            ..Options::default()
        },
    )
}

fn with(r: &Report, code: Code) -> Vec<&crate::model::Finding> {
    r.findings.iter().filter(|f| f.code == code).collect()
}

fn deny_egress(ns: &str) -> NetworkPolicy {
    np(
        ns,
        "default-deny-egress",
        json!({"podSelector": {}, "policyTypes": ["Egress"]}),
    )
}

fn allow_dns(ns: &str, to: Value, ports: Value) -> NetworkPolicy {
    np(
        ns,
        "allow-dns",
        json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": to, "ports": ports}]}),
    )
}

fn dns_ports() -> Value {
    json!([{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}])
}

fn one_peer() -> Value {
    json!([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}])
}

fn rows_from<'a>(r: &'a Report, ns: &str) -> Vec<&'a NameForm> {
    r.name_forms
        .iter()
        .filter(|f| f.from_namespace.as_deref() == Some(ns))
        .collect()
}

#[test]
fn no_policy_is_no_finding_and_nothing_unchecked() {
    let r = run(&state(vec![]), &["shop"]);
    for code in [
        Code::DnsEgressBlocked,
        Code::EgressBlocked,
        Code::IngressBlocked,
    ] {
        assert!(with(&r, code).is_empty(), "{code}: {:?}", r.findings);
    }
    assert!(
        !r.not_checked.iter().any(|n| n.check == "network policies"),
        "{:?}",
        r.not_checked
    );
}

#[test]
fn default_deny_egress_blocks_dns_and_the_backends_and_rows_time_out() {
    let r = run(&state(vec![deny_egress("shop")]), &["shop"]);
    let dns = with(&r, Code::DnsEgressBlocked);
    assert_eq!(dns.len(), 1, "{:?}", r.findings);
    assert_eq!(dns[0].severity, Severity::Error);
    let m = &dns[0].message;
    assert!(m.contains("a pod of namespace shop without labels"), "{m}");
    assert!(m.contains("shop/default-deny-egress"), "{m}");
    assert!(m.contains("will time out (not NXDOMAIN)"), "{m}");
    assert!(m.contains("network plugin"), "{m}");
    let fix = &dns[0].fix;
    assert!(fix.contains("namespace: shop"), "{fix}");
    assert!(
        fix.contains("[{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]"),
        "one peer: {fix}"
    );
    assert!(
        fix.contains("{protocol: UDP, port: 53}, {protocol: TCP, port: 53}"),
        "{fix}"
    );
    // The backends: egress on the pod port the named targetPort reaches.
    let eg = with(&r, Code::EgressBlocked);
    assert_eq!(eg.len(), 1, "{:?}", r.findings);
    assert!(
        eg[0].message.contains("TCP 8080 (Service port 80)"),
        "{}",
        eg[0].message
    );
    // The client's rows say the lookups time out; other rows do not.
    let rows = rows_from(&r, "shop");
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|f| f.why.contains("time out")), "{rows:?}");
    assert!(
        rows_from(&r, "web")
            .iter()
            .all(|f| !f.why.contains("time out")),
        "only the blocked client's rows"
    );
}

#[test]
fn the_allow_dns_policy_of_the_fix_clears_it() {
    let r = run(
        &state(vec![
            deny_egress("shop"),
            allow_dns("shop", one_peer(), dns_ports()),
        ]),
        &["shop"],
    );
    assert!(
        with(&r, Code::DnsEgressBlocked).is_empty(),
        "{:?}",
        r.findings
    );
    // DNS only: the backends stay blocked.
    assert_eq!(with(&r, Code::EgressBlocked).len(), 1);
}

#[test]
fn udp_only_dns_is_a_warning() {
    let r = run(
        &state(vec![
            deny_egress("shop"),
            allow_dns("shop", one_peer(), json!([{"protocol": "UDP", "port": 53}])),
        ]),
        &["shop"],
    );
    let dns = with(&r, Code::DnsEgressBlocked);
    assert_eq!(dns.len(), 1, "{:?}", r.findings);
    assert_eq!(dns[0].severity, Severity::Warning);
    assert!(dns[0].message.contains("UDP 53 only"), "{}", dns[0].message);
    assert!(dns[0].message.contains("TCP 53"), "{}", dns[0].message);
    assert!(
        rows_from(&r, "shop")
            .iter()
            .all(|f| !f.why.contains("time out"))
    );
}

#[test]
fn a_kube_dns_without_a_tcp_port_still_has_its_udp_checked() {
    let mut st = state(vec![deny_egress("shop")]);
    let dns = st
        .services
        .iter_mut()
        .find(|s| s.name == "kube-dns")
        .unwrap();
    dns.ports.retain(|p| p.protocol == "UDP");
    let r = run(&st, &["shop"]);
    let found = with(&r, Code::DnsEgressBlocked);
    assert_eq!(found.len(), 1, "{:?}", r.findings);
    assert_eq!(found[0].severity, Severity::Error);
    assert!(found[0].message.contains("UDP 53"), "{}", found[0].message);
    assert!(
        r.not_checked
            .iter()
            .any(|n| n.check == "dns-egress-blocked" && n.reason.contains("no port 53/TCP")),
        "{:?}",
        r.not_checked
    );
    // Allowed over UDP, TCP not served: no finding, the gap still named.
    let mut st = state(vec![
        deny_egress("shop"),
        allow_dns("shop", one_peer(), dns_ports()),
    ]);
    st.services
        .iter_mut()
        .find(|s| s.name == "kube-dns")
        .unwrap()
        .ports
        .retain(|p| p.protocol == "UDP");
    let r = run(&st, &["shop"]);
    assert!(
        with(&r, Code::DnsEgressBlocked).is_empty(),
        "{:?}",
        r.findings
    );
}

#[test]
fn two_peers_instead_of_one_allow_dns_and_more() {
    // Two `to` entries are ORed: every pod of kube-system, or kube-dns
    // labelled pods of shop. DNS is allowed (no finding).
    let two = json!([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}},
                     {"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]);
    let r = run(
        &state(vec![
            deny_egress("shop"),
            allow_dns("shop", two, dns_ports()),
        ]),
        &["shop"],
    );
    assert!(
        with(&r, Code::DnsEgressBlocked).is_empty(),
        "{:?}",
        r.findings
    );
}

#[test]
fn a_pod_selector_alone_selects_the_policys_own_namespace() {
    let r = run(
        &state(vec![
            deny_egress("shop"),
            allow_dns(
                "shop",
                json!([{"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]),
                dns_ports(),
            ),
        ]),
        &["shop"],
    );
    let dns = with(&r, Code::DnsEgressBlocked);
    assert_eq!(dns.len(), 1, "{:?}", r.findings);
    assert!(
        dns[0]
            .message
            .contains("selects pods of shop only, not of kube-system"),
        "{}",
        dns[0].message
    );
}

#[test]
fn the_allow_policy_in_the_wrong_namespace_does_not_help() {
    // Written in web (the Service's namespace), it selects web's pods.
    let r = run(
        &state(vec![
            deny_egress("shop"),
            allow_dns("web", one_peer(), dns_ports()),
        ]),
        &["shop"],
    );
    assert_eq!(
        with(&r, Code::DnsEgressBlocked).len(),
        1,
        "{:?}",
        r.findings
    );
}

#[test]
fn egress_rules_without_policy_types_still_isolate_for_egress() {
    // No policyTypes, egress rules: Egress applies (the API's default), and
    // Ingress too: the rules allow DNS only.
    let p = np(
        "shop",
        "dns-only",
        json!({"podSelector": {}, "egress": [{"to": one_peer(), "ports": dns_ports()}]}),
    );
    let r = run(&state(vec![p]), &["shop"]);
    assert!(
        with(&r, Code::DnsEgressBlocked).is_empty(),
        "{:?}",
        r.findings
    );
    let eg = with(&r, Code::EgressBlocked);
    assert_eq!(eg.len(), 1, "{:?}", r.findings);
    assert!(eg[0].message.contains("shop/dns-only"), "{}", eg[0].message);
}

#[test]
fn ingress_admitting_the_own_namespace_only_blocks_other_clients() {
    let p = np(
        "web",
        "same-namespace",
        json!({"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}),
    );
    let st = state(vec![p]);
    let r = run(&st, &["shop"]);
    let ing = with(&r, Code::IngressBlocked);
    assert_eq!(ing.len(), 1, "{:?}", r.findings);
    assert!(
        ing[0].message.contains("web/same-namespace"),
        "{}",
        ing[0].message
    );
    assert!(ing[0].message.contains("rule #1"), "{}", ing[0].message);
    assert!(
        ing[0].fix.contains("kubernetes.io/metadata.name: shop"),
        "{}",
        ing[0].fix
    );
    // From the Service's own namespace it is allowed.
    assert!(with(&run(&st, &["web"]), Code::IngressBlocked).is_empty());
}

#[test]
fn the_from_pod_is_judged_with_its_real_labels() {
    // Egress denied except for pods labelled app=cart.
    let p = np(
        "shop",
        "cart-only",
        json!({"podSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["cart"]}]},
               "policyTypes": ["Egress"]}),
    );
    let st = state(vec![p]);
    let opts = Options {
        from_pod: Some(PodRef {
            namespace: "shop".into(),
            name: "cart".into(),
        }),
        ..Options::default()
    };
    let t = Target {
        namespace: "web".into(),
        name: "web".into(),
    };
    let r = diagnose(&st, &t, &opts);
    assert!(
        with(&r, Code::DnsEgressBlocked).is_empty(),
        "{:?}",
        r.findings
    );
    // A pod of shop without labels is selected and blocked.
    assert_eq!(with(&run(&st, &["shop"]), Code::DnsEgressBlocked).len(), 1);
}

#[test]
fn unread_policies_or_labels_are_not_checked_never_a_pass() {
    let mut st = state(vec![deny_egress("shop")]);
    st.coverage = {
        let mut c = crate::model::Coverage::default();
        c.add_all(Kind::Service);
        c.add_all(Kind::Pod);
        c.add_all(Kind::Namespace);
        c.add_all(Kind::EndpointSlice);
        c.add_namespace(Kind::NetworkPolicy, "web");
        c.add_namespace(Kind::NetworkPolicy, "kube-system");
        c
    };
    st.failures.push(crate::model::ReadFailure {
        verb: "list",
        kind: Kind::NetworkPolicy,
        namespace: Some("shop".into()),
        reason: "networkpolicies is forbidden".into(),
        forbidden: true,
        required: false,
    });
    let r = run(&st, &["shop"]);
    assert!(with(&r, Code::DnsEgressBlocked).is_empty());
    assert!(
        r.not_checked
            .iter()
            .any(|n| n.needs.contains("list networkpolicies")),
        "{:?}",
        r.not_checked
    );

    // A namespaceSelector on a label of a namespace whose labels were not read.
    let by_team = json!([{"namespaceSelector": {"matchLabels": {"team": "kube-system"}},
                          "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]);
    let mut st = state(vec![
        deny_egress("shop"),
        allow_dns("shop", by_team, dns_ports()),
    ]);
    st.namespace_labels = Default::default();
    let r = run(&st, &["shop"]);
    assert!(
        with(&r, Code::DnsEgressBlocked).is_empty(),
        "{:?}",
        r.findings
    );
    assert!(
        r.not_checked
            .iter()
            .any(|n| n.check == "dns-egress-blocked" && n.reason.contains("kube-system")),
        "{:?}",
        r.not_checked
    );
}

#[test]
fn node_local_dns_is_not_checked() {
    let mut st = state(vec![deny_egress("shop")]);
    st.coverage
        .add_object(Kind::DaemonSet, "kube-system", "node-local-dns");
    st.workloads.push(crate::model::Workload {
        kind: Kind::DaemonSet,
        namespace: "kube-system".into(),
        name: "node-local-dns".into(),
        template_labels: labels(&[("k8s-app", "node-local-dns")]),
        service_name: None,
    });
    let r = run(&st, &["shop"]);
    assert!(
        with(&r, Code::DnsEgressBlocked).is_empty(),
        "{:?}",
        r.findings
    );
    assert!(
        r.not_checked
            .iter()
            .any(|n| n.check == "dns-egress-blocked" && n.reason.contains("link-local")),
        "{:?}",
        r.not_checked
    );
}

#[test]
fn a_probe_timeout_from_a_blocked_client_is_explained_by_the_policy() {
    use crate::analysis::{Facts, Observations, View, diagnose_observed};
    use crate::model::{Observed, ObservedStatus, ResolverSeen, Via};
    let st = state(vec![deny_egress("shop")]);
    let t = Target {
        namespace: "web".into(),
        name: "web".into(),
    };
    let opts = Options {
        from_namespaces: vec!["shop".into()],
        ..Options::default()
    };
    let facts = Facts::compute(&st, &opts);
    let predicted = crate::analysis::diagnose_with(&st, &facts, &t, &opts);
    let mut view = View {
        client: Some("shop".into()),
        ..View::default()
    };
    for row in &predicted.name_forms {
        view.names.insert(
            row.name.clone(),
            Observed {
                status: ObservedStatus::Timeout,
                addresses: vec![],
                answered_by: None,
                candidates: vec![],
                via: Via::ProbePod,
                resolver: ResolverSeen {
                    nameservers: vec![],
                    search: vec![],
                    ndots: 5,
                },
                as_predicted: None,
                notes: vec![],
            },
        );
    }
    let obs = Observations {
        views: vec![view],
        ..Observations::default()
    };
    let r = diagnose_observed(&st, &facts, &t, &opts, &obs);
    let m = with(&r, Code::DnsMismatch);
    assert_eq!(m.len(), 1, "{:?}", r.findings);
    assert!(
        m[0].message.contains("shop/default-deny-egress"),
        "{}",
        m[0].message
    );
    assert!(m[0].fix.contains("name: allow-dns"), "{}", m[0].fix);

    // Without the policy, the generic cause.
    let st = state(vec![]);
    let facts = Facts::compute(&st, &opts);
    let r = diagnose_observed(&st, &facts, &t, &opts, &obs);
    let m = with(&r, Code::DnsMismatch);
    assert_eq!(m.len(), 1, "{:?}", r.findings);
    assert!(
        !m[0].message.contains("NetworkPolicy blocks"),
        "{}",
        m[0].message
    );
}

#[test]
fn an_ip_block_against_the_client_a_namespace_stands_for_is_not_checked() {
    // The backends admit one CIDR only: the hypothetical client has no IP.
    let p = np(
        "web",
        "from-cidr",
        json!({"podSelector": {}, "policyTypes": ["Ingress"],
               "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.2.0/24"}}]}]}),
    );
    let r = run(&state(vec![p]), &["shop"]);
    assert!(
        with(&r, Code::IngressBlocked).is_empty(),
        "{:?}",
        r.findings
    );
    assert!(
        r.not_checked.iter().any(|n| n.check == "ingress-blocked"
            && n.reason.contains("the client (any pod of namespace shop)")),
        "{:?}",
        r.not_checked
    );
}
