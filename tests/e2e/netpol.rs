//! NetworkPolicies on the real API server: created with kubectl (the server
//! applies its defaults, e.g. `policyTypes`), read live, and the same
//! findings from the run's capture offline.
//!
//! The test cluster's nodes are kwok's: no network plugin, so nothing
//! enforces these policies. The findings are the API's semantics
//! (docs/netpol.md), not observed drops; no test fakes enforcement.

use serde_json::Value;

use crate::capture::live_then_replay;
use crate::cluster::*;

fn apply(c: &Cluster, yaml: &str) {
    let r = c.kubectl_stdin(&["apply", "-f", "-"], yaml);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

pub fn policies_read_live_give_the_offline_findings(c: &Cluster) {
    let ns = format!("e2e-netpol-{}", std::process::id());
    apply(
        c,
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
    );
    // Egress rules without policyTypes: the API server fills in
    // [Ingress, Egress]; the rule allows UDP 53 only (TCP 53 and the
    // backends are denied).
    apply(
        c,
        &format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: udp-dns-only\n  namespace: {ns}\nspec:\n  podSelector: {{}}\n  egress:\n  - to:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: kube-system\n      podSelector:\n        matchLabels:\n          k8s-app: kube-dns\n    ports:\n    - protocol: UDP\n      port: 53\n"
        ),
    );
    let stored = c.kubectl(&[
        "-n",
        &ns,
        "get",
        "networkpolicy",
        "udp-dns-only",
        "-o",
        "json",
    ]);
    assert_eq!(stored.code, 0, "{}", stored.stderr);
    let stored: Value = serde_json::from_str(&stored.stdout).unwrap();
    assert_eq!(
        stored["spec"]["policyTypes"],
        serde_json::json!(["Ingress", "Egress"]),
        "the API server's default"
    );

    let (live, replay) = live_then_replay(
        c,
        &["service-pay-v1", "-n", "default", "--from-namespace", &ns],
        1,
    );
    for r in [&live, &replay] {
        let dns = with_code(r, "dns-egress-blocked");
        assert_eq!(dns.len(), 1, "{:?}", codes(r));
        assert_eq!(dns[0]["severity"], "warning", "{}", dns[0]);
        let m = dns[0]["message"].as_str().unwrap();
        assert!(m.contains("UDP 53 only"), "{m}");
        assert!(m.contains(&format!("{ns}/udp-dns-only")), "{m}");
        let eg = with_code(r, "egress-blocked");
        assert_eq!(eg.len(), 1, "{:?}", codes(r));
        assert_eq!(eg[0]["severity"], "error");
        assert!(
            !r["not_checked"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["check"] == "network policies"),
            "every policy list was read: {}",
            r["not_checked"]
        );
    }

    // The fix's allow-DNS policy is accepted by the API server as written.
    let fix = with_code(&live, "dns-egress-blocked")[0]["fix"]
        .as_str()
        .unwrap()
        .to_owned();
    let yaml = fix
        .split("`echo '")
        .nth(1)
        .and_then(|s| s.split("' | kubectl apply -f -`").next())
        .unwrap();
    let r = c.kubectl_stdin(&["apply", "--dry-run=server", "-f", "-"], yaml);
    assert_eq!(r.code, 0, "{yaml}: {}", r.stderr);
    apply(c, yaml);
    let after = c.diagnose(
        &[
            "service-pay-v1",
            "-n",
            "default",
            "--from-namespace",
            &ns,
            "--no-probe",
        ],
        1,
    );
    assert!(
        with_code(&after, "dns-egress-blocked").is_empty(),
        "{:?}",
        codes(&after)
    );
    assert_eq!(with_code(&after, "egress-blocked").len(), 1);

    let r = c.kubectl(&["delete", "namespace", &ns, "--wait=false"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

pub const TESTS: &[Test] = &[(
    "policies_read_live_give_the_offline_findings",
    policies_read_live_give_the_offline_findings,
)];
