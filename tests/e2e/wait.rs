//! The CI gate against the live cluster: `--wait` (a fix mid-wait ends it,
//! expiry reports what still fails, a scan waits for every Service, a
//! forbidden watch degrades to re-reads), `--fail-on` on a degraded
//! Service, and `-o junit` of a probed Service. Each test works in a
//! namespace of its own (`gate-…`), deleted at the end.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cluster::*;
use crate::xsd::validate_junit;

/// An image the test cluster's kwok stages refuse to pull.
pub(crate) const BROKEN: &str = "registry.invalid/web:1";
/// Any other image "runs" (kwok pulls nothing).
pub(crate) const GOOD: &str = "registry.k8s.io/pause:3.10";

/// A namespace of this test's own, deleted when dropped.
pub(crate) struct Ns<'a> {
    c: &'a Cluster,
    pub(crate) name: String,
}

impl<'a> Ns<'a> {
    pub(crate) fn new(c: &'a Cluster, what: &str) -> Ns<'a> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("gate-{what}-{:x}", nanos ^ std::process::id());
        let r = c.kubectl(&["create", "namespace", &name]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        Ns { c, name }
    }

    /// A Deployment `name` (label app=`app`) running `image`.
    pub(crate) fn deployment(&self, name: &str, app: &str, image: &str, replicas: u32) {
        let y = format!(
            r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"{name}","namespace":"{ns}"}},
"spec":{{"replicas":{replicas},"selector":{{"matchLabels":{{"app":"{app}","deploy":"{name}"}}}},
"template":{{"metadata":{{"labels":{{"app":"{app}","deploy":"{name}"}}}},
"spec":{{"containers":[{{"name":"web","image":"{image}","ports":[{{"containerPort":8080,"name":"http"}}]}}]}}}}}}}}"#,
            ns = self.name
        );
        let r = self.c.kubectl_stdin(&["apply", "-f", "-"], &y);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }

    /// A Service `name` selecting app=`app`, port 80 to 8080.
    pub(crate) fn service(&self, name: &str, app: &str) {
        let y = format!(
            r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{name}","namespace":"{ns}"}},
"spec":{{"selector":{{"app":"{app}"}},"ports":[{{"name":"http","port":80,"targetPort":8080}}]}}}}"#,
            ns = self.name
        );
        let r = self.c.kubectl_stdin(&["apply", "-f", "-"], &y);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }

    pub(crate) fn set_image(&self, deployment: &str, image: &str) {
        let r = self.c.kubectl(&[
            "-n",
            &self.name,
            "set",
            "image",
            &format!("deployment/{deployment}"),
            &format!("web={image}"),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }

    /// Wait until a pod of the namespace reports `reason` (e.g. ErrImagePull).
    pub(crate) fn wait_for_reason(&self, reason: &str) {
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            let r = self
                .c
                .kubectl(&["-n", &self.name, "get", "pods", "-o", "json"]);
            if r.stdout.contains(reason) {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!("no pod in {} reached {reason}", self.name);
    }
}

impl Drop for Ns<'_> {
    fn drop(&mut self) {
        let _ = self
            .c
            .kubectl(&["delete", "namespace", &self.name, "--wait=false"]);
    }
}

/// Start kubectl-svcdiscover, stdout and stderr captured.
fn spawn(c: &Cluster, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kubectl-svcdiscover"))
        .args(args)
        .env("KUBECONFIG", &c.kubeconfig)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl-svcdiscover")
}

/// Wait for the child at most `secs`; kill it (and fail) past that.
pub(crate) fn finish(mut child: Child, secs: u64) -> Run {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            let mut err = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            let run = Run {
                code: status.code().unwrap_or(-1),
                stdout: out,
                stderr: err,
            };
            run.record();
            return run;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {secs}s; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn a_fix_mid_wait_ends_the_wait_long_before_the_deadline(c: &Cluster) {
    let ns = Ns::new(c, "wait-fix");
    ns.deployment("pay-fix", "pay-fix", BROKEN, 1);
    ns.service("pay-fix", "pay-fix");
    ns.wait_for_reason("ErrImagePull");
    // The default probe (a Job) runs once the prediction passes.
    let child = spawn(
        c,
        &["pay-fix", "-n", &ns.name, "--wait", "60s", "-o", "json"],
    );
    std::thread::sleep(Duration::from_secs(3));
    let fixed = Instant::now();
    ns.set_image("pay-fix", GOOD);
    let run = finish(child, 90);
    let took = fixed.elapsed();
    assert_eq!(
        run.code, 0,
        "stderr: {}\nstdout: {}",
        run.stderr, run.stdout
    );
    assert!(
        took < Duration::from_secs(40),
        "took {took:?} after the fix"
    );
    let r = run.json();
    assert_eq!(r["verdict"], "reachable", "{r:#}");
    assert!(!r["probe"].is_null(), "the probe ran: {r:#}");
    assert!(!run.stderr.contains("still failing"), "{}", run.stderr);
    // Nothing of the probe is left behind.
    let jobs = c.kubectl(&[
        "get",
        "jobs",
        "-n",
        &ns.name,
        "-l",
        "app.kubernetes.io/name=kubectl-svcdiscover",
        "-o",
        "name",
    ]);
    assert_eq!(jobs.stdout.trim(), "", "probe Jobs left: {}", jobs.stdout);
}

pub fn expiry_exits_1_with_the_last_report_and_what_still_fails(c: &Cluster) {
    let ns = Ns::new(c, "wait-expiry");
    ns.deployment("pay-expiry", "pay-expiry", BROKEN, 1);
    ns.service("pay-expiry", "pay-expiry");
    ns.wait_for_reason("ErrImagePull");
    let started = Instant::now();
    let run = finish(
        spawn(
            c,
            &["pay-expiry", "-n", &ns.name, "--wait", "5s", "-o", "json"],
        ),
        60,
    );
    let took = started.elapsed();
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    assert!(took >= Duration::from_secs(5), "{took:?}");
    let r = run.json();
    assert_eq!(r["verdict"], "unreachable", "{r:#}");
    let line = format!(
        "still failing after 5s: {}/pay-expiry: image-pull-failure",
        ns.name
    );
    assert!(
        run.stderr.lines().any(|l| l.starts_with(&line)),
        "want a line starting {line:?}; stderr: {}",
        run.stderr
    );
    // No progress line when stderr is not a terminal.
    assert!(!run.stderr.contains("waiting "), "{}", run.stderr);
}

pub fn a_scan_waits_for_every_service(c: &Cluster) {
    let ns = Ns::new(c, "wait-scan");
    ns.deployment("scan-good", "scan-good", GOOD, 1);
    ns.service("scan-good", "scan-good");
    ns.deployment("scan-bad", "scan-bad", BROKEN, 1);
    ns.service("scan-bad", "scan-bad");
    ns.wait_for_reason("ErrImagePull");
    let child = spawn(
        c,
        &["--all", "-n", &ns.name, "--wait", "60s", "-o", "junit"],
    );
    std::thread::sleep(Duration::from_secs(3));
    let fixed = Instant::now();
    ns.set_image("scan-bad", GOOD);
    let run = finish(child, 90);
    assert_eq!(
        run.code, 0,
        "stderr: {}\nstdout: {}",
        run.stderr, run.stdout
    );
    assert!(fixed.elapsed() < Duration::from_secs(40));
    validate_junit(&run.stdout);
    assert_eq!(
        run.stdout.matches("<testcase ").count(),
        2,
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("<failure"), "{}", run.stdout);
    // The same scan, never fixed, expires naming the failing Service only.
    let ns2 = Ns::new(c, "wait-scan2");
    ns2.deployment("scan-good", "scan-good", GOOD, 1);
    ns2.service("scan-good", "scan-good");
    ns2.deployment("scan-bad", "scan-bad", BROKEN, 1);
    ns2.service("scan-bad", "scan-bad");
    ns2.wait_for_reason("ErrImagePull");
    let run = finish(spawn(c, &["--all", "-n", &ns2.name, "--wait", "3s"]), 60);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let line = format!(
        "still failing after 3s: {}/scan-bad: image-pull-failure",
        ns2.name
    );
    assert!(run.stderr.contains(&line), "{line}: {}", run.stderr);
    assert!(!run.stderr.contains("/scan-good"), "{}", run.stderr);
}

/// A user who may list but not watch: the wait says so once and still
/// ends, by re-reading on its backoff.
pub fn a_forbidden_watch_falls_back_to_re_reads(c: &Cluster) {
    let ns = Ns::new(c, "wait-nowatch");
    let user = format!("{}-user", ns.name);
    let role = format!(
        r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{{"name":"{n}"}},
"rules":[{{"apiGroups":[""],"resources":["services","pods","endpoints","namespaces","events","configmaps"],"verbs":["get","list"]}},
{{"apiGroups":["discovery.k8s.io"],"resources":["endpointslices"],"verbs":["get","list"]}},
{{"apiGroups":["events.k8s.io"],"resources":["events"],"verbs":["get","list"]}},
{{"apiGroups":["apps"],"resources":["deployments","replicasets","statefulsets","daemonsets"],"verbs":["get","list"]}}]}}"#,
        n = ns.name
    );
    let binding = format!(
        r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{{"name":"{n}"}},
"roleRef":{{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"{n}"}},
"subjects":[{{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"{user}"}}]}}"#,
        n = ns.name
    );
    for y in [&role, &binding] {
        let r = c.kubectl_stdin(&["apply", "-f", "-"], y);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    struct Rbac<'a>(&'a Cluster, String);
    impl Drop for Rbac<'_> {
        fn drop(&mut self) {
            let _ = self.0.kubectl(&["delete", "clusterrolebinding", &self.1]);
            let _ = self.0.kubectl(&["delete", "clusterrole", &self.1]);
        }
    }
    let _rbac = Rbac(c, ns.name.clone());
    ns.deployment("pay-nowatch", "pay-nowatch", BROKEN, 1);
    ns.service("pay-nowatch", "pay-nowatch");
    ns.wait_for_reason("ErrImagePull");
    let child = spawn(
        c,
        &[
            "pay-nowatch",
            "-n",
            &ns.name,
            "--as",
            &user,
            "--no-probe",
            "--wait",
            "60s",
            "-o",
            "json",
        ],
    );
    std::thread::sleep(Duration::from_secs(3));
    ns.set_image("pay-nowatch", GOOD);
    let run = finish(child, 90);
    assert_eq!(
        run.code, 0,
        "stderr: {}\nstdout: {}",
        run.stderr, run.stdout
    );
    // The gate ends at the first re-read with no error finding; a re-read
    // that lands mid-rollout (the new pod ready, the old one still failing)
    // is `degraded`, which passes the gate as well.
    let r = run.json();
    assert!(
        r["verdict"] == "reachable" || r["verdict"] == "degraded",
        "{r:#}"
    );
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] != "error"),
        "{r:#}"
    );
    assert!(r["endpoints"]["ready"].as_u64().unwrap() >= 1, "{r:#}");
    assert!(
        run.stderr.contains(&format!(
            "warning: cannot watch pods in namespace {}",
            ns.name
        )),
        "{}",
        run.stderr
    );
}

/// `--fail-on` on a live degraded Service (one pod serving, one failing)
/// and an unreachable one.
pub fn fail_on_moves_the_exit_code_on_a_degraded_service(c: &Cluster) {
    let ns = Ns::new(c, "failon");
    ns.deployment("failon-good", "failon-web", GOOD, 1);
    ns.deployment("failon-bad", "failon-web", BROKEN, 1);
    ns.service("failon-web", "failon-web");
    ns.deployment("failon-down", "failon-down", BROKEN, 1);
    ns.service("failon-down", "failon-down");
    ns.wait_for_reason("ErrImagePull");
    // Until the good pod is ready and in the EndpointSlice.
    let until = Instant::now() + Duration::from_secs(30);
    let mut last = serde_json::Value::Null;
    while Instant::now() < until {
        let r = c.svcdiscover(&["failon-web", "-n", &ns.name, "--no-probe", "-o", "json"]);
        last = r.json();
        if last["verdict"] == "degraded" {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(last["verdict"], "degraded", "{last:#}");
    for (svc, fail_on, want) in [
        ("failon-web", "error", 0),
        ("failon-web", "warning", 1),
        ("failon-web", "never", 0),
        ("failon-down", "error", 1),
        ("failon-down", "warning", 1),
        ("failon-down", "never", 0),
    ] {
        let r = c.svcdiscover(&[svc, "-n", &ns.name, "--no-probe", "--fail-on", fail_on]);
        assert_eq!(r.code, want, "{svc} --fail-on {fail_on}: {}", r.stderr);
        let x = c.svcdiscover(&[
            svc,
            "-n",
            &ns.name,
            "--no-probe",
            "--fail-on",
            fail_on,
            "-o",
            "junit",
        ]);
        assert_eq!(x.code, want, "junit {svc} --fail-on {fail_on}");
        validate_junit(&x.stdout);
        assert_eq!(x.stdout.contains("<failure"), want == 1, "{}", x.stdout);
    }
}

/// `-o junit` of a probed Service: a test case per observed name form.
pub fn junit_of_a_probed_service_validates(c: &Cluster) {
    let r = c.svcdiscover(&[
        "service-pay-v1",
        "-n",
        "default",
        "--probe",
        "pod",
        "-o",
        "junit",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    validate_junit(&r.stdout);
    let forms = r.stdout.matches("name=\"service-pay-v1 name ").count();
    assert!(forms >= 4, "{}", r.stdout);
    assert!(r.stdout.contains("observed (probe-pod)"), "{}", r.stdout);
}

pub const TESTS: &[Test] = &[
    (
        "a_fix_mid_wait_ends_the_wait_long_before_the_deadline",
        a_fix_mid_wait_ends_the_wait_long_before_the_deadline,
    ),
    (
        "expiry_exits_1_with_the_last_report_and_what_still_fails",
        expiry_exits_1_with_the_last_report_and_what_still_fails,
    ),
    (
        "a_scan_waits_for_every_service",
        a_scan_waits_for_every_service,
    ),
    (
        "a_forbidden_watch_falls_back_to_re_reads",
        a_forbidden_watch_falls_back_to_re_reads,
    ),
    (
        "fail_on_moves_the_exit_code_on_a_degraded_service",
        fail_on_moves_the_exit_code_on_a_degraded_service,
    ),
    (
        "junit_of_a_probed_service_validates",
        junit_of_a_probed_service_validates,
    ),
];
