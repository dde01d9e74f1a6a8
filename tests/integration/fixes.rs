//! Every `fix` of every report the scenario and its edits produce is a
//! command or edit that works as written: no placeholders, commands that
//! parse as shell words, name a namespace, and name objects that exist.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::fix::{Kubectl, kubectl_commands, parse};
use crate::fixtures::*;

/// One diagnosis: what it shows, the snapshot, the arguments.
struct Case {
    label: &'static str,
    snapshot: Value,
    args: Vec<&'static str>,
}

fn case(label: &'static str, snapshot: Value, args: &[&'static str]) -> Case {
    Case {
        label,
        snapshot,
        args: args.to_vec(),
    }
}

/// The scenario's Services as captured, and edits that produce every
/// finding code.
fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for svc in [
        "service-pay-v1",
        "service-v4",
        "service-pay-typo",
        "service-user-v1",
        "pay-headless",
        "kubernetes",
        "service-pay-v2",
        "nothing-like-this",
        "crashy",
    ] {
        v.push(case("as captured", scenario(), &[svc, "-n", "default"]));
    }
    for svc in ["crashy", "unplaceable", "web-unready"] {
        v.push(case("as captured", scenario(), &[svc, "-n", "trouble"]));
    }
    v.push(case(
        "as captured",
        scenario(),
        &["kube-dns", "-n", "kube-system"],
    ));
    v.push(case(
        "from another namespace",
        scenario(),
        &["service-pay-v1", "--from-namespace", "client"],
    ));
    v.push(case(
        "cluster-domain-mismatch",
        scenario(),
        &["service-pay-v1", "--cluster-domain", "corp.example"],
    ));

    // NetworkPolicies: a default-deny egress in the client's namespace
    // (DNS and the backends blocked), an ingress policy admitting only the
    // backends' own namespace.
    let with_policy = |p: Value| {
        let mut s = scenario();
        items(&mut s).push(p);
        s
    };
    v.push(case(
        "default-deny egress",
        with_policy(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny-egress", "namespace": "client"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}),
        ),
        &["service-pay-v1", "--from-namespace", "client"],
    ));
    v.push(case(
        "ingress from the own namespace only",
        with_policy(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "same-namespace", "namespace": "default"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"podSelector": {}}]}]}}),
        ),
        &["service-pay-v1", "--from-namespace", "client"],
    ));

    let pay = |f: fn(&mut Value)| {
        let mut s = scenario();
        f(&mut s);
        s
    };
    v.push(case(
        "numeric targetPort mismatch",
        pay(|s| {
            find(s, "Service", "default", "service-pay-v1")["spec"]["ports"][0]["targetPort"] =
                json!(8080)
        }),
        &["service-pay-v1"],
    ));
    v.push(case(
        "named targetPort mismatch",
        pay(|s| {
            find(s, "Service", "default", "service-pay-v1")["spec"]["ports"][0]["targetPort"] =
                json!("web")
        }),
        &["service-pay-v1"],
    ));
    v.push(case(
        "publishNotReadyAddresses",
        pay(|s| {
            find(s, "Service", "default", "service-pay-v1")["spec"]["publishNotReadyAddresses"] =
                json!(true)
        }),
        &["service-pay-v1"],
    ));
    v.push(case(
        "ExternalName",
        pay(|s| {
            items(s).push(json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "billing", "namespace": "default"},
                "spec": {"type": "ExternalName", "externalName": "billing.example.com"}
            }))
        }),
        &["billing"],
    ));
    v.push(case(
        "selectorless without slices",
        pay(|s| {
            items(s).push(json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "legacy-db", "namespace": "default"},
                "spec": {"clusterIP": "10.96.77.77", "clusterIPs": ["10.96.77.77"], "ports": [{"port": 5432, "protocol": "TCP", "targetPort": 5432}], "type": "ClusterIP"}
            }))
        }),
        &["legacy-db"],
    ));
    v.push(case(
        "selector under another key",
        pay(|s| {
            find(s, "Service", "default", "service-pay-typo")["spec"]["selector"] =
                json!({"name": "pay-v1"})
        }),
        &["service-pay-typo"],
    ));
    v.push(case(
        "selector with one label too many",
        pay(|s| {
            find(s, "Service", "default", "service-pay-typo")["spec"]["selector"] =
                json!({"app": "pay-v1", "tier": "web"})
        }),
        &["service-pay-typo"],
    ));
    v.push(case(
        "selector close to nothing",
        pay(|s| {
            find(s, "Service", "default", "service-pay-typo")["spec"]["selector"] =
                json!({"tier": "zzz"})
        }),
        &["service-pay-typo"],
    ));
    v.push(case(
        "container config error",
        pay(|s| {
            make_waiting(
                find(s, "Pod", "default", "pay-v1-"),
                "CreateContainerConfigError",
                "secret \"pay-db\" not found",
            )
        }),
        &["service-pay-v1"],
    ));
    v.push(case(
        "restarts and terminating endpoints",
        pay(|s| {
            find(s, "Pod", "default", "pay-v1-")["status"]["containerStatuses"][0]["restartCount"] =
                json!(3);
            find(s, "EndpointSlice", "default", "service-pay-v1")["endpoints"][0]["conditions"] =
                json!({"ready": false, "serving": true, "terminating": true});
        }),
        &["service-pay-v1"],
    ));
    v.push(case(
        "endpoints out of sync",
        pay(|s| {
            let slice = find(s, "EndpointSlice", "default", "service-pay-v1");
            slice["endpoints"].as_array_mut().unwrap().remove(0);
        }),
        &["service-pay-v1"],
    ));
    v.push(case(
        "name shadowed",
        pay(|s| {
            let mut copy = find(s, "Service", "default", "service-pay-v1").clone();
            copy["metadata"]["namespace"] = json!("client");
            copy["spec"]["clusterIP"] = json!("10.96.250.250");
            copy["spec"]["clusterIPs"] = json!(["10.96.250.250"]);
            items(s).push(copy);
        }),
        &["service-pay-v1"],
    ));
    v.push(case(
        "Service of that name in another namespace",
        pay(|s| {
            let mut copy = find(s, "Service", "default", "service-user-v1").clone();
            copy["metadata"]["namespace"] = json!("client");
            copy["metadata"]["name"] = json!("service-pay-v2");
            items(s).push(copy);
        }),
        &["service-pay-v2"],
    ));

    // Pull failures, one per cause; and one of a pod without owner.
    for (label, text) in [
        (
            "pull unauthorized",
            "Failed to pull image \"registry.example/v4:missing\": pull access denied, repository does not exist or may require authorization: authorization failed",
        ),
        (
            "pull unreachable",
            "Failed to pull image \"registry.example/v4:missing\": dial tcp: lookup registry.example on 10.0.0.2:53: no such host",
        ),
        (
            "pull unknown",
            "Failed to pull image \"registry.example/v4:missing\": rpc error: code = Unknown desc = something else",
        ),
    ] {
        let mut s = scenario();
        for e in items(&mut s)
            .iter_mut()
            .filter(|o| o["kind"] == "Event" && o["reason"] == "Failed")
        {
            e["message"] = json!(text);
        }
        v.push(case(label, s.clone(), &["service-v4"]));
        find(&mut s, "Pod", "default", "v4-")["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("ownerReferences");
        v.push(case(label, s, &["service-v4"]));
    }
    v.push(case(
        "invalid image name",
        pay(|s| make_waiting(find(s, "Pod", "default", "v4-"), "InvalidImageName", "")),
        &["service-v4"],
    ));
    v.push(case(
        "OOMKilled",
        pay(|s| {
            find(s, "Pod", "trouble", "crashy-")["status"]["containerStatuses"][0]["lastState"]
                ["terminated"]["reason"] = json!("OOMKilled")
        }),
        &["crashy", "-n", "trouble"],
    ));
    v.push(case(
        "not ready, no probe event",
        pay(|s| {
            remove(
                s,
                "Event",
                "trouble",
                "web-unready-6fd5cb7d77-t8fnc.svcdiscover",
            )
        }),
        &["web-unready", "-n", "trouble"],
    ));

    // One pay-v1 pod not Ready in several ways.
    type Mutate = fn(&mut Value);
    let pod_cases: [(&'static str, Mutate); 5] = [
        ("evicted", |p| {
            p["status"] = json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory.", "conditions": []});
        }),
        ("gated", |p| {
            p["spec"]["schedulingGates"] = json!([{"name": "example.com/quota"}]);
            p["spec"].as_object_mut().unwrap().remove("nodeName");
            p["status"] = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated", "message": "Scheduling is blocked due to non-empty scheduling gates"}]});
        }),
        ("sandbox", |p| {
            make_waiting(p, "ContainerCreating", "");
            p["status"]["phase"] = json!("Pending");
        }),
        ("starting", |p| {
            make_waiting(p, "ContainerCreating", "");
            p["status"]["phase"] = json!("Pending");
        }),
        ("terminating", |p| {
            p["metadata"]["deletionTimestamp"] = json!("2026-11-25T17:00:00Z");
            make_waiting(p, "ContainerCreating", "");
        }),
    ];
    for (label, mutate) in pod_cases {
        let mut s = scenario();
        let pod = find(&mut s, "Pod", "default", "pay-v1-");
        let name = pod["metadata"]["name"].as_str().unwrap().to_owned();
        mutate(pod);
        if label == "sandbox" {
            items(&mut s).push(json!({
                "apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "FailedCreatePodSandBox",
                "message": "Failed to create pod sandbox: plugin type=\"calico\" failed (add): connection refused",
                "metadata": {"name": format!("{name}.sandbox"), "namespace": "default"},
                "involvedObject": {"kind": "Pod", "name": name, "namespace": "default"},
                "lastTimestamp": "2026-11-25T17:00:00Z", "count": 4, "source": {"component": "kubelet"}
            }));
        }
        v.push(case(label, s, &["service-pay-v1"]));
    }

    // Cluster DNS.
    v.push(case(
        "CoreDNS crash-looping",
        pay(|s| {
            let slice = find(s, "EndpointSlice", "kube-system", "kube-dns");
            for e in slice["endpoints"].as_array_mut().unwrap() {
                e["conditions"]["ready"] = json!(false);
            }
            make_waiting(
                find(s, "Pod", "kube-system", "coredns"),
                "CrashLoopBackOff",
                "back-off 5m0s restarting failed container",
            );
        }),
        &["service-pay-v1"],
    ));
    v.push(case(
        "no kube-dns Service",
        pay(|s| {
            remove(s, "Service", "kube-system", "kube-dns");
            items(s).push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "metrics-server", "namespace": "kube-system"},
                "spec": {"clusterIP": "10.96.5.5", "clusterIPs": ["10.96.5.5"], "ports": [{"port": 443, "protocol": "TCP", "targetPort": 4443}], "selector": {"k8s-app": "metrics-server"}}}));
        }),
        &["service-pay-v1"],
    ));
    v.push(case(
        "no Corefile",
        pay(|s| {
            remove(s, "ConfigMap", "kube-system", "coredns");
            items(s).push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": "kube-system"}, "data": {}}));
        }),
        &["service-pay-v1"],
    ));
    v.push(case(
        "Corefile without kubernetes",
        pay(|s| {
            find(s, "ConfigMap", "kube-system", "coredns")["data"]["Corefile"] =
                json!(".:53 {\n    errors\n    forward . 127.0.0.1:5300\n}\n");
        }),
        &["service-pay-v1"],
    ));
    v.push(case(
        "NodeLocal DNSCache",
        pay(|s| {
            items(s).push(json!({
                "apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "node-local-dns", "namespace": "kube-system"},
                "spec": {"selector": {"matchLabels": {"k8s-app": "node-local-dns"}},
                         "template": {"metadata": {"labels": {"k8s-app": "node-local-dns"}},
                                      "spec": {"containers": [{"name": "node-cache", "image": "registry.k8s.io/dns/k8s-dns-node-cache:1.23.1"}]}}}
            }));
            items(s).push(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "node-local-dns-x7k2p", "namespace": "kube-system", "labels": {"k8s-app": "node-local-dns"},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "node-local-dns", "controller": true, "uid": "0"}]},
                "spec": {"nodeName": "kwok-node-0", "containers": [{"name": "node-cache", "image": "registry.k8s.io/dns/k8s-dns-node-cache:1.23.1"}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
            }));
        }),
        &["service-pay-v1"],
    ));
    v.push(case(
        "one of a workload's pods left out of the selector",
        pay(|s| {
            find(s, "Service", "default", "service-pay-v1")["spec"]["selector"] =
                json!({"app": "pay-v1", "tier": "web"});
            find(s, "Pod", "default", "pay-v1-78447cf896-2k")["metadata"]["labels"]["tier"] =
                json!("web");
        }),
        &["service-pay-v1"],
    ));
    v.push(case(
        "ExternalName holding an address",
        pay(|s| {
            find(s, "Service", "default", "service-user-v1")["spec"] = json!({
                "type": "ExternalName", "externalName": "10.20.30.40",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}]
            });
        }),
        &["service-user-v1"],
    ));
    v.push(case(
        "ExternalName naming a Service that does not exist",
        pay(|s| {
            find(s, "Service", "default", "service-user-v1")["spec"] = json!({
                "type": "ExternalName", "externalName": "service-pay-v2.default.svc.cluster.local"
            });
        }),
        &["service-user-v1"],
    ));
    v.push(case(
        "StatefulSet naming a missing governing Service",
        crate::findings::stateful_scenario("pay-db"),
        &["pay-headless"],
    ));
    v
}

/// Words that stand for a value the fix should have filled in.
fn placeholders(fix: &str) -> Vec<String> {
    let mut found = Vec::new();
    if fix.contains('…') {
        found.push("…".to_owned());
    }
    // `<name>`, `<domain>`, `<other-namespace>`, …
    let mut rest = fix;
    while let Some(i) = rest.find('<') {
        let after = &rest[i + 1..];
        if let Some(j) = after.find('>') {
            let inner = &after[..j];
            if !inner.is_empty()
                && inner
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
            {
                found.push(format!("<{inner}>"));
            }
        }
        rest = after;
    }
    for word in fix.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if matches!(
            word,
            "NAME" | "NS" | "NAMESPACE" | "POD" | "SERVICE" | "CONTAINER" | "DOMAIN" | "IMAGE"
        ) {
            found.push(word.to_owned());
        }
    }
    found
}

/// The snapshot's kind for a kubectl resource word.
fn kind_of(resource: &str) -> Option<&'static str> {
    Some(match resource {
        "service" | "services" | "svc" => "Service",
        "pod" | "pods" | "po" => "Pod",
        "deployment" | "deployments" | "deploy" => "Deployment",
        "replicaset" | "replicasets" | "rs" => "ReplicaSet",
        "statefulset" | "statefulsets" | "sts" => "StatefulSet",
        "daemonset" | "daemonsets" | "ds" => "DaemonSet",
        "configmap" | "configmaps" | "cm" => "ConfigMap",
        _ => return None,
    })
}

fn object<'a>(snapshot: &'a Value, kind: &str, ns: &str, name: &str) -> Option<&'a Value> {
    snapshot["items"].as_array().unwrap().iter().find(|o| {
        o["kind"] == kind && o["metadata"]["namespace"] == ns && o["metadata"]["name"] == name
    })
}

fn labels_match(o: &Value, selector: &str) -> bool {
    selector.split(',').all(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        o["metadata"]["labels"][k] == v
    })
}

/// What is wrong with `cmd` against `snapshot`, if anything.
fn problems(cmd: &Kubectl, snapshot: &Value) -> Vec<String> {
    let mut p = Vec::new();
    if cmd.namespaced() && cmd.namespace.is_none() && !cmd.all_namespaces {
        p.push("names no namespace (-n)".to_owned());
    }
    let ns = cmd.namespace.as_deref().unwrap_or_default();
    let namespaces: BTreeSet<&str> = snapshot["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    if cmd.namespace.is_some() && !namespaces.contains(ns) {
        p.push(format!("namespace {ns} does not exist"));
    }
    let target = cmd.object().and_then(|(resource, name)| {
        kind_of(&resource).map(|kind| (kind, name.clone(), object(snapshot, kind, ns, &name)))
    });
    if let Some((kind, name, None)) = &target {
        p.push(format!("no {kind} {ns}/{name}"));
    }
    if let (Some(c), Some((_, _, Some(pod)))) = (&cmd.container, &target) {
        let has = ["containers", "initContainers"].iter().any(|list| {
            pod["spec"][list]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|x| x["name"] == c.as_str()))
        });
        if !has {
            p.push(format!("the pod has no container {c}"));
        }
    }
    if let Some(sel) = &cmd.selector {
        let resource = cmd.positionals.get(1).map(String::as_str).unwrap_or("");
        match resource {
            "endpointslices" => {
                let svc = sel
                    .strip_prefix("kubernetes.io/service-name=")
                    .unwrap_or_default();
                if object(snapshot, "Service", ns, svc).is_none() {
                    p.push(format!("no Service {ns}/{svc} for -l {sel}"));
                }
            }
            _ if kind_of(resource) == Some("Pod") || cmd.verb() == "logs" => {
                let any = snapshot["items"].as_array().unwrap().iter().any(|o| {
                    o["kind"] == "Pod" && o["metadata"]["namespace"] == ns && labels_match(o, sel)
                });
                if !any {
                    p.push(format!("no pod in {ns} matches -l {sel}"));
                }
            }
            _ => {}
        }
    }
    if let Some(patch) = &cmd.patch {
        match serde_json::from_str::<Value>(patch) {
            Err(e) => p.push(format!("the patch is not JSON: {e}")),
            Ok(ops) if cmd.patch_type.as_deref() == Some("json") => {
                // JSON-patch replace and remove need the path to exist.
                for op in ops.as_array().into_iter().flatten() {
                    let path = op["path"].as_str().unwrap_or_default();
                    if let Some((_, _, Some(o))) = &target
                        && o.pointer(path).is_none()
                    {
                        p.push(format!("the patch's path {path} does not exist"));
                    }
                }
            }
            Ok(_) => {}
        }
    }
    p
}

struct Case2<'a> {
    label: &'a str,
    snapshot: &'a Value,
    args: &'a [&'a str],
}

/// The probe's findings come only from a live run; their fixes are checked
/// on reports made in-process on the scenario with what a probe could
/// bring back: each way it can fail, a mismatch and a wildcard record.
fn probe_reports() -> Vec<(String, Value, Vec<&'static str>, Value)> {
    use svcdiscover::analysis::{
        Facts, Observations, Options, ProbeProblem, ProblemKind, Target, View, diagnose_observed,
        diagnose_with,
    };
    use svcdiscover::model::{
        Observed, ObservedCandidate, ObservedRcode, ObservedStatus, ResolverSeen, Via,
    };
    let snapshot = scenario();
    let state = svcdiscover::source::snapshot::load(&fixture_path("scenario.json"), 1 << 30)
        .expect("the scenario loads");
    let target = Target {
        namespace: "default".into(),
        name: "service-pay-v1".into(),
    };
    let opts = Options {
        from_namespaces: vec!["client".into()],
        ..Options::default()
    };
    let facts = Facts::compute(&state, &opts);
    let predicted = diagnose_with(&state, &facts, &target, &opts);
    let problem = |kind| ProbeProblem {
        namespace: "client".into(),
        kind,
        message: "the server's words".into(),
    };
    let mut all = vec![
        problem(ProblemKind::ImagePull {
            image: "registry.example/dnsutils:1".into(),
        }),
        problem(ProblemKind::Forbidden {
            verb: "create".into(),
            resource: "jobs".into(),
        }),
        problem(ProblemKind::Rejected),
        problem(ProblemKind::Timeout),
        problem(ProblemKind::NotRun),
    ];
    let mut out = Vec::new();
    let to_json = |r: &svcdiscover::model::Report| {
        let v = serde_json::to_value(r).expect("a report serialises");
        validate(&v);
        v
    };
    for (i, p) in all.drain(..).enumerate() {
        for required in [false, true] {
            let obs = Observations {
                required,
                problems: vec![p.clone()],
                ..Observations::default()
            };
            let r = diagnose_observed(&state, &facts, &target, &opts, &obs);
            out.push((
                format!("probe problem {i} required={required}"),
                snapshot.clone(),
                vec![],
                to_json(&r),
            ));
        }
    }
    // Every row as predicted except one that timed out, seen through a
    // NodeLocal DNSCache, with a wildcard record under a node domain.
    let mut view = View {
        client: Some("client".into()),
        wildcard_hits: vec![(
            "svcdiscover-absent-1.corp.example.".into(),
            vec!["192.0.2.1".into()],
        )],
        ..View::default()
    };
    for row in &predicted.name_forms {
        let resolved = row.expected_resolves == Some(true);
        let mut o = Observed {
            status: if resolved {
                ObservedStatus::Resolved
            } else {
                ObservedStatus::Nxdomain
            },
            addresses: row.expected_addresses.clone(),
            answered_by: row.answered_by.clone(),
            candidates: vec![],
            via: Via::ProbePod,
            resolver: ResolverSeen {
                nameservers: vec!["169.254.20.10".into()],
                search: vec![],
                ndots: 5,
            },
            as_predicted: None,
            notes: vec![],
        };
        if row.name == "service-pay-v1.default" {
            o.status = ObservedStatus::Timeout;
            o.addresses.clear();
            o.candidates = vec![ObservedCandidate {
                name: "service-pay-v1.default.client.svc.cluster.local.".into(),
                rcode: ObservedRcode::Timeout,
            }];
        }
        view.names.insert(row.name.clone(), o);
    }
    let obs = Observations {
        views: vec![view],
        ..Observations::default()
    };
    let r = diagnose_observed(&state, &facts, &target, &opts, &obs);
    out.push((
        "probe mismatch".to_owned(),
        snapshot.clone(),
        vec![],
        to_json(&r),
    ));
    // --connect: one endpoint answers, the other refuses, the ClusterIP
    // times out.
    use svcdiscover::model::{Connection, ConnectionResult, ConnectionTarget};
    let pods: Vec<String> = state
        .pods
        .iter()
        .filter(|p| p.namespace == "default" && p.name.starts_with("pay-v1-"))
        .map(|p| p.name.clone())
        .collect();
    assert_eq!(pods.len(), 2, "{pods:?}");
    let conn = |address: &str, target, pod: Option<&String>, result| Connection {
        from: "client".into(),
        address: address.into(),
        port: 80,
        service_port: 80,
        target,
        pod: pod.cloned(),
        result,
        detail: String::new(),
    };
    let obs = Observations {
        connections: Some(vec![
            conn(
                "10.96.0.20",
                ConnectionTarget::Service,
                None,
                ConnectionResult::Timeout,
            ),
            conn(
                "10.244.0.1",
                ConnectionTarget::Endpoint,
                Some(&pods[0]),
                ConnectionResult::Connected,
            ),
            conn(
                "10.244.0.2",
                ConnectionTarget::Endpoint,
                Some(&pods[1]),
                ConnectionResult::Refused,
            ),
        ]),
        ..Observations::default()
    };
    let r = diagnose_observed(&state, &facts, &target, &opts, &obs);
    out.push(("connect".to_owned(), snapshot, vec![], to_json(&r)));
    out
}

#[test]
fn every_fix_is_a_command_that_works_as_written() {
    let mut seen_codes = BTreeSet::new();
    let mut commands = 0;
    let mut failures = Vec::new();
    let mut reports: Vec<(String, Value, Vec<&str>, Value)> = cases()
        .into_iter()
        .map(|c| {
            let (_, report) = diagnose(&c.snapshot, &c.args);
            (c.label.to_owned(), c.snapshot, c.args, report)
        })
        .collect();
    reports.extend(probe_reports());
    for (label, snapshot, args, report) in &reports {
        let c = Case2 {
            label,
            snapshot,
            args,
        };
        for f in report["findings"].as_array().unwrap() {
            let code = f["code"].as_str().unwrap();
            let fix = f["fix"].as_str().unwrap();
            let at = format!("{} {:?} {code}", c.label, c.args);
            seen_codes.insert(code.to_owned());
            let bad = placeholders(fix);
            if !bad.is_empty() {
                failures.push(format!("{at}: placeholders {bad:?} in: {fix}"));
            }
            let cmds = kubectl_commands(fix);
            if cmds.is_empty()
                && f["severity"] != "info"
                && !matches!(code, "name-shadowed" | "dns-service-missing")
            {
                failures.push(format!("{at}: no kubectl command in: {fix}"));
            }
            for cmd in cmds {
                commands += 1;
                match parse(cmd) {
                    Err(e) => failures.push(format!("{at}: {e}")),
                    Ok(k) => {
                        for problem in problems(&k, c.snapshot) {
                            failures.push(format!("{at}: `{cmd}`: {problem}"));
                        }
                        let probes = k.args.iter().any(|a| {
                            matches!(
                                a.as_str(),
                                "--probe" | "--from" | "--no-probe" | "--connect"
                            )
                        });
                        if k.verb() == "svcdiscover" && probes {
                            // A probe never runs offline: the command must
                            // parse as the live command line it is.
                            let argv = std::iter::once("kubectl-svcdiscover")
                                .chain(k.args[1..].iter().map(String::as_str));
                            if let Err(e) = svcdiscover::cli::Cli::try_parse_kubectl(argv) {
                                failures.push(format!("{at}: `{cmd}` does not parse: {e}"));
                            }
                        } else if k.verb() == "svcdiscover" {
                            // Suggested diagnoses run on the same snapshot: a
                            // verdict (3 when the edit's snapshot does not cover
                            // that namespace's slices), never a usage error.
                            let args: Vec<&str> = k.args[1..].iter().map(String::as_str).collect();
                            let run = run_on(c.snapshot, &args);
                            if !matches!(run.code, 0 | 1 | 3) || run.stdout.is_empty() {
                                failures.push(format!(
                                    "{at}: `{cmd}` exits {}: {}",
                                    run.code, run.stderr
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every code of the catalogue (docs/findings.md is checked against the
    // code's own list by a unit test).
    let catalogue = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/findings.md"),
    )
    .unwrap();
    let all: Vec<&str> = catalogue
        .lines()
        .filter_map(|l| l.strip_prefix("### `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    assert!(all.len() >= 26, "{all:?}");
    let missing: Vec<&str> = all
        .iter()
        .copied()
        .filter(|c| !seen_codes.contains(*c))
        .collect();
    assert!(missing.is_empty(), "no case produced {missing:?}");
    assert!(commands >= 50, "only {commands} commands checked");
}

#[test]
fn the_checker_rejects_what_it_should() {
    // The checks above would pass on anything if these did not fail.
    assert_eq!(
        placeholders("see `kubectl get endpointslices -l kubernetes.io/service-name=<name>`"),
        ["<name>"]
    );
    assert_eq!(placeholders("the FQDN `a.b.svc.<domain>`"), ["<domain>"]);
    assert_eq!(placeholders("`kubectl set image …`"), ["…"]);
    assert_eq!(placeholders("`kubectl -n NS get pod NAME`"), ["NS", "NAME"]);
    let s = scenario();
    let check = |cmd: &str| problems(&parse(cmd).unwrap(), &s);
    assert!(check("kubectl -n default describe pod v4-f464dd4db-pxz9j").is_empty());
    assert_eq!(
        check("kubectl describe pod v4-f464dd4db-pxz9j"),
        ["names no namespace (-n)", "no Pod /v4-f464dd4db-pxz9j"]
    );
    assert_eq!(
        check("kubectl -n default edit deployment v4-f464dd4db"),
        ["no Deployment default/v4-f464dd4db"]
    );
    assert_eq!(
        check("kubectl logs --previous -n trouble crashy-97778f657-chcl6 -c main"),
        ["the pod has no container main"]
    );
    assert_eq!(
        check(
            r#"kubectl -n default patch service service-pay-v1 --type=json -p '[{"op":"replace","path":"/spec/ports/1/targetPort","value":80}]'"#
        ),
        ["the patch's path /spec/ports/1/targetPort does not exist"]
    );
    assert!(parse("kubectl -n default patch service s -p '{\"spec\":").is_err());
}
