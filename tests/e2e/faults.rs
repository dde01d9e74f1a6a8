//! A misbehaving connection to the API server: the tool runs through a
//! toxiproxy proxy (started by tests/cluster/up, API in
//! SVCDISCOVER_E2E_TOXIPROXY) in front of the real apiserver, and the proxy
//! cuts, resets, stalls, slows down or refuses the connection.
//!
//! These are persistent faults: every connection meets them, so the run
//! must end with a clear one-line message naming what it was reading and
//! exit 3 (or, for the latency control, the same report as direct).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
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
    one_clear_line(
        &r,
        "(cluster-wide)",
        "cannot reach the API server: peer closed connection",
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
        one_clear_line(&r, "in namespace default", "cannot reach the API server");
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
    for n in cut {
        assert!(
            n["reason"]
                .as_str()
                .unwrap()
                .starts_with("cannot reach the API server: "),
            "{n}"
        );
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
