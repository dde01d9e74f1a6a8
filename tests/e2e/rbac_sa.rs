//! docs/rbac.md's least-privilege roles, tested by running the binary as
//! ServiceAccounts bound to exactly those roles, and no credential in any
//! output.
//!
//! The roles are the fenced YAML blocks of docs/rbac.md, read at test time,
//! so the doc and the test cannot drift. Each ServiceAccount gets its own
//! copy of the roles (renamed with a unique prefix, so that parallel runs and
//! other tests do not collide), bound as the doc says, and a kubeconfig with a
//! token from the TokenRequest API (`kubectl create token`). Each role has a
//! negative control: the same role with one verb removed, refused by the API
//! server and reported as the doc says.
//!
//! Every run of the binary in this module goes through `Env::run`, which
//! asserts that no token, client key or client certificate of the test
//! cluster, and no `Authorization`/`Bearer` header, is in stdout or stderr.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::cluster::*;

/// Every token minted by this module: every run checks for all of them.
static TOKENS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The objects of docs/rbac.md's fenced YAML blocks.
fn doc_objects() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rbac.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```yaml" {
            continue;
        }
        let mut doc = String::new();
        for l in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            if l.trim() == "---" {
                out.push(serde_saphyr::from_str::<Value>(&doc).unwrap());
                doc.clear();
            } else {
                doc.push_str(l);
                doc.push('\n');
            }
        }
        out.push(serde_saphyr::from_str::<Value>(&doc).unwrap());
    }
    out
}

/// The role of docs/rbac.md named `name`.
pub(crate) fn doc_role(name: &str) -> Value {
    let all = doc_objects();
    all.iter()
        .find(|o| o["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            let names: Vec<&Value> = all.iter().map(|o| &o["metadata"]["name"]).collect();
            panic!("docs/rbac.md has no role {name} (it has {names:?})")
        })
        .clone()
}

/// `role` without `verb` on `resource` of API group `group`; panics when the
/// role did not grant it (the negative control would prove nothing).
fn without(role: &Value, group: &str, resource: &str, verb: &str) -> Value {
    let mut role = role.clone();
    let mut rules = Vec::new();
    let mut found = false;
    for rule in role["rules"].as_array().unwrap() {
        let has = |k: &str, v: &str| rule[k].as_array().unwrap().iter().any(|x| x == v);
        if !(has("apiGroups", group) && has("resources", resource) && has("verbs", verb)) {
            rules.push(rule.clone());
            continue;
        }
        found = true;
        let mut others = rule.clone();
        others["resources"]
            .as_array_mut()
            .unwrap()
            .retain(|r| r != resource);
        if !others["resources"].as_array().unwrap().is_empty() {
            rules.push(others);
        }
        let mut this = rule.clone();
        this["resources"] = json!([resource]);
        this["verbs"].as_array_mut().unwrap().retain(|v| v != verb);
        if !this["verbs"].as_array().unwrap().is_empty() {
            rules.push(this);
        }
    }
    assert!(
        found,
        "the role grants no {verb} {group}/{resource}: {role}"
    );
    role["rules"] = Value::Array(rules);
    role
}

/// Where a role is bound: cluster-wide, or in one namespace (a Role is
/// always bound in its own namespace).
#[derive(Clone, Copy)]
pub(crate) enum Bind<'a> {
    Cluster,
    In(&'a str),
}

/// A ServiceAccount's kubeconfig and token.
pub(crate) struct Sa {
    pub(crate) kubeconfig: PathBuf,
    pub(crate) token: String,
}

/// A namespace of this module's own, and every object made for it; all
/// deleted on drop.
pub(crate) struct Env<'a> {
    c: &'a Cluster,
    pub(crate) ns: String,
    pub(crate) dir: tempfile::TempDir,
    made: RefCell<Vec<(String, Option<String>, String)>>,
}

impl Drop for Env<'_> {
    fn drop(&mut self) {
        for (kind, ns, name) in self.made.borrow().iter().rev() {
            let mut args = vec!["delete", kind.as_str(), name.as_str()];
            if let Some(ns) = ns {
                args.extend(["-n", ns.as_str()]);
            }
            args.extend(["--ignore-not-found", "--wait=false"]);
            let _ = self.c.kubectl(&args);
        }
        let _ = self
            .c
            .kubectl(&["delete", "namespace", &self.ns, "--wait=false"]);
    }
}

impl<'a> Env<'a> {
    pub(crate) fn new(c: &'a Cluster, what: &str) -> Env<'a> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let ns = format!("rbac-sa-{what}-{:x}", nanos ^ std::process::id());
        let r = c.kubectl(&["create", "namespace", &ns]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        Env {
            c,
            ns,
            dir: tempfile::tempdir().unwrap(),
            made: RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn apply(&self, obj: &Value) {
        let r = self
            .c
            .kubectl_stdin(&["apply", "-f", "-"], &obj.to_string());
        assert_eq!(r.code, 0, "{}: {}", r.stderr, obj);
        let ns = obj["metadata"]["namespace"].as_str().map(str::to_owned);
        // Objects in this module's namespace go with it.
        if ns.as_deref() != Some(self.ns.as_str()) {
            self.made.borrow_mut().push((
                obj["kind"].as_str().unwrap().to_lowercase(),
                ns,
                obj["metadata"]["name"].as_str().unwrap().to_owned(),
            ));
        }
    }

    /// The kwok ClusterExec that lets exec run in this namespace (with its
    /// kubelet-style search list, tests/cluster/manifests/kwok-exec.yaml),
    /// and its ServiceAccount `default`, without which no pod is admitted.
    fn exec_here(&self) {
        let ns = &self.ns;
        self.apply(&json!({
            "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterExec",
            "metadata": {"name": format!("exec-{ns}")},
            "spec": {"selector": {"matchNamespaces": [ns]}, "execs": [{"local": {"workDir": "/tmp", "envs": [
                {"name": "LOCALDOMAIN", "value": format!("{ns}.svc.cluster.local svc.cluster.local cluster.local")},
                {"name": "RES_OPTIONS", "value": "ndots:5"}]}}]}
        }));
        let until = Instant::now() + Duration::from_secs(30);
        while self
            .c
            .kubectl(&["get", "serviceaccount", "default", "-n", ns])
            .code
            != 0
        {
            assert!(Instant::now() < until, "no ServiceAccount default in {ns}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A Service in this namespace selecting `app=<name>`, which no pod has.
    pub(crate) fn service(&self, name: &str) {
        self.apply(&json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": self.ns},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
        }));
    }

    /// ServiceAccount `sa` bound to a copy of each role (renamed
    /// `<namespace>-<sa>-<name>`), with a kubeconfig holding its token.
    pub(crate) fn sa(&self, sa: &str, roles: &[(Value, Bind)]) -> Sa {
        let r = self
            .c
            .kubectl(&["create", "serviceaccount", sa, "-n", &self.ns]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let subject = json!([{"kind": "ServiceAccount", "name": sa, "namespace": self.ns}]);
        for (role, bind) in roles {
            let mut role = role.clone();
            let name = format!(
                "{}-{sa}-{}",
                self.ns,
                role["metadata"]["name"].as_str().unwrap()
            );
            role["metadata"]["name"] = json!(name);
            self.apply(&role);
            let kind = role["kind"].as_str().unwrap();
            let binding = match (kind, role["metadata"]["namespace"].as_str(), *bind) {
                ("ClusterRole", _, Bind::Cluster) => json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": name},
                }),
                ("ClusterRole", _, Bind::In(ns)) | ("Role", Some(ns), _) => json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": name, "namespace": ns},
                }),
                _ => panic!("cannot bind {role}"),
            };
            let mut binding = binding;
            binding["roleRef"] =
                json!({"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name});
            binding["subjects"] = subject.clone();
            self.apply(&binding);
        }
        let r = self
            .c
            .kubectl(&["create", "token", sa, "-n", &self.ns, "--duration", "1h"]);
        assert_eq!(r.code, 0, "TokenRequest: {}", r.stderr);
        let token = r.stdout.trim().to_owned();
        assert!(token.len() > 100, "a JWT: {token:.20}…");
        TOKENS.lock().unwrap().push(token.clone());
        let kubeconfig = self.kubeconfig(sa, None, &token);
        if !roles.is_empty() {
            self.until_authorized(&kubeconfig);
        }
        Sa { kubeconfig, token }
    }

    /// A kubeconfig for `token` with the admin kubeconfig's cluster (its
    /// server, or `server`).
    fn kubeconfig(&self, name: &str, server: Option<&str>, token: &str) -> PathBuf {
        let admin = admin_kubeconfig(self.c);
        let cluster = &admin["clusters"][0]["cluster"];
        let kc = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "e2e", "cluster": {
                "server": server.unwrap_or_else(|| cluster["server"].as_str().unwrap()),
                "certificate-authority-data": cluster["certificate-authority-data"],
            }}],
            "users": [{"name": name, "user": {"token": token}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": name, "namespace": self.ns}}],
            "current-context": "e2e",
        });
        let path = self.dir.path().join(format!("{name}.kubeconfig"));
        std::fs::write(&path, kc.to_string()).unwrap();
        path
    }

    /// Until the API server's authorizer has the new bindings.
    fn until_authorized(&self, kubeconfig: &Path) {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let out = Command::new(&self.c.kubectl)
                .arg("--kubeconfig")
                .arg(kubeconfig)
                .args(["auth", "can-i", "list", "services", "-n", &self.ns])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&out.stdout).trim() == "yes" {
                return;
            }
            assert!(Instant::now() < until, "the binding never took effect");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Run the binary with `kubeconfig`; asserts no secret in its output.
    pub(crate) fn run(&self, kubeconfig: &Path, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_kubectl-svcdiscover"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let run = Run::from_output(out);
        assert_no_secret(self.c, &run, args);
        run
    }

    /// JSON of a run; asserts the exit code.
    pub(crate) fn json(&self, kubeconfig: &Path, args: &[&str], code: i32) -> Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        let r = self.run(kubeconfig, &a);
        assert_eq!(
            r.code, code,
            "exit code of {args:?}; stderr: {}\nstdout: {}",
            r.stderr, r.stdout
        );
        r.json()
    }
}

/// The report of a run whose probe ran: exit 0 (service-pay-v1 is healthy,
/// and CoreDNS is up: the tests that pause it never run beside this one,
/// main.rs) and no `probe-*` finding.
fn probed(r: &Run) -> Value {
    assert!(
        r.code == 0,
        "exit {}; stderr: {}\nstdout: {}",
        r.code,
        r.stderr,
        r.stdout
    );
    let got = r.json();
    assert!(
        !codes(&got).iter().any(|c| c.starts_with("probe-")),
        "{:?}",
        codes(&got)
    );
    got
}

/// The audit log's events of `verb` by ServiceAccount `ns`/`sa`.
pub(crate) fn audited(c: &Cluster, ns: &str, sa: &str, verb: &str) -> Vec<Value> {
    let user = format!("system:serviceaccount:{ns}:{sa}");
    std::fs::read_to_string(&c.audit_log)
        .unwrap()
        .lines()
        .filter(|l| l.contains(&user) && l.contains(&format!("\"{verb}\"")))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["user"]["username"] == user.as_str() && e["verb"] == verb)
        .collect()
}

fn admin_kubeconfig(c: &Cluster) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(&c.kubeconfig).unwrap()).unwrap()
}

/// What must never be printed: every token minted here, the admin's client
/// key and certificate (base64 as in the kubeconfig, and each line of the
/// decoded PEM body).
pub(crate) fn secrets(c: &Cluster) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in TOKENS.lock().unwrap().iter() {
        out.push(("a token".to_owned(), t.clone()));
        // Each part of the JWT (the signature alone is the secret part).
        for part in t.split('.').filter(|p| p.len() >= 16) {
            out.push(("a part of a token".to_owned(), part.to_owned()));
        }
    }
    let kc = admin_kubeconfig(c);
    let user = &kc["users"][0]["user"];
    for field in ["client-key-data", "client-certificate-data", "token"] {
        let Some(b64) = user[field].as_str() else {
            continue;
        };
        out.push((field.to_owned(), b64.to_owned()));
        out.push((
            format!("{field} (start)"),
            b64[..b64.len().min(32)].to_owned(),
        ));
        let pem = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        for line in String::from_utf8(pem).unwrap().lines() {
            if !line.starts_with("-----") && line.len() >= 16 {
                out.push((format!("{field} (PEM line)"), line.to_owned()));
            }
        }
    }
    assert!(out.len() > 4, "no secret to look for: {out:?}");
    out
}

fn assert_no_secret(c: &Cluster, run: &Run, args: &[&str]) {
    let all = format!("{}\n{}", run.stdout, run.stderr);
    for (what, secret) in secrets(c) {
        assert!(
            !all.contains(&secret),
            "{what} in the output of {args:?} (exit {})",
            run.code
        );
    }
    let lower = all.to_lowercase();
    for header in ["authorization:", "bearer "] {
        assert!(
            !lower.contains(header),
            "`{header}` in the output of {args:?} (exit {})",
            run.code
        );
    }
}

fn has_not_checked_needing(r: &Value, needs: &str) -> bool {
    r["not_checked"]
        .as_array()
        .is_some_and(|a| a.iter().any(|n| n["needs"] == needs))
}

pub(crate) fn reader() -> Vec<(Value, Bind<'static>)> {
    vec![
        (doc_role("svcdiscover-reader"), Bind::Cluster),
        (doc_role("svcdiscover-dns-reader"), Bind::Cluster),
    ]
}

// ---------------------------------------------------------------------------
// The tests.

/// The reader roles give the admin's diagnosis of service-pay-v1; without
/// `list networkpolicies` the policies of each namespace are `not_checked`,
/// without `list pods` (required) the run is unknown, exit 3, naming the read.
pub fn diagnosis_role_reads_what_the_admin_reads(c: &Cluster) {
    let env = Env::new(c, "diag");
    let admin = PathBuf::from(&c.kubeconfig);
    let args = ["service-pay-v1", "-n", "default", "--no-probe"];
    let want = env.json(&admin, &args, 0);

    let sa = env.sa("reader", &reader());
    let got = env.json(&sa.kubeconfig, &args, 0);
    assert_eq!(got["verdict"], want["verdict"]);
    assert_eq!(codes(&got), codes(&want));
    assert_eq!(got["endpoints"], want["endpoints"]);
    assert_eq!(got["dns"], want["dns"]);
    assert!(
        got["not_checked"].as_array().unwrap().is_empty(),
        "{}",
        got["not_checked"]
    );

    // Negative control: no list of NetworkPolicies.
    let mut roles = reader();
    roles[0].0 = without(&roles[0].0, "networking.k8s.io", "networkpolicies", "list");
    let sa = env.sa("no-netpol", &roles);
    let got = env.json(&sa.kubeconfig, &args, 0);
    for ns in ["default", "kube-system"] {
        let needs = format!("RBAC: list networkpolicies.networking.k8s.io in namespace {ns}");
        assert!(
            has_not_checked_needing(&got, &needs),
            "{needs}: {}",
            got["not_checked"]
        );
    }

    // Negative control: no list of pods (a required read).
    let mut roles = reader();
    roles[0].0 = without(&roles[0].0, "", "pods", "list");
    let sa = env.sa("no-pods", &roles);
    let r = env.run(&sa.kubeconfig, &args);
    assert_eq!(r.code, 3, "stderr: {}\nstdout: {}", r.stderr, r.stdout);
    assert!(
        r.stderr.contains("cannot list pods in namespace default")
            && r.stderr
                .contains("(grant RBAC: list pods in namespace default"),
        "{}",
        r.stderr
    );
    // The token of this SA is in none of the outputs (checked by env.run).
    assert!(!r.stderr.contains(&sa.token));
}

/// The reader roles scan a namespace like the admin; without `list
/// networkpolicies` or `list namespaces` the scan says what it could not
/// check; without `list endpointslices` (required) it is unknown, exit 3.
pub fn scan_role_scans(c: &Cluster) {
    let env = Env::new(c, "scan");
    env.service("rbac-empty");
    let admin = PathBuf::from(&c.kubeconfig);
    let args = ["--all", "-n", &env.ns, "--no-probe"];
    let want = env.json(&admin, &args, 1);
    let sa = env.sa("reader", &reader());
    let got = env.json(&sa.kubeconfig, &args, 1);
    assert_eq!(got["summary"]["verdict"], want["summary"]["verdict"]);
    let text = got.to_string();
    assert!(!text.contains("RBAC"), "{got:#}");
    assert_eq!(
        got.to_string().matches("rbac-empty").count(),
        want.to_string().matches("rbac-empty").count()
    );

    for (group, resource, needs) in [
        (
            "networking.k8s.io",
            "networkpolicies",
            format!(
                "RBAC: list networkpolicies.networking.k8s.io in namespace {}",
                env.ns
            ),
        ),
        (
            "",
            "namespaces",
            "RBAC: list namespaces (cluster-wide)".to_owned(),
        ),
    ] {
        let mut roles = reader();
        roles[0].0 = without(&roles[0].0, group, resource, "list");
        let sa = env.sa(&format!("no-{resource}"), &roles);
        let got = env.json(&sa.kubeconfig, &args, 1);
        assert!(got.to_string().contains(&needs), "{needs}: {got:#}");
    }

    let mut roles = reader();
    roles[0].0 = without(&roles[0].0, "discovery.k8s.io", "endpointslices", "list");
    let sa = env.sa("no-slices", &roles);
    let r = env.run(&sa.kubeconfig, &args);
    assert_eq!(r.code, 3, "stderr: {}\nstdout: {}", r.stderr, r.stdout);
    assert!(
        r.stderr.contains(&format!(
            "list endpointslices.discovery.k8s.io in namespace {}",
            env.ns
        )),
        "{}",
        r.stderr
    );
}

/// `--wait` with the doc's watch role watches; without it (the reader roles
/// alone) stderr says the watch is forbidden, as the doc says.
pub fn wait_role_watches(c: &Cluster) {
    let env = Env::new(c, "wait");
    env.service("rbac-wait");
    let args = ["rbac-wait", "--no-probe", "--wait", "4s"];
    let forbidden = "warning: cannot watch";

    let mut roles = reader();
    roles.push((doc_role("svcdiscover-watch"), Bind::Cluster));
    let sa = env.sa("watcher", &roles);
    let r = env.run(&sa.kubeconfig, &args);
    assert_eq!(r.code, 1, "stderr: {}\nstdout: {}", r.stderr, r.stdout);
    assert!(!r.stderr.contains(forbidden), "{}", r.stderr);
    // The API server answered its watches (audit log: watches of services,
    // endpointslices and pods by this ServiceAccount, 200).
    let mut watched: Vec<String> = audited(c, &env.ns, "watcher", "watch")
        .iter()
        .filter(|e| e["responseStatus"]["code"] == 200)
        .map(|e| e["objectRef"]["resource"].as_str().unwrap().to_owned())
        .collect();
    watched.sort();
    watched.dedup();
    assert_eq!(watched, ["endpointslices", "pods", "services"]);

    let sa = env.sa("no-watch", &reader());
    let r = env.run(&sa.kubeconfig, &args);
    assert_eq!(r.code, 1, "stderr: {}\nstdout: {}", r.stderr, r.stdout);
    assert!(r.stderr.contains(forbidden), "{}", r.stderr);
}

/// The probe role, bound in the client namespace only, runs the probe Job
/// there and deletes it; without `create jobs`, `create pods/exec` or `get
/// pods/exec` the asked-for probe is `probe-forbidden`, exit 3, naming the
/// verb refused.
pub fn probe_role_runs_the_probe(c: &Cluster) {
    let env = Env::new(c, "probe");
    env.exec_here();
    let args = [
        "service-pay-v1",
        "-n",
        "default",
        "--from-namespace",
        &env.ns,
        "--probe",
        "pod",
    ];
    let probe = doc_role("svcdiscover-probe");
    let jobs_left = || {
        let r = c.kubectl(&["get", "jobs", "-n", &env.ns, "-o", "name"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout.trim().to_owned()
    };

    // Negative controls first (refused before kwok's exec matters). An exec
    // over WebSocket is authorized as `get` and as `create` on pods/exec.
    for (group, resource, verb) in [
        ("batch", "jobs", "create"),
        ("", "pods/exec", "create"),
        ("", "pods/exec", "get"),
    ] {
        let mut roles = reader();
        roles.push((without(&probe, group, resource, verb), Bind::In(&env.ns)));
        let sa = env.sa(&format!("no-{verb}-{}", resource.replace('/', "-")), &roles);
        let got = env.json(&sa.kubeconfig, &args, 3);
        assert_eq!(got["verdict"], "unknown");
        let f = with_code(&got, "probe-forbidden");
        assert_eq!(f.len(), 1, "{:?}", codes(&got));
        assert_eq!(f[0]["severity"], "error");
        let named = format!(
            "the probe cannot run in namespace {}: {verb} {resource} is forbidden",
            env.ns
        );
        assert_eq!(f[0]["message"], named.as_str(), "{}", f[0]);
        assert_eq!(jobs_left(), "", "probe Jobs left behind");
    }

    let mut roles = reader();
    roles.push((probe.clone(), Bind::In(&env.ns)));
    let sa = env.sa("prober", &roles);
    // kwok picks the new ClusterExec up from its watch: until then exec fails.
    let until = Instant::now() + Duration::from_secs(30);
    let got = loop {
        let r = env.run(&sa.kubeconfig, &[&args[..], &["-o", "json"]].concat());
        if r.code != 3 || Instant::now() > until {
            break probed(&r);
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(got["probe"]["mode"], "pod", "{}", got["probe"]);
    assert_eq!(got["probe"]["cleanup"], "deleted", "{}", got["probe"]);
    let clients = got["probe"]["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 1, "{clients:?}");
    assert_eq!(clients[0]["namespace"], env.ns.as_str());
    assert_eq!(clients[0]["via"], "probe-pod");
    assert!(
        got["name_forms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["observed"].is_object()),
        "the exec ran and returned observations: {got:#}"
    );
    // The ServiceAccount itself created the Job, exec'd into its pod and
    // deleted it (audit log).
    for (verb, resource, code) in [
        ("create", "jobs", 201),
        // The exec is a WebSocket upgrade: a GET, answered 101.
        ("get", "pods", 101),
        ("delete", "jobs", 200),
    ] {
        let done = audited(c, &env.ns, "prober", verb).into_iter().any(|e| {
            e["stage"] == "ResponseComplete"
                && e["objectRef"]["resource"] == resource
                && (resource != "pods" || e["objectRef"]["subresource"] == "exec")
                && e["responseStatus"]["code"] == code
        });
        assert!(done, "{verb} {resource} ({code}) by the ServiceAccount");
    }
    assert_eq!(jobs_left(), "", "probe Jobs left behind");
}

/// `--from NS/POD` with the doc's probe role bound in the pod's namespace
/// (`get pods`, `get`/`create` `pods/exec`); without `get pods/exec`,
/// `probe-forbidden` naming it, exit 3.
pub fn from_pod_with_the_probe_role(c: &Cluster) {
    let env = Env::new(c, "from");
    let args = ["service-pay-v1", "-n", "default", "--from", "client/client"];
    let probe = doc_role("svcdiscover-probe");
    let mut roles = reader();
    roles.push((probe.clone(), Bind::In("client")));
    let sa = env.sa("from", &roles);
    let got = probed(&env.run(&sa.kubeconfig, &[&args[..], &["-o", "json"]].concat()));
    assert_eq!(got["probe"]["mode"], "from", "{}", got["probe"]);
    assert_eq!(
        got["probe"]["clients"][0]["pod"], "client",
        "{}",
        got["probe"]
    );

    let mut roles = reader();
    roles.push((without(&probe, "", "pods/exec", "get"), Bind::In("client")));
    let sa = env.sa("from-no-get-exec", &roles);
    let got = env.json(&sa.kubeconfig, &args, 3);
    let f = with_code(&got, "probe-forbidden");
    assert_eq!(f.len(), 1, "{:?}", codes(&got));
    assert_eq!(
        f[0]["message"], "the probe cannot run in namespace client: get pods/exec is forbidden",
        "{}",
        f[0]
    );
}

/// `--probe local` with the doc's port-forward Role; without its `get` or
/// its `create`, `probe-forbidden` naming the verb refused, exit 3.
pub fn probe_local_role_port_forwards(c: &Cluster) {
    let env = Env::new(c, "local");
    let args = ["service-pay-v1", "-n", "default", "--probe", "local"];
    let mut roles = reader();
    roles.push((doc_role("svcdiscover-probe-local"), Bind::Cluster));
    let sa = env.sa("local", &roles);
    let got = probed(&env.run(&sa.kubeconfig, &[&args[..], &["-o", "json"]].concat()));
    assert_eq!(got["probe"]["mode"], "local", "{}", got["probe"]);

    for verb in ["get", "create"] {
        let mut roles = reader();
        roles.push((
            without(
                &doc_role("svcdiscover-probe-local"),
                "",
                "pods/portforward",
                verb,
            ),
            Bind::Cluster,
        ));
        let sa = env.sa(&format!("no-{verb}-portforward"), &roles);
        let got = env.json(&sa.kubeconfig, &args, 3);
        let f = with_code(&got, "probe-forbidden");
        assert_eq!(f.len(), 1, "{:?}", codes(&got));
        assert_eq!(
            f[0]["message"],
            format!(
                "the probe cannot run in namespace kube-system: {verb} pods/portforward is forbidden"
            ),
            "{}",
            f[0]
        );
    }
}

/// No credential at `-vvvv` and `-v=9`, on success and on every failing
/// path: forbidden, an unreachable or wrong server, an invalid token (401),
/// a revoked token (its ServiceAccount deleted, 401).
pub fn no_secret_at_any_verbosity(c: &Cluster) {
    let env = Env::new(c, "secrets");
    let reader_sa = env.sa("reader", &reader());
    let nobody = env.sa("nobody", &[]);
    let revoked = env.sa("revoked", &[]);
    let r = c.kubectl(&["delete", "serviceaccount", "revoked", "-n", &env.ns]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The token with its signature altered: well-formed, refused.
    let mut invalid = reader_sa.token.clone();
    let last = invalid.pop().unwrap();
    invalid.push(if last == 'A' { 'B' } else { 'A' });
    invalid.insert_str(invalid.len() - 8, "xxxxxxxx");
    TOKENS.lock().unwrap().push(invalid.clone());
    let invalid_kc = env.kubeconfig("invalid", None, &invalid);
    let refused = env.kubeconfig("refused", Some("https://127.0.0.1:1"), &reader_sa.token);
    let unreachable = env.kubeconfig(
        "unreachable",
        Some("https://10.255.255.1:6443"),
        &reader_sa.token,
    );
    let admin = PathBuf::from(&c.kubeconfig);
    let mut wrong_server = admin_kubeconfig(c);
    wrong_server["clusters"][0]["cluster"]["server"] = json!("https://127.0.0.1:1");
    let wrong_admin = env.dir.path().join("wrong-admin.kubeconfig");
    std::fs::write(&wrong_admin, wrong_server.to_string()).unwrap();

    // The check itself can fail: a token, a line of the client key, a header.
    let key_line = secrets(c)
        .into_iter()
        .find(|(what, _)| what == "client-key-data (PEM line)")
        .expect("a PEM line of the client key")
        .1;
    for leak in [
        format!("error: {}", reader_sa.token),
        format!("debug: {key_line}"),
        "authorization: Bearer x".to_owned(),
    ] {
        let run = Run {
            code: 3,
            stdout: String::new(),
            stderr: leak,
        };
        let caught = std::panic::catch_unwind(|| assert_no_secret(c, &run, &[]));
        assert!(caught.is_err(), "a leak not caught: {}", run.stderr);
    }

    let svc = ["service-pay-v1", "-n", "default", "--request-timeout", "5s"];
    let cases: [(&str, &Path, &[&str], &[i32]); 9] = [
        ("admin", &admin, &["--no-probe"], &[0]),
        ("admin, probed", &admin, &["--probe", "local"], &[0]),
        ("reader", &reader_sa.kubeconfig, &["--no-probe"], &[0]),
        ("forbidden", &nobody.kubeconfig, &["--no-probe"], &[3]),
        ("invalid token", &invalid_kc, &["--no-probe"], &[3]),
        ("revoked token", &revoked.kubeconfig, &["--no-probe"], &[3]),
        ("connection refused", &refused, &["--no-probe"], &[3]),
        ("admin, wrong server", &wrong_admin, &["--no-probe"], &[3]),
        ("unreachable", &unreachable, &["--no-probe"], &[3]),
    ];
    for (what, kc, extra, codes) in cases {
        for verbosity in ["-vvvv", "-v=9"] {
            let mut args = svc.to_vec();
            args.extend_from_slice(extra);
            args.push(verbosity);
            let r = env.run(kc, &args);
            assert!(
                codes.contains(&r.code),
                "{what} {verbosity}: exit {}; stderr: {}",
                r.code,
                r.stderr
            );
            if r.code == 3 {
                assert!(r.stderr.contains("cannot"), "{what}: {}", r.stderr);
            }
        }
    }
    // The token on the command line (`--token`, replacing the kubeconfig's),
    // refused with a 401: not echoed in the error chain, at any verbosity.
    for verbosity in ["-vvvv", "-v=9"] {
        let mut args = svc.to_vec();
        args.extend(["--no-probe", verbosity, "--token", &invalid]);
        let r = env.run(&reader_sa.kubeconfig, &args);
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("Unauthorized: the API server rejected the credentials"),
            "{}",
            r.stderr
        );
    }
}

/// The tests of this module, for the harness in main.rs.
pub const TESTS: &[Test] = &[
    (
        "diagnosis_role_reads_what_the_admin_reads",
        diagnosis_role_reads_what_the_admin_reads,
    ),
    ("scan_role_scans", scan_role_scans),
    ("wait_role_watches", wait_role_watches),
    ("probe_role_runs_the_probe", probe_role_runs_the_probe),
    ("from_pod_with_the_probe_role", from_pod_with_the_probe_role),
    (
        "probe_local_role_port_forwards",
        probe_local_role_port_forwards,
    ),
    ("no_secret_at_any_verbosity", no_secret_at_any_verbosity),
];
