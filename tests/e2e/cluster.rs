//! Access to the running test cluster.

use std::process::Command;

use serde_json::Value;

pub use crate::run::{Run, not_checked};

/// One end-to-end test: its name and body.
pub type Test = (&'static str, fn(&Cluster));

/// Every test holds this for reading while it runs, except the tests that
/// stop the cluster's CoreDNS (`probe::PAUSES_DNS`), which take it for
/// writing: while DNS is down nothing else runs (main.rs).
pub static DNS: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Held for the whole of each test that stops CoreDNS: those tests also
/// run with CoreDNS up (their control runs, a later sweep) and need it up
/// then, so no two of them overlap.
pub static PAUSERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub struct Cluster {
    pub kubeconfig: String,
    pub kubectl: String,
    pub audit_log: String,
}

/// The cluster from the environment, or why there is none.
pub fn cluster() -> Result<Cluster, String> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (
        get("SVCDISCOVER_E2E_KUBECONFIG"),
        get("SVCDISCOVER_E2E_KUBECTL"),
        get("SVCDISCOVER_E2E_AUDIT_LOG"),
    ) {
        (Some(kubeconfig), Some(kubectl), Some(audit_log)) => Ok(Cluster {
            kubeconfig,
            kubectl,
            audit_log,
        }),
        _ => Err(
            "no test cluster in the environment (SVCDISCOVER_E2E_*): run the end-to-end tests through tests/run"
                .to_owned(),
        ),
    }
}

impl Cluster {
    /// Run kubectl-svcdiscover against the cluster.
    pub fn svcdiscover(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_kubectl-svcdiscover"))
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("NO_COLOR", "1")
            .output()
            .expect("run kubectl-svcdiscover");
        Run::from_output(out)
    }

    /// JSON diagnosis; asserts the exit code.
    pub fn diagnose(&self, args: &[&str], code: i32) -> Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        let r = self.svcdiscover(&a);
        assert_eq!(r.code, code, "exit code of {args:?}; stderr: {}", r.stderr);
        r.json()
    }

    pub fn kubectl(&self, args: &[&str]) -> Run {
        let out = Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .expect("run kubectl");
        // A token is its output by design; every other output is kept for
        // the suite's final grep for credentials (main.rs).
        if args.starts_with(&["create", "token"]) {
            Run::unrecorded(out)
        } else {
            Run::from_output(out)
        }
    }

    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Run {
        use std::io::Write;
        let mut child = Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run kubectl");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        Run::from_output(child.wait_with_output().unwrap())
    }

    /// The ClusterIP of a Service.
    pub fn cluster_ip(&self, ns: &str, name: &str) -> String {
        let r = self.kubectl(&[
            "get",
            "service",
            name,
            "-n",
            ns,
            "-o",
            "jsonpath={.spec.clusterIP}",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout.trim().to_owned()
    }

    /// The name of the first pod in `ns` whose name starts with `prefix`.
    pub fn pod(&self, ns: &str, prefix: &str) -> String {
        let r = self.kubectl(&[
            "get",
            "pods",
            "-n",
            ns,
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ]);
        r.stdout
            .split_whitespace()
            .find(|n| n.starts_with(prefix))
            .unwrap_or_else(|| panic!("no pod {prefix}* in {ns}: {}", r.stdout))
            .to_owned()
    }
}

pub fn codes(r: &Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

pub fn with_code<'a>(r: &'a Value, code: &str) -> Vec<&'a Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}
