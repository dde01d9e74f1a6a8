//! Cluster-wide captures: absence there is evidence; elsewhere it is unknown.

use serde_json::{Value, json};

use crate::fixtures::*;

/// The order kubectl lists resource types in for
/// `kubectl get namespaces,services,pods,endpointslices,events,deployments,replicasets,configmaps -A -o json`.
const KINDS: [&str; 8] = [
    "Namespace",
    "Service",
    "Pod",
    "EndpointSlice",
    "Event",
    "Deployment",
    "ReplicaSet",
    "ConfigMap",
];

/// The scenario's objects as that one cluster-wide `kubectl get` prints
/// them: one List, one run per kind, each sorted by namespace and name.
fn cluster_wide(s: &Value) -> Value {
    let mut objs: Vec<Value> = s["items"].as_array().unwrap().clone();
    let rank = |o: &Value| KINDS.iter().position(|k| o["kind"] == *k).unwrap();
    let key = |o: &Value| {
        (
            rank(o),
            o["metadata"]["namespace"].as_str().unwrap_or("").to_owned(),
            o["metadata"]["name"].as_str().unwrap_or("").to_owned(),
        )
    };
    objs.sort_by_key(key);
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": objs})
}

fn needs<'a>(r: &'a Value, check: &str) -> Vec<&'a str> {
    r["not_checked"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["check"] == check)
        .map(|n| n["needs"].as_str().unwrap())
        .collect()
}

#[test]
fn the_bundled_example_is_merged_from_per_namespace_captures_not_cluster_wide() {
    // capture-example merges several `kubectl get -n NS` runs into one List:
    // kinds come in several runs, so absence outside them stays unknown.
    let mut s = scenario();
    remove(&mut s, "Service", "kube-system", "kube-dns");
    let (_, r) = diagnose(&s, &["service-pay-v1"]);
    assert!(codes(&r).iter().all(|c| c != "dns-service-missing"));
    assert!(not_checked(&r, "cluster DNS"), "{}", r["not_checked"]);

    // Reordered as one `kubectl get … -A` prints it, the same objects are evidence.
    let (code, r) = diagnose(&cluster_wide(&s), &["service-pay-v1"]);
    assert_eq!(code, 1);
    assert_eq!(with_code(&r, "dns-service-missing").len(), 1);
}

#[test]
fn a_cluster_wide_capture_is_evidence_in_every_namespace_it_names() {
    // No pods left in `trouble`.
    let mut s = scenario();
    items(&mut s).retain(|o| !(o["kind"] == "Pod" && o["metadata"]["namespace"] == "trouble"));
    let (_, r) = diagnose(&s, &["crashy", "-n", "trouble"]);
    assert!(codes(&r).iter().all(|c| c != "selector-matches-no-pods"));
    assert!(not_checked(&r, "selector"));
    let (code, r) = diagnose(&cluster_wide(&s), &["crashy", "-n", "trouble"]);
    assert_eq!(code, 1);
    assert_eq!(with_code(&r, "selector-matches-no-pods").len(), 1);

    // A selectorless Service in `client`, where there are no EndpointSlices.
    let mut s = scenario();
    let mut svc = find(&mut s, "Service", "default", "service-user-v1").clone();
    svc["metadata"]["namespace"] = json!("client");
    svc["metadata"]["name"] = json!("legacy-db");
    svc["metadata"]["uid"] = json!("5b1e4a3c-0000-4000-8000-000000000001");
    svc["spec"].as_object_mut().unwrap().remove("selector");
    items(&mut s).push(svc);
    let (_, r) = diagnose(&s, &["legacy-db", "-n", "client"]);
    assert!(not_checked(&r, "endpoints"), "{}", r["not_checked"]);
    assert_eq!(r["endpoints"], Value::Null);
    let (code, r) = diagnose(&cluster_wide(&s), &["legacy-db", "-n", "client"]);
    assert_eq!(code, 1);
    let f = with_code(&r, "no-ready-endpoints");
    assert_eq!(f.len(), 1);
    assert!(
        f[0]["message"].as_str().unwrap().contains("selectorless"),
        "{}",
        f[0]["message"]
    );
    assert!(!not_checked(&r, "endpoints"));

    // The Services of every namespace were read: shadowing is checked.
    let (_, r) = diagnose(&cluster_wide(&scenario()), &["service-pay-v1"]);
    assert!(!not_checked(&r, "name-shadowed"), "{}", r["not_checked"]);
}

#[test]
fn a_per_namespace_capture_is_no_evidence_about_other_namespaces() {
    // `kubectl get namespaces,services,pods,endpointslices -n default -o json`:
    // Namespace objects (cluster-scoped) and one namespace's objects.
    let s = scenario();
    let objs: Vec<Value> = cluster_wide(&s)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "Namespace" || o["metadata"]["namespace"] == "default")
        .cloned()
        .collect();
    let capture = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": objs});
    let (_, r) = diagnose(&capture, &["service-pay-v1"]);
    assert!(codes(&r).iter().all(|c| c != "dns-service-missing"));
    assert!(not_checked(&r, "cluster DNS"), "{}", r["not_checked"]);

    // One List whose objects belong to a namespace it does not name is not a
    // capture of those namespaces either.
    let mut wide = cluster_wide(&s);
    items(&mut wide).retain(|o| !(o["kind"] == "Namespace" && o["metadata"]["name"] == "trouble"));
    items(&mut wide).retain(|o| !(o["kind"] == "Service" && o["metadata"]["name"] == "kube-dns"));
    let (_, r) = diagnose(&wide, &["service-pay-v1"]);
    assert!(codes(&r).iter().all(|c| c != "dns-service-missing"));
}

/// What `kubectl get RESOURCE -n NS -o json` prints for the scenario.
fn kubectl_get(s: &Value, resource: &str, ns: &str) -> Value {
    let kind = match resource {
        "services" => "Service",
        "pods" => "Pod",
        "endpointslices.discovery.k8s.io" => "EndpointSlice",
        "events" => "Event",
        "configmaps" => "ConfigMap",
        "deployments.apps" => "Deployment",
        "replicasets.apps" => "ReplicaSet",
        other => panic!("no such resource in the scenario: {other}"),
    };
    let objs: Vec<&Value> = s["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == kind && o["metadata"]["namespace"] == ns)
        .collect();
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": objs})
}

#[test]
fn following_a_not_checked_hint_clears_it() {
    // Services, pods and EndpointSlices of kube-system missing from the snapshot.
    let full = scenario();
    let mut s = full.clone();
    items(&mut s).retain(|o| {
        !(o["metadata"]["namespace"] == "kube-system"
            && ["Service", "Pod", "EndpointSlice"].contains(&o["kind"].as_str().unwrap()))
    });
    let (_, before) = diagnose(&s, &["service-pay-v1"]);
    let hint = needs(&before, "cluster DNS");
    assert_eq!(
        hint,
        ["add `kubectl get services -n kube-system -o json` to the snapshot"],
        "{}",
        before["not_checked"]
    );

    // Follow every such hint: append that command's output, as a user would.
    let mut text = serde_json::to_string_pretty(&s).unwrap();
    let mut followed = Vec::new();
    let mut report = before.clone();
    for _ in 0..5 {
        let hints: Vec<(String, String, String)> = report["not_checked"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| {
                let cmd = n["needs"]
                    .as_str()?
                    .strip_prefix("add `kubectl get ")?
                    .strip_suffix(" -o json` to the snapshot")?;
                let (resource, ns) = cmd.split_once(" -n ")?;
                Some((
                    n["check"].as_str()?.to_owned(),
                    resource.to_owned(),
                    ns.to_owned(),
                ))
            })
            .collect();
        if hints.is_empty() {
            break;
        }
        for (check, resource, ns) in hints {
            text.push('\n');
            text.push_str(
                &serde_json::to_string_pretty(&kubectl_get(&full, &resource, &ns)).unwrap(),
            );
            followed.push((check, resource, ns));
        }
        let run = cmd()
            .args(["service-pay-v1", "-o", "json", "--snapshot", "-"])
            .write_stdin(text.clone())
            .output()
            .unwrap();
        report = Run::from_output(run).json();
        validate(&report);
    }
    assert!(
        followed
            .iter()
            .any(|(c, r, ns)| c == "cluster DNS" && r == "services" && ns == "kube-system"),
        "{followed:?}"
    );
    for (check, resource, ns) in &followed {
        assert!(
            needs(&report, check)
                .iter()
                .all(|n| !n.contains(&format!("{resource} -n {ns}"))),
            "{check}: {}",
            report["not_checked"]
        );
    }
    // And the snapshot now gives the full example's answer on cluster DNS.
    let (_, full_report) = diagnose(&full, &["service-pay-v1"]);
    assert_eq!(report["dns"], full_report["dns"]);
}

#[test]
fn following_the_cluster_wide_hints_clears_them() {
    // The bundled example is a per-namespace capture: the Services of
    // `client` are unknown, so the short name from there is too.
    let s = scenario();
    let (_, before) = diagnose(&s, &["service-pay-v1", "--from-namespace", "client"]);
    let hint = needs(&before, "name-shadowed");
    assert_eq!(
        hint,
        [
            "the Services of every namespace, with the namespaces in the same capture: add `kubectl get namespaces,services -A -o json` to the snapshot"
        ]
    );
    assert_eq!(
        form(&before, "service-pay-v1", Some("client"))["expected_resolves"],
        serde_json::Value::Null
    );
    // What that command prints: one List, the Namespaces, then the Services
    // of every namespace.
    let all = items(&mut scenario()).clone();
    let mut capture: Vec<serde_json::Value> = all
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .cloned()
        .collect();
    capture.extend(all.iter().filter(|o| o["kind"] == "Service").cloned());
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": capture});
    let text = format!(
        "{}\n{}",
        serde_json::to_string_pretty(&s).unwrap(),
        serde_json::to_string_pretty(&list).unwrap()
    );
    let out = cmd()
        .args([
            "service-pay-v1",
            "--from-namespace",
            "client",
            "-o",
            "json",
            "--snapshot",
            "-",
        ])
        .write_stdin(text)
        .output()
        .unwrap();
    let run = Run::from_output(out);
    let after = run.json();
    assert!(
        !not_checked(&after, "name-shadowed"),
        "{}",
        after["not_checked"]
    );
    assert_eq!(
        form(&after, "service-pay-v1", Some("client"))["expected_resolves"],
        false
    );
}
