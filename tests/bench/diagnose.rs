//! Benchmarks: the bundled example, and a generated snapshot of 1,000
//! Services and 10,000 pods (reading the file, then diagnosing one Service).
//!
//!     cargo bench --bench diagnose
//!
//! Criterion reports the median and spread of each; compare runs by ratio,
//! the machine is shared and noisy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use svcdiscover::analysis::{Options, Target, diagnose};
use svcdiscover::source::snapshot;

/// A List shaped like `kubectl get -o json`: `services` Services, each with
/// `pods_per` pods, one EndpointSlice, one Deployment and one Warning event.
fn generate(services: usize, pods_per: usize) -> Value {
    generate_in(services, pods_per, 50)
}

/// The same over `namespaces` namespaces; every tenth Service is broken
/// (its pods cannot pull their image, or its selector matches nothing).
fn generate_in(services: usize, pods_per: usize, namespaces: usize) -> Value {
    let mut items = Vec::with_capacity(services * (pods_per + 3) + 3);
    for s in 0..services {
        let ns = format!("team-{}", s % namespaces);
        let broken = s % 10 == 3;
        let app = format!("app-{s}");
        let ip = format!("10.96.{}.{}", s / 250, s % 250 + 1);
        items.push(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": format!("svc-{s}"), "namespace": ns, "uid": format!("u-{s}"), "resourceVersion": "1", "creationTimestamp": "2026-11-25T10:00:00Z"},
            "spec": {"clusterIP": ip, "clusterIPs": [ip], "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}], "selector": {"app": if broken && s % 20 == 3 { format!("{app}-typo") } else { app.clone() }}, "type": "ClusterIP", "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
            "status": {"loadBalancer": {}}
        }));
        let mut endpoints = Vec::new();
        for p in 0..pods_per {
            let name = format!("{app}-7d9f8c-{p:05}");
            let pod_ip = format!("10.{}.{}.{}", 100 + s / 250, s % 250, p + 1);
            let ready = (s + p) % 17 != 0 && !broken;
            items.push(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": ns, "labels": {"app": app, "pod-template-hash": "7d9f8c"}, "uid": format!("p-{s}-{p}"),
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{app}-7d9f8c"), "uid": "rs", "controller": true, "blockOwnerDeletion": true}],
                    "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}}]},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1", "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}], "resources": {}, "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}],
                    "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "nodeName": format!("node-{}", p % 20), "schedulerName": "default-scheduler", "securityContext": {}, "enableServiceLinks": true},
                "status": {"phase": "Running", "podIP": pod_ip, "podIPs": [{"ip": pod_ip}], "hostIP": "10.250.0.2", "qosClass": "BestEffort", "startTime": "2026-11-25T10:00:00Z",
                    "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}, "lastProbeTime": null, "lastTransitionTime": "2026-11-25T10:00:00Z"}, {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-25T10:00:00Z"}],
                    "containerStatuses": [if broken {
                        json!({"name": "app", "ready": false, "restartCount": 0, "image": "registry.example/app:missing", "imageID": "", "started": false, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"registry.example/app:missing\""}}, "lastState": {}})
                    } else {
                        json!({"name": "app", "ready": ready, "restartCount": 0, "image": "registry.example/app:1", "imageID": "", "containerID": "containerd://x", "started": true, "state": {"running": {"startedAt": "2026-11-25T10:00:00Z"}}, "lastState": {}})
                    }]}
            }));
            endpoints.push(json!({"addresses": [pod_ip], "conditions": {"ready": ready, "serving": ready, "terminating": false}, "nodeName": format!("node-{}", p % 20), "targetRef": {"kind": "Pod", "name": name, "namespace": ns, "uid": "x"}}));
        }
        items.push(json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": format!("svc-{s}-abcde"), "namespace": ns, "labels": {"kubernetes.io/service-name": format!("svc-{s}"), "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
            "endpoints": endpoints, "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]
        }));
        items.push(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app, "namespace": ns},
            "spec": {"replicas": pods_per, "selector": {"matchLabels": {"app": app}}, "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}}}
        }));
        items.push(json!({
            "apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "Unhealthy", "count": 3,
            "message": "Readiness probe failed: HTTP probe failed with statuscode: 503",
            "metadata": {"name": format!("{app}.1"), "namespace": ns},
            "involvedObject": {"kind": "Pod", "name": format!("{app}-7d9f8c-00000"), "namespace": ns},
            "lastTimestamp": "2026-11-25T10:05:00Z", "source": {"component": "kubelet"}
        }));
    }
    items.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"},
        "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "selector": {"k8s-app": "kube-dns"}, "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53}]}}));
    items.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns", "namespace": "kube-system"},
        "data": {"Corefile": ".:53 {\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n    }\n    forward . /etc/resolv.conf\n    loop\n}\n"}}));
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items})
}

fn bench(c: &mut Criterion) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenario.json");
    let target = Target {
        namespace: "default".into(),
        name: "service-v4".into(),
    };
    let opts = Options::default();
    c.bench_function("example: read + diagnose service-v4", |b| {
        b.iter(|| {
            let state = snapshot::load(&example, snapshot::DEFAULT_MAX_SIZE).unwrap();
            black_box(diagnose(&state, &target, &opts))
        })
    });

    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    std::fs::write(&big, serde_json::to_vec(&generate(1_000, 10)).unwrap()).unwrap();
    let size = std::fs::metadata(&big).unwrap().len();
    eprintln!(
        "generated snapshot: 1000 Services, 10000 pods, {} MiB",
        size / (1 << 20)
    );
    let mut g = c.benchmark_group("1k services / 10k pods");
    g.sample_size(10);
    g.bench_function("read snapshot", |b| {
        b.iter(|| black_box(snapshot::load(&big, snapshot::DEFAULT_MAX_SIZE).unwrap()))
    });
    let state = snapshot::load(&big, snapshot::DEFAULT_MAX_SIZE).unwrap();
    let target = Target {
        namespace: "team-7".into(),
        name: "svc-507".into(),
    };
    g.bench_function("diagnose one Service", |b| {
        b.iter(|| black_box(diagnose(&state, &target, &opts)))
    });
    g.finish();

    // The scan's size from the issue: 2,000 Services, 20,000 pods, 20
    // namespaces, a tenth broken. SVCDISCOVER_BENCH_WRITE=PATH also writes
    // the file, for tests/bench/scan.sh (the binary against json.load).
    let scan_file = dir.path().join("scan.json");
    let bytes = serde_json::to_vec(&generate_in(2_000, 10, 20)).unwrap();
    std::fs::write(&scan_file, &bytes).unwrap();
    if let Some(out) = std::env::var_os("SVCDISCOVER_BENCH_WRITE") {
        std::fs::write(out, &bytes).unwrap();
    }
    eprintln!(
        "generated snapshot: 2000 Services, 20000 pods, 20 namespaces, {} MiB",
        bytes.len() / (1 << 20)
    );
    drop(bytes);
    let mut g = c.benchmark_group("2k services / 20k pods");
    g.sample_size(10);
    g.bench_function("read + scan -A", |b| {
        b.iter(|| {
            let state = snapshot::load(&scan_file, snapshot::DEFAULT_MAX_SIZE).unwrap();
            black_box(svcdiscover::analysis::scan(&state, &opts, None, None))
        })
    });
    let state = snapshot::load(&scan_file, snapshot::DEFAULT_MAX_SIZE).unwrap();
    g.bench_function("scan -A (state read)", |b| {
        b.iter(|| black_box(svcdiscover::analysis::scan(&state, &opts, None, None)))
    });
    let target = Target {
        namespace: "team-7".into(),
        name: "svc-507".into(),
    };
    g.bench_function("diagnose one Service", |b| {
        b.iter(|| black_box(diagnose(&state, &target, &opts)))
    });
    g.finish();

    // The same cluster with 1,000 NetworkPolicies, its Namespaces (labels)
    // and a CoreDNS pod, read from the file like the rest: every Service's
    // DNS egress, client egress and backends' ingress are evaluated.
    let policy_file = dir.path().join("policies.json");
    let mut doc = generate_in(2_000, 10, 20);
    let items = doc["items"].as_array_mut().unwrap();
    // kube-dns serves TCP too, as in a kubeadm cluster.
    let kube_dns = items
        .iter_mut()
        .find(|i| i["metadata"]["name"] == "kube-dns")
        .unwrap();
    kube_dns["spec"]["ports"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}));
    items.extend(cluster_objects(20));
    items.extend(policies(1_000, 20));
    std::fs::write(&policy_file, serde_json::to_vec(&doc).unwrap()).unwrap();
    drop(doc);
    let state = snapshot::load(&policy_file, snapshot::DEFAULT_MAX_SIZE).unwrap();
    assert_eq!(state.network_policies.len(), 1_000);
    // The evaluation really runs: no report of the teams' Services says
    // policies were not checked (kube-system holds none, and a plain dump
    // records no empty list, so kube-dns's report does).
    let scan = svcdiscover::analysis::scan(&state, &opts, None, None);
    let unchecked = scan
        .reports
        .iter()
        .filter(|r| r.service.namespace.starts_with("team-"))
        .filter(|r| r.not_checked.iter().any(|n| n.check == "network policies"))
        .count();
    assert_eq!(
        unchecked,
        0,
        "policies not evaluated in {unchecked} reports: {:?}",
        scan.reports
            .iter()
            .find_map(|r| r.not_checked.iter().find(|n| n.check == "network policies"))
    );
    let blocked = |code: &str| {
        scan.reports
            .iter()
            .flat_map(|r| &r.findings)
            .filter(|f| f.code.as_str() == code)
            .count()
    };
    eprintln!(
        "generated snapshot with 1,000 NetworkPolicies: {} dns-egress-blocked, {} egress-blocked finding(s)",
        blocked("dns-egress-blocked"),
        blocked("egress-blocked")
    );
    assert!(blocked("dns-egress-blocked") > 0 && blocked("egress-blocked") > 0);
    let target = Target {
        namespace: "team-7".into(),
        name: "svc-507".into(),
    };
    let mut g = c.benchmark_group("2k services / 20k pods / 1k policies");
    g.sample_size(10);
    g.bench_function("diagnose one Service", |b| {
        b.iter(|| black_box(diagnose(&state, &target, &opts)))
    });
    g.bench_function("scan -A (state read)", |b| {
        b.iter(|| black_box(svcdiscover::analysis::scan(&state, &opts, None, None)))
    });
    g.finish();
}

/// The Namespaces `team-0`… and kube-system, labelled as the apiserver
/// labels them, and one ready CoreDNS pod behind kube-dns.
fn cluster_objects(namespaces: usize) -> Vec<Value> {
    let mut out: Vec<Value> = (0..namespaces)
        .map(|n| format!("team-{n}"))
        .chain(["kube-system".to_owned()])
        .map(|ns| {
            json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                "status": {"phase": "Active"}})
        })
        .collect();
    out.push(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "coredns-5d78c9869d-abcde", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
        "spec": {"containers": [{"name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.12.0",
            "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"}, {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"}]}],
            "nodeName": "node-0", "dnsPolicy": "Default"},
        "status": {"phase": "Running", "podIP": "10.250.0.2", "podIPs": [{"ip": "10.250.0.2"}],
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "coredns", "ready": true, "restartCount": 0, "image": "coredns", "imageID": "", "state": {"running": {}}}]}}));
    out
}

/// `count` NetworkPolicies over `namespaces` namespaces (`team-N`), as
/// `kubectl get networkpolicies -A -o json` items: in each namespace a
/// default-deny egress, an allow-DNS and an allow-same-namespace egress
/// policy (two namespaces get a broken variant), one kube-system policy
/// admitting DNS, then per-app ingress
/// policies admitting the namespace's own pods on 8080.
fn policies(count: usize, namespaces: usize) -> Vec<Value> {
    let np = |ns: &str, name: String, spec: Value| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec})
    };
    let mut out = Vec::with_capacity(count);
    for n in 0..namespaces {
        let ns = format!("team-{n}");
        out.push(np(
            &ns,
            "default-deny-egress".into(),
            json!({"podSelector": {}, "policyTypes": ["Egress"]}),
        ));
        // The last namespace allows DNS over UDP only (a warning), the one
        // before it no egress to its own pods (egress-blocked).
        let dns_ports = if n + 1 == namespaces {
            json!([{"protocol": "UDP", "port": 53}])
        } else {
            json!([{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}])
        };
        out.push(np(&ns, "allow-dns".into(), json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": dns_ports}]})));
        if n + 2 != namespaces {
            out.push(np(
                &ns,
                "allow-same-namespace".into(),
                json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"podSelector": {}}]}]}),
            ));
        }
    }
    // kube-system admits DNS from everywhere (its policies are read, so the
    // DNS pods' ingress is evaluated too).
    out.push(np(
        "kube-system",
        "allow-dns-ingress".into(),
        json!({"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}, "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]}),
    ));
    let mut s = 0;
    while out.len() < count {
        let ns = format!("team-{}", s % namespaces);
        out.push(np(&ns, format!("app-{s}-ingress"), json!({"podSelector": {"matchLabels": {"app": format!("app-{s}")}},
            "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 8080}]}]})));
        s += 1;
    }
    out
}

criterion_group!(benches, bench);
criterion_main!(benches);
