//! Probing a scan against the real cluster: `--all -n NS` with `--probe
//! pod`, `--probe local` and `--from`, each scanned report compared with
//! the single-Service run with the same probe flags; one probe Job per
//! client namespace (counted in the audit log), one exec per resolver
//! view, one port-forward for `--probe local`, and no Job left.
//!
//! Scans of scenario namespaces only read them; the Jobs counted are the
//! run's own (its audit-log tag, its run label).

use serde_json::Value;

use crate::cluster::*;
use crate::probe::{Probed, cleaned, objects_of_run, probe_run, requests, uris};

/// Replaces, after each `prefix`, the `len` characters that `ok` accepts
/// with `with`.
fn mask(s: &str, prefix: &str, len: usize, ok: fn(char) -> bool, with: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(prefix) {
        out.push_str(&rest[..i + prefix.len()]);
        rest = &rest[i + prefix.len()..];
        if rest.len() >= len && rest[..len].chars().all(ok) {
            out.push_str(with);
            rest = &rest[len..];
        }
    }
    out.push_str(rest);
    out
}

/// What differs between a scanned report and its single run by
/// construction, masked: the run id (8 hex digits) in the probe Job's
/// name (`svcdiscover-probe-<run>`), the hypothetical namespace
/// (`svcdiscover-none-<run>`: search lists, candidates, notes) and the
/// wildcard label (`svcdiscover-absent-<run>`); and the random suffix the
/// Job controller gives the probe pod (`probe.clients[].pod`).
fn normalized(v: &Value) -> Value {
    let hex = |c: char| c.is_ascii_hexdigit();
    let mut s = v.to_string();
    for prefix in [
        "svcdiscover-probe-",
        "svcdiscover-none-",
        "svcdiscover-absent-",
    ] {
        s = mask(&s, prefix, 8, hex, "RUN");
    }
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    s = mask(&s, "svcdiscover-probe-RUN-", 5, alnum, "POD");
    serde_json::from_str(&s).unwrap()
}

fn exit_code(verdict: &Value) -> i32 {
    match verdict.as_str().unwrap() {
        "unreachable" => 1,
        "unknown" => 3,
        _ => 0,
    }
}

/// The scan, after checking its exit code against its verdict.
fn scanned(p: &Probed) -> &Value {
    assert_eq!(p.report["kind"], "Scan", "stderr: {}", p.stderr);
    p.expect_code(exit_code(&p.report["verdict"]))
}

/// Each report of `scan` equals the single-Service run with `flags`
/// (which makes `jobs` probe Jobs), modulo [`normalized`]; the findings
/// without the cluster-wide ones (in the scan's summary).
fn as_single_runs(c: &Cluster, scan: &Value, flags: &[&str], jobs: usize) {
    let cluster = scan["summary"]["cluster_findings"].as_array().unwrap();
    let reports = scan["reports"].as_array().unwrap();
    assert!(!reports.is_empty());
    for r in reports {
        let ns = r["service"]["namespace"].as_str().unwrap();
        let name = r["service"]["name"].as_str().unwrap();
        let mut args = vec![name, "-n", ns];
        args.extend_from_slice(flags);
        let one = probe_run(c, &args, None);
        let single = one.expect_code(exit_code(&r["verdict"])).clone();
        cleaned(c, &one, jobs);
        let (a, b) = (normalized(r), normalized(&single));
        for field in [
            "verdict",
            "verdict_reason",
            "service",
            "endpoints",
            "name_forms",
            "probe",
            "connections",
        ] {
            assert_eq!(a[field], b[field], "{ns}/{name} {flags:?}: {field}");
        }
        let single: Vec<&Value> = b["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| !cluster.contains(f))
            .collect();
        let scanned: Vec<&Value> = a["findings"].as_array().unwrap().iter().collect();
        assert_eq!(scanned, single, "{ns}/{name} {flags:?}: findings");
    }
}

/// Every name-form row of every report observed via `via`.
fn all_observed(scan: &Value, via: &str) {
    for r in scan["reports"].as_array().unwrap() {
        let rows = r["name_forms"].as_array().unwrap();
        assert!(!rows.is_empty(), "{}", r["service"]);
        for x in rows {
            assert_eq!(x["observed"]["via"], via, "{}: {x}", r["service"]);
        }
    }
}

/// Requests of the run on `subresource` (exec, portforward).
fn count(reqs: &[Value], subresource: &str) -> usize {
    reqs.iter()
        .filter(|e| e["objectRef"]["subresource"] == subresource)
        .count()
}

/// The run id of a pod-probe scan, from its first client's pod.
fn run_id(scan: &Value) -> String {
    let pod = scan["summary"]["probe"]["clients"][0]["pod"]
        .as_str()
        .unwrap();
    pod.strip_prefix("svcdiscover-probe-").unwrap()[..8].to_owned()
}

/// Nothing of the run is left in any namespace (Jobs and pods, by its
/// run label).
fn nothing_left(c: &Cluster, scan: &Value) {
    let id = run_id(scan);
    let sel = format!("svcdiscover.io/run={id}");
    let mut left = String::new();
    let gone = crate::probe::eventually(15, || {
        let r = c.kubectl(&["get", "jobs,pods", "-A", "-l", &sel, "-o", "name"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        left = r.stdout.trim().to_owned();
        left.is_empty()
    });
    assert!(gone, "left by run {id}: {left}");
}

pub fn a_namespace_scan_with_probe_pod_reports_each_service_as_its_single_run(c: &Cluster) {
    let p = probe_run(c, &["--all", "-n", "default", "--probe", "pod"], None);
    let scan = scanned(&p).clone();
    let probe = &scan["summary"]["probe"];
    assert_eq!(probe["mode"], "pod", "{probe}");
    assert_eq!(probe["cleanup"], "deleted", "{probe}");
    assert_eq!(probe["clients"].as_array().unwrap().len(), 1, "{probe}");
    assert_eq!(probe["clients"][0]["namespace"], "default");
    assert!(scan["reports"].as_array().unwrap().len() >= 5);
    all_observed(&scan, "probe-pod");
    // One Job, in the one client namespace; one exec per resolver view
    // (the namespace's own and the "any other namespace" one), whatever
    // the number of Services.
    let jobs = cleaned(c, &p, 1);
    assert_eq!(jobs[0].0, "default");
    let reqs = requests(c, &p.tag);
    assert_eq!(count(&reqs, "exec"), 2, "{:#?}", uris(&reqs));
    nothing_left(c, &scan);
    as_single_runs(c, &scan, &["--probe", "pod"], 1);
}

pub fn a_scan_makes_one_probe_job_per_client_namespace_and_leaves_none(c: &Cluster) {
    let flags = [
        "--probe",
        "pod",
        "--from-namespace",
        "client",
        "--from-namespace",
        "trouble",
    ];
    let mut args = vec!["--all", "-n", "default"];
    args.extend_from_slice(&flags);
    let p = probe_run(c, &args, None);
    let scan = scanned(&p).clone();
    let mut clients: Vec<&str> = scan["summary"]["probe"]["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["namespace"].as_str().unwrap())
        .collect();
    clients.sort_unstable();
    assert_eq!(clients, ["client", "trouble"]);
    all_observed(&scan, "probe-pod");
    for r in scan["reports"].as_array().unwrap() {
        let n = r["probe"]["clients"].as_array().unwrap().len();
        assert_eq!(n, 2, "{}: each report names its clients", r["service"]);
    }
    let mut jobs: Vec<String> = cleaned(c, &p, 2).into_iter().map(|(ns, _)| ns).collect();
    jobs.sort();
    assert_eq!(jobs, ["client", "trouble"], "one Job per client namespace");
    let reqs = requests(c, &p.tag);
    assert_eq!(
        count(&reqs, "exec"),
        2,
        "one per namespace: {:#?}",
        uris(&reqs)
    );
    nothing_left(c, &scan);
    for ns in ["client", "trouble"] {
        assert_eq!(objects_of_run(c, ns, &run_id(&scan)), "");
    }
    as_single_runs(c, &scan, &flags, 2);
}

pub fn a_scan_with_probe_local_asks_every_name_through_one_port_forward(c: &Cluster) {
    let p = probe_run(c, &["--all", "-n", "default", "--probe", "local"], None);
    let scan = scanned(&p).clone();
    assert_eq!(scan["summary"]["probe"]["mode"], "local");
    assert_eq!(scan["summary"]["probe"]["cleanup"], "none");
    all_observed(&scan, "local");
    let reqs = requests(c, &p.tag);
    assert_eq!(count(&reqs, "portforward"), 1, "{:#?}", uris(&reqs));
    cleaned(c, &p, 0);
    as_single_runs(c, &scan, &["--probe", "local"], 0);

    // Every namespace: still one port-forward, every row observed.
    let p = probe_run(c, &["-A", "--probe", "local"], None);
    let all = scanned(&p).clone();
    assert!(all["summary"]["namespace"].is_null());
    let namespaces: std::collections::BTreeSet<&str> = all["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service"]["namespace"].as_str().unwrap())
        .collect();
    for ns in ["default", "kube-system", "trouble"] {
        assert!(namespaces.contains(ns), "{namespaces:?}");
    }
    all_observed(&all, "local");
    let reqs = requests(c, &p.tag);
    assert_eq!(count(&reqs, "portforward"), 1, "{:#?}", uris(&reqs));
    cleaned(c, &p, 0);
}

pub fn a_scan_from_a_pod_runs_one_exec_into_it(c: &Cluster) {
    let flags = ["--from", "client/client"];
    let p = probe_run(
        c,
        &["--all", "-n", "default", "--from", "client/client"],
        None,
    );
    let scan = scanned(&p).clone();
    let probe = &scan["summary"]["probe"];
    assert_eq!(probe["mode"], "from", "{probe}");
    assert_eq!(probe["clients"][0]["namespace"], "client");
    assert_eq!(probe["clients"][0]["pod"], "client");
    all_observed(&scan, "exec");
    for r in scan["reports"].as_array().unwrap() {
        for x in r["name_forms"].as_array().unwrap() {
            assert_eq!(x["from_pod"], "client/client", "{x}");
        }
    }
    let reqs = requests(c, &p.tag);
    assert_eq!(count(&reqs, "exec"), 1, "{:#?}", uris(&reqs));
    cleaned(c, &p, 0);
    as_single_runs(c, &scan, &flags, 0);

    // -A needs the pod's namespace.
    let r = c.svcdiscover(&["-A", "--from", "client"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--from NAMESPACE/client"), "{}", r.stderr);
}

/// `(target, address:port, result)` of a report's connections.
fn connections_of(r: &Value) -> Vec<(String, String, String)> {
    r["connections"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no connections", r["service"]))
        .iter()
        .map(|c| {
            (
                c["target"].as_str().unwrap().to_owned(),
                format!("{}:{}", c["address"].as_str().unwrap(), c["port"]),
                c["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `--connect` in a scan: the one probe Job of `default` opens the
/// connections of every scanned Service (with the lookups: still one exec
/// per resolver view), and each Service's connections and findings are
/// those of its single `--connect` run; the same from a `--from` pod.
/// service-pay-v1's listening pod connects and its ClusterIP does not (no
/// kube-proxy): the split is found in the scan as alone.
pub fn a_scan_with_connect_reports_each_services_connections_as_its_single_run(c: &Cluster) {
    let listening = std::env::var("SVCDISCOVER_E2E_PAY_POD_IP").unwrap();
    let cluster_ip = c.cluster_ip("default", "service-pay-v1");
    for (flags, jobs, execs, via) in [
        (&["--probe", "pod", "--connect"][..], 1, 2, "probe-pod"),
        (&["--from", "client/client", "--connect"][..], 0, 1, "exec"),
    ] {
        let mut args = vec!["--all", "-n", "default"];
        args.extend_from_slice(flags);
        let p = probe_run(c, &args, None);
        let scan = scanned(&p).clone();
        all_observed(&scan, via);
        let reports = scan["reports"].as_array().unwrap();
        let pay = reports
            .iter()
            .find(|r| r["service"]["name"] == "service-pay-v1")
            .unwrap();
        let conns = connections_of(pay);
        assert!(
            conns.contains(&(
                "service".into(),
                format!("{cluster_ip}:80"),
                "timeout".into()
            )),
            "{flags:?}: {conns:?}"
        );
        assert!(
            conns.contains(&(
                "endpoint".into(),
                format!("{listening}:80"),
                "connected".into()
            )),
            "{flags:?}: {conns:?}"
        );
        assert!(
            pay["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["code"] == "service-proxy-not-routing"),
            "{flags:?}: {}",
            pay["findings"]
        );
        // Every report says what it connected to (an empty list when
        // nothing: no TCP port, or headless without ready endpoints).
        for r in reports {
            connections_of(r);
        }
        cleaned(c, &p, jobs);
        let reqs = requests(c, &p.tag);
        assert_eq!(count(&reqs, "exec"), execs, "{flags:?}: {:#?}", uris(&reqs));
        if jobs > 0 {
            nothing_left(c, &scan);
        }
        as_single_runs(c, &scan, flags, jobs);
    }
}

/// Two namespaces of this test's own, each with one Service labelled
/// `scanprobe-test=<tag>`: exec works in the first (a ClusterExec gives
/// it its search list), not in the second (no ClusterExec: `no exec found
/// for container`). Deleted when dropped.
struct TwoNamespaces<'a> {
    c: &'a Cluster,
    ok: String,
    broken: String,
    label: String,
}

impl Drop for TwoNamespaces<'_> {
    fn drop(&mut self) {
        let exec = format!("exec-{}", self.ok);
        let _ = self
            .c
            .kubectl(&["delete", "clusterexec", &exec, "--ignore-not-found"]);
        for ns in [&self.ok, &self.broken] {
            let _ = self.c.kubectl(&[
                "delete",
                "namespace",
                ns,
                "--ignore-not-found",
                "--wait=false",
            ]);
        }
    }
}

fn two_namespaces(c: &Cluster) -> TwoNamespaces<'_> {
    let id = std::process::id();
    let t = TwoNamespaces {
        c,
        ok: format!("scanprobe-ok-{id}"),
        broken: format!("scanprobe-noexec-{id}"),
        label: format!("scanprobe-test={id}"),
    };
    let mut m = String::new();
    for ns in [&t.ok, &t.broken] {
        m.push_str(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: {ns}\n  labels:\n    scanprobe-test: \"{id}\"\nspec:\n  clusterIP: None\n  selector:\n    app: web\n  ports:\n  - port: 80\n---\n"
        ));
    }
    m.push_str(&format!(
        "apiVersion: kwok.x-k8s.io/v1alpha1\nkind: ClusterExec\nmetadata:\n  name: exec-{ns}\nspec:\n  selector:\n    matchNamespaces: [{ns}]\n  execs:\n  - local:\n      workDir: /tmp\n      envs:\n      - {{name: LOCALDOMAIN, value: \"{ns}.svc.cluster.local svc.cluster.local cluster.local\"}}\n      - {{name: RES_OPTIONS, value: \"ndots:5\"}}\n",
        ns = t.ok
    ));
    let r = c.kubectl_stdin(&["apply", "-f", "-"], &m);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The ServiceAccount admission plugin rejects pods until `default` exists.
    for ns in [&t.ok, &t.broken] {
        let sa = crate::probe::eventually(30, || {
            c.kubectl(&["get", "serviceaccount", "default", "-n", ns])
                .code
                == 0
        });
        assert!(sa, "ServiceAccount default in {ns}");
    }
    t
}

pub fn a_probe_that_fails_in_one_namespace_leaves_the_others_observed(c: &Cluster) {
    let t = two_namespaces(c);
    let p = probe_run(c, &["-A", "-l", &t.label, "--probe", "pod"], None);
    // The worst verdict: unreachable (the Service with no endpoint), over
    // unknown (the one not observed).
    assert_eq!(p.code, 1, "stderr: {}", p.stderr);
    let scan = p.report.clone();
    assert_eq!(scan["summary"]["services"], 2, "{scan}");
    let report = |ns: &str| {
        scan["reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service"]["namespace"] == ns)
            .unwrap_or_else(|| panic!("no report for {ns}"))
            .clone()
    };
    // Where exec works: observed, no probe finding, the prediction holds
    // (no ready endpoint: unreachable).
    let ok = report(&t.ok);
    assert_eq!(ok["verdict"], "unreachable", "{}", ok["verdict_reason"]);
    assert!(
        codes(&ok).iter().all(|c| !c.starts_with("probe-")),
        "{:?}",
        codes(&ok)
    );
    for x in ok["name_forms"].as_array().unwrap() {
        assert_eq!(x["observed"]["via"], "probe-pod", "{x}");
    }
    let clients: Vec<&Value> = ok["probe"]["clients"].as_array().unwrap().iter().collect();
    assert_eq!(clients.len(), 1);
    assert_eq!(clients[0]["namespace"], t.ok.as_str());
    // Where it does not: the probe was asked for, nothing observed there:
    // probe-not-run, unknown.
    let broken = report(&t.broken);
    assert_eq!(broken["verdict"], "unknown", "{}", broken["verdict_reason"]);
    assert!(
        codes(&broken).iter().any(|c| c == "probe-not-run"),
        "{:?}",
        codes(&broken)
    );
    assert!(
        broken["name_forms"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["observed"].is_null())
    );
    assert_eq!(scan["verdict"], "unreachable");
    assert_eq!(scan["summary"]["by_verdict"]["unknown"], 1);
    // One Job in each namespace, both deleted.
    let mut jobs: Vec<String> = cleaned(c, &p, 2).into_iter().map(|(ns, _)| ns).collect();
    jobs.sort();
    let mut want = vec![t.ok.clone(), t.broken.clone()];
    want.sort();
    assert_eq!(jobs, want);
    nothing_left(c, &scan);
}

/// A `--from` pod that does not exist: it is read alone (outside the
/// namespaces read), its absence named, and nothing observed is unknown, for
/// one Service and for every Service of a scan.
pub fn a_from_pod_that_cannot_be_read_leaves_the_verdict_unknown(c: &Cluster) {
    let want = "cannot read pod client/no-such-pod: no pod no-such-pod in namespace client";
    let one = c.diagnose(
        &[
            "service-pay-v1",
            "-n",
            "default",
            "--from",
            "client/no-such-pod",
        ],
        3,
    );
    assert_eq!(one["verdict"], "unknown");
    let f = &one["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "probe-not-run")
        .unwrap_or_else(|| panic!("{}", one["findings"]))["message"];
    assert!(f.as_str().unwrap().contains(want), "{f}");
    let scan = c.diagnose(
        &["--all", "-n", "default", "--from", "client/no-such-pod"],
        3,
    );
    assert_eq!(scan["verdict"], "unknown");
    for r in scan["reports"].as_array().unwrap() {
        assert_eq!(r["verdict"], "unknown", "{}", r["service"]["name"]);
        assert!(
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["code"] == "probe-not-run"
                    && f["message"].as_str().unwrap().contains(want)),
            "{}",
            r["findings"]
        );
    }
}

/// The tests of this module, for the harness in main.rs.
pub const TESTS: &[Test] = &[
    (
        "a_namespace_scan_with_probe_pod_reports_each_service_as_its_single_run",
        a_namespace_scan_with_probe_pod_reports_each_service_as_its_single_run,
    ),
    (
        "a_scan_makes_one_probe_job_per_client_namespace_and_leaves_none",
        a_scan_makes_one_probe_job_per_client_namespace_and_leaves_none,
    ),
    (
        "a_scan_with_probe_local_asks_every_name_through_one_port_forward",
        a_scan_with_probe_local_asks_every_name_through_one_port_forward,
    ),
    (
        "a_scan_from_a_pod_runs_one_exec_into_it",
        a_scan_from_a_pod_runs_one_exec_into_it,
    ),
    (
        "a_scan_with_connect_reports_each_services_connections_as_its_single_run",
        a_scan_with_connect_reports_each_services_connections_as_its_single_run,
    ),
    (
        "a_probe_that_fails_in_one_namespace_leaves_the_others_observed",
        a_probe_that_fails_in_one_namespace_leaves_the_others_observed,
    ),
    (
        "a_from_pod_that_cannot_be_read_leaves_the_verdict_unknown",
        a_from_pod_that_cannot_be_read_leaves_the_verdict_unknown,
    ),
];
