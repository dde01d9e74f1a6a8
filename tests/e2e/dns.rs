//! Name resolution in the real cluster: kubectl exec into kwok pods runs
//! glibc's resolver against the real CoreDNS with each namespace's search
//! list, and the tool's predictions must match what it observes.

use serde_json::Value;

use crate::cluster::*;

/// `getent hosts NAME` inside a pod: the addresses, or None when it fails.
fn getent(c: &Cluster, ns: &str, pod: &str, name: &str) -> Option<Vec<String>> {
    let r = c.kubectl(&["exec", "-n", ns, pod, "--", "getent", "hosts", name]);
    match r.code {
        0 => Some(
            r.stdout
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_owned)
                .collect(),
        ),
        2 => None, // getent: key not found
        other => panic!(
            "kubectl exec getent {name} in {ns}/{pod} exited {other}: {}",
            r.stderr
        ),
    }
}

#[test]
fn short_name_resolves_only_in_the_services_namespace() {
    let Some(c) = cluster() else { return };
    let svc: Value = serde_json::from_str(
        &c.kubectl(&[
            "get",
            "service",
            "service-pay-v1",
            "-n",
            "default",
            "-o",
            "json",
        ])
        .stdout,
    )
    .unwrap();
    let ip = svc["spec"]["clusterIP"].as_str().unwrap().to_owned();
    let pay = c.pod("default", "pay-v1-");

    assert_eq!(
        getent(&c, "default", &pay, "service-pay-v1"),
        Some(vec![ip.clone()])
    );
    assert_eq!(
        getent(&c, "client", "client", "service-pay-v1"),
        None,
        "cross-namespace short name fails"
    );
    assert_eq!(
        getent(&c, "client", "client", "service-pay-v1.default"),
        Some(vec![ip.clone()])
    );
    assert_eq!(
        getent(&c, "default", &pay, "service-pay-v1.default"),
        Some(vec![ip.clone()])
    );
    assert_eq!(
        getent(
            &c,
            "client",
            "client",
            "service-pay-v1.default.svc.cluster.local"
        ),
        Some(vec![ip])
    );
}

#[test]
fn predictions_match_what_pods_observe() {
    let Some(c) = cluster() else { return };
    let pay = c.pod("default", "pay-v1-");
    let r = c.diagnose(
        &[
            "service-pay-v1",
            "--from-namespace",
            "default",
            "--from-namespace",
            "client",
        ],
        0,
    );
    let rows = r["name_forms"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    for row in rows {
        let ns = row["from_namespace"].as_str().unwrap();
        let pod = if ns == "default" {
            pay.as_str()
        } else {
            "client"
        };
        let name = row["name"].as_str().unwrap();
        let seen = getent(&c, ns, pod, name);
        assert_eq!(
            row["expected_resolves"] == true,
            seen.is_some(),
            "{name} from {ns}: predicted {}, observed {seen:?}",
            row["expected_resolves"]
        );
        if let Some(addrs) = seen {
            let want: Vec<String> = row["expected_addresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            assert_eq!(addrs, want, "{name} from {ns}");
        }
    }
}

#[test]
fn headless_service_resolves_to_ready_pod_ips() {
    let Some(c) = cluster() else { return };
    let r = c.diagnose(&["pay-headless", "--from-namespace", "client"], 0);
    let row = r["name_forms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "pay-headless.default")
        .unwrap();
    let mut want: Vec<String> = row["expected_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let mut seen = getent(&c, "client", "client", "pay-headless.default").expect("resolves");
    want.sort();
    seen.sort();
    assert_eq!(seen, want);
    assert_eq!(want.len(), 2);
}
