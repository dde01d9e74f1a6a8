//! NetworkPolicies in snapshot files: the scenario with policies added as
//! `kubectl get networkpolicies -o json` prints them, and namespace labels
//! from its Namespace objects.

use serde_json::{Value, json};

use crate::fixtures::*;

fn policy(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

fn with(policies: Vec<Value>) -> Value {
    let mut s = scenario();
    items(&mut s).extend(policies);
    s
}

fn deny_egress(ns: &str) -> Value {
    policy(
        ns,
        "default-deny-egress",
        json!({"podSelector": {}, "policyTypes": ["Egress"]}),
    )
}

#[test]
fn default_deny_egress_in_the_client_namespace_blocks_dns_and_the_rows_time_out() {
    let (code, r) = diagnose(
        &with(vec![deny_egress("client")]),
        &["service-pay-v1", "--from-namespace", "client"],
    );
    assert_eq!(code, 1);
    assert_eq!(r["verdict"], "unreachable");
    let dns = with_code(&r, "dns-egress-blocked");
    assert_eq!(dns.len(), 1, "{:?}", codes(&r));
    assert_eq!(dns[0]["severity"], "error");
    assert!(
        dns[0]["objects"].as_array().unwrap().contains(
            &json!({"kind": "NetworkPolicy", "namespace": "client", "name": "default-deny-egress"})
        ),
        "{}",
        dns[0]
    );
    assert_eq!(with_code(&r, "egress-blocked").len(), 1, "{:?}", codes(&r));
    let rows = r["name_forms"].as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        assert!(
            row["why"]
                .as_str()
                .unwrap()
                .contains("will time out (not NXDOMAIN)"),
            "{row}"
        );
    }
    // In the table too.
    let run = run_on(
        &with(vec![deny_egress("client")]),
        &["service-pay-v1", "--from-namespace", "client"],
    );
    assert!(run.stdout.contains("dns-egress-blocked"), "{}", run.stdout);
}

#[test]
fn a_namespace_selector_on_a_namespace_label_is_matched_against_the_namespace_objects() {
    // kube-system is labelled kubernetes.io/metadata.name only: a selector
    // on another label does not select it (its labels were read).
    let allow = policy(
        "client",
        "allow-dns",
        json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "to": [{"namespaceSelector": {"matchLabels": {"name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]}),
    );
    let s = with(vec![deny_egress("client"), allow.clone()]);
    let (_, r) = diagnose(&s, &["service-pay-v1", "--from-namespace", "client"]);
    let dns = with_code(&r, "dns-egress-blocked");
    assert_eq!(dns.len(), 1, "{:?}", codes(&r));
    assert!(
        dns[0]["message"]
            .as_str()
            .unwrap()
            .contains("does not select namespace kube-system"),
        "{}",
        dns[0]["message"]
    );
    // Without the Namespace objects the label is unknown: not checked.
    let mut s = s;
    items(&mut s).retain(|o| o["kind"] != "Namespace");
    let (_, r) = diagnose(&s, &["service-pay-v1", "--from-namespace", "client"]);
    assert!(
        with_code(&r, "dns-egress-blocked").is_empty(),
        "{:?}",
        codes(&r)
    );
    assert!(
        r["not_checked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["check"] == "dns-egress-blocked"
                && n["needs"].as_str().unwrap().contains("list namespaces")),
        "{}",
        r["not_checked"]
    );
}

#[test]
fn a_policy_the_api_would_refuse_is_skipped_and_leaves_its_namespace_unchecked() {
    let bad = policy(
        "client",
        "bad",
        json!({"podSelector": {"matchExpressions": [{"key": "app", "operator": "Sideways"}]},
               "policyTypes": ["Egress"]}),
    );
    let (_, r) = diagnose(
        &with(vec![deny_egress("client"), bad]),
        &["service-pay-v1", "--from-namespace", "client"],
    );
    assert!(
        with_code(&r, "dns-egress-blocked").is_empty(),
        "{:?}",
        codes(&r)
    );
    let nc = r["not_checked"].to_string();
    assert!(nc.contains("NetworkPolicy client/bad"), "{nc}");
}
