//! Table-driven cases translated from published truth. Each case cites its
//! source:
//!
//! - "e2e: <name>": kubernetes/kubernetes
//!   test/e2e/network/netpol/network_policy.go, the test of that name. Its
//!   world: namespaces x, y, z labelled `ns=<name>` (model.go) plus
//!   `kubernetes.io/metadata.name=<name>` (set by the control plane); pods
//!   a, b, c labelled `pod=<name>`, one container port per port and
//!   protocol named `serve-<port>-<proto>` (model.go). Policies are built by
//!   `SetSpecIngressRules`/`SetSpecEgressRules`, which add the policy type
//!   (k8s_util.go). Expectations start all-true and are edited by `Expect`,
//!   `ExpectPeer`, `ExpectAllIngress`, `ExpectAllEgress` (reachability.go),
//!   mirrored here by [`Reach`]; loopback is not compared (`ignoreLoopback`).
//! - "docs: <section>": kubernetes.io/docs/concepts/services-networking/
//!   network-policies, the example of that section.
//! - "mistake: <what>": a classic misconfiguration, its expectation from
//!   the same documentation's rules (cited on the case).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::model::{ContainerPort, NAMESPACE_NAME_LABEL};
use crate::source::convert;

const TCP: &str = "TCP";
const UDP: &str = "UDP";

pub(crate) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A policy in `namespace` with `spec` (JSON as the API takes it).
pub(crate) fn np(namespace: &str, name: &str, spec: Value) -> NetworkPolicy {
    convert::network_policy(
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }))
        .unwrap(),
    )
    .unwrap()
}

/// The e2e world: pod `ns/name`, its IP 10.<ns>.0.<pod>.
fn e2e_pod(id: &str) -> PodEndpoint {
    let (ns, name) = id.split_once('/').unwrap();
    let n = |s: &str, all: &str| all.find(s).unwrap() + 1;
    let mut ports = Vec::new();
    for port in [80, 81] {
        for proto in [TCP, UDP, "SCTP"] {
            ports.push(ContainerPort {
                name: Some(format!("serve-{port}-{}", proto.to_lowercase())),
                port,
                protocol: proto.to_owned(),
            });
        }
    }
    PodEndpoint {
        namespace: ns.to_owned(),
        name: name.to_owned(),
        labels: labels(&[("pod", name)]),
        ips: vec![format!("10.{}.0.{}", n(ns, "xyz"), n(name, "abc"))],
        ports,
    }
}

fn e2e_namespaces() -> NamespaceLabels {
    let mut n = NamespaceLabels::default();
    for ns in ["x", "y", "z"] {
        n.insert(ns, labels(&[("ns", ns), (NAMESPACE_NAME_LABEL, ns)]));
    }
    n
}

/// reachability.go's truth table.
struct Reach {
    pods: Vec<String>,
    expected: BTreeMap<(String, String), bool>,
}

/// reachability.go's `Peer`: empty = any.
fn matches(peer: (&str, &str), pod: &str) -> bool {
    let (ns, name) = pod.split_once('/').unwrap();
    (peer.0.is_empty() || peer.0 == ns) && (peer.1.is_empty() || peer.1 == name)
}

impl Reach {
    fn new(pods: &[&str]) -> Reach {
        let mut expected = BTreeMap::new();
        for f in pods {
            for t in pods {
                expected.insert(((*f).to_owned(), (*t).to_owned()), true);
            }
        }
        Reach {
            pods: pods.iter().map(|p| (*p).to_owned()).collect(),
            expected,
        }
    }

    fn expect(mut self, from: &str, to: &str, v: bool) -> Reach {
        self.expected.insert((from.to_owned(), to.to_owned()), v);
        self
    }

    fn peer(mut self, from: (&str, &str), to: (&str, &str), v: bool) -> Reach {
        for ((f, t), e) in self.expected.iter_mut() {
            if matches(from, f) && matches(to, t) {
                *e = v;
            }
        }
        self
    }

    fn all_ingress(self, pod: &str, v: bool) -> Reach {
        let (ns, name) = pod.split_once('/').unwrap();
        self.peer(("", ""), (ns, name), v)
    }

    fn all_egress(self, pod: &str, v: bool) -> Reach {
        let (ns, name) = pod.split_once('/').unwrap();
        self.peer((ns, name), ("", ""), v)
    }
}

/// Every ordered pair but loopback, against the expectation.
fn check(case: &str, policies: &[NetworkPolicy], port: i32, proto: &str, reach: &Reach) {
    check_in(case, policies, &e2e_namespaces(), port, proto, reach, &[]);
}

fn check_in(
    case: &str,
    policies: &[NetworkPolicy],
    namespaces: &NamespaceLabels,
    port: i32,
    proto: &str,
    reach: &Reach,
    relabel: &[(&str, &[(&str, &str)])],
) {
    let pod = |id: &str| {
        let mut p = e2e_pod(id);
        if let Some((_, l)) = relabel.iter().find(|(r, _)| *r == id) {
            p.labels = labels(l);
        }
        p
    };
    let mut wrong = Vec::new();
    for f in &reach.pods {
        for t in &reach.pods {
            if f == t {
                continue;
            }
            let d = allowed(
                policies,
                namespaces,
                &pod(f),
                &pod(t),
                Traffic {
                    port,
                    protocol: proto,
                },
            );
            let want = reach.expected[&(f.clone(), t.clone())];
            let got = match d.outcome {
                Outcome::Allowed => true,
                Outcome::Denied => false,
                Outcome::Unknown => {
                    wrong.push(format!("{f} -> {t}: unknown {d:?}"));
                    continue;
                }
            };
            if got != want {
                wrong.push(format!("{f} -> {t}: got {got}, want {want}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{case} ({proto}/{port}):\n{}",
        wrong.join("\n")
    );
}

/// `GenNetworkPolicyWithNameAndPodMatchLabel(name, {pod: a}, SetSpecIngressRules(rule))`.
fn ingress_on(ns: &str, name: &str, pod_labels: Value, rules: Value) -> NetworkPolicy {
    np(
        ns,
        name,
        json!({"podSelector": {"matchLabels": pod_labels}, "policyTypes": ["Ingress"], "ingress": rules}),
    )
}

fn egress_on(ns: &str, name: &str, pod_labels: Value, rules: Value) -> NetworkPolicy {
    np(
        ns,
        name,
        json!({"podSelector": {"matchLabels": pod_labels}, "policyTypes": ["Egress"], "egress": rules}),
    )
}

fn deny_ingress(ns: &str, name: &str) -> NetworkPolicy {
    np(
        ns,
        name,
        json!({"podSelector": {}, "policyTypes": ["Ingress"], "ingress": []}),
    )
}

// ---- upstream e2e: kubernetes/kubernetes test/e2e/network/netpol/network_policy.go

#[test]
fn e2e_default_deny_ingress_tcp_udp_sctp() {
    // e2e: should support a 'default-deny-ingress' policy (TCP, and the
    // UDP and SCTP variants of the same name).
    let pods = ["x/a", "x/b", "y/a", "y/b"];
    let p = [deny_ingress("x", "deny-ingress")];
    let r = Reach::new(&pods).peer(("", ""), ("x", ""), false);
    for proto in [TCP, UDP, "SCTP"] {
        check("default-deny-ingress", &p, 80, proto, &r);
    }
}

#[test]
fn e2e_default_deny_all() {
    // e2e: should support a 'default-deny-all' policy; also "should stop
    // enforcing policies after they are deleted" (with, then without).
    let pods = ["x/a", "x/b", "y/a"];
    let p = [np(
        "x",
        "deny-all",
        json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []}),
    )];
    let r = Reach::new(&pods)
        .peer(("", ""), ("x", ""), false)
        .peer(("x", ""), ("", ""), false);
    check("default-deny-all", &p, 80, TCP, &r);
    check("deleted", &[], 80, TCP, &Reach::new(&pods));
}

#[test]
fn e2e_pod_selector_within_namespace() {
    // e2e: should enforce policy to allow traffic from pods within server
    // namespace based on PodSelector; and "... based on PodSelector with
    // MatchExpressions" (same expectation).
    let pods = ["x/a", "x/b", "x/c", "y/a"];
    let r = Reach::new(&pods)
        .all_ingress("x/a", false)
        .expect("x/b", "x/a", true);
    let p = [ingress_on(
        "x",
        "x-a-allows-x-b",
        json!({"pod": "a"}),
        json!([{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}]}]),
    )];
    check("podSelector", &p, 80, TCP, &r);
    let p = [ingress_on(
        "x",
        "x-a-allows-x-b",
        json!({"pod": "a"}),
        json!([{"from": [{"podSelector": {"matchExpressions": [
            {"key": "pod", "operator": "In", "values": ["b"]}]}}]}]),
    )];
    check("podSelector matchExpressions", &p, 80, TCP, &r);
}

#[test]
fn e2e_allow_ingress_for_a_target() {
    // e2e: should enforce policy to allow ingress traffic for a target.
    let pods = ["x/a", "x/b", "y/a"];
    let p = [
        deny_ingress("x", "deny-all"),
        ingress_on(
            "x",
            "allow-all-to-a",
            json!({"pod": "a"}),
            json!([{"from": [{"podSelector": {}, "namespaceSelector": {}}]}]),
        ),
    ];
    let r = Reach::new(&pods)
        .all_ingress("x/a", true)
        .all_ingress("x/b", false);
    check("target", &p, 80, TCP, &r);
}

#[test]
fn e2e_allow_ingress_from_all_namespaces() {
    // e2e: should enforce policy to allow ingress traffic from pods in all
    // namespaces (namespaceSelector {} = every namespace).
    let pods = ["x/a", "x/b", "y/a", "z/a"];
    let p = [ingress_on(
        "x",
        "allow-from-another-ns",
        json!({"pod": "a"}),
        json!([{"from": [{"namespaceSelector": {"matchLabels": {}}}]}]),
    )];
    check("all namespaces", &p, 80, TCP, &Reach::new(&pods));
}

#[test]
fn e2e_namespace_selector_by_name_label() {
    // e2e: should enforce policy to allow traffic only from a different
    // namespace, based on NamespaceSelector; "... NamespaceSelector with
    // MatchExpressions"; "... NamespaceSelector with MatchLabels using
    // default ns label" (the same expectation each time).
    let pods = ["x/a", "x/b", "y/a", "z/a"];
    let r = Reach::new(&pods)
        .peer(("x", ""), ("x", "a"), false)
        .peer(("z", ""), ("x", "a"), false);
    for sel in [
        json!({"matchLabels": {NAMESPACE_NAME_LABEL: "y"}}),
        json!({"matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": ["y"]}]}),
    ] {
        let p = [ingress_on(
            "x",
            "allow-client-a-via-ns-selector",
            json!({"pod": "a"}),
            json!([{"from": [{"namespaceSelector": sel}]}]),
        )];
        check("namespaceSelector", &p, 80, TCP, &r);
    }
}

#[test]
fn e2e_pod_selector_or_namespace_selector() {
    // e2e: should enforce policy based on PodSelector or NamespaceSelector
    // (two peers: either).
    let pods = ["x/a", "x/b", "x/c", "y/a"];
    let p = [ingress_on(
        "x",
        "allow-ns-y-match-selector",
        json!({"pod": "a"}),
        json!([{"from": [
            {"namespaceSelector": {"matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": ["x"]}]}},
            {"podSelector": {"matchLabels": {"pod": "b"}}},
        ]}]),
    )];
    let r = Reach::new(&pods)
        .expect("x/a", "x/a", false)
        .expect("x/c", "x/a", false);
    check("or", &p, 80, TCP, &r);
}

#[test]
fn e2e_pod_selector_and_namespace_selector() {
    // e2e: should enforce policy based on PodSelector and NamespaceSelector
    // (one peer: both).
    let pods = ["x/a", "x/b", "y/a", "y/b", "z/b"];
    let p = [ingress_on(
        "x",
        "allow-ns-y-podselector-and-nsselector",
        json!({"pod": "a"}),
        json!([{"from": [{
            "namespaceSelector": {"matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": ["x"]}]},
            "podSelector": {"matchLabels": {"pod": "b"}},
        }]}]),
    )];
    let r = Reach::new(&pods)
        .all_ingress("x/a", false)
        .expect("y/b", "x/a", true)
        .expect("z/b", "x/a", true);
    check("and", &p, 80, TCP, &r);
}

#[test]
fn e2e_multiple_pod_and_namespace_selectors() {
    // e2e: should enforce policy based on Multiple PodSelectors and
    // NamespaceSelectors.
    let pods = ["x/a", "x/b", "y/a", "y/b", "y/c"];
    let p = [ingress_on(
        "x",
        "allow-ns-y-z-pod-b-c",
        json!({"pod": "a"}),
        json!([{"from": [{
            "namespaceSelector": {"matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": ["x"]}]},
            "podSelector": {"matchExpressions": [{"key": "pod", "operator": "In", "values": ["b", "c"]}]},
        }]}]),
    )];
    let r = Reach::new(&pods)
        .peer(("x", ""), ("x", "a"), false)
        .expect("y/a", "x/a", false);
    check("multiple", &p, 80, TCP, &r);
}

#[test]
fn e2e_any_pod_selectors() {
    // e2e: should enforce policy based on any PodSelectors.
    let pods = ["x/a", "x/b", "x/c"];
    let p = [ingress_on(
        "x",
        "allow-ns-x-pod-b-c",
        json!({"pod": "a"}),
        json!([{"from": [
            {"podSelector": {"matchLabels": {"pod": "b"}}},
            {"podSelector": {"matchLabels": {"pod": "c"}}},
        ]}]),
    )];
    let r = Reach::new(&pods)
        .all_ingress("x/a", false)
        .expect("x/b", "x/a", true)
        .expect("x/c", "x/a", true);
    check("any podSelectors", &p, 80, TCP, &r);
}

#[test]
fn e2e_pod_in_other_namespace_tcp_udp_sctp() {
    // e2e: should enforce policy to allow traffic only from a pod in a
    // different namespace based on PodSelector and NamespaceSelector (TCP;
    // its UDP and SCTP variants use x/a, x/b, y/a).
    let p = [ingress_on(
        "x",
        "allow-ns-y-pod-a-via-namespace-pod-selector",
        json!({"pod": "a"}),
        json!([{"from": [{
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "y"}},
            "podSelector": {"matchLabels": {"pod": "a"}},
        }]}]),
    )];
    let pods = ["x/a", "x/b", "y/a", "y/b", "z/a"];
    let r = Reach::new(&pods)
        .all_ingress("x/a", false)
        .expect("y/a", "x/a", true);
    check("pod in other ns", &p, 80, TCP, &r);
    let pods = ["x/a", "x/b", "y/a"];
    let r = Reach::new(&pods)
        .all_ingress("x/a", false)
        .expect("y/a", "x/a", true);
    check("pod in other ns", &p, 80, UDP, &r);
    check("pod in other ns", &p, 80, "SCTP", &r);
}

fn port81_from_y(name: &str, port: Value, proto: &str) -> NetworkPolicy {
    ingress_on(
        "x",
        name,
        json!({"pod": "a"}),
        json!([{
            "from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "y"}}}],
            "ports": [{"port": port, "protocol": proto}],
        }]),
    )
}

#[test]
fn e2e_ports() {
    // e2e: should enforce policy based on Ports (TCP; the UDP and SCTP
    // variants use x/a, x/b, y/a, z/a).
    let pods = ["x/a", "x/b", "y/a", "y/b", "z/a"];
    let r = Reach::new(&pods)
        .peer(("x", ""), ("x", "a"), false)
        .peer(("y", ""), ("x", "a"), true)
        .peer(("z", ""), ("x", "a"), false);
    let p = [port81_from_y(
        "allow-client-a-via-ns-selector",
        json!(81),
        TCP,
    )];
    check("ports", &p, 81, TCP, &r);
    let pods = ["x/a", "x/b", "y/a", "z/a"];
    let r = Reach::new(&pods)
        .peer(("x", ""), ("x", "a"), false)
        .peer(("z", ""), ("x", "a"), false);
    for proto in [UDP, "SCTP"] {
        let p = [port81_from_y(
            "allow-ingress-on-port-81-ns-x",
            json!(81),
            proto,
        )];
        check("ports", &p, 81, proto, &r);
    }
}

#[test]
fn e2e_stacked_policies_overlapping_pod_selectors() {
    // e2e: should enforce multiple, stacked policies with overlapping
    // podSelectors.
    let pods = ["x/a", "x/b", "y/a", "y/b", "z/a"];
    let allow = Reach::new(&pods)
        .peer(("x", ""), ("x", "a"), false)
        .peer(("y", ""), ("x", "a"), true)
        .peer(("z", ""), ("x", "a"), false);
    let deny = Reach::new(&pods).all_ingress("x/a", false);
    let p81 = port81_from_y("allow-client-a-via-ns-selector", json!(81), TCP);
    let p80 = port81_from_y("allow-client-a-via-ns-selector-80", json!(80), TCP);
    check("stacked, 81", std::slice::from_ref(&p81), 81, TCP, &allow);
    check("stacked, 80", std::slice::from_ref(&p81), 80, TCP, &deny);
    check("stacked, 80 unblocked", &[p81, p80], 80, TCP, &allow);
}

#[test]
fn e2e_allow_all_and_updated_policy() {
    // e2e: should support allow-all policy (ports 80 and 81); should
    // enforce updated policy (allow-all, then `ingress: []` denies all).
    let pods = ["x/a", "x/b", "y/a"];
    let all = ingress_on("x", "allow-all", json!({}), json!([{}]));
    check(
        "allow-all",
        std::slice::from_ref(&all),
        80,
        TCP,
        &Reach::new(&pods),
    );
    check(
        "allow-all",
        std::slice::from_ref(&all),
        81,
        TCP,
        &Reach::new(&pods),
    );
    let pods = ["x/a", "y/a"];
    let denied = ingress_on("x", "allow-all-mutate-to-deny-all", json!({}), json!([]));
    let r = Reach::new(&pods).peer(("", ""), ("x", ""), false);
    check("updated to deny-all", &[denied], 81, TCP, &r);
}

#[test]
fn e2e_named_ports() {
    // e2e: should allow ingress access on one named port.
    let pods = ["x/a", "x/b", "y/a"];
    let p = [ingress_on(
        "x",
        "allow-all",
        json!({}),
        json!([{"ports": [{"port": "serve-81-tcp"}]}]),
    )];
    check("named 81", &p, 81, TCP, &Reach::new(&pods));
    let r = Reach::new(&pods).peer(("", ""), ("x", ""), false);
    check("named 80", &p, 80, TCP, &r);

    // e2e: should allow ingress access from namespace on one named port.
    let pods = ["x/a", "x/b", "y/a", "z/a"];
    let p = [port81_from_y(
        "allow-client-a-via-ns-selector-80",
        json!("serve-80-tcp"),
        TCP,
    )];
    let r = Reach::new(&pods)
        .peer(("x", ""), ("x", "a"), false)
        .peer(("z", ""), ("x", "a"), false);
    check("ns named 80", &p, 80, TCP, &r);
    let r = Reach::new(&pods).all_ingress("x/a", false);
    check("ns named 81", &p, 81, TCP, &r);

    // e2e: should allow egress access on one named port (resolved against
    // the destination pod).
    let pods = ["x/a", "y/a"];
    let p = [egress_on(
        "x",
        "allow-egress",
        json!({}),
        json!([{"ports": [{"port": "serve-80-tcp"}]}]),
    )];
    check("egress named 80", &p, 80, TCP, &Reach::new(&pods));
    let r = Reach::new(&pods).peer(("x", ""), ("", ""), false);
    check("egress named 81", &p, 81, TCP, &r);
}

#[test]
fn e2e_updated_namespace_and_pod_labels() {
    // e2e: should allow ingress access from updated namespace.
    let pods = ["x/a", "y/a"];
    let p = [ingress_on(
        "x",
        "allow-client-a-via-ns-selector",
        json!({"pod": "a"}),
        json!([{"from": [{"namespaceSelector": {"matchLabels": {"ns2": "updated"}}}]}]),
    )];
    let r = Reach::new(&pods).all_ingress("x/a", false);
    check("before namespace label", &p, 80, TCP, &r);
    let mut ns = e2e_namespaces();
    ns.insert(
        "y",
        labels(&[("ns", "y"), (NAMESPACE_NAME_LABEL, "y"), ("ns2", "updated")]),
    );
    let r = Reach::new(&pods)
        .all_ingress("x/a", false)
        .peer(("y", ""), ("", ""), true);
    check_in("after namespace label", &p, &ns, 80, TCP, &r, &[]);

    // e2e: should allow ingress access from updated pod.
    let pods = ["x/a", "x/b"];
    let p = [ingress_on(
        "x",
        "allow-client-a-via-pod-selector",
        json!({"pod": "a"}),
        json!([{"from": [{"podSelector": {"matchLabels": {"pod": "b", "pod2": "updated"}}}]}]),
    )];
    let r = Reach::new(&pods).all_ingress("x/a", false);
    check("before pod label", &p, 80, TCP, &r);
    let r = Reach::new(&pods)
        .all_ingress("x/a", false)
        .expect("x/b", "x/a", true);
    let relabel: &[(&str, &[(&str, &str)])] = &[("x/b", &[("pod", "b"), ("pod2", "updated")])];
    check_in(
        "after pod label",
        &p,
        &e2e_namespaces(),
        80,
        TCP,
        &r,
        relabel,
    );

    // e2e: should deny ingress access to updated pod.
    let pods = ["x/a", "y/a"];
    let p = [np(
        "x",
        "deny-ingress-via-label-selector",
        json!({"podSelector": {"matchLabels": {"target": "isolated"}}, "policyTypes": ["Ingress"], "ingress": []}),
    )];
    check("before isolation", &p, 80, TCP, &Reach::new(&pods));
    let r = Reach::new(&pods).all_ingress("x/a", false);
    let relabel: &[(&str, &[(&str, &str)])] = &[("x/a", &[("pod", "a"), ("target", "isolated")])];
    check_in(
        "after isolation",
        &p,
        &e2e_namespaces(),
        80,
        TCP,
        &r,
        relabel,
    );
}

#[test]
fn e2e_deny_ingress_from_other_namespaces() {
    // e2e: should deny ingress from pods on other namespaces (podSelector
    // {} in `from` = every pod of the policy's namespace only).
    let pods = ["x/a", "x/b", "y/a", "z/a"];
    let p = [ingress_on(
        "x",
        "deny-empty-policy",
        json!({}),
        json!([{"from": [{"podSelector": {"matchLabels": {}}}]}]),
    )];
    let r = Reach::new(&pods)
        .peer(("y", ""), ("x", ""), false)
        .peer(("z", ""), ("x", ""), false);
    check("other namespaces", &p, 80, TCP, &r);
}

#[test]
fn e2e_deny_egress() {
    // e2e: should deny egress from pods based on PodSelector; should deny
    // egress from all pods in a namespace.
    let pods = ["x/a", "x/b", "y/a"];
    let p = [egress_on(
        "x",
        "deny-egress-pod-a",
        json!({"pod": "a"}),
        json!([]),
    )];
    let r = Reach::new(&pods).all_egress("x/a", false);
    check("deny egress pod", &p, 80, TCP, &r);
    let p = [egress_on("x", "deny-egress-ns-x", json!({}), json!([]))];
    let r = Reach::new(&pods).peer(("x", ""), ("", ""), false);
    check("deny egress ns", &p, 80, TCP, &r);
}

#[test]
fn e2e_ingress_and_egress_together() {
    // e2e: should work with Ingress, Egress specified together.
    let pods = ["x/a", "x/b", "x/c", "y/a"];
    let p = [np(
        "x",
        "allow-client-a-via-pod-selector",
        json!({
            "podSelector": {"matchLabels": {"pod": "a"}},
            "policyTypes": ["Egress", "Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}]}],
            "egress": [{"ports": [{"port": 80}]}],
        }),
    )];
    let r80 = Reach::new(&pods)
        .all_ingress("x/a", false)
        .expect("x/b", "x/a", true);
    check("together 80", &p, 80, TCP, &r80);
    let r81 = Reach::new(&pods)
        .all_ingress("x/a", false)
        .all_egress("x/a", false)
        .expect("x/b", "x/a", true);
    check("together 81", &p, 81, TCP, &r81);
}

#[test]
fn e2e_client_side_egress_denial() {
    // e2e: should support denying of egress traffic on the client side
    // (even if the server explicitly allows this traffic).
    let pods = ["x/a", "y/a", "y/b"];
    let from_xa = json!([{"from": [{
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "x"}},
        "podSelector": {"matchLabels": {"pod": "a"}},
    }]}]);
    let p = [
        egress_on(
            "x",
            "allow-to-ns-y-pod-a",
            json!({"pod": "a"}),
            json!([{"to": [{
                "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "y"}},
                "podSelector": {"matchLabels": {"pod": "a"}},
            }]}]),
        ),
        ingress_on(
            "y",
            "allow-from-xa-on-ya-match-selector",
            json!({"pod": "a"}),
            from_xa.clone(),
        ),
        ingress_on(
            "y",
            "allow-from-xa-on-yb-match-selector",
            json!({"pod": "b"}),
            from_xa,
        ),
    ];
    let r = Reach::new(&pods)
        .peer(("x", "a"), ("", ""), false)
        .peer(("", ""), ("y", "a"), false)
        .peer(("x", "a"), ("y", "a"), true)
        .peer(("", ""), ("y", "b"), false);
    check("client side", &p, 80, TCP, &r);

    // The two halves of x/a -> y/b: the server allows, the client does not.
    let d = allowed(
        &p,
        &e2e_namespaces(),
        &e2e_pod("x/a"),
        &e2e_pod("y/b"),
        Traffic {
            port: 80,
            protocol: TCP,
        },
    );
    assert_eq!(d.ingress.outcome, Outcome::Allowed);
    assert_eq!(
        d.ingress.allowed_by,
        Some(RuleRef {
            policy: "y/allow-from-xa-on-yb-match-selector".into(),
            index: 0
        })
    );
    assert_eq!(d.egress.outcome, Outcome::Denied);
    assert_eq!(d.egress.isolated_by, vec!["x/allow-to-ns-y-pod-a"]);
    assert_eq!(
        d.egress.closest.unwrap().mismatches,
        vec![Mismatch::PodSelector {
            selector: "pod=a".into()
        }]
    );
}

#[test]
fn e2e_egress_to_other_namespace_pod() {
    // e2e: should enforce egress policy allowing traffic to a server in a
    // different namespace based on PodSelector and NamespaceSelector.
    let pods = ["x/a", "y/a", "y/b"];
    let p = [egress_on(
        "x",
        "allow-to-ns-y-pod-a",
        json!({"pod": "a"}),
        json!([{"to": [{
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "y"}},
            "podSelector": {"matchLabels": {"pod": "a"}},
        }]}]),
    )];
    let r = Reach::new(&pods)
        .all_egress("x/a", false)
        .expect("x/a", "y/a", true);
    check("egress other ns", &p, 80, TCP, &r);
}

#[test]
fn e2e_protocols() {
    // e2e: should enforce ingress policy allowing any port traffic to a
    // server on a specific protocol.
    let pods = ["x/a", "y/a"];
    let p = [ingress_on(
        "x",
        "allow-ingress-by-proto",
        json!({"pod": "a"}),
        json!([{"ports": [{"protocol": "TCP"}]}]),
    )];
    check("proto tcp", &p, 80, TCP, &Reach::new(&pods));
    let r = Reach::new(&pods).peer(("", ""), ("x", "a"), false);
    check("proto udp", &p, 80, UDP, &r);

    // e2e: should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP'.
    let p = [
        deny_ingress("x", "deny-ingress"),
        ingress_on(
            "x",
            "allow-only-sctp-ingress-on-port-81",
            json!({"pod": "a"}),
            json!([{"ports": [{"port": 81, "protocol": "SCTP"}]}]),
        ),
    ];
    let r = Reach::new(&pods).peer(("", ""), ("x", ""), false);
    check("sctp is not tcp", &p, 81, TCP, &r);

    // e2e: should properly isolate pods that are selected by a policy
    // allowing SCTP; should not allow access by TCP when a policy specifies
    // only UDP.
    let r = Reach::new(&pods).all_ingress("x/a", false);
    for (name, port, proto) in [
        ("allow-only-sctp-ingress-on-port-80", 80, "SCTP"),
        ("allow-only-udp-ingress-on-port-81", 81, UDP),
    ] {
        let p = [ingress_on(
            "x",
            name,
            json!({"pod": "a"}),
            json!([{"ports": [{"port": port, "protocol": proto}]}]),
        )];
        check(name, &p, 81, TCP, &r);
    }
}

#[test]
fn e2e_allow_all_takes_precedence() {
    // e2e: should enforce multiple ingress policies with ingress allow-all
    // policy taking precedence; the egress one of the same name.
    let pods = ["x/a", "y/a"];
    let only80 = ingress_on(
        "x",
        "allow-ingress-port-80",
        json!({}),
        json!([{"ports": [{"port": 80}]}]),
    );
    let r = Reach::new(&pods).peer(("", ""), ("x", ""), false);
    check(
        "ingress only 80",
        std::slice::from_ref(&only80),
        81,
        TCP,
        &r,
    );
    let all = ingress_on("x", "allow-ingress", json!({}), json!([{}]));
    check(
        "ingress allow-all",
        &[only80, all],
        81,
        TCP,
        &Reach::new(&pods),
    );

    let only80 = egress_on(
        "x",
        "allow-egress-port-80",
        json!({}),
        json!([{"ports": [{"port": 80}]}]),
    );
    let r = Reach::new(&pods).peer(("x", ""), ("", ""), false);
    check("egress only 80", std::slice::from_ref(&only80), 81, TCP, &r);
    let all = egress_on("x", "allow-egress", json!({}), json!([{}]));
    check(
        "egress allow-all",
        &[only80, all],
        81,
        TCP,
        &Reach::new(&pods),
    );
}

#[test]
fn e2e_ip_blocks() {
    // e2e: should allow egress access to server in CIDR block (the /32 of
    // y/b's pod IP).
    let pods = ["x/a", "y/a", "y/b"];
    let yb = format!("{}/32", e2e_pod("y/b").ips[0]);
    let p = [egress_on(
        "x",
        "allow-client-a-via-cidr-egress-rule",
        json!({"pod": "a"}),
        json!([{"to": [{"ipBlock": {"cidr": yb}}]}]),
    )];
    let r = Reach::new(&pods)
        .all_egress("x/a", false)
        .expect("x/a", "y/b", true);
    check("cidr", &p, 80, TCP, &r);

    // e2e: should enforce except clause while egress access to server in
    // CIDR block (the /4 around x/b, except x/b's /32).
    let pods = ["x/a", "x/b", "x/c"];
    let xb = format!("{}/32", e2e_pod("x/b").ips[0]);
    let except = egress_on(
        "x",
        "allow-client-a-via-cidr-egress-rule",
        json!({"pod": "a"}),
        json!([{"to": [{"ipBlock": {"cidr": "0.0.0.0/4", "except": [xb]}}]}]),
    );
    let r = Reach::new(&pods).expect("x/a", "x/b", false);
    check("except", std::slice::from_ref(&except), 80, TCP, &r);

    // e2e: should ensure an IP overlapping both IPBlock.CIDR and
    // IPBlock.Except is allowed: the policy is then updated (same name) to
    // allow only x/b's /32.
    let updated = egress_on(
        "x",
        "allow-client-a-via-cidr-egress-rule",
        json!({"pod": "a"}),
        json!([{"to": [{"ipBlock": {"cidr": xb}}]}]),
    );
    let r = Reach::new(&pods)
        .all_egress("x/a", false)
        .expect("x/a", "x/b", true);
    check("overlap", &[updated], 80, TCP, &r);

    let d = egress(
        &[except],
        &e2e_namespaces(),
        &e2e_pod("x/a"),
        &e2e_pod("x/b"),
        Traffic {
            port: 80,
            protocol: TCP,
        },
    );
    assert_eq!(
        d.closest.unwrap().mismatches,
        vec![Mismatch::IpBlockExcept {
            cidr: "0.0.0.0/4".into(),
            except: xb.clone()
        }]
    );
}

#[test]
fn e2e_ingress_and_egress_independent() {
    // e2e: should enforce policies to check ingress and egress policies can
    // be controlled independently based on PodSelector.
    let pods = ["x/a", "x/b", "y/a"];
    let allow_egress = np(
        "x",
        "allow-egress-for-target",
        json!({"podSelector": {"matchLabels": {"pod": "a"}}, "policyTypes": ["Egress"], "egress": [{}]}),
    );
    check(
        "egress allowed",
        std::slice::from_ref(&allow_egress),
        80,
        TCP,
        &Reach::new(&pods),
    );
    let deny_ingress = np(
        "x",
        "deny-ingress-via-label-selector",
        json!({"podSelector": {"matchLabels": {"pod": "a"}}, "policyTypes": ["Ingress"], "ingress": []}),
    );
    let r = Reach::new(&pods).all_ingress("x/a", false);
    check("ingress denied", &[allow_egress, deny_ingress], 80, TCP, &r);
}

#[test]
fn e2e_namespace_match_expressions_egress() {
    // e2e: should enforce policy based on NamespaceSelector with
    // MatchExpressions using default ns label (egress, NotIn y).
    let pods = ["x/a", "x/b", "y/a", "z/a"];
    let p = [egress_on(
        "x",
        "allow-ns-y-match-selector-for-immutable-ns-label",
        json!({"pod": "a"}),
        json!([{"to": [{"namespaceSelector": {"matchExpressions": [
            {"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": ["y"]}]}}]}]),
    )];
    let r = Reach::new(&pods).peer(("x", "a"), ("y", ""), false);
    check("egress NotIn", &p, 80, TCP, &r);
}

// ---- kubernetes.io/docs/concepts/services-networking/network-policies

fn pod(ns: &str, name: &str, l: &[(&str, &str)], ip: &str) -> PodEndpoint {
    PodEndpoint {
        namespace: ns.into(),
        name: name.into(),
        labels: labels(l),
        ips: vec![ip.into()],
        ports: Vec::new(),
    }
}

fn docs_namespaces() -> NamespaceLabels {
    let mut n = NamespaceLabels::default();
    n.insert("default", BTreeMap::new());
    n.insert("mine", labels(&[("project", "myproject")]));
    n.insert("other", BTreeMap::new());
    n.insert("alice", labels(&[("user", "alice")]));
    n.insert("frontend", labels(&[("namespace", "frontend")]));
    n.insert("backend", labels(&[("namespace", "backend")]));
    n
}

/// (from, to, port, protocol, expected) against `policies`.
fn check_list(
    case: &str,
    policies: &[NetworkPolicy],
    list: &[(&PodEndpoint, &PodEndpoint, i32, &str, bool)],
) {
    let ns = docs_namespaces();
    for (i, (f, t, port, proto, want)) in list.iter().enumerate() {
        let d = allowed(
            policies,
            &ns,
            f,
            t,
            Traffic {
                port: *port,
                protocol: proto,
            },
        );
        let got = d.outcome == Outcome::Allowed;
        assert_eq!(
            got, *want,
            "{case} #{i}: {}/{} -> {}/{} {proto}/{port}: {d:?}",
            f.namespace, f.name, t.namespace, t.name
        );
        assert_ne!(d.outcome, Outcome::Unknown, "{case} #{i}");
    }
}

#[test]
fn docs_test_network_policy() {
    // docs: "The NetworkPolicy resource", test-network-policy: isolates
    // role=db in default both ways; ingress on TCP 6379 from role=frontend
    // in default, any pod of a project=myproject namespace, and
    // 172.17.0.0/16 except 172.17.1.0/24; egress to 10.0.0.0/24 on TCP
    // 5978.
    let p = [np(
        "default",
        "test-network-policy",
        json!({
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
        }),
    )];
    let db = pod("default", "db", &[("role", "db")], "10.9.0.1");
    let front = pod("default", "front", &[("role", "frontend")], "10.9.0.2");
    let front_elsewhere = pod("other", "front", &[("role", "frontend")], "10.9.0.3");
    let mine = pod("mine", "any", &[], "10.9.0.4");
    let in_block = pod("other", "in-block", &[], "172.17.0.9");
    let excepted = pod("other", "excepted", &[], "172.17.1.9");
    let upper = pod("other", "upper", &[], "172.17.2.9");
    let target = pod("other", "target", &[], "10.0.0.7");
    check_list(
        "test-network-policy",
        &p,
        &[
            (&front, &db, 6379, TCP, true),
            (&front, &db, 6380, TCP, false),
            (&front, &db, 6379, UDP, false),
            (&front_elsewhere, &db, 6379, TCP, false),
            (&mine, &db, 6379, TCP, true),
            (&in_block, &db, 6379, TCP, true),
            (&excepted, &db, 6379, TCP, false),
            (&upper, &db, 6379, TCP, true),
            (&db, &target, 5978, TCP, true),
            (&db, &target, 5979, TCP, false),
            (&db, &front, 5978, TCP, false),
            // Pods other than role=db are not isolated.
            (&front, &mine, 1234, TCP, true),
        ],
    );
}

#[test]
fn docs_and_versus_or() {
    // docs: "Behavior of to and from selectors": one element with both
    // selectors = role=client pods in user=alice namespaces; two elements =
    // role=client pods of the local namespace OR any pod of a user=alice
    // namespace.
    let and = [ingress_on(
        "default",
        "and",
        json!({}),
        json!([{"from": [{
            "namespaceSelector": {"matchLabels": {"user": "alice"}},
            "podSelector": {"matchLabels": {"role": "client"}},
        }]}]),
    )];
    let or = [ingress_on(
        "default",
        "or",
        json!({}),
        json!([{"from": [
            {"namespaceSelector": {"matchLabels": {"user": "alice"}}},
            {"podSelector": {"matchLabels": {"role": "client"}}},
        ]}]),
    )];
    let server = pod("default", "server", &[], "10.9.1.1");
    let alice_client = pod("alice", "client", &[("role", "client")], "10.9.1.2");
    let alice_other = pod("alice", "other", &[], "10.9.1.3");
    let local_client = pod("default", "client", &[("role", "client")], "10.9.1.4");
    let other_client = pod("other", "client", &[("role", "client")], "10.9.1.5");
    check_list(
        "and",
        &and,
        &[
            (&alice_client, &server, 80, TCP, true),
            (&alice_other, &server, 80, TCP, false),
            (&local_client, &server, 80, TCP, false),
            (&other_client, &server, 80, TCP, false),
        ],
    );
    check_list(
        "or",
        &or,
        &[
            (&alice_client, &server, 80, TCP, true),
            (&alice_other, &server, 80, TCP, true),
            (&local_client, &server, 80, TCP, true),
            (&other_client, &server, 80, TCP, false),
        ],
    );
}

#[test]
fn docs_default_policies() {
    // docs: "Default policies": default deny all ingress / egress / both,
    // allow all ingress / egress (an allow-all wins over a deny).
    let a = pod("default", "a", &[], "10.9.2.1");
    let b = pod("default", "b", &[], "10.9.2.2");
    let out = pod("other", "out", &[], "10.9.2.3");
    let deny_in = np(
        "default",
        "default-deny-ingress",
        json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
    );
    let allow_in = np(
        "default",
        "allow-all-ingress",
        json!({"podSelector": {}, "ingress": [{}], "policyTypes": ["Ingress"]}),
    );
    let deny_out = np(
        "default",
        "default-deny-egress",
        json!({"podSelector": {}, "policyTypes": ["Egress"]}),
    );
    let allow_out = np(
        "default",
        "allow-all-egress",
        json!({"podSelector": {}, "egress": [{}], "policyTypes": ["Egress"]}),
    );
    let deny_all = np(
        "default",
        "default-deny-all",
        json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
    );
    check_list(
        "deny ingress",
        std::slice::from_ref(&deny_in),
        &[
            (&out, &a, 80, TCP, false),
            (&a, &b, 80, TCP, false),
            (&a, &out, 80, TCP, true),
        ],
    );
    check_list(
        "allow ingress",
        &[deny_in, allow_in],
        &[(&out, &a, 80, TCP, true)],
    );
    check_list(
        "deny egress",
        std::slice::from_ref(&deny_out),
        &[(&a, &out, 80, TCP, false), (&out, &a, 80, TCP, true)],
    );
    check_list(
        "allow egress",
        &[deny_out, allow_out],
        &[(&a, &out, 80, TCP, true)],
    );
    check_list(
        "deny all",
        &[deny_all],
        &[
            (&a, &out, 80, TCP, false),
            (&out, &a, 80, TCP, false),
            (&a, &b, 80, UDP, false),
        ],
    );
}

#[test]
fn docs_port_range() {
    // docs: "Targeting a range of ports", multi-port-egress: role=db may
    // reach 10.0.0.0/24 on TCP 32000..=32768.
    let p = [np(
        "default",
        "multi-port-egress",
        json!({
            "podSelector": {"matchLabels": {"role": "db"}},
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}],
                "ports": [{"protocol": "TCP", "port": 32000, "endPort": 32768}],
            }],
        }),
    )];
    let db = pod("default", "db", &[("role", "db")], "10.9.3.1");
    let t = pod("other", "t", &[], "10.0.0.42");
    let off = pod("other", "off", &[], "10.0.1.42");
    check_list(
        "endPort",
        &p,
        &[
            (&db, &t, 32000, TCP, true),
            (&db, &t, 32500, TCP, true),
            (&db, &t, 32768, TCP, true),
            (&db, &t, 31999, TCP, false),
            (&db, &t, 32769, TCP, false),
            (&db, &t, 32000, UDP, false),
            (&db, &off, 32000, TCP, false),
        ],
    );
}

#[test]
fn docs_namespaces_by_label_and_by_name() {
    // docs: "Targeting multiple namespaces by label" (namespace In
    // (frontend, backend)) and "Targeting a Namespace by its name"
    // (kubernetes.io/metadata.name, set on every namespace).
    let by_label = [egress_on(
        "default",
        "egress-namespaces",
        json!({"app": "myapp"}),
        json!([{"to": [{"namespaceSelector": {"matchExpressions": [
            {"key": "namespace", "operator": "In", "values": ["frontend", "backend"]}]}}]}]),
    )];
    let by_name = [egress_on(
        "default",
        "egress-by-name",
        json!({"app": "myapp"}),
        json!([{"to": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "backend"}}}]}]),
    )];
    let app = pod("default", "app", &[("app", "myapp")], "10.9.4.1");
    let fe = pod("frontend", "fe", &[], "10.9.4.2");
    let be = pod("backend", "be", &[], "10.9.4.3");
    let other = pod("other", "o", &[], "10.9.4.4");
    check_list(
        "by label",
        &by_label,
        &[
            (&app, &fe, 80, TCP, true),
            (&app, &be, 80, TCP, true),
            (&app, &other, 80, TCP, false),
        ],
    );
    check_list(
        "by name",
        &by_name,
        &[(&app, &fe, 80, TCP, false), (&app, &be, 80, TCP, true)],
    );
}

// ---- classic mistakes, against the kube-dns pods

fn dns_pod() -> PodEndpoint {
    PodEndpoint {
        namespace: "kube-system".into(),
        name: "coredns-1".into(),
        labels: labels(&[("k8s-app", "kube-dns")]),
        ips: vec!["10.96.5.5".into()],
        ports: vec![
            ContainerPort {
                name: Some("dns".into()),
                port: 53,
                protocol: UDP.into(),
            },
            ContainerPort {
                name: Some("dns-tcp".into()),
                port: 53,
                protocol: TCP.into(),
            },
        ],
    }
}

fn mistakes_namespaces() -> NamespaceLabels {
    let mut n = NamespaceLabels::default();
    for ns in ["kube-system", "shop", "web"] {
        n.insert(ns, BTreeMap::new());
    }
    n
}

fn client() -> PodEndpoint {
    pod("shop", "client", &[("app", "client")], "10.9.5.1")
}

fn eg(policies: &[NetworkPolicy], to: &PodEndpoint, port: i32, proto: &str) -> Half {
    egress(
        policies,
        &mistakes_namespaces(),
        &client(),
        to,
        Traffic {
            port,
            protocol: proto,
        },
    )
}

#[test]
fn mistake_two_peers_instead_of_one() {
    // mistake: namespaceSelector and podSelector written as two `to`
    // elements ("or", docs: Behavior of to and from selectors) allow every
    // pod of kube-system (and kube-dns-labelled pods of the policy's own
    // namespace) on port 53, not only the DNS pods; written as one element
    // they allow the DNS pods only.
    let deny = np(
        "shop",
        "default-deny-egress",
        json!({"podSelector": {}, "policyTypes": ["Egress"]}),
    );
    let two = np(
        "shop",
        "allow-dns",
        json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "to": [
                {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}}},
                {"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}},
            ],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        }]}),
    );
    let one = np(
        "shop",
        "allow-dns",
        json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "to": [{
                "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        }]}),
    );
    let other_system_pod = pod("kube-system", "metrics", &[], "10.96.5.6");
    let two = [deny.clone(), two];
    let one = [deny, one];
    assert_eq!(eg(&two, &dns_pod(), 53, UDP).outcome, Outcome::Allowed);
    assert_eq!(
        eg(&two, &other_system_pod, 53, UDP).outcome,
        Outcome::Allowed
    );
    assert_eq!(eg(&one, &dns_pod(), 53, UDP).outcome, Outcome::Allowed);
    assert_eq!(eg(&one, &dns_pod(), 53, TCP).outcome, Outcome::Allowed);
    let h = eg(&one, &other_system_pod, 53, UDP);
    assert_eq!(h.outcome, Outcome::Denied);
    assert_eq!(
        h.closest.unwrap().mismatches,
        vec![Mismatch::PodSelector {
            selector: "k8s-app=kube-dns".into()
        }]
    );
}

#[test]
fn mistake_pod_selector_alone_for_dns() {
    // mistake: `to: [podSelector: k8s-app=kube-dns]` without a
    // namespaceSelector selects pods of the policy's own namespace only
    // (docs: podSelector "selects particular Pods in the same namespace as
    // the NetworkPolicy").
    let p = [np(
        "shop",
        "allow-dns",
        json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "to": [{"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        }]}),
    )];
    let h = eg(&p, &dns_pod(), 53, UDP);
    assert_eq!(h.outcome, Outcome::Denied);
    let c = h.closest.unwrap();
    assert_eq!(
        c.rule,
        Some(RuleRef {
            policy: "shop/allow-dns".into(),
            index: 0
        })
    );
    assert_eq!(
        c.mismatches,
        vec![Mismatch::OtherNamespace {
            policy_namespace: "shop".into(),
            namespace: "kube-system".into()
        }]
    );
}

#[test]
fn mistake_udp_only_dns() {
    // mistake: DNS allowed on UDP 53 only; TCP 53 (truncated answers,
    // large responses) is denied (docs: "protocol ... defaults to TCP";
    // each port entry matches its protocol only).
    let p = [np(
        "shop",
        "allow-dns-udp",
        json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"port": 53, "protocol": "UDP"}],
        }]}),
    )];
    assert_eq!(eg(&p, &dns_pod(), 53, UDP).outcome, Outcome::Allowed);
    let h = eg(&p, &dns_pod(), 53, TCP);
    assert_eq!(h.outcome, Outcome::Denied);
    assert_eq!(
        h.closest.unwrap().mismatches,
        vec![Mismatch::Protocol {
            protocol: TCP.into(),
            allowed: vec!["UDP/53".into()]
        }]
    );
    // A named port resolves against the DNS pod's container ports, per
    // protocol: "dns" is UDP there, so it allows no TCP.
    let named = [np(
        "shop",
        "allow-dns-named",
        json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "ports": [{"port": "dns", "protocol": "UDP"}, {"port": "dns"}],
        }]}),
    )];
    assert_eq!(eg(&named, &dns_pod(), 53, UDP).outcome, Outcome::Allowed);
    let h = eg(&named, &dns_pod(), 53, TCP);
    assert_eq!(
        h.closest.unwrap().mismatches,
        vec![Mismatch::NamedPortUnresolved { name: "dns".into() }]
    );
}

#[test]
fn mistake_policy_in_the_wrong_namespace() {
    // mistake: the allow for web -> shop/api written in the client's
    // namespace `web` selects web's pods (docs: "An empty podSelector
    // selects all pods in the namespace"), so shop/api stays isolated by
    // its default deny; the isolating policy is named.
    let api = pod("shop", "api", &[("app", "api")], "10.9.6.1");
    let web = pod("web", "web", &[("app", "web")], "10.9.6.2");
    let p = [
        deny_ingress("shop", "default-deny"),
        ingress_on(
            "web",
            "allow-web-to-api",
            json!({"app": "api"}),
            json!([{"from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "web"}}}]}]),
        ),
    ];
    let h = ingress(
        &p,
        &mistakes_namespaces(),
        &web,
        &api,
        Traffic {
            port: 8080,
            protocol: TCP,
        },
    );
    assert_eq!(h.outcome, Outcome::Denied);
    assert_eq!(h.isolated_by, vec!["shop/default-deny"]);
    assert_eq!(
        h.closest,
        Some(Closest {
            rule: None,
            mismatches: vec![Mismatch::NoRules]
        })
    );
}

#[test]
fn mistake_egress_rules_without_policy_types() {
    // mistake: egress rules without policyTypes. The default (API
    // reference, policyTypes; SetDefaults_NetworkPolicy) is Ingress always,
    // Egress as there are egress rules: the policy meant for egress also
    // isolates its pods for ingress, which it has no rule for.
    let p = [np(
        "shop",
        "allow-dns",
        json!({"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}),
    )];
    let api = pod("shop", "api", &[], "10.9.7.1");
    let web = pod("web", "web", &[], "10.9.7.2");
    let ns = mistakes_namespaces();
    let d = allowed(
        &p,
        &ns,
        &web,
        &api,
        Traffic {
            port: 80,
            protocol: TCP,
        },
    );
    assert_eq!(d.ingress.outcome, Outcome::Denied);
    assert_eq!(d.ingress.isolated_by, vec!["shop/allow-dns"]);
    assert_eq!(eg(&p, &dns_pod(), 53, UDP).outcome, Outcome::Allowed);
    assert_eq!(eg(&p, &dns_pod(), 53, TCP).outcome, Outcome::Denied);

    // And the reverse: a "deny egress" written as `egress: []` without
    // policyTypes isolates nothing for egress.
    let p = [np(
        "shop",
        "deny-egress",
        json!({"podSelector": {}, "egress": []}),
    )];
    assert!(p[0].applies(Direction::Ingress) && !p[0].applies(Direction::Egress));
    let h = eg(&p, &dns_pod(), 53, UDP);
    assert_eq!(h.outcome, Outcome::Allowed);
    assert!(h.isolated_by.is_empty());
}

// ---- what cannot be decided

#[test]
fn unread_namespace_labels_and_unknown_ips_are_unknown() {
    // A namespaceSelector on a label other than the name label, against a
    // namespace whose labels were not read: unknown, not denied.
    let p = [np(
        "shop",
        "allow-monitoring",
        json!({"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{
            "from": [{"namespaceSelector": {"matchLabels": {"team": "monitoring"}}}],
        }]}),
    )];
    let api = pod("shop", "api", &[], "10.9.8.1");
    let prom = pod("metrics", "prom", &[], "10.9.8.2");
    let t = Traffic {
        port: 80,
        protocol: TCP,
    };
    let h = ingress(&p, &NamespaceLabels::default(), &prom, &api, t);
    assert_eq!(h.outcome, Outcome::Unknown);
    assert_eq!(
        h.undecided,
        vec![Undecided::NamespaceLabels {
            namespace: "metrics".into()
        }]
    );
    // The name label is always known.
    let p = [np(
        "shop",
        "allow-metrics",
        json!({"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{
            "from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "web"}}}],
        }]}),
    )];
    let h = ingress(&p, &NamespaceLabels::default(), &prom, &api, t);
    assert_eq!(h.outcome, Outcome::Denied);

    // An ipBlock against a pod without a known IP.
    let p = [np(
        "shop",
        "allow-block",
        json!({"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{
            "from": [{"ipBlock": {"cidr": "10.9.0.0/16"}}],
        }]}),
    )];
    let mut nameless = prom.clone();
    nameless.ips.clear();
    let h = ingress(&p, &NamespaceLabels::default(), &nameless, &api, t);
    assert_eq!(h.outcome, Outcome::Unknown);
    let h = ingress(&p, &NamespaceLabels::default(), &prom, &api, t);
    assert_eq!(h.outcome, Outcome::Allowed);
    assert!(h.via_ip_block);
}

#[test]
fn cidrs_of_both_families() {
    let v4: IpAddr = "10.1.2.3".parse().unwrap();
    let v6: IpAddr = "2001:db8::7".parse().unwrap();
    assert!(cidr_contains("10.0.0.0/8", v4));
    assert!(cidr_contains("10.1.2.3/32", v4));
    assert!(!cidr_contains("10.1.2.4/32", v4));
    assert!(cidr_contains("0.0.0.0/0", v4));
    assert!(!cidr_contains("2001:db8::/64", v4));
    assert!(cidr_contains("2001:db8::/64", v6));
    assert!(!cidr_contains("2001:db9::/64", v6));
    assert!(!cidr_contains("garbage", v4));
}
