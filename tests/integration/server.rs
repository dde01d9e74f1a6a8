//! The live path against real local HTTP servers started by the test: a
//! minimal fake API server (for --server/--token without a kubeconfig), and
//! servers that are not Kubernetes API servers at all.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::fixtures::{cmd, validate};
use crate::run::Run;

/// What a handler answers: status line, content type, body.
type Answer = (u16, &'static str, String);

/// An HTTP/1.1 server on 127.0.0.1 (ephemeral port), one thread per
/// connection, `Connection: close` after each answer. It records the request
/// heads it received.
struct Server {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(handler: fn(&str) -> Answer) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || serve(stream, handler, &seen));
            }
        });
        Server { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, handler: fn(&str) -> Answer, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    seen.lock().unwrap().push(head);
    let (code, content_type, body) = handler(&path);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {code} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A port nothing listens on (bound, then released).
fn closed_port_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

const TOKEN: &str = "s3cr3t-t0ken-value";

/// Run against `server` with a token, no kubeconfig anywhere.
fn run_live(server: &str, args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let out = cmd()
        .env("HOME", home.path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("SVCDISCOVER_LOG")
        .args(["web", "-n", "default", "--server", server, "--token", TOKEN])
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    Run::from_output(out)
}

fn status(code: u16, reason: &str, message: &str) -> Answer {
    (
        code,
        "application/json",
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code})
        .to_string(),
    )
}

fn list(kind: &str, api_version: &str, items: Vec<Value>) -> Answer {
    (
        200,
        "application/json",
        json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": "1"}, "items": items})
            .to_string(),
    )
}

/// Just enough of an API server: Service default/web (selector app=web, no
/// pods), the namespaces default and kube-system, empty lists elsewhere.
fn fake_api(path: &str) -> Answer {
    match path {
        "/api/v1/namespaces/default/services/web" => (
            200,
            "application/json",
            json!({"kind": "Service", "apiVersion": "v1",
                   "metadata": {"name": "web", "namespace": "default", "uid": "1"},
                   "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                            "selector": {"app": "web"},
                            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
            .to_string(),
        ),
        "/api/v1/namespaces" => list(
            "NamespaceList",
            "v1",
            ["default", "kube-system"]
                .iter()
                .map(|n| json!({"metadata": {"name": n}}))
                .collect(),
        ),
        p if p.ends_with("/services") => list("ServiceList", "v1", vec![]),
        p if p.ends_with("/pods") => list("PodList", "v1", vec![]),
        p if p.ends_with("/events") => list("EventList", "v1", vec![]),
        p if p.ends_with("/endpointslices") => {
            list("EndpointSliceList", "discovery.k8s.io/v1", vec![])
        }
        p if p.ends_with("/deployments") => list("DeploymentList", "apps/v1", vec![]),
        p if p.ends_with("/statefulsets") => list("StatefulSetList", "apps/v1", vec![]),
        p if p.ends_with("/daemonsets") => list("DaemonSetList", "apps/v1", vec![]),
        p if p.ends_with("/networkpolicies") => {
            list("NetworkPolicyList", "networking.k8s.io/v1", vec![])
        }
        p => status(404, "NotFound", &format!("{p} not found")),
    }
}

fn not_found_everywhere(_: &str) -> Answer {
    (
        404,
        "text/html",
        "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"
            .to_owned(),
    )
}

fn login_page(_: &str) -> Answer {
    (
        200,
        "text/html; charset=utf-8",
        "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form>…</form></body></html>"
            .to_owned(),
    )
}

fn bad_gateway(_: &str) -> Answer {
    (
        502,
        "text/html",
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body></html>"
            .to_owned(),
    )
}

/// Some JSON service that is not Kubernetes: 200 with an object of no kind.
fn other_json(_: &str) -> Answer {
    (200, "application/json", r#"{"status":"ok"}"#.to_owned())
}

fn assert_token_hidden(run: &Run) {
    assert!(
        !run.stderr.contains(TOKEN),
        "token on stderr:\n{}",
        run.stderr
    );
    assert!(!run.stdout.contains(TOKEN), "token on stdout");
}

#[test]
fn server_and_token_alone_reach_an_api_server_without_a_kubeconfig() {
    let api = Server::start(fake_api);
    let run = run_live(&api.url, &["-o", "json"]);
    assert!(
        run.code == 0 || run.code == 1,
        "{}\n{}",
        run.code,
        run.stderr
    );
    let report = run.json();
    validate(&report);
    assert_eq!(report["service"]["found"], true);
    assert_eq!(report["service"]["cluster_ips"], json!(["10.96.0.10"]));
    let requests = api.requests();
    assert!(!requests.is_empty());
    for head in &requests {
        assert!(
            head.to_ascii_lowercase().contains(&format!(
                "authorization: bearer {}",
                TOKEN.to_ascii_lowercase()
            )),
            "a request without the token:\n{head}"
        );
    }
}

#[test]
fn the_token_is_never_logged_even_at_trace_level() {
    let api = Server::start(fake_api);
    for v in ["-v=9", "-vvv"] {
        let run = run_live(&api.url, &[v, "-o", "json"]);
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        assert!(
            run.stderr
                .contains("/api/v1/namespaces/default/services/web"),
            "{v} logs the requests:\n{}",
            run.stderr
        );
        assert_token_hidden(&run);
    }
    // Nor is it in an error.
    let run = run_live(&closed_port_url(), &["-v=9"]);
    assert_eq!(run.code, 3);
    assert_token_hidden(&run);
}

#[test]
fn a_client_namespace_the_cluster_lacks_is_a_usage_error() {
    let api = Server::start(fake_api);
    let run = run_live(&api.url, &["--from-namespace", "clinet"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "error: --from-namespace: namespace clinet does not exist; the namespaces are: default, kube-system\n"
    );
    assert!(run.stdout.is_empty());
}

/// Exit 3 and one stderr line saying it is not an API server, naming the
/// request and how the answer starts; never a diagnosis of the Service.
fn assert_not_an_api_server(handler: fn(&str) -> Answer, http: &str, body_start: &str) {
    let server = Server::start(handler);
    for format in ["table", "json"] {
        let run = run_live(&server.url, &["-o", format]);
        assert_eq!(run.code, 3, "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        let line = run.stderr.trim_end();
        assert!(
            line.starts_with(
                "error: cannot reach the Kubernetes API: this does not look like a Kubernetes API server: "
            ),
            "{line}"
        );
        assert!(
            line.contains(&format!(
                "{http} for /api/v1/namespaces/default/services/web"
            )),
            "{line}"
        );
        assert!(
            line.contains(&format!("body starts \"{body_start}")),
            "{line}"
        );
        for wrong in ["service-not-found", "dns-service-missing"] {
            assert!(
                !run.stdout.contains(wrong) && !line.contains(wrong),
                "{wrong}: {line}"
            );
        }
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert_token_hidden(&run);
    }
    // A gateway's page may be a passing failure: asked again, five times
    // for each of the two runs; any other answer is final.
    let web = "/api/v1/namespaces/default/services/web";
    let times = if http == "HTTP 502" { 10 } else { 2 };
    assert_eq!(asked(&server, web), times, "{:#?}", server.requests());
}

#[test]
fn a_server_answering_404_pages_everywhere_is_not_an_api_server() {
    assert_not_an_api_server(not_found_everywhere, "HTTP 404", "<html><head><title>404");
}

#[test]
fn a_login_page_is_not_an_api_server() {
    assert_not_an_api_server(login_page, "HTTP 200", "<!DOCTYPE html> <html>");
}

#[test]
fn a_proxy_error_page_is_not_an_api_server() {
    assert_not_an_api_server(
        bad_gateway,
        "HTTP 502",
        "<html> <head><title>502 Bad Gateway",
    );
}

#[test]
fn json_without_a_kind_is_not_an_api_server() {
    assert_not_an_api_server(other_json, "HTTP 200", "{\"status\":\"ok\"}");
}

#[test]
fn an_unreachable_server_is_one_error_line_and_one_not_checked_entry() {
    let run = run_live(&closed_port_url(), &["-o", "json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("Connection refused"), "{}", run.stderr);
    let report = run.json();
    validate(&report);
    let not_checked = report["not_checked"].as_array().unwrap();
    assert_eq!(not_checked.len(), 1, "{not_checked:#?}");
    assert!(
        not_checked[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Connection refused")
    );
    assert!(!not_checked[0]["needs"].as_str().unwrap().contains("RBAC"));
    assert_eq!(report["findings"], json!([]), "nothing is concluded");
}

/// An HTTPS API server stand-in (Python's http.server behind TLS, with a
/// certificate from a throwaway CA made by openssl): lists are empty, every
/// single object is a Kubernetes 404.
struct TlsServer {
    url: String,
    ca: std::path::PathBuf,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TLS_SERVER: &str = r#"
import http.server, json, ssl, sys
LISTS = {"services": ("ServiceList", "v1"), "pods": ("PodList", "v1"), "events": ("EventList", "v1"),
         "namespaces": ("NamespaceList", "v1"), "endpointslices": ("EndpointSliceList", "discovery.k8s.io/v1"),
         "deployments": ("DeploymentList", "apps/v1"), "statefulsets": ("StatefulSetList", "apps/v1"),
         "daemonsets": ("DaemonSetList", "apps/v1"),
         "networkpolicies": ("NetworkPolicyList", "networking.k8s.io/v1")}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        last = self.path.split("?")[0].rstrip("/").split("/")[-1]
        if last in LISTS:
            code, body = 200, {"kind": LISTS[last][0], "apiVersion": LISTS[last][1], "metadata": {}, "items": []}
        else:
            code, body = 404, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": last + " not found", "reason": "NotFound", "code": 404}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

impl TlsServer {
    /// None when python3 or openssl is missing (the test then says so and passes).
    fn start() -> Option<TlsServer> {
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().unwrap();
        let p = |f: &str| dir.path().join(f);
        let openssl = |args: &[&str]| {
            Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        std::fs::write(
            p("ext.cnf"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let made = openssl(
            &[
                &["req", "-x509"],
                &ec[..],
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=svcdiscover test CA",
                ],
            ]
            .concat(),
        ) && openssl(
            &[
                &["req"],
                &ec[..],
                &[
                    "-keyout",
                    "srv.key",
                    "-out",
                    "srv.csr",
                    "-subj",
                    "/CN=127.0.0.1",
                ],
            ]
            .concat(),
        ) && openssl(&[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
        ]);
        if !made {
            eprintln!("skipped: openssl cannot make test certificates");
            return None;
        }
        let Ok(mut child) = Command::new("python3")
            .args(["-c", TLS_SERVER])
            .arg(p("srv.pem"))
            .arg(p("srv.key"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        else {
            eprintln!("skipped: no python3");
            return None;
        };
        let mut port = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        let port = port.trim();
        assert!(!port.is_empty(), "the TLS server did not start");
        Some(TlsServer {
            url: format!("https://127.0.0.1:{port}"),
            ca: p("ca.pem"),
            child,
            _dir: dir,
        })
    }
}

#[test]
fn tls_is_verified_against_the_given_ca_or_skipped_on_request() {
    let Some(server) = TlsServer::start() else {
        return;
    };
    let ca = server.ca.to_str().unwrap();

    // A CA the client does not know: one TLS error, one not-checked entry.
    let run = run_live(&server.url, &["-o", "json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);
    let report = run.json();
    assert_eq!(
        report["not_checked"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );

    // Trusting the CA, or skipping verification, reaches the server: the
    // Service is read (and is absent there).
    for args in [
        &["--certificate-authority", ca][..],
        &["--insecure-skip-tls-verify"],
    ] {
        let run = run_live(&server.url, &[args, &["-o", "json"]].concat());
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        let report = run.json();
        validate(&report);
        assert_eq!(report["service"]["found"], false);
        assert!(
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["code"] == "service-not-found"),
            "{report:#}"
        );
    }
}

#[test]
fn a_certificate_authority_that_is_not_a_pem_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.txt");
    std::fs::write(&not_pem, "hello").unwrap();
    for path in [not_pem, dir.path().join("missing.pem")] {
        let run = run_live(
            "https://127.0.0.1:1",
            &["--certificate-authority", path.to_str().unwrap()],
        );
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.starts_with("error: --certificate-authority "),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
}

fn status_404_everywhere(path: &str) -> Answer {
    status(
        404,
        "NotFound",
        &format!("the server could not find {path}"),
    )
}

#[test]
fn a_server_whose_status_404_answers_lists_too_is_not_an_api_server() {
    // A Kubernetes Status 404 is a real "not found" for a get, but an API
    // server lists an empty set even in a missing namespace: a 404 for every
    // list means a wrong address (or path), not absent Services and DNS.
    let server = Server::start(status_404_everywhere);
    let run = run_live(&server.url, &["-o", "json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "no self-contradicting report: {}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("this does not look like a Kubernetes API server: HTTP 404 for the list"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

/// Services and running pods of namespace `pay`, for completion.
fn completion_api(path: &str) -> Answer {
    let named = |kind: &str, names: &[&str]| {
        list(
            kind,
            "v1",
            names
                .iter()
                .map(|n| json!({"metadata": {"name": n}}))
                .collect(),
        )
    };
    match path {
        "/api/v1/namespaces/pay/services" => named("ServiceList", &["pay-v1", "pay-v2", "web"]),
        "/api/v1/namespaces/pay/pods" => named("PodList", &["pay-v1-abc", "web-0"]),
        "/api/v1/namespaces" => named("NamespaceList", &["default", "pay"]),
        _ => fake_api(path),
    }
}

/// A server that answers only after the completion has given up.
fn too_slow(_: &str) -> Answer {
    std::thread::sleep(std::time::Duration::from_secs(6));
    status(500, "InternalError", "too late")
}

/// `kubectl-svcdiscover __complete WORDS` against `server`.
fn complete(server: &str, words: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let out = cmd()
        .env("HOME", home.path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args(["__complete", "--server", server, "--token", TOKEN])
        .args(words)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let run = Run::from_output(out);
    assert_eq!(run.code, 0, "{words:?}: {}", run.stderr);
    assert!(run.stderr.is_empty(), "{words:?}: {}", run.stderr);
    run
}

#[test]
fn completion_reads_names_from_the_server_with_the_flags_typed() {
    let server = Server::start(completion_api);
    let url = server.url.as_str();
    assert_eq!(
        complete(url, &["-n", "pay", "pay"]).stdout,
        "pay-v1\npay-v2\n:4\n"
    );
    assert_eq!(
        complete(url, &["-n", "pay", "svc/w"]).stdout,
        "svc/web\n:4\n"
    );
    assert_eq!(
        complete(url, &["web", "-n", ""]).stdout,
        "default\npay\n:4\n"
    );
    assert_eq!(
        complete(url, &["web", "--from", "pay/"]).stdout,
        "pay/pay-v1-abc\npay/web-0\n:4\n"
    );
    // No pod of -n's namespace matches: its namespaces, to go on after `/`.
    assert_eq!(
        complete(url, &["web", "-n", "pay", "--from", "pa"]).stdout,
        "pay-v1-abc\n:4\n"
    );
    assert_eq!(
        complete(url, &["web", "-n", "pay", "--from", "d"]).stdout,
        "default/\ta pod of this namespace\n:6\n"
    );
    // Metadata only, bounded, running pods only; the token never printed.
    let requests = server.requests().join("\n");
    assert!(
        requests.contains("as=PartialObjectMetadataList"),
        "{requests}"
    );
    assert!(requests.contains("limit=500"), "{requests}");
    assert!(
        requests.contains("fieldSelector=status.phase%3DRunning"),
        "{requests}"
    );
}

#[test]
fn completion_gives_only_the_directive_when_the_server_fails_or_is_slow() {
    for handler in [not_found_everywhere, bad_gateway, login_page, too_slow] {
        let server = Server::start(handler);
        assert_eq!(complete(&server.url, &["-n", "pay", ""]).stdout, ":4\n");
    }
    assert_eq!(complete(&closed_port_url(), &[""]).stdout, ":4\n");
}

/// A server whose every answer is 503 with a Kubernetes Status (an
/// overloaded API server), or 500 (its own failure).
fn unavailable(_: &str) -> Answer {
    status(503, "ServiceUnavailable", "the server is shutting down")
}

fn internal_error(_: &str) -> Answer {
    status(500, "InternalError", "etcdserver: request timed out")
}

/// How often each path was asked.
fn asked(server: &Server, path: &str) -> usize {
    server
        .requests()
        .iter()
        .filter(|h| h.starts_with(&format!("GET {path}")))
        .count()
}

#[test]
fn a_503_is_asked_again_five_times_then_reported_with_exit_3() {
    let server = Server::start(unavailable);
    let run = run_live(&server.url, &["-o", "json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let web = "/api/v1/namespaces/default/services/web";
    assert_eq!(asked(&server, web), 5, "{:#?}", server.requests());
    let line = run.stderr.lines().next().unwrap_or_default();
    for part in [
        "HTTP 503 Service Unavailable",
        "cannot answer for now",
        "it said: the server is shutting down",
        "; gave up after 5 attempts",
    ] {
        assert!(line.contains(part), "{part}: {}", run.stderr);
    }
    assert!(!run.stderr.contains("does not look like"), "{}", run.stderr);
    assert_token_hidden(&run);
}

#[test]
fn a_500_is_the_servers_answer_and_is_not_asked_again() {
    let server = Server::start(internal_error);
    let run = run_live(&server.url, &["-o", "json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(
        asked(&server, "/api/v1/namespaces/default/services/web"),
        1,
        "{:#?}",
        server.requests()
    );
    assert!(
        run.stderr.contains("etcdserver: request timed out"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("attempts"), "{}", run.stderr);
}
