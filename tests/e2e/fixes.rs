//! The fixes work as written: every `kubectl …` command in the fixes of the
//! scenario's live diagnoses runs against the cluster. Reads run as they are,
//! writes with `--dry-run=server`, `edit` with an editor that changes nothing;
//! nothing in the cluster changes.

use std::process::Command;

use crate::cluster::*;
use crate::fix::{Kubectl, kubectl_commands, parse};

/// The Services diagnosed: broken in each way the scenario has, missing, healthy.
const CASES: &[(&str, &str)] = &[
    ("service-v4", "default"),
    ("service-pay-typo", "default"),
    ("service-pay-v2", "default"),
    ("crashy", "default"),
    ("no-such-service", "default"),
    ("web-unready", "trouble"),
    ("crashy", "trouble"),
    ("unplaceable", "trouble"),
    ("service-pay-v1", "default"),
    ("pay-headless", "default"),
    ("kubernetes", "default"),
];

/// Verbs that change objects: run with `--dry-run=server`.
const WRITES: &[&str] = &[
    "patch", "create", "delete", "label", "annotate", "scale", "set", "apply", "expose",
];

fn kubectl(c: &Cluster, args: &[String], editor: bool) -> Run {
    let mut cmd = Command::new(&c.kubectl);
    cmd.arg("--kubeconfig").arg(&c.kubeconfig).args(args);
    if editor {
        // Leaves the file as it is: kubectl answers "Edit cancelled".
        cmd.env("KUBE_EDITOR", "true").env("EDITOR", "true");
    }
    Run::from_output(cmd.output().expect("run kubectl"))
}

/// Run one fix command; `Err` says why it does not work as written.
fn try_command(c: &Cluster, k: &Kubectl) -> Result<(), String> {
    let ns = k.namespace.clone().unwrap_or_default();
    match k.verb() {
        "svcdiscover" => {
            let args: Vec<&str> = k.args[1..].iter().map(String::as_str).collect();
            let r = c.svcdiscover(&args);
            match r.code {
                0 | 1 => Ok(()),
                code => Err(format!("exit {code}: {}", r.stderr)),
            }
        }
        "get" | "describe" => {
            let r = kubectl(c, &k.args, false);
            if r.code != 0 {
                return Err(format!("exit {}: {}", r.code, r.stderr));
            }
            // A list by label that finds nothing exits 0 too: it must find something.
            if k.selector.is_some() && r.stdout.trim().is_empty() {
                return Err(format!("found nothing: {}", r.stderr));
            }
            Ok(())
        }
        "logs" => {
            // The pod and container must exist, whatever the node does with logs.
            let pods = match k.object() {
                Some((_, pod)) => vec![pod],
                None => {
                    let sel = k.selector.clone().unwrap_or_default();
                    let r = c.kubectl(&[
                        "get",
                        "pods",
                        "-n",
                        ns.as_str(),
                        "-l",
                        sel.as_str(),
                        "-o",
                        "jsonpath={.items[*].metadata.name}",
                    ]);
                    r.stdout.split_whitespace().map(str::to_owned).collect()
                }
            };
            if pods.is_empty() {
                return Err("selects no pod".to_owned());
            }
            for pod in &pods {
                let r = c.kubectl(&[
                    "get",
                    "pod",
                    pod.as_str(),
                    "-n",
                    ns.as_str(),
                    "-o",
                    "jsonpath={.spec.containers[*].name} {.spec.initContainers[*].name}",
                ]);
                if r.code != 0 {
                    return Err(format!("pod {ns}/{pod}: {}", r.stderr));
                }
                if let Some(container) = &k.container
                    && !r.stdout.split_whitespace().any(|n| n == container)
                {
                    return Err(format!("pod {pod} has no container {container}"));
                }
            }
            let r = kubectl(c, &k.args, false);
            if r.code == 0 {
                return Ok(());
            }
            // The API server checks the pod and container before it asks the
            // node; kwok's nodes keep no previous logs, so the node's answer
            // may be an error, which still proves the names right.
            if (r.stderr.contains("not found") && r.stderr.contains("pods \""))
                || r.stderr.contains("is not valid for pod")
            {
                return Err(format!("exit {}: {}", r.code, r.stderr));
            }
            eprintln!("note: logs answered by the node: {}", r.stderr.trim());
            Ok(())
        }
        "edit" => {
            let r = kubectl(c, &k.args, true);
            let said = format!("{}{}", r.stdout, r.stderr);
            if r.code == 0 && said.contains("Edit cancelled") {
                Ok(())
            } else {
                Err(format!("exit {}: {said}", r.code))
            }
        }
        verb if WRITES.contains(&verb) => {
            let mut args = k.args.clone();
            args.push("--dry-run=server".to_owned());
            let r = kubectl(c, &args, false);
            if r.code == 0 {
                Ok(())
            } else {
                Err(format!("exit {}: {}", r.code, r.stderr))
            }
        }
        verb => Err(format!(
            "verb {verb}: this test does not know how to run it safely"
        )),
    }
}

pub fn every_kubectl_command_in_the_fixes_runs_against_the_cluster(c: &Cluster) {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (svc, ns) in CASES {
        let r = c.svcdiscover(&[svc, "-n", ns, "-o", "json"]);
        assert!(
            matches!(r.code, 0 | 1),
            "{ns}/{svc}: exit {}: {}",
            r.code,
            r.stderr
        );
        let report = r.json();
        for f in report["findings"].as_array().unwrap() {
            let code = f["code"].as_str().unwrap();
            let fix = f["fix"].as_str().unwrap();
            let cmds = kubectl_commands(fix);
            if cmds.is_empty() && f["severity"] == "error" {
                failures.push(format!("{ns}/{svc} {code}: no kubectl command in: {fix}"));
            }
            for cmd in cmds {
                ran += 1;
                let outcome = parse(cmd).and_then(|k| {
                    if k.namespaced() && k.namespace.is_none() && !k.all_namespaces {
                        return Err("names no namespace".to_owned());
                    }
                    try_command(c, &k)
                });
                match outcome {
                    Ok(()) => eprintln!("ok: {ns}/{svc} {code}: {cmd}"),
                    Err(e) => failures.push(format!("{ns}/{svc} {code}: `{cmd}`: {e}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(ran >= 15, "only {ran} commands ran");
}

pub fn commands_naming_wrong_objects_fail(c: &Cluster) {
    // Negative control: the runner above rejects what does not work.
    let crashy = c.pod("trouble", "crashy-");
    for cmd in [
        "kubectl -n default edit deployment no-such-deployment".to_owned(),
        "kubectl logs --previous -n trouble no-such-pod -c app".to_owned(),
        format!("kubectl logs --previous -n trouble {crashy} -c no-such-container"),
        r#"kubectl -n default patch service no-such-service -p '{"spec":{"selector":{"app":"pay-v1"}}}'"#
            .to_owned(),
        "kubectl -n default get endpointslices -l kubernetes.io/service-name=no-such-service"
            .to_owned(),
        "kubectl -n default describe pod no-such-pod".to_owned(),
        "kubectl svcdiscover service-pay-v1 -n Not_A_Namespace".to_owned(),
    ] {
        let k = parse(&cmd).unwrap();
        assert!(try_command(c, &k).is_err(), "accepted: {cmd}");
    }
}

/// The tests of this module, for the harness in main.rs.
pub const TESTS: &[Test] = &[
    (
        "every_kubectl_command_in_the_fixes_runs_against_the_cluster",
        every_kubectl_command_in_the_fixes_runs_against_the_cluster,
    ),
    (
        "commands_naming_wrong_objects_fail",
        commands_naming_wrong_objects_fail,
    ),
];
