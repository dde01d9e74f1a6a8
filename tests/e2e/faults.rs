//! A misbehaving API server, or connection to it.
//!
//! - Through a toxiproxy proxy (started by tests/cluster/up, API in
//!   SVCDISCOVER_E2E_TOXIPROXY) in front of the real apiserver, which cuts,
//!   resets, stalls, slows down or refuses the connection. These faults are
//!   persistent: every connection meets them, so each read is asked five
//!   times and the run ends with a clear one-line message naming what it
//!   was reading and exit 3 (or, for the latency control, the same report
//!   as direct). A `--wait` whose connections are all cut once opens its
//!   watches again.
//! - The apiserver's own flow control (API Priority and Fairness) rejecting
//!   a ServiceAccount with 429 and Retry-After, for a moment and for good.
//! - A token revoked while `--wait` runs (401).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cluster::*;

pub const TESTS: &[Test] = &[
    (
        "a_list_cut_mid_response_fails_the_scan_with_exit_3",
        a_list_cut_mid_response_fails_the_scan_with_exit_3,
    ),
    (
        "a_pods_list_cut_mid_response_is_reported_as_not_checked",
        a_pods_list_cut_mid_response_is_reported_as_not_checked,
    ),
    (
        "a_reset_connection_fails_with_exit_3",
        a_reset_connection_fails_with_exit_3,
    ),
    (
        "a_hanging_connection_times_out_with_exit_3",
        a_hanging_connection_times_out_with_exit_3,
    ),
    (
        "latency_gives_the_same_report_as_direct",
        latency_gives_the_same_report_as_direct,
    ),
    (
        "a_refused_connection_fails_with_exit_3",
        a_refused_connection_fails_with_exit_3,
    ),
    (
        "flow_control_429s_are_retried_and_the_report_is_unchanged",
        flow_control_429s_are_retried_and_the_report_is_unchanged,
    ),
    (
        "persistent_429s_end_in_exit_3_after_bounded_attempts",
        persistent_429s_end_in_exit_3_after_bounded_attempts,
    ),
    (
        "a_token_revoked_during_wait_ends_it_with_exit_3",
        a_token_revoked_during_wait_ends_it_with_exit_3,
    ),
    (
        "a_watch_cut_during_wait_is_opened_again_and_sees_the_fix",
        a_watch_cut_during_wait_is_opened_again_and_sees_the_fix,
    ),
];

/// The apiserver, as seen from inside the cluster's network namespace.
const APISERVER: &str = "127.0.0.1:6443";

/// toxiproxy's API address (host:port) from SVCDISCOVER_E2E_TOXIPROXY.
fn toxiproxy_api() -> String {
    let url = std::env::var("SVCDISCOVER_E2E_TOXIPROXY")
        .expect("SVCDISCOVER_E2E_TOXIPROXY (toxiproxy's API, written by tests/cluster/up)");
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// One request to toxiproxy's HTTP API; returns the status and the body.
fn api(method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let body = body.map(Value::to_string).unwrap_or_default();
    let host = toxiproxy_api();
    let mut s = TcpStream::connect(&host).unwrap_or_else(|e| panic!("toxiproxy at {host}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response from toxiproxy: {resp}"));
    let body = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_owned())
}

/// A proxy of this test's own in front of the apiserver, with a kubeconfig
/// that goes through it; deleted on drop (a failed assertion included).
struct Proxy {
    name: String,
    kubeconfig: tempfile::NamedTempFile,
}

impl Proxy {
    fn new(c: &Cluster, test: &str) -> Proxy {
        let name = format!("{test}-{}", std::process::id());
        // A leftover of an earlier run of the same name would make the create fail.
        api("DELETE", &format!("/proxies/{name}"), None);
        let (status, body) = api(
            "POST",
            "/proxies",
            Some(&json!({"name": name, "listen": "127.0.0.1:0", "upstream": APISERVER})),
        );
        assert_eq!(status, 201, "create proxy {name}: {body}");
        let listen = serde_json::from_str::<Value>(&body).unwrap()["listen"]
            .as_str()
            .unwrap()
            .to_owned();
        // The apiserver's certificate has 127.0.0.1 among its SANs, and the
        // proxy works at the TCP level, so TLS passes through unchanged.
        let admin = std::fs::read_to_string(&c.kubeconfig).unwrap();
        let server = format!("https://{APISERVER}");
        assert!(
            admin.contains(&server),
            "admin kubeconfig talks to {server}"
        );
        let mut kubeconfig = tempfile::NamedTempFile::new().unwrap();
        kubeconfig
            .write_all(
                admin
                    .replace(&server, &format!("https://{listen}"))
                    .as_bytes(),
            )
            .unwrap();
        Proxy { name, kubeconfig }
    }

    /// Adds a toxic to the responses (`downstream`) of every connection.
    fn toxic(&self, kind: &str, attributes: Value) {
        let (status, body) = api(
            "POST",
            &format!("/proxies/{}/toxics", self.name),
            Some(&json!({"name": kind, "type": kind, "stream": "downstream",
                         "toxicity": 1.0, "attributes": attributes})),
        );
        assert_eq!(status, 200, "add toxic {kind}: {body}");
    }

    /// Enables or disables the proxy (disabled: it stops listening).
    fn enabled(&self, on: bool) {
        let (status, body) = api(
            "POST",
            &format!("/proxies/{}", self.name),
            Some(&json!({ "enabled": on })),
        );
        assert_eq!(status, 200, "enable={on}: {body}");
    }

    /// Starts kubectl-svcdiscover through the proxy.
    fn spawn(&self, args: &[&str]) -> Child {
        spawn_as(self.kubeconfig.path(), args)
    }

    /// Runs kubectl-svcdiscover through the proxy.
    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_kubectl-svcdiscover"))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("run kubectl-svcdiscover");
        Run::from_output(out)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        api("DELETE", &format!("/proxies/{}", self.name), None);
    }
}

/// stderr is one `error: …` line naming `reading` and `cause`, with no
/// Debug dump of an error value.
fn one_clear_line(r: &Run, reading: &str, cause: &str) {
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {}", r.stderr);
    let line = lines[0];
    assert!(line.starts_with("error: cannot "), "{line}");
    assert!(line.contains(reading), "names {reading:?}: {line}");
    assert!(line.contains(cause), "says {cause:?}: {line}");
    for dump in ["{ ", "Error {", "kind:", "Some(", "panicked"] {
        assert!(!line.contains(dump), "no Debug dump ({dump:?}): {line}");
    }
}

/// A scan of every namespace whose cluster-wide lists cannot be read: the
/// scan document for "unknown" on stdout and nothing else.
fn unknown_scan(r: &Run) {
    let scan = r.json();
    assert_eq!(scan["kind"], "Scan", "{}", r.stdout);
    assert_eq!(scan["verdict"], "unknown", "{}", r.stdout);
    assert_eq!(scan["reports"], json!([]), "{}", r.stdout);
    assert_eq!(scan["summary"]["services"], 0, "{}", r.stdout);
}

pub fn a_list_cut_mid_response_fails_the_scan_with_exit_3(c: &Cluster) {
    let p = Proxy::new(c, "cut-scan");
    // Past the TLS handshake (the apiserver's certificate chain is ~2 kB)
    // and the first response headers, well inside the cluster-wide lists
    // (the pods of the whole cluster alone are far bigger).
    p.toxic("limit_data", json!({"bytes": 6000}));
    let r = p.run(&["-A", "-o", "json"]);
    assert_eq!(r.code, 3, "stderr: {}", r.stderr);
    // Each attempt opens a new connection, cut alike: asked five times.
    one_clear_line(
        &r,
        "(cluster-wide)",
        "the connection to the API server broke: peer closed connection",
    );
    assert!(
        r.stderr.contains("; gave up after 5 attempts"),
        "{}",
        r.stderr
    );
    unknown_scan(&r);
}

pub fn a_pods_list_cut_mid_response_is_reported_as_not_checked(c: &Cluster) {
    // The diagnosis of one Service reads the Service and its EndpointSlices
    // (needed for a verdict) and then the pods of the namespace (needed only
    // for some checks). Cut once the first two are through: the verdict
    // stands and the reads it cut are named under not_checked with the cause
    // (the pods of the namespace, as measured).
    let direct = c.diagnose(&["-n", "default", "service-pay-v1"], 0);
    let p = Proxy::new(c, "cut-pods");
    p.toxic("limit_data", json!({"bytes": 12000}));
    let r = p.run(&["-n", "default", "service-pay-v1", "-o", "json"]);
    let report = r.json();
    if report["verdict"] == "unknown" {
        // The cut fell before the EndpointSlices were through (a bigger
        // certificate chain or Service): then it is a required read.
        assert_eq!(r.code, 3, "stderr: {}", r.stderr);
        one_clear_line(&r, "in namespace default", "gave up after 5 attempts");
        return;
    }
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert_eq!(report["verdict"], direct["verdict"]);
    // Which optional reads the cut hits depends on how the responses
    // interleave on the connection; each one it hit is named with the cause
    // (several alike are grouped as "cluster reads").
    let cut: Vec<&Value> = report["not_checked"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| !direct["not_checked"].as_array().unwrap().contains(n))
        .collect();
    assert!(!cut.is_empty(), "the cut shows under not_checked: {report}");
    // Each was asked five times, on a new connection each time, cut alike.
    for n in cut {
        let reason = n["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("the connection to the API server broke: "),
            "{n}"
        );
        assert!(reason.ends_with("; gave up after 5 attempts"), "{n}");
    }
}

pub fn a_reset_connection_fails_with_exit_3(c: &Cluster) {
    let p = Proxy::new(c, "reset");
    p.toxic("reset_peer", json!({"timeout": 0}));
    let r = p.run(&["-A", "-o", "json"]);
    assert_eq!(r.code, 3, "stderr: {}", r.stderr);
    one_clear_line(&r, "(cluster-wide)", "Connection reset by peer");
    unknown_scan(&r);
    let r = p.run(&["-n", "default", "service-pay-v1"]);
    assert_eq!(r.code, 3, "stderr: {}", r.stderr);
    one_clear_line(
        &r,
        "get services in namespace default",
        "Connection reset by peer",
    );
}

pub fn a_hanging_connection_times_out_with_exit_3(c: &Cluster) {
    let p = Proxy::new(c, "hang");
    // timeout 0: the proxy passes nothing back and never closes.
    p.toxic("timeout", json!({"timeout": 0}));
    let start = Instant::now();
    let r = p.run(&["-n", "default", "service-pay-v1", "--request-timeout", "2s"]);
    let took = start.elapsed();
    assert_eq!(r.code, 3, "stderr: {}", r.stderr);
    one_clear_line(
        &r,
        "get services in namespace default",
        "timed out after 2s",
    );
    // Bounded: the requests run in parallel, each under --request-timeout;
    // a generous margin, this is not a performance figure.
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

pub fn latency_gives_the_same_report_as_direct(c: &Cluster) {
    let direct = c.diagnose(&["-n", "default", "service-pay-v1"], 0);
    let p = Proxy::new(c, "latency");
    p.toxic("latency", json!({"latency": 300, "jitter": 50}));
    let r = p.run(&["-n", "default", "service-pay-v1", "-o", "json"]);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    let slow = r.json();
    for k in ["verdict", "verdict_reason", "service", "not_checked"] {
        assert_eq!(slow[k], direct[k], "{k}");
    }
    assert_eq!(codes(&slow), codes(&direct));
}

pub fn a_refused_connection_fails_with_exit_3(c: &Cluster) {
    let p = Proxy::new(c, "refused");
    p.enabled(false);
    let r = p.run(&["-n", "default", "service-pay-v1"]);
    assert_eq!(r.code, 3, "stderr: {}", r.stderr);
    one_clear_line(
        &r,
        "get services in namespace default",
        "cannot reach the API server: Connection refused",
    );
    // The table format's report for unknown: the verdict and what was not read.
    assert!(
        r.stdout
            .starts_with("service-pay-v1 (default): UNKNOWN — cannot get services"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("needs: an API server that answers"),
        "{}",
        r.stdout
    );
}

// ---------------------------------------------------------------------------
// The API server's own refusals: 429 from its flow control (API Priority and
// Fairness), a token revoked mid-run, a watch cut mid-wait.

/// A PriorityLevelConfiguration with no seat of its own and no queue (a
/// "jail": `nominalConcurrencyShares: 0`, `limitResponse: Reject`) and a
/// FlowSchema sending the named ServiceAccounts of `env` to it. Such a level
/// runs one request when none of its own is running, and rejects every
/// other with 429 and `Retry-After` (the API server's `tooManyRequests`).
/// Deleted with `env` (or earlier by [`Jail::lift`]).
struct Jail<'a> {
    c: &'a Cluster,
    name: String,
}

impl<'a> Jail<'a> {
    fn new(c: &'a Cluster, env: &crate::rbac_sa::Env<'_>, sas: &[&str]) -> Jail<'a> {
        let name = format!("{}-jail", env.ns);
        env.apply(&json!({
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
            "metadata": {"name": name},
            "spec": {"type": "Limited", "limited": {
                "nominalConcurrencyShares": 0, "lendablePercent": 0, "borrowingLimitPercent": 0,
                "limitResponse": {"type": "Reject"}}}
        }));
        let subjects: Vec<Value> = sas
            .iter()
            .map(|sa| json!({"kind": "ServiceAccount", "serviceAccount": {"name": sa, "namespace": env.ns}}))
            .collect();
        env.apply(&json!({
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema",
            "metadata": {"name": name},
            "spec": {"priorityLevelConfiguration": {"name": name}, "matchingPrecedence": 500,
                "distinguisherMethod": {"type": "ByUser"},
                "rules": [{"subjects": subjects,
                    "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                       "clusterScope": true, "namespaces": ["*"]}],
                    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}
        }));
        Jail { c, name }
    }

    /// The overload passes: the FlowSchema goes, its users are back in the
    /// default levels.
    fn lift(&self) {
        let r = self.c.kubectl(&["delete", "flowschema", &self.name]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
}

/// An async runtime and a client for `kubeconfig` without any retry.
fn raw_client(kubeconfig: &std::path::Path) -> (tokio::runtime::Runtime, kube::Client) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = rt.block_on(async {
        let kc = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
        let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        config.default_retry = false;
        kube::Client::try_from(config).unwrap()
    });
    (rt, client)
}

/// The status of one GET of `path`.
fn get_status(rt: &tokio::runtime::Runtime, client: &kube::Client, path: &str) -> u16 {
    rt.block_on(async {
        let req = http::Request::get(path).body(Vec::new()).unwrap();
        match client.request_text(req).await {
            Ok(_) => 200,
            Err(kube::Error::Api(s)) => s.code,
            Err(e) => panic!("GET {path}: {e}"),
        }
    })
}

/// Keeps the jail's one seat taken: a list that the API server holds for
/// 3 s (a resourceVersion far ahead, `NotOlderThan`: its watch cache waits
/// for it, then answers 504), again and again, on one thread. Between two
/// of them there is a gap of a round trip, so another request of the level
/// almost never runs. Stops (and drops its request) on drop.
struct Occupier {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<u32>>,
}

impl Occupier {
    fn start(kubeconfig: &std::path::Path) -> Occupier {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let kubeconfig = kubeconfig.to_owned();
        let thread = std::thread::spawn(move || {
            let (rt, client) = raw_client(&kubeconfig);
            let mut held = 0;
            while !flag.load(Ordering::SeqCst) {
                let req = http::Request::get(
                    "/api/v1/services?resourceVersion=999999999999&resourceVersionMatch=NotOlderThan",
                )
                .body(Vec::new())
                .unwrap();
                // Dropped when asked to stop, which closes its connection and
                // ends the request on the server.
                let done = rt.block_on(async {
                    tokio::select! {
                        r = client.request_text(req) => Some(r),
                        () = async {
                            while !flag.load(Ordering::SeqCst) {
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        } => None,
                    }
                });
                match done {
                    Some(Err(kube::Error::Api(s))) if s.code == 504 => held += 1,
                    // Another request of the level ran meanwhile: at once again.
                    Some(Err(kube::Error::Api(s))) if s.code == 429 => {}
                    Some(other) => panic!("the occupying list: {other:?}"),
                    None => break,
                }
            }
            held
        });
        Occupier {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Occupier {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Until a GET by `kubeconfig`'s user is rejected with 429 (the jail is in
/// force and its seat taken).
fn until_throttled(kubeconfig: &std::path::Path, ns: &str) {
    let (rt, client) = raw_client(kubeconfig);
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        // A path the tool never reads, to tell these apart in the audit log.
        let code = get_status(&rt, &client, &format!("/api/v1/namespaces/{ns}/configmaps"));
        if code == 429 {
            return;
        }
        assert!(
            Instant::now() < until,
            "never throttled (last: HTTP {code})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The audit log's events by ServiceAccount `ns`/`sa` from line `from` on:
/// (requestURI, response code, time received).
fn requests_of(c: &Cluster, ns: &str, sa: &str, from: usize) -> Vec<(String, u64, String)> {
    let user = format!("system:serviceaccount:{ns}:{sa}");
    std::fs::read_to_string(&c.audit_log)
        .unwrap()
        .lines()
        .skip(from)
        .filter(|l| l.contains(&user) && l.contains("\"ResponseComplete\""))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["user"]["username"] == user.as_str())
        .map(|e| {
            (
                e["requestURI"].as_str().unwrap_or_default().to_owned(),
                e["responseStatus"]["code"].as_u64().unwrap_or_default(),
                e["requestReceivedTimestamp"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

fn audit_lines(c: &Cluster) -> usize {
    std::fs::read_to_string(&c.audit_log)
        .unwrap()
        .lines()
        .count()
}

/// Seconds since midnight of an audit timestamp (`…T22:19:51.633520Z`).
fn secs_of(ts: &str) -> f64 {
    let t = ts.split('T').nth(1).unwrap().trim_end_matches('Z');
    let mut parts = t.split(':');
    let h: f64 = parts.next().unwrap().parse().unwrap();
    let m: f64 = parts.next().unwrap().parse().unwrap();
    let s: f64 = parts.next().unwrap().parse().unwrap();
    h * 3600.0 + m * 60.0 + s
}

/// The tool's requests grouped by URI, in order: (code, seconds).
fn by_uri(reqs: &[(String, u64, String)]) -> BTreeMap<String, Vec<(u64, f64)>> {
    let mut out: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
    for (uri, code, ts) in reqs {
        out.entry(uri.clone())
            .or_default()
            .push((*code, secs_of(ts)));
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| a.1.total_cmp(&b.1));
    }
    out
}

fn spawn_as(kubeconfig: &std::path::Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kubectl-svcdiscover"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl-svcdiscover")
}

/// A ServiceAccount in the jail, its seat held by an occupier, already
/// refused (`until_throttled`), running the tool; everything deleted on
/// drop.
struct Throttled<'a> {
    // Fields drop in this order: the occupier stops before its account and
    // the jail are deleted.
    occupier: Option<Occupier>,
    c: &'a Cluster,
    env: crate::rbac_sa::Env<'a>,
    tool: crate::rbac_sa::Sa,
    jail: Jail<'a>,
}

impl<'a> Throttled<'a> {
    fn new(c: &'a Cluster, what: &str) -> Throttled<'a> {
        let env = crate::rbac_sa::Env::new(c, what);
        let tool = env.sa("throttled", &crate::rbac_sa::reader());
        let occ = env.sa("occupier", &crate::rbac_sa::reader());
        let jail = Jail::new(c, &env, &["throttled", "occupier"]);
        let occupier = Some(Occupier::start(&occ.kubeconfig));
        until_throttled(&tool.kubeconfig, &env.ns);
        Throttled {
            occupier,
            c,
            env,
            tool,
            jail,
        }
    }

    /// Starts the tool's one-Service diagnosis with `extra` flags; returns
    /// it with the audit log's length before it.
    fn spawn(&self, extra: &[&str]) -> (Child, usize) {
        let from = audit_lines(self.c);
        let mut args = vec![
            "service-pay-v1",
            "-n",
            "default",
            "--no-probe",
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        (spawn_as(&self.tool.kubeconfig, &args), from)
    }

    /// The overload passes: the jail goes, and the occupier.
    fn lift(&mut self) {
        self.jail.lift();
        self.occupier = None;
    }

    /// The tool's requests since `from`, per URI (see [`by_uri`]).
    fn requests(&self, from: usize) -> BTreeMap<String, Vec<(u64, f64)>> {
        by_uri(&requests_of(self.c, &self.env.ns, "throttled", from))
    }
}

/// Asked at most 5 times, each attempt no sooner than the Retry-After
/// (1 s at least) after the one before.
fn retried_as_asked(uri: &str, attempts: &[(u64, f64)]) {
    assert!(
        attempts.len() <= 5,
        "at most 5 attempts of {uri}: {attempts:?}"
    );
    for w in attempts.windows(2) {
        assert!(
            w[1].1 - w[0].1 >= 0.95,
            "{uri}: Retry-After honoured: {attempts:?}"
        );
    }
}

/// A diagnosis that meets the flow control's 429s and sees them pass: each
/// rejected read is asked again after the server's Retry-After (at least
/// 1 s, where the backoff alone would wait 250 ms), and the report is the
/// admin's.
pub fn flow_control_429s_are_retried_and_the_report_is_unchanged(c: &Cluster) {
    let direct = c.diagnose(&["-n", "default", "service-pay-v1", "--no-probe"], 0);
    let mut t = Throttled::new(c, "apf");
    let (child, from) = t.spawn(&["-v"]);
    // The first rejection of the tool's own reads, then the overload passes.
    let until = Instant::now() + Duration::from_secs(30);
    while !t
        .requests(from)
        .values()
        .any(|v| v.iter().any(|r| r.0 == 429))
    {
        assert!(Instant::now() < until, "the tool was never throttled");
        std::thread::sleep(Duration::from_millis(50));
    }
    t.lift();
    let run = crate::wait::finish(child, 90);
    assert_eq!(
        run.code, 0,
        "stderr: {}\nstdout: {}",
        run.stderr, run.stdout
    );
    let got = run.json();
    for k in ["verdict", "verdict_reason", "service", "not_checked"] {
        assert_eq!(got[k], direct[k], "{k}");
    }
    assert_eq!(codes(&got), codes(&direct));
    assert!(
        run.stderr.contains("HTTP 429, Retry-After "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("trying again in"), "{}", run.stderr);
    // In the audit log: a read refused with 429, asked again no sooner than
    // the Retry-After and answered.
    let reqs = t.requests(from);
    let retried: Vec<_> = reqs
        .iter()
        .filter(|(_, v)| v.first().is_some_and(|r| r.0 == 429))
        .collect();
    assert!(!retried.is_empty(), "{reqs:#?}");
    for (uri, v) in &retried {
        retried_as_asked(uri, v);
        // Answered in the end (a 404 for an object that is not there, too).
        assert!(
            [200, 404].contains(&v.last().unwrap().0),
            "{uri} answered in the end: {v:?}"
        );
    }
}

/// Throttled for good: each read is asked at most 5 times, Retry-After
/// apart, then the run ends with exit 3 and says it was throttled.
pub fn persistent_429s_end_in_exit_3_after_bounded_attempts(c: &Cluster) {
    let t = Throttled::new(c, "apf-hold");
    let (child, from) = t.spawn(&[]);
    let run = crate::wait::finish(child, 180);
    assert_eq!(
        run.code, 3,
        "stderr: {}\nstdout: {}",
        run.stderr, run.stdout
    );
    assert_eq!(run.json()["verdict"], "unknown", "{}", run.stdout);
    let errors: Vec<&str> = run.stderr.lines().collect();
    assert!(!errors.is_empty());
    for line in &errors {
        assert!(line.starts_with("error: cannot "), "{line}");
        assert!(line.contains("HTTP 429 Too Many Requests"), "{line}");
        assert!(line.contains("too many requests"), "{line}");
        assert!(
            line.contains("gave up after 5 attempts")
                || line.contains("longer than the 10s this tool waits"),
            "{line}"
        );
    }
    let reqs = t.requests(from);
    assert!(!reqs.is_empty());
    for (uri, v) in &reqs {
        retried_as_asked(uri, v);
    }
    assert!(
        reqs.values().any(|v| v.iter().all(|r| r.0 == 429)),
        "a read refused every time: {reqs:#?}"
    );
}

/// `--wait` as a ServiceAccount whose token is revoked (the account
/// deleted) while it waits: the next re-check is refused with 401, and the
/// wait ends at once with exit 3 and what to do, not at its deadline.
pub fn a_token_revoked_during_wait_ends_it_with_exit_3(c: &Cluster) {
    let env = crate::rbac_sa::Env::new(c, "revoked");
    let mut roles = crate::rbac_sa::reader();
    roles.push((
        crate::rbac_sa::doc_role("svcdiscover-watch"),
        crate::rbac_sa::Bind::Cluster,
    ));
    let sa = env.sa("waiter", &roles);
    env.service("web");
    let from = audit_lines(c);
    let started = Instant::now();
    let child = spawn_as(
        &sa.kubeconfig,
        &[
            "web",
            "-n",
            &env.ns,
            "--no-probe",
            "--wait",
            "120s",
            "-o",
            "json",
        ],
    );
    // Once it watches, revoke the token.
    let user = format!("system:serviceaccount:{}:waiter", env.ns);
    let until = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&c.audit_log)
        .unwrap()
        .lines()
        .skip(from)
        .any(|l| l.contains(&user) && l.contains("watch=") && l.contains("\"ResponseStarted\""))
    {
        assert!(Instant::now() < until, "the wait never watched");
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = c.kubectl(&["delete", "serviceaccount", "waiter", "-n", &env.ns]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Changes to re-check on, until it ends (the API server may accept a
    // token it has just checked for a few more seconds).
    let mut child = child;
    let mut n = 0;
    while child.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(60) {
        n += 1;
        let _ = c.kubectl(&[
            "annotate",
            "service",
            "web",
            "-n",
            &env.ns,
            "--overwrite",
            &format!("svcdiscover.test/poke={n}"),
        ]);
        std::thread::sleep(Duration::from_secs(2));
    }
    let run = crate::wait::finish(child, 30);
    assert_eq!(
        run.code, 3,
        "stderr: {}\nstdout: {}",
        run.stderr, run.stdout
    );
    assert!(
        started.elapsed() < Duration::from_secs(100),
        "ended by the 401, not by the 120s deadline"
    );
    assert!(
        run.stderr
            .contains("Unauthorized: the API server rejected the credentials (HTTP 401 for GET "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("expired or was revoked"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("still failing after"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(&sa.token[..40]),
        "no token in the message"
    );
}

/// `--wait` through the proxy, whose connections are all cut mid-wait
/// (the proxy disabled for a moment): the watches end early, are opened
/// again, and the fix made after the cut ends the wait with exit 0.
pub fn a_watch_cut_during_wait_is_opened_again_and_sees_the_fix(c: &Cluster) {
    let ns = crate::wait::Ns::new(c, "watch-cut");
    ns.deployment("pay-cut", "pay-cut", crate::wait::BROKEN, 1);
    ns.service("pay-cut", "pay-cut");
    ns.wait_for_reason("ErrImagePull");
    let p = Proxy::new(c, "watch-cut");
    let from = audit_lines(c);
    let child = p.spawn(&[
        "pay-cut",
        "-n",
        &ns.name,
        "--no-probe",
        "--wait",
        "90s",
        "-o",
        "json",
    ]);
    // Its watches are open once the admin watched this namespace's pods.
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let log = std::fs::read_to_string(&c.audit_log).unwrap();
        if log.lines().skip(from).any(|l| {
            l.contains(&format!("/api/v1/namespaces/{}/pods?", ns.name))
                && l.contains("watch=")
                && l.contains("\"ResponseStarted\"")
        }) {
            break;
        }
        assert!(Instant::now() < until, "the wait never watched");
        std::thread::sleep(Duration::from_millis(100));
    }
    p.enabled(false);
    std::thread::sleep(Duration::from_millis(1500));
    p.enabled(true);
    ns.set_image("pay-cut", crate::wait::GOOD);
    let run = crate::wait::finish(child, 120);
    assert_eq!(
        run.code, 0,
        "stderr: {}\nstdout: {}",
        run.stderr, run.stdout
    );
    let r = run.json();
    assert!(r["endpoints"]["ready"].as_u64().unwrap() >= 1, "{r:#}");
    assert!(
        run.stderr.contains("warning: cannot watch"),
        "the cut ended the watches: {}",
        run.stderr
    );
    // The watches were opened again after the cut.
    let log = std::fs::read_to_string(&c.audit_log).unwrap();
    let watches = log
        .lines()
        .skip(from)
        .filter(|l| {
            l.contains(&format!("/api/v1/namespaces/{}/pods?", ns.name))
                && l.contains("watch=")
                && l.contains("\"ResponseStarted\"")
        })
        .count();
    assert!(watches >= 2, "{watches} watches of the pods");
}
