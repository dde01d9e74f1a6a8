//! Each finding code, produced from realistic objects (the captured scenario,
//! edited where the cluster does not produce the case by itself).

use serde_json::json;

use crate::fixtures::*;

#[test]
fn healthy_service_has_no_error_and_exits_0() {
    let (code, r) = diagnose(&scenario(), &["service-pay-v1"]);
    assert_eq!(code, 0);
    assert!(
        codes(&r)
            .iter()
            .all(|c| !matches!(c.as_str(), "no-ready-endpoints" | "pods-not-ready")),
        "{:?}",
        codes(&r)
    );
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] != "error")
    );
    assert_eq!(r["service"]["type"], "NodePort");
    assert_eq!(r["service"]["ports"][0]["node_port"], 30114);
    assert_eq!(r["backends"].as_array().unwrap().len(), 2);
    assert!(
        r["backends"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["ready"] == true)
    );
    assert_eq!(r["endpoints"]["ready"], 2);
    assert_eq!(r["dns"]["service_found"], true);
    assert_eq!(r["dns"]["cluster_domain"], "cluster.local");
    assert_eq!(r["dns"]["cluster_domain_source"], "corefile");
    assert!(r["dns"]["ready_endpoints"].as_u64().unwrap() >= 1);
    assert_eq!(r["probe"], serde_json::Value::Null);
}

#[test]
fn image_pull_backoff_is_classified_from_the_kubelet_event() {
    let (code, r) = diagnose(&scenario(), &["service-v4"]);
    assert_eq!(code, 1);
    let f = with_code(&r, "image-pull-failure");
    assert_eq!(f.len(), 1, "one finding per cause");
    assert_eq!(f[0]["severity"], "error", "no endpoint is ready");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains("does not exist"), "{msg}");
    assert!(msg.contains("registry.example/v4:missing"), "{msg}");
    assert!(
        f[0]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["kind"] == "Pod")
    );
    assert_eq!(with_code(&r, "no-ready-endpoints").len(), 1);
    assert!(
        with_code(&r, "pods-not-ready").is_empty(),
        "the pull failure explains the not-ready pods"
    );
}

#[test]
fn unauthorized_and_unreachable_registries_are_told_apart() {
    for (text, expect) in [
        (
            "Failed to pull image \"registry.example/v4:missing\": rpc error: code = Unknown desc = failed to pull and unpack image \"registry.example/v4:missing\": failed to resolve reference \"registry.example/v4:missing\": pull access denied, repository does not exist or may require authorization: authorization failed",
            "refused the credentials",
        ),
        (
            "Failed to pull image \"registry.example/v4:missing\": rpc error: code = Unknown desc = failed to pull and unpack image \"registry.example/v4:missing\": failed to resolve reference \"registry.example/v4:missing\": failed to do request: Head \"https://registry.example/v2/v4/manifests/missing\": dial tcp: lookup registry.example on 10.0.0.2:53: no such host",
            "node DNS or egress",
        ),
    ] {
        let mut s = scenario();
        for e in items(&mut s)
            .iter_mut()
            .filter(|o| o["kind"] == "Event" && o["reason"] == "Failed")
        {
            e["message"] = json!(text);
        }
        let (_, r) = diagnose(&s, &["service-v4"]);
        let f = with_code(&r, "image-pull-failure");
        assert!(
            f[0]["message"].as_str().unwrap().contains(expect),
            "{}",
            f[0]["message"]
        );
    }
}

#[test]
fn selector_typo_names_the_near_miss_workload() {
    let (code, r) = diagnose(&scenario(), &["service-pay-typo"]);
    assert_eq!(code, 1);
    let f = with_code(&r, "selector-matches-no-pods");
    assert_eq!(f.len(), 1);
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains("app=pay-v2"), "{msg}");
    assert!(
        msg.contains("Deployment pay-v1 has app=pay-v1 (selector wants app=pay-v2)"),
        "{msg}"
    );
    assert!(
        f[0]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["kind"] == "Deployment" && o["name"] == "pay-v1")
    );
    assert!(with_code(&r, "no-ready-endpoints").len() == 1);
}

#[test]
fn missing_service_names_close_names_and_other_namespaces() {
    let mut s = scenario();
    let mut copy = find(&mut s, "Service", "default", "service-user-v1").clone();
    copy["metadata"]["namespace"] = json!("client");
    copy["metadata"]["name"] = json!("service-pay-v2");
    items(&mut s).push(copy);
    let (code, r) = diagnose(&s, &["service-pay-v2"]);
    assert_eq!(code, 1);
    let f = with_code(&r, "service-not-found");
    assert_eq!(f.len(), 1);
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains("exists in client"), "{msg}");
    assert!(msg.contains("service-pay-v1"), "close name: {msg}");
    assert!(
        f[0]["fix"]
            .as_str()
            .unwrap()
            .contains("service-pay-v2.client")
    );
    assert_eq!(r["service"]["found"], false);
    assert!(r["backends"].as_array().unwrap().is_empty());
}

#[test]
fn readiness_failures_crash_loops_and_unschedulable_pods() {
    let s = scenario();
    let (code, r) = diagnose(&s, &["web-unready", "-n", "trouble"]);
    assert_eq!(code, 1);
    let f = with_code(&r, "pods-not-ready");
    assert_eq!(f.len(), 1);
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("Readiness probe failed"),
        "{}",
        f[0]["message"]
    );

    let (_, r) = diagnose(&s, &["crashy", "-n", "trouble"]);
    let f = with_code(&r, "crash-loop");
    assert_eq!(f.len(), 1);
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains("last exit: Error (exit code 1)"), "{msg}");
    assert!(f[0]["fix"].as_str().unwrap().contains("logs --previous"));

    let (_, r) = diagnose(&s, &["unplaceable", "-n", "trouble"]);
    let f = with_code(&r, "pod-unschedulable");
    assert_eq!(f.len(), 1);
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("node(s) didn't match Pod's node affinity/selector"),
        "{msg}"
    );
    assert_eq!(r["backends"][0]["status"], "Unschedulable");
}

#[test]
fn container_config_error_with_one_ready_pod_left_is_a_warning() {
    let mut s = scenario();
    make_waiting(
        find(&mut s, "Pod", "default", "pay-v1-"),
        "CreateContainerConfigError",
        "secret \"pay-db\" not found",
    );
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    let f = with_code(&r, "container-config-error");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "warning", "the other pod still serves");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("secret \"pay-db\" not found")
    );
    assert_eq!(code, 0, "warnings alone exit 0");
}

#[test]
fn target_port_mismatch_numeric_and_named() {
    let mut s = scenario();
    find(&mut s, "Service", "default", "service-pay-v1")["spec"]["ports"][0]["targetPort"] =
        json!(8080);
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(code, 1);
    let f = with_code(&r, "target-port-mismatch");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "error");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("targetPort 8080")
    );
    assert!(
        f[0]["fix"].as_str().unwrap().contains("app:http/80/TCP"),
        "{}",
        f[0]["fix"]
    );

    let mut s = scenario();
    find(&mut s, "Service", "default", "service-pay-v1")["spec"]["ports"][0]["targetPort"] =
        json!("web");
    let (_, r) = diagnose(&s, &["service-pay-v1"]);
    let f = with_code(&r, "target-port-mismatch");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("named targetPort web")
    );

    // A named targetPort that exists is fine.
    let mut s = scenario();
    find(&mut s, "Service", "default", "service-pay-v1")["spec"]["ports"][0]["targetPort"] =
        json!("http");
    let (_, r) = diagnose(&s, &["service-pay-v1"]);
    assert!(with_code(&r, "target-port-mismatch").is_empty());

    // Pods that declare no ports are no mismatch for a numeric targetPort.
    let mut s = scenario();
    for o in items(&mut s)
        .iter_mut()
        .filter(|o| is(o, "Pod", "default", "pay-v1-"))
    {
        o["spec"]["containers"][0]
            .as_object_mut()
            .unwrap()
            .remove("ports");
    }
    let (_, r) = diagnose(&s, &["service-pay-v1"]);
    assert!(with_code(&r, "target-port-mismatch").is_empty());
}

#[test]
fn cluster_dns_missing_or_down() {
    let mut s = scenario();
    remove(&mut s, "Service", "kube-system", "kube-dns");
    // With no Service left in kube-system, the snapshot says nothing about them.
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(code, 0);
    assert!(with_code(&r, "dns-service-missing").is_empty());
    assert!(not_checked(&r, "cluster DNS"));
    // Another kube-system Service shows they were captured: kube-dns is missing.
    items(&mut s).push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "metrics-server", "namespace": "kube-system"},
        "spec": {"clusterIP": "10.96.5.5", "clusterIPs": ["10.96.5.5"], "ports": [{"port": 443, "protocol": "TCP", "targetPort": 4443}], "selector": {"k8s-app": "metrics-server"}}}));
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(code, 1);
    assert_eq!(with_code(&r, "dns-service-missing").len(), 1);
    assert_eq!(r["dns"]["service_found"], false);
    // With cluster DNS gone, no name form resolves, and the rows say why.
    let row = r["name_forms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "service-pay-v1" && f["from_namespace"] == "default")
        .unwrap();
    assert_eq!(row["expected_resolves"], false);
    assert!(
        row["why"]
            .as_str()
            .unwrap()
            .starts_with("no DNS server answers"),
        "{}",
        row["why"]
    );

    let mut s = scenario();
    let slice = find(&mut s, "EndpointSlice", "kube-system", "kube-dns");
    for e in slice["endpoints"].as_array_mut().unwrap() {
        e["conditions"]["ready"] = json!(false);
    }
    make_waiting(
        find(&mut s, "Pod", "kube-system", "coredns"),
        "CrashLoopBackOff",
        "back-off 5m0s restarting failed container",
    );
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(code, 1);
    let f = with_code(&r, "dns-no-ready-endpoints");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "error");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("CrashLoopBackOff")
    );
    assert!(
        f[0]["fix"].as_str().unwrap().contains("loop"),
        "loop plugin hint: {}",
        f[0]["fix"]
    );
    assert_eq!(r["dns"]["ready_endpoints"], 0);
}

#[test]
fn no_corefile_defaults_the_domain_with_an_info_note() {
    let mut s = scenario();
    remove(&mut s, "ConfigMap", "kube-system", "coredns");
    // The ConfigMap kind is still covered through another object of the kind.
    items(&mut s).push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": "kube-system"}, "data": {}}));
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(code, 0);
    assert_eq!(with_code(&r, "dns-corefile-missing")[0]["severity"], "info");
    assert_eq!(r["dns"]["cluster_domain_source"], "default");

    let (_, r) = diagnose(
        &scenario(),
        &["service-pay-v1", "--cluster-domain", "corp.example"],
    );
    assert_eq!(with_code(&r, "cluster-domain-mismatch").len(), 1);
    assert_eq!(r["dns"]["cluster_domain"], "corp.example");
}

#[test]
fn informational_service_kinds() {
    let mut s = scenario();
    items(&mut s).push(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "billing", "namespace": "default"},
        "spec": {"type": "ExternalName", "externalName": "billing.example.com", "sessionAffinity": "None"},
        "status": {"loadBalancer": {}}
    }));
    let (code, r) = diagnose(&s, &["billing"]);
    // Whether billing.example.com resolves is decided outside the cluster.
    assert_eq!(code, 3);
    assert_eq!(r["verdict"], "unknown");
    assert_eq!(with_code(&r, "external-name-service").len(), 1);
    let row = form(&r, "billing", Some("default"));
    assert_eq!(row["expected_resolves"], serde_json::Value::Null);
    assert_eq!(row["expected_cname"], "billing.example.com");

    let (_, r) = diagnose(&scenario(), &["pay-headless"]);
    assert_eq!(with_code(&r, "headless-service").len(), 1);
    let row = form(&r, "pay-headless.default", None);
    assert_eq!(
        row["expected_addresses"].as_array().unwrap().len(),
        2,
        "one address per ready pod"
    );

    let mut s = scenario();
    find(&mut s, "Service", "default", "service-pay-v1")["spec"]["publishNotReadyAddresses"] =
        json!(true);
    let (_, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(with_code(&r, "publish-not-ready-addresses").len(), 1);
}

#[test]
fn selectorless_service_with_a_hand_made_slice_is_legitimate() {
    let mut s = scenario();
    items(&mut s).push(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "legacy-db", "namespace": "default"},
        "spec": {"clusterIP": "10.96.77.77", "clusterIPs": ["10.96.77.77"], "ports": [{"port": 5432, "protocol": "TCP", "targetPort": 5432}], "type": "ClusterIP"}
    }));
    items(&mut s).push(json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
        "metadata": {"name": "legacy-db-1", "namespace": "default", "labels": {"kubernetes.io/service-name": "legacy-db", "endpointslice.kubernetes.io/managed-by": "staff"}},
        "endpoints": [{"addresses": ["192.0.2.10"], "conditions": {"ready": true}}],
        "ports": [{"name": "", "port": 5432, "protocol": "TCP"}]
    }));
    let (code, r) = diagnose(&s, &["legacy-db"]);
    assert_eq!(code, 0, "{:?}", codes(&r));
    assert_eq!(with_code(&r, "selectorless-service").len(), 1);
    assert!(with_code(&r, "selector-matches-no-pods").is_empty());
    assert_eq!(r["endpoints"]["ready"], 1);
}

#[test]
fn restarts_and_terminating_endpoints_are_reported_as_info() {
    let mut s = scenario();
    find(&mut s, "Pod", "default", "pay-v1-")["status"]["containerStatuses"][0]["restartCount"] =
        json!(3);
    let slice = find(&mut s, "EndpointSlice", "default", "service-pay-v1");
    slice["endpoints"][0]["conditions"] =
        json!({"ready": false, "serving": true, "terminating": true});
    let (_, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(with_code(&r, "pod-restarts")[0]["severity"], "info");
    let f = with_code(&r, "terminating-endpoints");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("1 still serving")
    );
    assert_eq!(r["endpoints"]["terminating"], 1);
}

#[test]
fn pull_cause_comes_from_the_pull_event_not_the_newer_backoff_event() {
    // A real kubelet follows "Failed to pull image …" with "Error: ImagePullBackOff"
    // events under the same reason, refreshed on every back-off.
    let mut s = scenario();
    let pull = items(&mut s)
        .iter()
        .find(|o| {
            o["kind"] == "Event"
                && o["reason"] == "Failed"
                && o["message"].as_str().unwrap().starts_with("Failed to pull")
        })
        .unwrap()
        .clone();
    let mut backoff = pull.clone();
    backoff["metadata"]["name"] = json!("v4.backoff");
    backoff["message"] = json!("Error: ImagePullBackOff");
    backoff["lastTimestamp"] = json!("2099-01-01T00:00:00Z");
    items(&mut s).push(backoff);
    let (_, r) = diagnose(&s, &["service-v4"]);
    let f = with_code(&r, "image-pull-failure");
    assert!(
        f[0]["message"].as_str().unwrap().contains("does not exist"),
        "{}",
        f[0]["message"]
    );
}

#[test]
fn an_app_container_without_declared_ports_beside_a_sidecar_is_no_mismatch() {
    let mut s = scenario();
    for o in items(&mut s)
        .iter_mut()
        .filter(|o| is(o, "Pod", "default", "pay-v1-"))
    {
        o["spec"]["containers"][0]
            .as_object_mut()
            .unwrap()
            .remove("ports");
        o["spec"]["containers"].as_array_mut().unwrap().push(json!({"name": "mesh-proxy", "image": "registry.example/proxy:1", "ports": [{"containerPort": 15090, "name": "metrics", "protocol": "TCP"}]}));
    }
    let (_, r) = diagnose(&s, &["service-pay-v1"]);
    assert!(
        with_code(&r, "target-port-mismatch").is_empty(),
        "{:?}",
        codes(&r)
    );
}

#[test]
fn endpoint_slices_are_compared_with_the_pods() {
    let (_, r) = diagnose(&scenario(), &["service-pay-v1"]);
    assert!(
        with_code(&r, "endpoints-out-of-sync").is_empty(),
        "in sync as captured"
    );

    let mut s = scenario();
    let slice = find(&mut s, "EndpointSlice", "default", "service-pay-v1");
    let dropped = slice["endpoints"].as_array_mut().unwrap().remove(0);
    slice["endpoints"].as_array_mut().unwrap().push(json!({
        "addresses": ["10.244.9.9"], "conditions": {"ready": true, "serving": true, "terminating": false},
        "nodeName": "kwok-node-0", "targetRef": {"kind": "Pod", "name": "pay-v0-gone", "namespace": "default"}
    }));
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(code, 0, "a warning");
    let f = with_code(&r, "endpoints-out-of-sync");
    assert_eq!(f.len(), 1);
    let msg = f[0]["message"].as_str().unwrap();
    let ip = dropped["addresses"][0].as_str().unwrap();
    assert!(msg.contains(&format!("({ip}) is not listed")), "{msg}");
    assert!(
        msg.contains("pay-v0-gone, which the selector does not select"),
        "{msg}"
    );
}

#[test]
fn evicted_gated_sandbox_and_terminating_pods_are_explained() {
    // Four variations of one not-Ready pay-v1 pod; the other stays Ready.
    type Mutate = fn(&mut serde_json::Value);
    let variants: [(&str, Mutate, &str, &str); 4] = [
        (
            "evicted",
            |p| {
                p["status"] = json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory.", "conditions": []});
            },
            "pods-not-ready",
            "Evicted: The node was low on resource: memory.",
        ),
        (
            "gated",
            |p| {
                p["spec"]["schedulingGates"] = json!([{"name": "example.com/quota"}]);
                p["spec"].as_object_mut().unwrap().remove("nodeName");
                p["status"] = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated", "message": "Scheduling is blocked due to non-empty scheduling gates", "lastProbeTime": null, "lastTransitionTime": "2026-11-25T17:00:00Z"}]});
            },
            "pod-unschedulable",
            "gates: example.com/quota",
        ),
        (
            "sandbox",
            |p| {
                make_waiting(p, "ContainerCreating", "");
                p["status"]["phase"] = json!("Pending");
            },
            "pods-not-ready",
            "FailedCreatePodSandBox",
        ),
        (
            "terminating",
            |p| {
                p["metadata"]["deletionTimestamp"] = json!("2026-11-25T17:00:00Z");
                make_waiting(p, "ContainerCreating", "");
            },
            "pods-not-ready",
            "pods are terminating",
        ),
    ];
    for (label, mutate, code, expect) in variants {
        let mut s = scenario();
        let pod = find(&mut s, "Pod", "default", "pay-v1-");
        let name = pod["metadata"]["name"].as_str().unwrap().to_owned();
        mutate(pod);
        if label == "sandbox" {
            items(&mut s).push(json!({
                "apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "FailedCreatePodSandBox",
                "message": "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type=\"calico\" failed (add): connection refused",
                "metadata": {"name": format!("{name}.sandbox"), "namespace": "default"},
                "involvedObject": {"kind": "Pod", "name": name, "namespace": "default"},
                "lastTimestamp": "2026-11-25T17:00:00Z", "count": 4, "source": {"component": "kubelet"}
            }));
        }
        let (code_out, r) = diagnose(&s, &["service-pay-v1"]);
        assert_eq!(code_out, 0, "{label}: the other pod still serves");
        let f = with_code(&r, code);
        assert_eq!(f.len(), 1, "{label}: {:?}", codes(&r));
        assert_eq!(f[0]["severity"], "warning", "{label}");
        let text = format!("{} {}", f[0]["message"], f[0]["fix"]);
        assert!(text.contains(expect), "{label}: {text}");
        let backend = r["backends"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["pod"] == name.as_str())
            .unwrap();
        assert_eq!(backend["ready"], false, "{label}");
    }
}

/// A copy of pod `pay-v1-…-2kjxm` as pod `name` of ReplicaSet `rs` with `labels`.
fn pay_pod_copy(
    s: &mut serde_json::Value,
    ns: &str,
    name: &str,
    rs: &str,
    labels: serde_json::Value,
) -> serde_json::Value {
    let mut p = find(s, "Pod", "default", "pay-v1-78447cf896-2k").clone();
    p["metadata"]["namespace"] = json!(ns);
    p["metadata"]["name"] = json!(name);
    p["metadata"]["labels"] = labels;
    p["metadata"]["ownerReferences"][0]["name"] = json!(rs);
    p["status"]["podIP"] = json!("10.244.0.77");
    p["status"]["podIPs"] = json!([{"ip": "10.244.0.77"}]);
    p
}

#[test]
fn pods_the_selector_leaves_out_are_named_with_their_workload() {
    // A new version dropped `tier: web`: the Service selects app=pay-v1,tier=web,
    // one pay-v1 pod still carries it, Deployment pay-v2's pods do not.
    let mut s = scenario();
    find(&mut s, "Service", "default", "service-pay-v1")["spec"]["selector"] =
        json!({"app": "pay-v1", "tier": "web"});
    find(&mut s, "Pod", "default", "pay-v1-78447cf896-2k")["metadata"]["labels"]["tier"] =
        json!("web");
    let sibling = pay_pod_copy(
        &mut s,
        "default",
        "pay-v2-5c4b8d7f9-x2x4q",
        "pay-v2-5c4b8d7f9",
        json!({"app": "pay-v1", "pod-template-hash": "5c4b8d7f9"}),
    );
    items(&mut s).push(sibling);
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(code, 0, "warnings: {:?}", codes(&r));
    let f = with_code(&r, "selector-excludes-pods");
    assert_eq!(f.len(), 2, "{f:#?}");
    let all: Vec<String> = f
        .iter()
        .map(|f| format!("{} | {}", f["message"], f["fix"]))
        .collect();
    let v2 = all
        .iter()
        .find(|t| t.contains("Deployment pay-v2"))
        .unwrap();
    assert!(
        v2.contains("pay-v2-5c4b8d7f9-x2x4q carry every selector label but tier=web"),
        "{v2}"
    );
    assert!(
        v2.contains(r#"kubectl -n default patch deployment pay-v2 -p '{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"tier\":\"web\"}}}}}'"#),
        "{v2}"
    );
    let v1 = all
        .iter()
        .find(|t| t.contains("Deployment pay-v1"))
        .unwrap();
    assert!(
        v1.contains(
            "selects 1 of the 2 pods of Deployment pay-v1: pay-v1-78447cf896-fmw22 lacks tier=web"
        ),
        "{v1}"
    );
    assert!(f.iter().all(|f| f["severity"] == "warning"));
    // The scenario as captured has no such pods.
    let (_, r) = diagnose(&scenario(), &["service-pay-v1"]);
    assert!(with_code(&r, "selector-excludes-pods").is_empty());
}

#[test]
fn pods_in_another_namespace_are_named_when_the_selector_matches_none_here() {
    let mut s = scenario();
    let moved = pay_pod_copy(
        &mut s,
        "client",
        "pay-v2-5c4b8d7f9-x2x4q",
        "pay-v2-5c4b8d7f9",
        json!({"app": "pay-v2", "pod-template-hash": "5c4b8d7f9"}),
    );
    items(&mut s).push(moved);
    let (code, r) = diagnose(&s, &["service-pay-typo"]);
    assert_eq!(code, 1);
    let f = with_code(&r, "selector-matches-no-pods");
    assert_eq!(f.len(), 1);
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.contains(
            "pods with all of these labels run in namespace client (pay-v2-5c4b8d7f9-x2x4q)"
        ),
        "{msg}"
    );
    let fix = f[0]["fix"].as_str().unwrap();
    assert!(fix.starts_with("the Service must live in the pods' namespace (clients then use service-pay-typo.client), or the pods in default"), "{fix}");
    assert!(
        fix.contains("`kubectl -n client create service clusterip service-pay-typo --tcp=80:80` and `kubectl -n client set selector service service-pay-typo 'app=pay-v2'`"),
        "{fix}"
    );
}

#[test]
fn external_name_with_an_address_or_a_dangling_cluster_target_is_an_error() {
    let mut s = scenario();
    for (name, target) in [
        ("legacy-db", "192.0.2.10"),
        ("pay-alias", "service-pay-v1.defaullt.svc.cluster.local"),
        ("pay-ok", "service-pay-v1.default.svc.cluster.local"),
    ] {
        items(&mut s).push(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "ExternalName", "externalName": target, "ports": [{"name": "pg", "port": 5432, "protocol": "TCP", "targetPort": 5432}]}
        }));
    }
    let (code, r) = diagnose(&s, &["legacy-db"]);
    assert_eq!(code, 1);
    let f = with_code(&r, "external-name-unresolvable");
    assert_eq!(f.len(), 1);
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("legacy-db.default.svc.cluster.local does not exist (NXDOMAIN)")
    );
    assert!(
        f[0]["fix"]
            .as_str()
            .unwrap()
            .contains("addressType IPv4 and the address 192.0.2.10"),
        "{}",
        f[0]["fix"]
    );
    assert_eq!(
        form(&r, "legacy-db", Some("default"))["expected_resolves"],
        false
    );
    assert!(
        with_code(&r, "external-name-service").is_empty(),
        "no CNAME to speak of"
    );

    let (code, r) = diagnose(&s, &["pay-alias"]);
    assert_eq!(code, 1);
    let f = with_code(&r, "external-name-unresolvable");
    assert_eq!(f.len(), 1);
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains("namespace defaullt does not exist"), "{msg}");
    assert!(
        msg.contains("did you mean service-pay-v1.default.svc.cluster.local"),
        "{msg}"
    );
    assert_eq!(
        f[0]["fix"],
        r#"`kubectl -n default patch service pay-alias -p '{"spec":{"externalName":"service-pay-v1.default.svc.cluster.local"}}'`"#
    );

    let (code, r) = diagnose(&s, &["pay-ok"]);
    assert_eq!(code, 0);
    assert!(with_code(&r, "external-name-unresolvable").is_empty());
}

/// The pay-v1 pods as pods `pay-db-0/1` of StatefulSet pay-db (serviceName
/// `service_name`), behind the headless Service pay-headless.
pub fn stateful_scenario(service_name: &str) -> serde_json::Value {
    let mut s = scenario();
    let olds: Vec<String> = items(&mut s)
        .iter()
        .filter(|o| is(o, "Pod", "default", "pay-v1-"))
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    for (i, old) in olds.iter().enumerate() {
        let name = format!("pay-db-{i}");
        let p = find(&mut s, "Pod", "default", old);
        p["metadata"]["name"] = json!(name);
        p["metadata"]["labels"] = json!({"app": "pay-v1", "controller-revision-hash": "pay-db-6d5f", "statefulset.kubernetes.io/pod-name": name});
        p["metadata"]["ownerReferences"][0]["kind"] = json!("StatefulSet");
        p["metadata"]["ownerReferences"][0]["name"] = json!("pay-db");
        p["spec"]["hostname"] = json!(name);
        p["spec"]["subdomain"] = json!(service_name);
        let slice = find(&mut s, "EndpointSlice", "default", "pay-headless");
        for e in slice["endpoints"].as_array_mut().unwrap() {
            if e["targetRef"]["name"] == old.as_str() {
                e["targetRef"]["name"] = json!(name);
                // The EndpointSlice controller copies the hostname only when
                // the pod's subdomain is the Service's name.
                if service_name == "pay-headless" {
                    e["hostname"] = json!(name);
                }
            }
        }
    }
    items(&mut s).push(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "pay-db", "namespace": "default"},
        "spec": {"serviceName": service_name, "replicas": 2, "selector": {"matchLabels": {"app": "pay-v1"}},
                 "template": {"metadata": {"labels": {"app": "pay-v1"}}, "spec": {"containers": [{"name": "app", "image": "registry.example/pay:v1"}]}}}
    }));
    s
}

#[test]
fn statefulset_pods_get_per_pod_names_only_through_their_governing_headless_service() {
    let (code, r) = diagnose(&stateful_scenario("pay-headless"), &["pay-headless"]);
    assert_eq!(code, 0, "{:?}", codes(&r));
    assert!(with_code(&r, "statefulset-service-mismatch").is_empty());
    let row = form(
        &r,
        "pay-db-0.pay-headless.default.svc.cluster.local",
        Some("default"),
    );
    assert_eq!(row["form"], "pod");
    assert_eq!(row["expected_resolves"], true);
    // Its own record answers: it reaches the pod, shown as a plain ✓.
    assert_eq!(row["reaches_target"], true, "{row:#}");
    assert_eq!(row["expected_addresses"].as_array().unwrap().len(), 1);
    assert_eq!(
        form(&r, "pay-db-1.pay-headless.default.svc.cluster.local", None)["expected_resolves"],
        true
    );

    let (code, r) = diagnose(&stateful_scenario("pay-db"), &["pay-headless"]);
    assert_eq!(code, 0, "a warning");
    let f = with_code(&r, "statefulset-service-mismatch");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "warning");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("StatefulSet pay-db: serviceName names Service pay-db, which does not exist in namespace default"),
        "{msg}"
    );
    assert!(
        f[0]["fix"]
            .as_str()
            .unwrap()
            .contains("`kubectl -n default create service clusterip pay-db --clusterip=None"),
        "{}",
        f[0]["fix"]
    );
    let row = form(
        &r,
        "pay-db-0.pay-headless.default.svc.cluster.local",
        Some("default"),
    );
    assert_eq!(row["expected_resolves"], false);
    // The reason is the pod record's own, not the last search candidate's.
    assert!(
        !row["why"].as_str().unwrap().contains("the label before"),
        "{}",
        row["why"]
    );
    assert!(
        row["why"]
            .as_str()
            .unwrap()
            .contains("spec.subdomain is `pay-db`"),
        "{}",
        row["why"]
    );

    // Without StatefulSets in the snapshot, the check is not run.
    let (_, r) = diagnose(&scenario(), &["pay-headless"]);
    assert!(not_checked(&r, "StatefulSet serviceName"));
}

#[test]
fn every_containers_state_reaches_the_pods_finding() {
    let mut s = scenario();
    let pod = find(&mut s, "Pod", "default", "pay-v1-78447cf896-2k");
    make_waiting(
        pod,
        "RunContainerError",
        "failed to create containerd task: exec: \"/app\": stat /app: no such file or directory",
    );
    pod["status"]["initContainerStatuses"] = json!([{
        "name": "migrate", "image": "registry.example/migrate:1", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}, "lastState": {}
    }, {
        "name": "proxy", "image": "registry.example/proxy:1", "imageID": "", "ready": false, "restartCount": 4, "started": false,
        "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}, "lastState": {}
    }]);
    pod["spec"]["initContainers"] = json!([
        {"name": "migrate", "image": "registry.example/migrate:1"},
        {"name": "proxy", "image": "registry.example/proxy:1", "restartPolicy": "Always"}
    ]);
    let (code, r) = diagnose(&s, &["service-pay-v1"]);
    assert_eq!(code, 0, "the other pod serves");
    let f = with_code(&r, "container-config-error");
    assert_eq!(f.len(), 1, "{:?}", codes(&r));
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("container app cannot start (RunContainerError)"),
        "{msg}"
    );
    assert!(
        msg.contains("stat /app: no such file or directory"),
        "{msg}"
    );
    assert!(
        msg.contains("sidecar container proxy terminated: exit code 137 (OOMKilled)"),
        "{msg}"
    );
    assert!(
        !msg.contains("migrate"),
        "a completed init container is fine: {msg}"
    );
}

#[test]
fn a_service_copied_into_the_wrong_namespace_is_not_told_to_recreate_the_original() {
    // service-pay-v1 exists in default (NodePort, selecting the pay pods);
    // a copy in client selects nothing there. Creating "it" beside the pods
    // would overwrite the real one: the fix names the one that exists.
    let mut s = scenario();
    let mut copy = find(&mut s, "Service", "default", "service-pay-v1").clone();
    copy["metadata"]["namespace"] = json!("client");
    copy["metadata"].as_object_mut().unwrap().remove("uid");
    items(&mut s).push(copy);
    let (_, r) = diagnose(&s, &["service-pay-v1", "-n", "client"]);
    let f = with_code(&r, "selector-matches-no-pods");
    assert_eq!(f.len(), 1, "{:?}", codes(&r));
    let fix = f[0]["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("Service default/service-pay-v1 already exists beside the pods with the same selector: clients reach it as `service-pay-v1.default`"),
        "{fix}"
    );
    assert!(!fix.contains("create service"), "{fix}");
}

#[test]
fn a_pod_relabelled_by_hand_is_told_to_be_relabelled_not_to_wait_for_a_rollout() {
    // Both pay-v1 pods come from one ReplicaSet (same pod-template-hash);
    // someone changed one pod's app label by hand.
    let mut s = scenario();
    let pod = find(&mut s, "Pod", "default", "pay-v1-78447cf896-2k");
    pod["metadata"]["labels"]["app"] = json!("payments");
    let name = pod["metadata"]["name"].as_str().unwrap().to_owned();
    let (_, r) = diagnose(&s, &["service-pay-v1"]);
    let f = with_code(&r, "selector-excludes-pods");
    assert_eq!(f.len(), 1, "{:?}", codes(&r));
    let fix = f[0]["fix"].as_str().unwrap();
    assert!(fix.contains("labels were changed by hand"), "{fix}");
    assert!(
        fix.contains(&format!(
            "`kubectl -n default label pod {name} app=pay-v1 --overwrite`"
        )),
        "{fix}"
    );
    assert!(!fix.contains("rollout status"), "{fix}");
}
