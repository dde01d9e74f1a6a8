//! A scan of every namespace by a user who may read only some of them:
//! the forbidden all-namespaces lists fall back to per-namespace lists.

use serde_json::Value;

use crate::cluster::*;

/// The namespaces the scan's `summary.not_checked` names, and how many it
/// counts (an entry for many namespaces names only the first few).
fn unread(scan: &Value) -> (Vec<String>, usize) {
    let mut named = Vec::new();
    let mut count = 0;
    for n in scan["summary"]["not_checked"].as_array().unwrap() {
        let check = n["check"].as_str().unwrap();
        if let Some(ns) = check.strip_prefix("Services of namespace ") {
            named.push(ns.to_owned());
            count += 1;
        } else if let Some(rest) = check.strip_prefix("Services of ") {
            let k: usize = rest.trim_end_matches(" namespaces").parse().unwrap();
            count += k;
            named.extend(
                n["reason"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("forbidden: list services in namespaces ")
                    .split(" and ")
                    .next()
                    .unwrap()
                    .split(", ")
                    .map(str::to_owned),
            );
        }
        assert!(n["needs"].as_str().unwrap().starts_with("RBAC: "), "{n}");
    }
    (named, count)
}

fn code_of(verdict: &Value) -> i32 {
    match verdict.as_str().unwrap() {
        "reachable" | "degraded" => 0,
        "unreachable" => 1,
        _ => 3,
    }
}

pub fn a_scan_of_every_namespace_reads_the_namespaces_it_may(c: &Cluster) {
    let r = c.svcdiscover(&["-A", "--as", "e2e-some-namespaces", "-o", "json"]);
    let scan = r.json();
    assert_eq!(scan["kind"], "Scan", "{}", r.stderr);
    let scanned: std::collections::BTreeSet<&str> = scan["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["service"]["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(
        scanned.into_iter().collect::<Vec<_>>(),
        ["default", "trouble"],
        "only the namespaces it may read"
    );
    // Its Services are those of the admin's scan of the same namespaces.
    for ns in ["default", "trouble"] {
        let admin = c.svcdiscover(&["--all", "-n", ns, "-o", "json"]).json();
        let names = |s: &Value| -> Vec<String> {
            let mut v: Vec<String> = s["reports"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["service"]["namespace"] == ns)
                .map(|x| x["service"]["name"].as_str().unwrap().to_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&scan), names(&admin), "{ns}");
    }
    // The namespaces it may not read are named, with the RBAC to grant.
    let (named, count) = unread(&scan);
    assert!(
        count >= 5,
        "client, kube-system, kube-node-lease, kube-public, restricted: {named:?}"
    );
    if count <= 5 {
        for ns in ["client", "kube-system", "restricted"] {
            assert!(named.iter().any(|n| n == ns), "{ns} in {named:?}");
        }
    }
    assert!(!named.iter().any(|n| n == "default" || n == "trouble"));
    // The exit code is the scanned verdicts' (the unread namespaces do not
    // make it unknown), and the verdict is the worst of them.
    assert_eq!(r.code, code_of(&scan["verdict"]), "{}", r.stderr);
    let worst = scan["reports"][0]["verdict"].clone();
    assert_eq!(scan["verdict"], worst);
    assert!(
        scan["verdict_reason"]
            .as_str()
            .unwrap()
            .contains("; not scanned: the Services of "),
        "{}",
        scan["verdict_reason"]
    );
}

pub fn a_user_who_may_read_nothing_gets_unknown(c: &Cluster) {
    // No binding at all: not even the namespaces can be listed, so only the
    // context's namespace is tried, and it is forbidden too.
    let r = c.svcdiscover(&["-A", "--as", "e2e-nobody", "-o", "json"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let scan = r.json();
    assert_eq!(scan["verdict"], "unknown");
    assert_eq!(scan["summary"]["services"], 0);
    let entries = scan["summary"]["not_checked"].as_array().unwrap();
    let everywhere = entries
        .iter()
        .find(|n| n["check"] == "Services of every namespace")
        .unwrap_or_else(|| panic!("{entries:?}"));
    assert!(
        everywhere["reason"]
            .as_str()
            .unwrap()
            .contains("no namespace could be read"),
        "{everywhere}"
    );
    assert!(
        entries
            .iter()
            .any(|n| n["check"] == "Services of namespace default"),
        "the context's namespace was tried: {entries:?}"
    );
}

/// The tests of this module, for the harness in main.rs.
pub const TESTS: &[Test] = &[
    (
        "a_scan_of_every_namespace_reads_the_namespaces_it_may",
        a_scan_of_every_namespace_reads_the_namespaces_it_may,
    ),
    (
        "a_user_who_may_read_nothing_gets_unknown",
        a_user_who_may_read_nothing_gets_unknown,
    ),
];
