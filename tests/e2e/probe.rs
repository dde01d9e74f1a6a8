//! The in-cluster DNS probe against the real cluster: every mode (a probe
//! Job per client namespace, `--from` by exec and by ephemeral container,
//! `--probe local`), its failures (image pull, RBAC, Pod Security, CoreDNS
//! stopped), and its cleanup (normal exit, `--keep-probe`, Ctrl-C, kill -9
//! and the sweep of a later run).
//!
//! Each run impersonates an identity carrying a group of its own
//! (`--as-group e2e-probe-run-…`), so the audit log tells exactly which
//! requests that run made and which Jobs it created. After each run every
//! Job it created, and that Job's pods, must be gone: the Job at once, its
//! pods within 15 s (a Background delete leaves them to the garbage
//! collector).
//!
//! Tests that stop CoreDNS (SIGSTOP of the host process, resumed by a guard)
//! are listed in [`PAUSES_DNS`]: while DNS is stopped no other e2e test runs
//! (`cluster::DNS`).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::cluster::*;

/// The labels of every probe Job and its pod.
const SELECTOR: &str =
    "app.kubernetes.io/name=kubectl-svcdiscover,app.kubernetes.io/component=probe";
const JOB_PREFIX: &str = "svcdiscover-probe-";
const RUN_LABEL: &str = "svcdiscover.io/run";
const EXPIRES: &str = "svcdiscover.io/expires-at";

/// The tests that stop CoreDNS (main.rs runs them with no other test).
pub const PAUSES_DNS: &[&str] = &[
    "coredns_stopped_the_probe_pod_times_out",
    "coredns_stopped_lookups_time_out_and_dns_mismatch_names_it",
    "ctrl_c_deletes_the_probe_job_and_exits_130",
    "ctrl_c_during_wait_deletes_the_probe_job_and_exits_130",
    "keep_probe_with_wait_names_every_kept_job",
    "kill_9_leaves_a_job_with_a_deadline_that_a_later_run_sweeps",
];

// ---------------------------------------------------------------------------
// Runs, told apart in the audit log.

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// A group name no other run uses.
fn new_tag() -> String {
    format!(
        "e2e-probe-run-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    )
}

/// `args` run as `user` (None: an administrator, group system:masters),
/// tagged with the group `tag`, in JSON.
fn args_for(args: &[&str], user: Option<&str>, tag: &str) -> Vec<String> {
    let mut a: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    match user {
        Some(u) => a.extend(["--as".to_owned(), u.to_owned()]),
        None => {
            a.extend(["--as", "e2e-probe-admin", "--as-group", "system:masters"].map(str::to_owned))
        }
    }
    a.extend(["--as-group", tag, "-o", "json"].map(str::to_owned));
    a
}

/// One finished run.
pub(crate) struct Probed {
    pub(crate) report: Value,
    pub(crate) stderr: String,
    pub(crate) code: i32,
    pub(crate) tag: String,
}

impl Probed {
    /// The report, after checking the exit code.
    pub(crate) fn expect_code(&self, code: i32) -> &Value {
        assert_eq!(
            self.code,
            code,
            "exit code; findings {:?}; stderr: {}",
            codes(&self.report),
            self.stderr
        );
        &self.report
    }
}

pub(crate) fn probe_run(c: &Cluster, args: &[&str], user: Option<&str>) -> Probed {
    let tag = new_tag();
    let a = args_for(args, user, &tag);
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    let r = c.svcdiscover(&refs);
    Probed {
        report: r.json(),
        stderr: r.stderr,
        code: r.code,
        tag,
    }
}

/// The run in the background (for signals).
fn spawn(c: &Cluster, args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kubectl-svcdiscover"))
        .args(args)
        .env("KUBECONFIG", &c.kubeconfig)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kubectl-svcdiscover")
}

/// Waits at most `secs` for the child to end.
fn wait_exit(mut child: Child, secs: u64) -> Output {
    let until = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= until {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the run did not end within {secs} s; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

fn now_unix() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

// ---------------------------------------------------------------------------
// The audit log.

/// The audit events at `stage` of the run tagged `tag`, in log order.
fn events(c: &Cluster, tag: &str, stage: &str) -> Vec<Value> {
    let log = std::fs::read_to_string(&c.audit_log).unwrap();
    log.lines()
        .filter(|l| l.contains(tag))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| {
            e["stage"] == stage
                && e["impersonatedUser"]["groups"]
                    .as_array()
                    .is_some_and(|g| g.iter().any(|x| x == tag))
        })
        .collect()
}

/// The completed requests of a finished run, once the log has stopped
/// growing for them.
pub(crate) fn requests(c: &Cluster, tag: &str) -> Vec<Value> {
    let mut last = events(c, tag, "ResponseComplete");
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(250));
        let now = events(c, tag, "ResponseComplete");
        if !now.is_empty() && now.len() == last.len() {
            return now;
        }
        last = now;
    }
    last
}

pub(crate) fn uris(reqs: &[Value]) -> Vec<String> {
    reqs.iter()
        .map(|e| {
            format!(
                "{} {}",
                e["verb"].as_str().unwrap(),
                e["requestURI"].as_str().unwrap()
            )
        })
        .collect()
}

/// (namespace, name) of each Job the requests created.
pub(crate) fn jobs_created(reqs: &[Value]) -> Vec<(String, String)> {
    reqs.iter()
        .filter(|e| {
            e["verb"] == "create"
                && e["objectRef"]["resource"] == "jobs"
                && e["responseStatus"]["code"] == 201
        })
        .map(|e| {
            (
                e["objectRef"]["namespace"].as_str().unwrap().to_owned(),
                e["objectRef"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Whether the requests deleted Job `ns/job`.
fn deleted_job(reqs: &[Value], ns: &str, job: &str) -> bool {
    reqs.iter().any(|e| {
        e["verb"] == "delete"
            && e["objectRef"]["resource"] == "jobs"
            && e["objectRef"]["namespace"] == ns
            && e["objectRef"]["name"] == job
            && e["responseStatus"]["code"] == 200
    })
}

fn run_id(job: &str) -> &str {
    job.strip_prefix(JOB_PREFIX)
        .unwrap_or_else(|| panic!("probe Job named {job}, not {JOB_PREFIX}<run>"))
}

// ---------------------------------------------------------------------------
// Cleanup checks.

/// Polls `f` every 300 ms until it holds, at most `secs`; whether it held.
pub(crate) fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The Jobs and pods of probe run `id` in `ns`, by label.
pub(crate) fn objects_of_run(c: &Cluster, ns: &str, id: &str) -> String {
    let sel = format!("{SELECTOR},{RUN_LABEL}={id}");
    let r = c.kubectl(&["get", "jobs,pods", "-n", ns, "-l", &sel, "-o", "name"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.trim().to_owned()
}

/// Job `ns/job` and its pods are gone (the pods within 15 s).
fn assert_gone(c: &Cluster, ns: &str, job: &str) {
    let id = run_id(job);
    let mut left = String::new();
    let gone = eventually(15, || {
        left = objects_of_run(c, ns, id);
        left.is_empty()
    });
    assert!(gone, "probe objects of run {id} still in {ns}: {left}");
}

/// The Jobs the run created (exactly `jobs` of them), each checked gone.
pub(crate) fn cleaned(c: &Cluster, p: &Probed, jobs: usize) -> Vec<(String, String)> {
    let created = jobs_created(&requests(c, &p.tag));
    assert_eq!(created.len(), jobs, "probe Jobs created: {created:?}");
    for (ns, job) in &created {
        assert_gone(c, ns, job);
    }
    created
}

/// Runs `kubectl ARGS` when dropped (also when the test panics).
struct OnDrop<'a> {
    c: &'a Cluster,
    args: Vec<String>,
}

impl Drop for OnDrop<'_> {
    fn drop(&mut self) {
        let a: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let _ = self.c.kubectl(&a);
    }
}

/// A namespace of a test's own with the ClusterExec that lets exec run in
/// it (its kubelet-style search list, manifests/kwok-exec.yaml); both are
/// deleted when dropped.
struct OwnNamespace<'a> {
    name: &'static str,
    _cleanup: OnDrop<'a>,
    _exec: OnDrop<'a>,
}

impl<'a> OwnNamespace<'a> {
    fn create(c: &'a Cluster, name: &'static str) -> OwnNamespace<'a> {
        // One left by an interrupted run must be gone first.
        let r = c.kubectl(&[
            "delete",
            "namespace",
            name,
            "--ignore-not-found",
            "--timeout=90s",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let r = c.kubectl(&["create", "namespace", name]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let ns = OwnNamespace {
            name,
            _exec: OnDrop {
                c,
                args: [
                    "delete",
                    "clusterexec",
                    &format!("exec-{name}"),
                    "--ignore-not-found",
                ]
                .map(str::to_owned)
                .to_vec(),
            },
            _cleanup: OnDrop {
                c,
                args: [
                    "delete",
                    "namespace",
                    name,
                    "--ignore-not-found",
                    "--wait=false",
                ]
                .map(str::to_owned)
                .to_vec(),
            },
        };
        let exec = format!(
            "apiVersion: kwok.x-k8s.io/v1alpha1\nkind: ClusterExec\nmetadata:\n  name: exec-{name}\nspec:\n  selector:\n    matchNamespaces: [{name}]\n  execs:\n  - local:\n      workDir: /tmp\n      envs:\n      - {{name: LOCALDOMAIN, value: \"{name}.svc.cluster.local svc.cluster.local cluster.local\"}}\n      - {{name: RES_OPTIONS, value: \"ndots:5\"}}\n"
        );
        let r = c.kubectl_stdin(&["apply", "-f", "-"], &exec);
        assert_eq!(r.code, 0, "{}", r.stderr);
        // The ServiceAccount admission plugin rejects pods until `default` exists.
        let sa = eventually(30, || {
            c.kubectl(&["get", "serviceaccount", "default", "-n", name])
                .code
                == 0
        });
        assert!(sa, "ServiceAccount default in {name}");
        ns
    }
}

// ---------------------------------------------------------------------------
// CoreDNS stopped.

/// CoreDNS (a host process) stopped with SIGSTOP while this lives, resumed
/// with SIGCONT when dropped, also when the test panics. A watchdog process
/// resumes it after `max` should the test process die first. Holds
/// `cluster::DNS` for writing: no other test runs meanwhile.
struct CorednsStopped {
    pid: String,
    watchdog: Child,
    _alone: std::sync::RwLockWriteGuard<'static, ()>,
}

impl CorednsStopped {
    fn new(max: Duration) -> CorednsStopped {
        let alone = DNS.write().unwrap_or_else(|e| e.into_inner());
        let state = std::env::var("SVCDISCOVER_E2E_STATE")
            .expect("SVCDISCOVER_E2E_STATE (tests/run sets it): where CoreDNS's pid file is");
        let file = format!("{state}/pids/coredns.pid");
        let pid = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .trim()
            .to_owned();
        assert!(
            !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()),
            "{file}: {pid}"
        );
        // In a process group of its own, so that its `sleep` goes with it.
        let watchdog = Command::new("sh")
            .process_group(0)
            .args(["-c", &format!("sleep {}; kill -CONT {pid}", max.as_secs())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stopped = CorednsStopped {
            pid,
            watchdog,
            _alone: alone,
        };
        let s = Command::new("kill")
            .args(["-STOP", &stopped.pid])
            .status()
            .unwrap();
        assert!(s.success(), "kill -STOP {}", stopped.pid);
        // The signal is delivered asynchronously.
        let mut state = String::new();
        let is_stopped = eventually(5, || {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", stopped.pid)).unwrap();
            state = stat.rsplit(") ").next().unwrap_or_default().to_owned();
            state.starts_with('T')
        });
        assert!(is_stopped, "CoreDNS is not stopped: {state}");
        stopped
    }
}

impl Drop for CorednsStopped {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.pid]).status();
        let group = format!("-{}", self.watchdog.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.watchdog.wait();
    }
}

/// Waits (30 s at most) until the background run tagged `tag` has its
/// probe's exec running; returns the Job it created.
fn job_once_exec_runs(c: &Cluster, tag: &str, child: &mut Child) -> (String, String) {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("the run ended ({status}) before its exec ran; stderr: {err}");
        }
        let started = events(c, tag, "ResponseStarted");
        if started
            .iter()
            .any(|e| e["objectRef"]["subresource"] == "exec")
        {
            let jobs = jobs_created(&events(c, tag, "ResponseComplete"));
            assert_eq!(jobs.len(), 1, "{jobs:?}");
            return jobs.into_iter().next().unwrap();
        }
        assert!(Instant::now() < until, "no exec of the probe within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------
// The report.

fn rows(r: &Value) -> &[Value] {
    r["name_forms"].as_array().unwrap()
}

fn row<'a>(r: &'a Value, name: &str, from: Option<&str>) -> &'a Value {
    rows(r)
        .iter()
        .find(|x| x["name"] == name && x["from_namespace"].as_str() == from)
        .unwrap_or_else(|| panic!("no row {name} from {from:?}"))
}

fn observed(row: &Value) -> &Value {
    let o = &row["observed"];
    assert!(o.is_object(), "row not observed: {row}");
    o
}

fn strings(v: &Value) -> Vec<String> {
    let mut s: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect();
    s.sort();
    s
}

fn rcodes(o: &Value) -> Vec<&str> {
    o["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rcode"].as_str().unwrap())
        .collect()
}

fn no_mismatch(r: &Value) {
    let m = with_code(r, "dns-mismatch");
    assert!(m.is_empty(), "{m:?}");
}

/// Every row observed via `via`, with the outcome and addresses predicted.
fn observed_as_predicted(r: &Value, via: &str) {
    assert!(!rows(r).is_empty(), "no name-form rows");
    for x in rows(r) {
        let o = observed(x);
        assert_eq!(o["via"], via, "{x}");
        let resolved = o["status"] == "resolved";
        assert_eq!(Some(resolved), x["expected_resolves"].as_bool(), "{x}");
        if resolved {
            assert_eq!(
                strings(&o["addresses"]),
                strings(&x["expected_addresses"]),
                "{x}"
            );
        } else {
            assert!(o["addresses"].as_array().unwrap().is_empty(), "{x}");
        }
    }
    no_mismatch(r);
}

/// The one probe client, after checking its namespace and how it ran.
fn only_client<'a>(r: &'a Value, namespace: &str, via: &str) -> &'a Value {
    let clients = r["probe"]["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 1, "{clients:?}");
    assert_eq!(clients[0]["namespace"], namespace, "{clients:?}");
    assert_eq!(clients[0]["via"], via, "{clients:?}");
    &clients[0]
}

// ---------------------------------------------------------------------------
// The tests.

pub fn default_probe_observes_every_row_from_the_service_namespace_and_another(c: &Cluster) {
    let ip = c.cluster_ip("default", "service-pay-v1");

    // No flag: the Service's namespace and the hypothetical other one.
    let p = probe_run(c, &["service-pay-v1", "-n", "default"], None);
    let r = p.expect_code(0);
    assert_eq!(r["verdict"], "reachable");
    assert_eq!(r["probe"]["mode"], "pod");
    assert_eq!(r["probe"]["cleanup"], "deleted");
    let client = only_client(r, "default", "probe-pod");
    observed_as_predicted(r, "probe-pod");
    let short = observed(row(r, "service-pay-v1", Some("default")));
    assert_eq!(short["status"], "resolved");
    assert_eq!(strings(&short["addresses"]), std::slice::from_ref(&ip));
    assert_eq!(
        short["answered_by"],
        "service-pay-v1.default.svc.cluster.local."
    );
    // The rows for "any other namespace" are observed from the probe in
    // `default` under that namespace's search list.
    let other: Vec<&Value> = rows(r)
        .iter()
        .filter(|x| x["from_namespace"].is_null())
        .collect();
    assert_eq!(other.len(), 4, "one row per name form");
    for x in &other {
        let o = observed(x);
        assert!(
            o["notes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n.as_str().unwrap().contains("LOCALDOMAIN")),
            "{x}"
        );
        let first = o["resolver"]["search"][0].as_str().unwrap();
        assert!(first.starts_with("svcdiscover-none-"), "{first}");
    }
    let other_short = observed(row(r, "service-pay-v1", None));
    assert_eq!(other_short["status"], "nxdomain");
    let jobs = cleaned(c, &p, 1);
    assert_eq!(jobs[0].0, "default");
    assert!(
        client["pod"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}-", jobs[0].1)),
        "the Job's pod: {client}"
    );

    // --from-namespace client: the client's rows only, from a Job there.
    let p = probe_run(
        c,
        &[
            "service-pay-v1",
            "-n",
            "default",
            "--from-namespace",
            "client",
        ],
        None,
    );
    let r = p.expect_code(0);
    only_client(r, "client", "probe-pod");
    assert!(rows(r).iter().all(|x| x["from_namespace"] == "client"));
    observed_as_predicted(r, "probe-pod");
    let short = observed(row(r, "service-pay-v1", Some("client")));
    assert_eq!(short["status"], "nxdomain");
    assert_eq!(rcodes(short), ["NXDOMAIN"; 4], "{short}");
    let dotted = observed(row(r, "service-pay-v1.default", Some("client")));
    assert_eq!(dotted["status"], "resolved");
    assert_eq!(strings(&dotted["addresses"]), [ip]);
    assert_eq!(r["probe"]["cleanup"], "deleted");
    let jobs = cleaned(c, &p, 1);
    assert_eq!(jobs[0].0, "client");
}

const HEADLESS: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: unready
  namespace: e2e-probe-headless
  labels:
    app: unready
    svcdiscover.test/stage: not-ready
spec:
  containers:
  - name: app
    image: registry.example/web:v1
    ports:
    - name: http
      containerPort: 8080
    readinessProbe:
      httpGet:
        path: /ready
        port: http
---
apiVersion: v1
kind: Service
metadata:
  name: unready-headless
  namespace: e2e-probe-headless
spec:
  clusterIP: None
  selector:
    app: unready
  ports:
  - port: 80
    targetPort: http
---
apiVersion: v1
kind: Service
metadata:
  name: unready-published
  namespace: e2e-probe-headless
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    app: unready
  ports:
  - port: 80
    targetPort: http
---
apiVersion: v1
kind: Service
metadata:
  name: pay-alias
  namespace: e2e-probe-headless
spec:
  type: ExternalName
  externalName: service-pay-v1.default.svc.cluster.local
"#;

pub fn headless_and_external_name_services_are_observed_as_coredns_serves_them(c: &Cluster) {
    // Headless with ready endpoints: the ready pods' IPs.
    let r = c.kubectl(&[
        "get",
        "endpointslices",
        "-n",
        "default",
        "-l",
        "kubernetes.io/service-name=pay-headless",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let slices: Value = serde_json::from_str(&r.stdout).unwrap();
    let mut ready: Vec<String> = slices["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["endpoints"].as_array().unwrap().iter())
        .filter(|e| e["conditions"]["ready"] == true)
        .map(|e| e["addresses"][0].as_str().unwrap().to_owned())
        .collect();
    ready.sort();
    assert!(!ready.is_empty(), "pay-headless has ready endpoints");
    let p = probe_run(c, &["pay-headless", "-n", "default"], None);
    let r = p.expect_code(0);
    observed_as_predicted(r, "probe-pod");
    for x in rows(r).iter().filter(|x| x["from_namespace"] == "default") {
        assert_eq!(strings(&observed(x)["addresses"]), ready, "{x}");
    }
    cleaned(c, &p, 1);

    let ns = OwnNamespace::create(c, "e2e-probe-headless");
    let r = c.kubectl_stdin(&["apply", "-f", "-"], HEADLESS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut pod_ip = String::new();
    let listed = eventually(60, || {
        let r = c.kubectl(&[
            "get",
            "endpointslices",
            "-n",
            ns.name,
            "-l",
            "kubernetes.io/service-name=unready-headless",
            "-o",
            "jsonpath={range .items[*].endpoints[*]}{.addresses[0]} {.conditions.ready}{end}",
        ]);
        match r.stdout.trim().split_once(' ') {
            Some((ip, ready)) => {
                assert_eq!(ready, "false", "the pod is not ready");
                pod_ip = ip.to_owned();
                true
            }
            None => false,
        }
    });
    assert!(listed, "the unready pod's endpoint");

    // Control: the same pod through publishNotReadyAddresses resolves, so
    // CoreDNS serves the namespace (kwok may need a moment for the exec).
    let mut published = None;
    let served = eventually(30, || {
        let p = probe_run(c, &["unready-published", "-n", ns.name], None);
        let ok = p.code == 0
            && row(&p.report, "unready-published", Some(ns.name))["observed"]["status"]
                == "resolved";
        cleaned(c, &p, 1);
        if ok {
            published = Some(p);
        }
        ok
    });
    assert!(served, "CoreDNS never served unready-published");
    let published = published.unwrap();
    observed_as_predicted(&published.report, "probe-pod");
    let o = observed(row(&published.report, "unready-published", Some(ns.name)));
    assert_eq!(strings(&o["addresses"]), [pod_ip]);

    // Without ready endpoints: NXDOMAIN for every candidate, as predicted.
    let p = probe_run(c, &["unready-headless", "-n", ns.name], None);
    let r = p.expect_code(1);
    observed_as_predicted(r, "probe-pod");
    for x in rows(r).iter().filter(|x| x["from_namespace"] == ns.name) {
        assert_eq!(x["expected_resolves"], false, "{x}");
        let o = observed(x);
        assert_eq!(o["status"], "nxdomain", "{x}");
        let rc = rcodes(o);
        assert!(!rc.is_empty() && rc.iter().all(|r| *r == "NXDOMAIN"), "{x}");
    }
    cleaned(c, &p, 1);

    // ExternalName: the CNAME is followed to the target's ClusterIP.
    let ip = c.cluster_ip("default", "service-pay-v1");
    let p = probe_run(c, &["pay-alias", "-n", ns.name], None);
    let r = p.expect_code(0);
    observed_as_predicted(r, "probe-pod");
    for x in rows(r).iter().filter(|x| x["from_namespace"] == ns.name) {
        let o = observed(x);
        assert_eq!(o["status"], "resolved", "{x}");
        assert_eq!(strings(&o["addresses"]), std::slice::from_ref(&ip), "{x}");
    }
    cleaned(c, &p, 1);
}

pub fn coredns_stopped_the_probe_pod_times_out(c: &Cluster) {
    let p = {
        let _stopped = CorednsStopped::new(Duration::from_secs(60));
        probe_run(
            c,
            &[
                "service-pay-v1",
                "-n",
                "default",
                "--probe",
                "pod",
                "--probe-timeout",
                "30s",
            ],
            None,
        )
    };
    // The probe bounds getent (timeout:2 attempts:1) and dig (2 s, one
    // try); its two execs run side by side and are cut at the deadline,
    // keeping the names they finished (since one dig asks every name of an
    // exec, they may all finish within it): those come back as timeouts,
    // and dns-mismatch says why.
    let r = p.expect_code(1);
    assert_eq!(r["verdict"], "unreachable");
    let seen: Vec<&Value> = rows(r)
        .iter()
        .filter(|x| !x["observed"].is_null())
        .collect();
    assert!(!seen.is_empty(), "some row observed before the deadline");
    let cut_short = seen.len() < rows(r).len();
    for x in seen.iter().filter(|_| cut_short) {
        assert!(
            observed(x)["notes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n.as_str().unwrap().contains("probe timeout ran out")),
            "{x}"
        );
    }
    for x in &seen {
        let o = observed(x);
        assert_eq!(o["status"], "timeout", "{x}");
        assert!(
            o["candidates"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["rcode"] == "TIMEOUT"),
            "{x}"
        );
    }
    let f = with_code(r, "dns-mismatch");
    assert!(!f.is_empty(), "{:?}", codes(r));
    for m in &f {
        let msg = m["message"].as_str().unwrap();
        assert!(msg.contains("observed timeout"), "{msg}");
        assert!(msg.contains("CoreDNS is down"), "{msg}");
    }
    assert!(with_code(r, "probe-timeout").is_empty(), "{:?}", codes(r));
    assert_eq!(r["probe"]["cleanup"], "deleted");
    cleaned(c, &p, 1);
}

const SHORT_TIMEOUTS: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: short-timeouts
  namespace: e2e-probe-dnsdown
spec:
  dnsConfig:
    options:
    - {name: timeout, value: "1"}
    - {name: attempts, value: "1"}
  containers:
  - name: app
    image: registry.example/toolbox:v1
    command: ["sleep", "infinity"]
---
# What kubelet writes into its resolv.conf, as exec sees it (see
# scenarios/probe.yaml for dns-custom).
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Exec
metadata:
  name: short-timeouts
  namespace: e2e-probe-dnsdown
spec:
  execs:
  - local:
      workDir: /tmp
      envs:
      - {name: LOCALDOMAIN, value: "e2e-probe-dnsdown.svc.cluster.local svc.cluster.local cluster.local"}
      - {name: RES_OPTIONS, value: "ndots:5 timeout:1 attempts:1"}
"#;

pub fn coredns_stopped_lookups_time_out_and_dns_mismatch_names_it(c: &Cluster) {
    let ns = OwnNamespace::create(c, "e2e-probe-dnsdown");
    let r = c.kubectl_stdin(&["apply", "-f", "-"], SHORT_TIMEOUTS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = c.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/short-timeouts",
        "-n",
        ns.name,
        "--timeout=60s",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let from = format!("{}/short-timeouts", ns.name);
    let args = [
        "service-pay-v1",
        "-n",
        "default",
        "--from",
        from.as_str(),
        "--probe-timeout",
        "120s",
    ];
    // Control: with CoreDNS running the same run matches the prediction.
    // Each try is a whole probe run (seconds on a loaded machine).
    let mut up = None;
    let mut last = String::new();
    let ok = eventually(90, || {
        let p = probe_run(c, &args, None);
        let ok = p.code == 0 && rows(&p.report).iter().all(|x| x["observed"].is_object());
        last = format!(
            "exit {}, findings {:?}, stderr: {}",
            p.code,
            codes(&p.report),
            p.stderr
        );
        if ok {
            up = Some(p);
        }
        ok
    });
    assert!(ok, "the run with CoreDNS running: last try {last}");
    observed_as_predicted(&up.unwrap().report, "exec");

    // About 45 s: 1 s per getent candidate, 2 s per dig query.
    let p = {
        let _stopped = CorednsStopped::new(Duration::from_secs(180));
        probe_run(c, &args, None)
    };
    let r = p.expect_code(1);
    assert_eq!(r["verdict"], "unreachable");
    assert_eq!(r["probe"]["mode"], "from");
    for x in rows(r) {
        let o = observed(x);
        assert_eq!(o["status"], "timeout", "{x}");
        let rc = rcodes(o);
        assert!(!rc.is_empty() && rc.iter().all(|r| *r == "TIMEOUT"), "{x}");
    }
    // Every row is a mismatch (those predicted to resolve, and the short
    // name predicted NXDOMAIN, which should fail fast, not time out), with
    // one cause: one finding lists the first three rows and counts the rest.
    let mismatches = with_code(r, "dns-mismatch");
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    let m = mismatches[0];
    assert_eq!(m["severity"], "error");
    let msg = m["message"].as_str().unwrap();
    let n = rows(r).len();
    assert!(n > 3, "{n} rows");
    for x in &rows(r)[..3] {
        let name = format!("`{}` from pod ", x["name"].as_str().unwrap());
        assert!(msg.contains(&name), "{name} in {msg}");
    }
    assert!(msg.contains(&format!("; and {} more;", n - 3)), "{msg}");
    assert!(msg.contains("observed timeout"), "{msg}");
    assert!(msg.contains("timed out"), "{msg}");
    assert!(msg.contains("CoreDNS is down"), "{msg}");
    assert!(
        m["fix"].as_str().unwrap().contains("k8s-app=kube-dns"),
        "{m}"
    );
    cleaned(c, &p, 0);
}

pub fn from_a_pod_with_its_own_dns_config_uses_its_resolver(c: &Cluster) {
    let p = probe_run(
        c,
        &[
            "service-pay-v1",
            "-n",
            "default",
            "--from",
            "client/dns-custom",
        ],
        None,
    );
    let r = p.expect_code(0);
    assert_eq!(r["probe"]["mode"], "from");
    assert_eq!(r["probe"]["cleanup"], "none");
    let client = only_client(r, "client", "exec");
    assert_eq!(client["pod"], "dns-custom");
    observed_as_predicted(r, "exec");
    for x in rows(r) {
        assert_eq!(x["from_pod"], "client/dns-custom", "{x}");
        let resolver = &observed(x)["resolver"];
        assert_eq!(
            resolver["search"],
            serde_json::json!([
                "client.svc.cluster.local",
                "svc.cluster.local",
                "cluster.local",
                "corp.example"
            ]),
            "{x}"
        );
        assert_eq!(resolver["ndots"], 2, "{x}");
        assert_eq!(resolver["nameservers"], serde_json::json!(["10.96.0.10"]));
    }
    // The short name goes through all four search domains, corp.example too.
    let short = observed(row(r, "service-pay-v1", Some("client")));
    assert_eq!(short["status"], "nxdomain");
    assert!(
        short["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "service-pay-v1.corp.example."),
        "{short}"
    );
    cleaned(c, &p, 0);
}

/// The names of the ephemeral containers of client/distroless.
fn ephemeral_containers(c: &Cluster) -> Vec<String> {
    let r = c.kubectl(&[
        "get",
        "pod",
        "distroless",
        "-n",
        "client",
        "-o",
        "jsonpath={.spec.ephemeralContainers[*].name}",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.split_whitespace().map(str::to_owned).collect()
}

pub fn from_a_pod_without_a_shell_adds_an_ephemeral_container(c: &Cluster) {
    let before = ephemeral_containers(c);
    let p = probe_run(
        c,
        &[
            "service-pay-v1",
            "-n",
            "default",
            "--from",
            "client/distroless",
        ],
        None,
    );
    let r = p.expect_code(0);
    assert_eq!(r["probe"]["mode"], "from");
    let client = only_client(r, "client", "ephemeral");
    assert_eq!(client["pod"], "distroless");
    let image = r["probe"]["image"].as_str().expect("the ephemeral image");
    for words in [
        "pod client/distroless has no shell",
        "adding an ephemeral container",
        image,
        "cannot be removed",
    ] {
        assert!(p.stderr.contains(words), "{words}: {}", p.stderr);
    }
    observed_as_predicted(r, "ephemeral");
    assert!(rows(r).iter().all(|x| x["from_pod"] == "client/distroless"));
    let added: Vec<String> = ephemeral_containers(c)
        .into_iter()
        .filter(|n| !before.contains(n))
        .collect();
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].starts_with("svcdiscover-"), "{added:?}");
    cleaned(c, &p, 0);
}

pub fn probe_local_asks_coredns_through_a_port_forward_and_creates_no_job(c: &Cluster) {
    let p = probe_run(
        c,
        &["service-pay-v1", "-n", "default", "--probe", "local"],
        None,
    );
    let r = p.expect_code(0);
    assert_eq!(r["probe"]["mode"], "local");
    assert_eq!(r["probe"]["cleanup"], "none");
    assert!(r["probe"]["image"].is_null());
    let client = only_client(r, "kube-system", "local");
    let dns_pod = client["pod"].as_str().unwrap();
    // Every row, the hypothetical ones too, observed as predicted.
    observed_as_predicted(r, "local");
    assert!(rows(r).iter().any(|x| x["from_namespace"].is_null()));
    let reqs = requests(c, &p.tag);
    assert!(
        reqs.iter().all(|e| e["objectRef"]["resource"] != "jobs"),
        "no Job request at all: {:#?}",
        uris(&reqs)
    );
    assert!(
        reqs.iter()
            .any(|e| e["objectRef"]["subresource"] == "portforward"
                && e["objectRef"]["name"] == dns_pod),
        "{:#?}",
        uris(&reqs)
    );
    cleaned(c, &p, 0);
}

pub fn an_image_that_cannot_be_pulled_is_named_and_its_job_deleted(c: &Cluster) {
    let image = "registry.invalid/nope:1";
    // Asked for: an error, the verdict unknown.
    let p = probe_run(
        c,
        &[
            "service-pay-v1",
            "-n",
            "default",
            "--image",
            image,
            "--probe",
            "pod",
        ],
        None,
    );
    let r = p.expect_code(3);
    assert_eq!(r["verdict"], "unknown");
    let f = with_code(r, "probe-image-pull-failed");
    assert_eq!(f.len(), 1, "{:?}", codes(r));
    assert_eq!(f[0]["severity"], "error");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains(image) && msg.contains("ErrImagePull"), "{msg}");
    assert!(
        f[0]["fix"].as_str().unwrap().contains("--image"),
        "{}",
        f[0]
    );
    assert_eq!(r["probe"]["image"], image);
    assert!(only_client(r, "default", "probe-pod")["pod"].is_null());
    assert_eq!(r["probe"]["cleanup"], "deleted");
    assert!(rows(r).iter().all(|x| x["observed"].is_null()));
    cleaned(c, &p, 1);

    // The default probe: a warning; the Service is fine, so exit 0.
    let p = probe_run(
        c,
        &["service-pay-v1", "-n", "default", "--image", image],
        None,
    );
    let r = p.expect_code(0);
    let f = with_code(r, "probe-image-pull-failed");
    assert_eq!(f.len(), 1, "{:?}", codes(r));
    assert_eq!(f[0]["severity"], "warning");
    assert!(f[0]["message"].as_str().unwrap().contains(image));
    assert_ne!(r["verdict"], "unknown");
    assert_eq!(r["probe"]["cleanup"], "deleted");
    cleaned(c, &p, 1);
}

pub fn forbidden_probe_verbs_are_named(c: &Cluster) {
    let args = ["service-pay-v1", "-n", "default"];
    // e2e-no-create may not create Jobs: nothing is made.
    let p = probe_run(c, &args, Some("e2e-no-create"));
    let r = p.expect_code(0);
    // The tool's access, not the Service: still reachable, and said so.
    assert_eq!(r["verdict"], "reachable", "{}", r["verdict_reason"]);
    assert!(
        r["verdict_reason"]
            .as_str()
            .unwrap()
            .contains("not observed: the probe could not run"),
        "{}",
        r["verdict_reason"]
    );
    let f = with_code(r, "probe-forbidden");
    assert_eq!(f.len(), 1, "{:?}", codes(r));
    assert_eq!(f[0]["severity"], "warning");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains("create jobs"), "{msg}");
    assert_eq!(r["probe"]["cleanup"], "none");
    let reqs = requests(c, &p.tag);
    assert!(
        reqs.iter().any(|e| e["verb"] == "create"
            && e["objectRef"]["resource"] == "jobs"
            && e["responseStatus"]["code"] == 403),
        "a real 403: {:#?}",
        uris(&reqs)
    );
    cleaned(c, &p, 0);

    let mut explicit = args.to_vec();
    explicit.extend(["--probe", "pod"]);
    let p = probe_run(c, &explicit, Some("e2e-no-create"));
    let r = p.expect_code(3);
    assert_eq!(r["verdict"], "unknown");
    let f = with_code(r, "probe-forbidden");
    assert_eq!(f.len(), 1, "{:?}", codes(r));
    assert_eq!(f[0]["severity"], "error");
    assert!(f[0]["message"].as_str().unwrap().contains("create jobs"));
    cleaned(c, &p, 0);

    // e2e-no-exec may run the Job but not exec into it: the Job is made,
    // the exec refused, and the Job deleted all the same.
    let p = probe_run(c, &args, Some("e2e-no-exec"));
    let r = p.expect_code(0);
    let f = with_code(r, "probe-forbidden");
    assert_eq!(f.len(), 1, "{:?}", codes(r));
    assert_eq!(f[0]["severity"], "warning");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains("pods/exec"), "{msg}");
    assert_eq!(r["probe"]["cleanup"], "deleted");
    let reqs = requests(c, &p.tag);
    assert!(
        reqs.iter()
            .any(|e| e["objectRef"]["subresource"] == "exec" && e["responseStatus"]["code"] == 403),
        "{:#?}",
        uris(&reqs)
    );
    let jobs = cleaned(c, &p, 1);
    assert!(
        deleted_job(&reqs, &jobs[0].0, &jobs[0].1),
        "{:#?}",
        uris(&reqs)
    );
}

pub fn the_probe_pod_is_admitted_under_pod_security_restricted(c: &Cluster) {
    let name = format!("e2e-probe-restricted-{}", std::process::id());
    let svc = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: restricted\nspec:\n  selector:\n    app: e2e-probe-nothing\n  ports:\n  - port: 80\n"
    );
    let r = c.kubectl_stdin(&["apply", "-f", "-"], &svc);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let _svc = OnDrop {
        c,
        args: [
            "delete",
            "service",
            &name,
            "-n",
            "restricted",
            "--ignore-not-found",
        ]
        .map(str::to_owned)
        .to_vec(),
    };
    let p = probe_run(c, &[&name, "-n", "restricted", "--probe", "pod"], None);
    // The Service selects no pod: unreachable, but the probe ran.
    let r = p.expect_code(1);
    assert!(with_code(r, "probe-rejected").is_empty(), "{:?}", codes(r));
    let client = only_client(r, "restricted", "probe-pod");
    assert!(
        client["pod"]
            .as_str()
            .is_some_and(|p| p.starts_with(JOB_PREFIX)),
        "{client}"
    );
    observed_as_predicted(r, "probe-pod");
    let ip = c.cluster_ip("restricted", &name);
    let short = observed(row(r, &name, Some("restricted")));
    assert_eq!(strings(&short["addresses"]), [ip]);
    let jobs = cleaned(c, &p, 1);
    assert_eq!(jobs[0].0, "restricted");
}

pub fn keep_probe_leaves_the_job_and_prints_how_to_remove_it(c: &Cluster) {
    let p = probe_run(
        c,
        &["service-pay-v1", "-n", "default", "--keep-probe"],
        None,
    );
    let r = p.expect_code(0);
    assert_eq!(r["probe"]["cleanup"], "kept");
    observed_as_predicted(r, "probe-pod");
    let created = jobs_created(&requests(c, &p.tag));
    assert_eq!(created.len(), 1, "{created:?}");
    let (ns, job) = &created[0];
    let _remove = OnDrop {
        c,
        args: ["delete", "job", job, "-n", ns, "--ignore-not-found"]
            .map(str::to_owned)
            .to_vec(),
    };
    // Still there after the run, pod and all.
    let left = objects_of_run(c, ns, run_id(job));
    assert!(
        left.contains(&format!("job.batch/{job}")),
        "the kept Job is gone: {left:?}"
    );
    assert!(
        left.contains("pod/"),
        "the kept Job's pod is gone: {left:?}"
    );
    // The command stderr prints, run as printed.
    let cmd = p
        .stderr
        .split('`')
        .find(|s| s.starts_with("kubectl "))
        .unwrap_or_else(|| panic!("no kubectl command on stderr: {}", p.stderr));
    assert_eq!(cmd, format!("kubectl -n {ns} delete job {job}"));
    let words: Vec<&str> = cmd.split_whitespace().skip(1).collect();
    let r = c.kubectl(&words);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_gone(c, ns, job);
}

/// Runs `args` with CoreDNS stopped (the lookups hang), sends SIGINT once
/// the probe's exec runs; the exit and the probe Job, with its deletion
/// checked: exit 130, "interrupted", the Job deleted and gone.
fn interrupted_while_exec_runs(c: &Cluster, args: &[&str]) -> String {
    let tag = new_tag();
    let args = args_for(args, None, &tag);
    let (out, (ns, job)) = {
        let _stopped = CorednsStopped::new(Duration::from_secs(90));
        let mut child = spawn(c, &args);
        let job = job_once_exec_runs(c, &tag, &mut child);
        let s = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(s.success());
        (wait_exit(child, 20), job)
    };
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "stderr: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let reqs = requests(c, &tag);
    assert!(deleted_job(&reqs, &ns, &job), "{:#?}", uris(&reqs));
    assert_gone(c, &ns, &job);
    stderr
}

pub fn ctrl_c_deletes_the_probe_job_and_exits_130(c: &Cluster) {
    interrupted_while_exec_runs(
        c,
        &["service-pay-v1", "-n", "default", "--probe-timeout", "60s"],
    );
}

/// `--wait` is interrupted like any run: while its probe's exec runs, the
/// Job is deleted and the exit code is 130.
pub fn ctrl_c_during_wait_deletes_the_probe_job_and_exits_130(c: &Cluster) {
    let stderr = interrupted_while_exec_runs(
        c,
        &[
            "service-pay-v1",
            "-n",
            "default",
            "--wait",
            "2m",
            "--probe-timeout",
            "60s",
        ],
    );
    assert!(!stderr.contains("still failing"), "{stderr}");
}

/// `--keep-probe --wait`: every probe that failed the gate kept its Job,
/// and stderr names each one with the command that removes it, not only
/// the last. A probe the deadline cut short is not kept but deleted.
pub fn keep_probe_with_wait_names_every_kept_job(c: &Cluster) {
    let p = {
        // With CoreDNS stopped every probe's lookups time out (rows
        // observed as timeouts: an error) and fail the gate; the wait
        // probes again after 5 s, then 10 s. (A probe cut before any row
        // finishes is only a probe-timeout warning, which passes.)
        let _stopped = CorednsStopped::new(Duration::from_secs(150));
        probe_run(
            c,
            &[
                "service-pay-v1",
                "-n",
                "default",
                "--keep-probe",
                "--wait",
                "60s",
                "--probe-timeout",
                "20s",
            ],
            None,
        )
    };
    let reqs = requests(c, &p.tag);
    let created = jobs_created(&reqs);
    let _remove: Vec<OnDrop<'_>> = created
        .iter()
        .map(|(ns, job)| OnDrop {
            c,
            args: ["delete", "job", job, "-n", ns, "--ignore-not-found"]
                .map(str::to_owned)
                .to_vec(),
        })
        .collect();
    let r = p.expect_code(1);
    assert_eq!(r["verdict"], "unreachable", "{r:#}");
    assert!(p.stderr.contains("still failing after 1m:"), "{}", p.stderr);
    let mut kept = 0;
    for (ns, job) in &created {
        let cmd = format!("`kubectl -n {ns} delete job {job}`");
        if p.stderr.contains(&cmd) {
            kept += 1;
            let left = objects_of_run(c, ns, run_id(job));
            assert!(
                left.contains(&format!("job.batch/{job}")),
                "the kept Job {job} is gone: {left:?}"
            );
        } else {
            assert!(
                deleted_job(&reqs, ns, job),
                "Job {ns}/{job} neither named as kept nor deleted; stderr: {}",
                p.stderr
            );
        }
    }
    assert!(
        kept >= 2,
        "{kept} kept Job(s) named of {created:?}; stderr: {}",
        p.stderr
    );
}

pub fn kill_9_leaves_a_job_with_a_deadline_that_a_later_run_sweeps(c: &Cluster) {
    let ns = OwnNamespace::create(c, "e2e-probe-kill");
    let here = [
        "service-pay-v1",
        "-n",
        "default",
        "--from-namespace",
        ns.name,
    ];
    // Exec works in the namespace once kwok has its ClusterExec.
    // Each try is a whole probe run (seconds on a loaded machine).
    let mut last = String::new();
    let ok = eventually(90, || {
        let p = probe_run(c, &here, None);
        cleaned(c, &p, 1);
        last = format!(
            "exit {}, findings {:?}, stderr: {}",
            p.code,
            codes(&p.report),
            p.stderr
        );
        p.code == 0 && rows(&p.report).iter().all(|x| x["observed"].is_object())
    });
    assert!(ok, "a probe in {}: last try {last}", ns.name);

    let tag = new_tag();
    let mut killed = here.to_vec();
    killed.extend(["--probe-timeout", "20s"]);
    let args = args_for(&killed, None, &tag);
    let t0 = now_unix();
    let (jns, job) = {
        let _stopped = CorednsStopped::new(Duration::from_secs(60));
        let mut child = spawn(c, &args);
        let job = job_once_exec_runs(c, &tag, &mut child);
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), None, "killed by a signal");
        job
    };
    let t1 = now_unix();
    assert_eq!(jns, ns.name);
    let _remove = OnDrop {
        c,
        args: ["delete", "job", &job, "-n", &jns, "--ignore-not-found"]
            .map(str::to_owned)
            .to_vec(),
    };

    // The Job stays, with the net that removes it without the tool.
    let r = c.kubectl(&["get", "job", &job, "-n", &jns, "-o", "json"]);
    assert_eq!(r.code, 0, "the killed run's Job is left: {}", r.stderr);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["spec"]["activeDeadlineSeconds"], 20 + 60, "timeout + 60");
    assert_eq!(j["spec"]["ttlSecondsAfterFinished"], 60);
    let id = run_id(&job);
    for labels in [
        &j["metadata"]["labels"],
        &j["spec"]["template"]["metadata"]["labels"],
    ] {
        assert_eq!(labels["app.kubernetes.io/name"], "kubectl-svcdiscover");
        assert_eq!(labels["app.kubernetes.io/component"], "probe");
        assert_eq!(labels[RUN_LABEL], id);
    }
    let expires: i64 = j["metadata"]["annotations"][EXPIRES]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (t0 + 80..=t1 + 80).contains(&expires),
        "expires-at {expires}: the run's start + 80 s ({t0}..{t1})"
    );

    // A later run in the namespace leaves a Job that has not expired.
    let p = probe_run(c, &here, None);
    p.expect_code(0);
    cleaned(c, &p, 1);
    let r = c.kubectl(&["get", "job", &job, "-n", &jns]);
    assert_eq!(r.code, 0, "an unexpired Job is not swept: {}", r.stderr);

    // Once expired (the annotation moved into the past, as the clock
    // would), the next run sweeps it.
    let past = format!("{EXPIRES}={}", now_unix() - 1);
    let r = c.kubectl(&["annotate", "job", &job, "-n", &jns, &past, "--overwrite"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let p = probe_run(c, &here, None);
    p.expect_code(0);
    let reqs = requests(c, &p.tag);
    assert!(
        deleted_job(&reqs, &jns, &job),
        "swept by the later run: {:#?}",
        uris(&reqs)
    );
    cleaned(c, &p, 1);
    assert_gone(c, &jns, &job);
}

pub fn api_requests_of_one_probed_diagnosis_are_counted_from_the_audit_log(c: &Cluster) {
    let plain = probe_run(c, &["service-pay-v1", "-n", "default", "--no-probe"], None);
    assert!(plain.expect_code(0)["probe"].is_null());
    let reads = requests(c, &plain.tag);
    assert_eq!(reads.len(), 18, "as diagnose.rs pins: {:#?}", uris(&reads));

    let probed = probe_run(
        c,
        &["service-pay-v1", "-n", "default", "--probe", "pod"],
        None,
    );
    probed.expect_code(0);
    let all = requests(c, &probed.tag);
    // A probed run of service-pay-v1 in `default` makes:
    // - the same 18 reads as without the probe;
    // - list jobs by the probe labels (the sweep of expired probe Jobs);
    // - create job svcdiscover-probe-<run>;
    // - list pods labelled svcdiscover.io/run=<run> until its pod runs
    //   (polled every 300 ms: at least once, a number that depends on
    //   how fast the pod starts), and while that list is empty, list the
    //   events of reason FailedCreate of the Job (admission refusals);
    // - two execs into the pod: one for the rows from `default`, one for
    //   the hypothetical rows (another namespace's search list);
    // - delete the Job.
    // So 23 requests besides the polls.
    let is = |e: &Value, verb: &str, resource: &str| {
        e["verb"] == verb && e["objectRef"]["resource"] == resource
    };
    let uri = |e: &Value| e["requestURI"].as_str().unwrap().to_owned();
    let sweep = all.iter().filter(|e| is(e, "list", "jobs")).count();
    let create = all.iter().filter(|e| is(e, "create", "jobs")).count();
    let delete = all.iter().filter(|e| is(e, "delete", "jobs")).count();
    let exec = all
        .iter()
        .filter(|e| e["objectRef"]["subresource"] == "exec")
        .count();
    let pod_polls = all
        .iter()
        .filter(|e| is(e, "list", "pods") && uri(e).contains("svcdiscover.io"))
        .count();
    let event_polls = all
        .iter()
        .filter(|e| is(e, "list", "events") && uri(e).contains("FailedCreate"))
        .count();
    let mut rest: Vec<String> = all
        .iter()
        .filter(|e| {
            e["objectRef"]["resource"] != "jobs"
                && e["objectRef"]["subresource"] != "exec"
                && !uri(e).contains("svcdiscover.io")
                && !uri(e).contains("FailedCreate")
        })
        .map(uri)
        .collect();
    let mut plain_uris: Vec<String> = reads.iter().map(uri).collect();
    rest.sort();
    plain_uris.sort();
    let listing = uris(&all);
    assert_eq!(
        (sweep, create, exec, delete),
        (1, 1, 2, 1),
        "sweep, create, exec, delete: {listing:#?}"
    );
    assert!(pod_polls >= 1, "{listing:#?}");
    assert!(event_polls <= pod_polls, "{listing:#?}");
    assert_eq!(rest, plain_uris, "the reads of the diagnosis, unchanged");
    assert_eq!(
        all.len(),
        23 + pod_polls + event_polls,
        "nothing else: {listing:#?}"
    );
    cleaned(c, &probed, 1);
}

/// The tests of this module, for the harness in main.rs.
/// The net for `kill -9`: the probe Job's own shape, with the deadline and
/// TTL shortened to 5 s each, is ended by the real Job controller and
/// deleted, pod included, by the real TTL controller — also while its pod
/// is stuck pulling an image.
pub fn the_job_and_ttl_controllers_remove_a_probe_job_left_behind(c: &Cluster) {
    use svcdiscover::probe::job::{JobSpecInput, manifest};
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (k, image) in [
        "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.7",
        "registry.invalid/never:1",
    ]
    .iter()
    .enumerate()
    {
        let id = format!("e2edl{k}{:x}", now % 0xffff);
        let input = JobSpecInput {
            namespace: "default".into(),
            run_id: id.clone(),
            image: (*image).into(),
            pull_secret: None,
            timeout: Duration::from_secs(30),
            now_unix: i64::try_from(now).unwrap(),
        };
        let mut job = manifest(&input);
        let spec = job.spec.as_mut().unwrap();
        assert_eq!(spec.active_deadline_seconds, Some(90));
        assert_eq!(spec.ttl_seconds_after_finished, Some(60));
        spec.active_deadline_seconds = Some(5);
        spec.ttl_seconds_after_finished = Some(5);
        let r = c.kubectl_stdin(
            &["create", "-f", "-"],
            &serde_json::to_string(&job).unwrap(),
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let sel = format!("{RUN_LABEL}={id}");
        // The pod is there first: running, or stuck on its image.
        let mut phase = String::new();
        let started = eventually(20, || {
            let r = c.kubectl(&[
                "get", "pods", "-n", "default", "-l", &sel, "-o",
                "jsonpath={.items[*].status.phase}/{.items[*].status.containerStatuses[*].state.waiting.reason}",
            ]);
            phase = r.stdout.trim().to_owned();
            if k == 0 {
                phase.starts_with("Running/")
            } else {
                phase.contains("ImagePullBackOff") || phase.contains("ErrImagePull")
            }
        });
        assert!(started, "{image}: pod state {phase:?}");
        // Deadline 5 s, TTL 5 s: gone, pod included, well within 45 s.
        let mut left = String::new();
        let gone = eventually(45, || {
            left = objects_of_run(c, "default", &id);
            left.is_empty()
        });
        assert!(gone, "{image}: still there: {left}");
    }
}

pub const TESTS: &[Test] = &[
    (
        "the_job_and_ttl_controllers_remove_a_probe_job_left_behind",
        the_job_and_ttl_controllers_remove_a_probe_job_left_behind,
    ),
    (
        "default_probe_observes_every_row_from_the_service_namespace_and_another",
        default_probe_observes_every_row_from_the_service_namespace_and_another,
    ),
    (
        "headless_and_external_name_services_are_observed_as_coredns_serves_them",
        headless_and_external_name_services_are_observed_as_coredns_serves_them,
    ),
    (
        "coredns_stopped_the_probe_pod_times_out",
        coredns_stopped_the_probe_pod_times_out,
    ),
    (
        "coredns_stopped_lookups_time_out_and_dns_mismatch_names_it",
        coredns_stopped_lookups_time_out_and_dns_mismatch_names_it,
    ),
    (
        "from_a_pod_with_its_own_dns_config_uses_its_resolver",
        from_a_pod_with_its_own_dns_config_uses_its_resolver,
    ),
    (
        "from_a_pod_without_a_shell_adds_an_ephemeral_container",
        from_a_pod_without_a_shell_adds_an_ephemeral_container,
    ),
    (
        "probe_local_asks_coredns_through_a_port_forward_and_creates_no_job",
        probe_local_asks_coredns_through_a_port_forward_and_creates_no_job,
    ),
    (
        "an_image_that_cannot_be_pulled_is_named_and_its_job_deleted",
        an_image_that_cannot_be_pulled_is_named_and_its_job_deleted,
    ),
    (
        "forbidden_probe_verbs_are_named",
        forbidden_probe_verbs_are_named,
    ),
    (
        "the_probe_pod_is_admitted_under_pod_security_restricted",
        the_probe_pod_is_admitted_under_pod_security_restricted,
    ),
    (
        "keep_probe_leaves_the_job_and_prints_how_to_remove_it",
        keep_probe_leaves_the_job_and_prints_how_to_remove_it,
    ),
    (
        "ctrl_c_deletes_the_probe_job_and_exits_130",
        ctrl_c_deletes_the_probe_job_and_exits_130,
    ),
    (
        "ctrl_c_during_wait_deletes_the_probe_job_and_exits_130",
        ctrl_c_during_wait_deletes_the_probe_job_and_exits_130,
    ),
    (
        "keep_probe_with_wait_names_every_kept_job",
        keep_probe_with_wait_names_every_kept_job,
    ),
    (
        "kill_9_leaves_a_job_with_a_deadline_that_a_later_run_sweeps",
        kill_9_leaves_a_job_with_a_deadline_that_a_later_run_sweeps,
    ),
    (
        "api_requests_of_one_probed_diagnosis_are_counted_from_the_audit_log",
        api_requests_of_one_probed_diagnosis_are_counted_from_the_audit_log,
    ),
];
