//! The name-form replay through the whole binary: the classic lesson,
//! shadowing, and client namespaces chosen with --from-namespace.

use serde_json::json;

use crate::fixtures::*;

#[test]
fn short_name_works_only_from_the_services_own_namespace() {
    let (_, r) = diagnose(&scenario(), &["service-pay-v1"]);
    let ip = r["service"]["cluster_ips"][0].clone();

    let own = form(&r, "service-pay-v1", Some("default"));
    assert_eq!(own["expected_resolves"], true);
    assert_eq!(own["expected_addresses"], json!([ip]));
    assert_eq!(
        own["answered_by"],
        "service-pay-v1.default.svc.cluster.local."
    );
    assert_eq!(own["hypothetical"], false);

    let other = form(&r, "service-pay-v1", None);
    assert_eq!(other["expected_resolves"], false);
    assert_eq!(other["hypothetical"], true);
    assert_eq!(other["answered_by"], serde_json::Value::Null);
    assert!(
        other["why"]
            .as_str()
            .unwrap()
            .contains("use service-pay-v1.default"),
        "{}",
        other["why"]
    );
    let tried: Vec<&str> = other["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["answer"]["rcode"].as_str().unwrap())
        .collect();
    assert_eq!(tried, ["nxdomain", "nxdomain", "nxdomain", "upstream"]);

    for (name, form_name, answered_at) in [
        ("service-pay-v1.default", "namespaced", 1),
        ("service-pay-v1.default.svc", "svc", 2),
        ("service-pay-v1.default.svc.cluster.local", "fqdn", 3),
    ] {
        let row = form(&r, name, None);
        assert_eq!(row["form"], form_name);
        assert_eq!(row["expected_resolves"], true, "{name}");
        assert_eq!(
            row["candidates"].as_array().unwrap().len(),
            answered_at + 1,
            "{name}"
        );
        assert_eq!(row["observed"], serde_json::Value::Null);
    }
    // Own namespace + hypothetical: 2 × 4 rows; nothing shadows it here.
    assert_eq!(r["name_forms"].as_array().unwrap().len(), 8);
}

#[test]
fn from_namespace_gives_real_rows_for_those_namespaces_only() {
    let (_, r) = diagnose(
        &scenario(),
        &[
            "service-pay-v1",
            "--from-namespace",
            "client",
            "--from-namespace",
            "kube-system",
        ],
    );
    let rows = r["name_forms"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|row| row["hypothetical"] == false));
    // The capture holds no Service of client: whether one there answers the
    // short name is unknown, but it never reaches default's Service.
    let short = form(&r, "service-pay-v1", Some("client"));
    assert_eq!(short["expected_resolves"], serde_json::Value::Null);
    assert_eq!(short["reaches_target"], false);
    let first = &short["candidates"][0];
    assert_eq!(first["name"], "service-pay-v1.client.svc.cluster.local.");
    assert_eq!(first["answer"]["rcode"], "unknown");
    // kube-system's Services were captured: there it is a plain NXDOMAIN.
    let from_dns = form(&r, "service-pay-v1", Some("kube-system"));
    assert_eq!(from_dns["expected_resolves"], false);
    assert_eq!(from_dns["candidates"][0]["answer"]["rcode"], "nxdomain");

    // With client's Services captured, the answer is known.
    let mut s = scenario();
    let mut other = find(&mut s, "Service", "default", "service-user-v1").clone();
    other["metadata"]["namespace"] = json!("client");
    other["metadata"]["name"] = json!("client-api");
    other["metadata"].as_object_mut().unwrap().remove("uid");
    items(&mut s).push(other);
    let (_, known) = diagnose(&s, &["service-pay-v1", "--from-namespace", "client"]);
    assert_eq!(
        form(&known, "service-pay-v1", Some("client"))["expected_resolves"],
        false
    );
    assert_eq!(
        form(&r, "service-pay-v1.default", Some("kube-system"))["expected_resolves"],
        true
    );
}

#[test]
fn a_same_named_service_in_the_client_namespace_shadows_the_short_name() {
    let mut s = scenario();
    let mut copy = find(&mut s, "Service", "default", "service-pay-v1").clone();
    copy["metadata"]["namespace"] = json!("client");
    copy["spec"]["clusterIP"] = json!("10.96.250.250");
    copy["spec"]["clusterIPs"] = json!(["10.96.250.250"]);
    copy["spec"]["ports"][0]
        .as_object_mut()
        .unwrap()
        .remove("nodePort");
    copy["spec"]["type"] = json!("ClusterIP");
    items(&mut s).push(copy);
    // By default: client's short name reaching client's own Service is
    // what anyone there expects; one info, no rows for client.
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(code, 0);
    assert_eq!(r["verdict"], "reachable", "{}", r["verdict_reason"]);
    let f = with_code(&r, "name-shadowed");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "info");
    assert_eq!(
        f[0]["message"],
        "a Service named service-pay-v1 also exists in namespace client: there the short name `service-pay-v1` reaches that namespace's own Service, not default/service-pay-v1"
    );
    assert_eq!(
        f[0]["objects"],
        json!([
            {"kind": "Service", "namespace": "default", "name": "service-pay-v1"},
            {"kind": "Service", "namespace": "client", "name": "service-pay-v1"}
        ])
    );
    assert!(
        r["name_forms"]
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["from_namespace"] != "client"),
        "no rows for client by default"
    );
    assert_eq!(r["name_forms"].as_array().unwrap().len(), 8);

    // Asked about client: it reaches the wrong Service, a warning.
    let (code, r) = diagnose(&s, &["service-pay-v1", "--from-namespace", "client"]);
    assert_eq!(code, 0, "shadowing is a warning");
    assert_eq!(r["verdict"], "degraded");
    let row = form(&r, "service-pay-v1", Some("client"));
    assert_eq!(row["expected_resolves"], true);
    assert_eq!(
        row["answered_by"],
        "service-pay-v1.client.svc.cluster.local."
    );
    assert_eq!(row["expected_addresses"], json!(["10.96.250.250"]));
    let f = with_code(&r, "name-shadowed");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "warning");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("reaches Service client/service-pay-v1")
    );
    // The namespaced form still reaches the real one from there.
    assert_eq!(
        form(&r, "service-pay-v1.default", Some("client"))["answered_by"],
        "service-pay-v1.default.svc.cluster.local."
    );
}

#[test]
fn nonexistent_service_resolves_under_no_name() {
    let (_, r) = diagnose(&scenario(), &["nope"]);
    assert!(
        r["name_forms"]
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["expected_resolves"] == false)
    );
}

#[test]
fn rows_are_added_only_for_namespaces_where_shadowing_happens() {
    // A ClusterIP Service named like the target's namespace does not answer
    // `svc.ns` (only endpoint records of it could): no extra rows.
    let mut s = scenario();
    let mut copy = find(&mut s, "Service", "default", "service-user-v1").clone();
    copy["metadata"]["namespace"] = json!("client");
    copy["metadata"]["name"] = json!("default");
    items(&mut s).push(copy);
    let (_, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(r["name_forms"].as_array().unwrap().len(), 8);
    assert!(with_code(&r, "name-shadowed").is_empty());
}

#[test]
fn a_cluster_domain_coredns_does_not_serve_resolves_nothing() {
    let (_, r) = diagnose(
        &scenario(),
        &["service-pay-v1", "--cluster-domain", "corp.example"],
    );
    assert_eq!(with_code(&r, "cluster-domain-mismatch").len(), 1);
    let fqdn = form(
        &r,
        "service-pay-v1.default.svc.corp.example",
        Some("default"),
    );
    assert_eq!(fqdn["expected_resolves"], false);
    let short = form(&r, "service-pay-v1", Some("default"));
    assert_eq!(
        short["expected_resolves"], false,
        "pods search corp.example"
    );
    for row in [fqdn, short] {
        let why = row["why"].as_str().unwrap();
        assert!(
            why.starts_with("outside the zone CoreDNS serves: the Corefile serves cluster.local, the flag says corp.example"),
            "{why}"
        );
    }
}
